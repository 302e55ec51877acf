"""FairGIL: the threads waiting in ``take_gil`` are served in arrival order.

Each scenario is driven by a :class:`ControlledWaiter`: who wakes, when, and
whether the interval expired are test steps, so nothing here sleeps. The
scenarios that compare run on CPython's GIL too, where the same steps serve
the waiters out of order.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager

import pytest

from conformance.support import LONG_TIMEOUT, SHORT_TIMEOUT, join_thread
from impl import (
    Bit,
    BlockPoint,
    Code,
    ControlledWaiter,
    FairGIL,
    GilProtocolError,
    Interpreter,
    MustExit,
    Phase,
    ThreadState,
    TraceEvent,
    TraceLog,
    run,
)
from tests.impl.helpers import Actor, actors, exception, result, start_waiting, time_out_once

TAKE = BlockPoint.TAKE_GIL
DROP = int(Bit.GIL_DROP_REQUEST)
GILS = pytest.mark.parametrize("fair", [True, False], ids=["fair", "cpython"])


@contextmanager
def waiting(
    n: int, *, fair: bool, wake_on_notify: bool = False, trace: TraceLog | None = None
) -> Iterator[tuple[Interpreter, ControlledWaiter, list[Actor], list[Future[object]]]]:
    """MAIN holds the GIL; T1 .. Tn park in take_gil, in that order, on their actors."""
    waiter = ControlledWaiter(wake_on_notify=wake_on_notify, hang_timeout=SHORT_TIMEOUT)
    interp = Interpreter(waiter=waiter, fair=fair, trace=trace)
    threads = [interp.new_thread() for _ in range(n)]
    interp.gil.acquire(interp.main_thread)
    with actors(*(f"T{t.id}" for t in threads)) as started:
        futures = [start_waiting(a, t, waiter) for a, t in zip(started, threads, strict=True)]
        yield interp, waiter, started, futures


def queue_of(interp: Interpreter) -> tuple[int, ...]:
    gil = interp.gil
    assert isinstance(gil, FairGIL)
    return gil.queue


def wake_again(waiter: ControlledWaiter, ts_id: int) -> None:
    """Wake ``ts_id`` (a signal, not a timeout) and wait until it parks again."""
    waiter.wake(ts_id)
    waiter.wait_blocked(ts_id, TAKE, SHORT_TIMEOUT)


def test_waiters_take_the_gil_in_arrival_order() -> None:
    with waiting(3, fair=True) as (interp, waiter, started, futures):
        gil, threads = interp.gil, interp.threads
        assert queue_of(interp) == (1, 2, 3)
        gil.release(interp.main_thread)
        order = []
        for head in (1, 2, 3):
            # Every later waiter wakes before the head and waits again.
            for later in range(3, head, -1):
                wake_again(waiter, later)
                assert gil.holder is None, f"T{later} took the GIL ahead of T{head}"
            waiter.wake(head)
            result(futures[head - 1], f"T{head}, the longest waiter, to take the GIL")
            holder = gil.holder
            assert holder is not None
            order.append(holder.id)
            assert queue_of(interp) == tuple(range(head + 1, 4))
            started[head - 1].call(functools.partial(gil.release, threads[head]), "the release")
        assert order == [1, 2, 3]


@GILS
def test_a_later_waiter_that_wakes_first(fair: bool) -> None:
    """CPython's GIL goes to whoever wakes first; the fair one waits for T1."""
    with waiting(2, fair=fair) as (interp, waiter, (a1, a2), (f1, f2)):
        gil, (_, t1, t2) = interp.gil, interp.threads
        gil.release(interp.main_thread)
        waiter.wake(2)
        if fair:
            waiter.wait_blocked(2, TAKE, SHORT_TIMEOUT)
            assert (gil.holder, queue_of(interp)) == (None, (1, 2))
            waiter.wake(1)
            result(f1, "T1, the longest waiter, to take the GIL")
            assert gil.holder is t1
            a1.call(lambda: gil.release(t1))
            waiter.wake(2)
            result(f2, "T2 to take the GIL after T1")
            a2.call(lambda: gil.release(t2))
        else:
            result(f2, "T2, woken first, to take the GIL")
            assert gil.holder is t2, "CPython's GIL serves T2 before T1 here"
            assert waiter.blocked() == {1: TAKE}
            a2.call(lambda: gil.release(t2))
            waiter.wake(1)
            result(f1, "T1 to take the GIL after T2")
            a1.call(lambda: gil.release(t1))


@GILS
def test_a_release_signals_the_longest_waiter(fair: bool) -> None:
    """Each release's COND_SIGNAL wakes one thread: the head, or the oldest parked.

    T1 arrives first but is woken once while the GIL is held, so it parks again
    after T2 and T3: CPython's signal then goes to T2, the fair one's to T1.
    """
    with waiting(3, fair=fair, wake_on_notify=True) as (interp, waiter, started, futures):
        gil, threads = interp.gil, interp.threads
        wake_again(waiter, 1)
        order: list[int] = []

        def turn(ts: ThreadState, future: Future[object]) -> Callable[[], None]:
            def run() -> None:
                result(future, f"T{ts.id} to take the GIL")
                order.append(ts.id)
                gil.release(ts)

            return run

        done = [a.submit(turn(t, f)) for a, t, f in zip(started, threads[1:], futures, strict=True)]
        gil.release(interp.main_thread)
        for t, d in zip(threads[1:], done, strict=True):
            result(d, f"T{t.id}'s turn with the GIL")
        assert order == ([1, 2, 3] if fair else [2, 3, 1])


@GILS
def test_a_releaser_that_comes_back_queues_behind_the_waiters(fair: bool) -> None:
    with waiting(1, fair=fair) as (interp, waiter, (a1,), (f1,)), actors("MAIN") as (a0,):
        gil, (main, t1) = interp.gil, interp.threads
        gil.release(main)
        f0 = a0.submit(lambda: gil.acquire(main))  # MAIN comes straight back
        if fair:
            waiter.wait_blocked(0, TAKE, SHORT_TIMEOUT)
            assert queue_of(interp) == (1, 0)
            wake_again(waiter, 0)
            waiter.wake(1)
            result(f1, "T1, queued first, to take the GIL")
            a1.call(lambda: gil.release(t1))
            waiter.wake(0)
            result(f0, "MAIN to take the GIL back after T1")
            assert waiter.blocked() == {}
        else:
            result(f0, "MAIN to take the GIL straight back")
            assert waiter.blocked() == {1: TAKE}
            a0.call(lambda: gil.release(main))
            waiter.wake(1)
            result(f1, "T1 to take the GIL")
            a1.call(lambda: gil.release(t1))


def test_a_waiter_that_must_exit_leaves_the_queue_and_resets_its_request() -> None:
    log = TraceLog()
    with waiting(2, fair=True, trace=log) as (interp, waiter, _, (f1, f2)):
        gil, main = interp.gil, interp.main_thread
        time_out_once(waiter, interp.threads[1])
        assert main.breaker.load() & DROP, "T1's timed-out wait sets the drop request"
        interp.finalize()
        waiter.wake(1, timed_out=True)
        assert isinstance(exception(f1, "T1 to exit"), MustExit)
        assert queue_of(interp) == (2,)
        assert not main.breaker.load() & DROP, "gh-96387: T1 resets its request on exit"
        assert [e.fields for e in log.named("take_gil.must_exit")] == [{"at": "wait"}]
        assert log.named("drop_request.reset") == [
            TraceEvent("drop_request.reset", 1, {"holder": 0})
        ]
        gil.release(main)  # no request pending: no forced switch
        assert waiter.notifications(TAKE) == 1
        waiter.wake(2)  # T2 is the head now: it takes the GIL, then must exit
        assert isinstance(exception(f2, "T2 to exit"), MustExit)
        assert [e.fields["at"] for e in log.named("take_gil.must_exit")] == ["wait", "acquired"]
        assert queue_of(interp) == ()
        assert [t.phase for t in interp.threads[1:]] == [Phase.EXITED, Phase.EXITED]
        gil.acquire(main)  # the finalizing thread finds the GIL free and nobody ahead
        assert gil.holder is main
        gil.release(main)


def test_fair_acquire_checks_its_argument_as_take_gil_does() -> None:
    interp = Interpreter(fair=True)
    gil, main = interp.gil, interp.main_thread
    with pytest.raises(TypeError, match=r"^take_gil: tstate must be a ThreadState, not int$"):
        gil.acquire(0)  # type: ignore[arg-type]  # the wrong type is the point
    gil.acquire(main)
    with pytest.raises(GilProtocolError, match=r"^take_gil: thread 0 already holds the GIL$"):
        gil.acquire(main)
    gil.release(main)
    assert (gil.holder, queue_of(interp)) == (None, ())


def fifo_violations(events: list[TraceEvent]) -> list[str]:
    """Acquisitions by a thread other than the longest waiter, read from the trace.

    A thread arrives in the queue at its attempt's first ``take_gil.wait`` (both
    happen under ``mutex``, as ``take_gil.acquire`` does, so the log's order is
    theirs) and leaves it at its ``take_gil.acquire``.
    """
    queue: list[int] = []
    bad = []
    for e in events:
        if e.thread is None:
            continue
        if e.name == "take_gil.wait" and e.thread not in queue:
            queue.append(e.thread)
        elif e.name == "take_gil.acquire":
            if queue and queue[0] != e.thread:
                bad.append(f"T{e.thread} took the GIL while T{queue[0]} waited longer ({queue})")
            if e.thread in queue:
                queue.remove(e.thread)
    return bad


@GILS
def test_stress_every_thread_gets_the_gil(fair: bool) -> None:
    """Six threads run CPU-bound eval loops until each has had the GIL five times."""
    turns_wanted, log = 5, TraceLog()
    interp = Interpreter(0.0002, fair=fair, trace=log)
    threads = [interp.main_thread, *(interp.new_thread() for _ in range(5))]
    gil = interp.gil
    turns = dict.fromkeys(range(len(threads)), 0)
    owner = [-1]
    progress = threading.Condition()
    stop = threading.Event()
    errors: list[BaseException] = []

    def everyone_had_turns() -> bool:
        return min(turns.values()) >= turns_wanted

    def worker(ts: ThreadState) -> None:
        def body() -> None:  # runs with the GIL held: one owner at a time
            if owner[0] != ts.id:
                owner[0] = ts.id
                turns[ts.id] += 1
                if turns[ts.id] == turns_wanted:
                    with progress:
                        progress.notify_all()

        code = Code.loop("cpu", body, lambda: not stop.is_set())
        try:
            gil.acquire(ts)
            try:
                run(ts, code)
            finally:
                gil.release(ts)
        except BaseException as exc:  # reported below
            errors.append(exc)

    hosts = [threading.Thread(target=worker, args=(t,), name=f"T{t.id}") for t in threads]
    for h in hosts:
        h.start()
    try:
        with progress:
            if not progress.wait_for(everyone_had_turns, LONG_TIMEOUT):
                raise AssertionError(
                    f"timed out after {LONG_TIMEOUT:.1f} s waiting for every thread to have "
                    f"the GIL {turns_wanted} times (turns by thread: {turns})"
                )
    finally:
        stop.set()
        for h in hosts:
            join_thread(h, LONG_TIMEOUT)
    assert errors == []
    assert {e.thread for e in log.named("take_gil.acquire")} == set(turns)
    assert gil.holder is None
    if fair:
        assert fifo_violations(log.events) == []
        assert queue_of(interp) == ()
