"""The test hooks themselves: ControlledWaiter, BlockRecorder, TraceLog."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager

import pytest

from conformance.support import SHORT_TIMEOUT
from impl import (
    Bit,
    BlockPoint,
    BlockRecorder,
    ControlledWaiter,
    Interpreter,
    MustExit,
    Phase,
    TraceEvent,
    TraceLog,
    WakeNotGranted,
)
from tests.impl.helpers import Actor, actors, exception, result, start_waiting, time_out_once

TAKE = BlockPoint.TAKE_GIL
SWITCH = BlockPoint.SWITCH_COND


def test_wake_of_a_thread_that_is_not_parked_is_refused() -> None:
    waiter = ControlledWaiter()
    with pytest.raises(
        ValueError, match=r"^ControlledWaiter\.wake: thread 3 is not parked \(parked now: none\)$"
    ):
        waiter.wake(3)
    assert waiter.blocked() == {}


def test_a_woken_thread_cannot_be_woken_twice() -> None:
    waiter = ControlledWaiter(hang_timeout=SHORT_TIMEOUT)
    interp = Interpreter(waiter=waiter)
    t1 = interp.new_thread()
    interp.gil.acquire(interp.main_thread)
    with actors("T1") as (a1,):
        f1 = a1.submit(lambda: interp.gil.acquire(t1))
        waiter.wait_blocked(1, TAKE, SHORT_TIMEOUT)
        assert waiter.blocked() == {1: TAKE}
        interp.gil.release(interp.main_thread)
        assert waiter.wake(1) is TAKE
        with pytest.raises(ValueError, match=r"^ControlledWaiter\.wake: thread 1 is not parked"):
            waiter.wake(1)
        result(f1, "T1 to take the GIL")
        a1.call(lambda: interp.gil.release(t1))


def test_a_wake_that_never_comes_fails_loudly_and_leaves_the_gil_sane() -> None:
    waiter = ControlledWaiter(hang_timeout=0.05)
    interp = Interpreter(waiter=waiter)
    t1 = interp.new_thread()
    interp.gil.acquire(interp.main_thread)
    with actors("T1") as (a1,):
        f1 = a1.submit(lambda: interp.gil.acquire(t1))
        exc = exception(f1, "T1's wait to give up")
        assert isinstance(exc, WakeNotGranted)
        assert str(exc) == (
            "ControlledWaiter: thread 1 parked at take_gil was not woken within 0.1 s"
        )
    s = interp.snapshot()  # the mutex is free again
    assert s.thread(1).phase is Phase.DETACHED
    assert (s.holder, s.locked) == (0, True)
    interp.gil.release(interp.main_thread)  # no waiter is counted any more


def test_close_releases_parked_threads_for_teardown() -> None:
    waiter = ControlledWaiter(hang_timeout=SHORT_TIMEOUT)
    interp = Interpreter(waiter=waiter)
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    gil.acquire(main)
    with actors("T1") as (a1,):
        f1 = start_waiting(a1, t1, waiter)
        interp.finalize()
        waiter.close()  # timed out, no switch, must exit
        assert isinstance(exception(f1, "T1 to exit"), MustExit)
    assert waiter.blocked() == {}
    gil.release(main)


@contextmanager
def two_waiters(
    *, wake_on_notify: bool
) -> Iterator[tuple[Interpreter, ControlledWaiter, list[Actor], list[Future[object]]]]:
    """MAIN holds the GIL; T1, then T2, park in take_gil on their actors."""
    waiter = ControlledWaiter(wake_on_notify=wake_on_notify, hang_timeout=SHORT_TIMEOUT)
    interp = Interpreter(waiter=waiter)
    t1, t2 = interp.new_thread(), interp.new_thread()
    interp.gil.acquire(interp.main_thread)
    with actors("T1", "T2") as (a1, a2):
        futures = [start_waiting(a1, t1, waiter), start_waiting(a2, t2, waiter)]
        yield interp, waiter, [a1, a2], futures


def test_notifications_are_counted_and_only_granted_on_request() -> None:
    with two_waiters(wake_on_notify=False) as (interp, waiter, (a1, a2), (f1, f2)):
        gil = interp.gil
        t1, t2 = interp.threads[1:]
        gil.release(interp.main_thread)
        assert waiter.notifications(TAKE) == 1
        assert waiter.blocked() == {1: TAKE, 2: TAKE}
        waiter.wake(2)  # the test, not the OS, picks who wakes
        result(f2, "T2 to take the GIL")
        a2.call(lambda: gil.release(t2))
        assert waiter.notifications(TAKE) == 2
        waiter.wake(1)
        result(f1, "T1 to take the GIL")
        a1.call(lambda: gil.release(t1))
    assert waiter.notifications(SWITCH) == 0


def test_wake_on_notify_wakes_the_oldest_waiter() -> None:
    with two_waiters(wake_on_notify=True) as (interp, waiter, (a1, a2), (f1, f2)):
        gil = interp.gil
        t1, t2 = interp.threads[1:]
        gil.release(interp.main_thread)
        result(f1, "T1, the oldest waiter, to take the GIL")
        assert waiter.blocked() == {2: TAKE}
        a1.call(lambda: gil.release(t1))
        result(f2, "T2 to take the GIL")
        a2.call(lambda: gil.release(t2))


def test_allow_threads_with_a_pending_request_waits_for_the_switch() -> None:
    """Py_BEGIN_ALLOW_THREADS is a drop_gil too: with a request pending it force-switches."""
    waiter = ControlledWaiter(wake_on_notify=False, hang_timeout=SHORT_TIMEOUT)
    interp = Interpreter(waiter=waiter)
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    entered = threading.Event()
    with actors("MAIN", "T1") as (a0, a1):
        a0.call(lambda: gil.acquire(main))
        f1 = start_waiting(a1, t1, waiter)
        time_out_once(waiter, t1)

        def blocking_io() -> None:
            with main.allow_threads():
                entered.set()

        f0 = a0.submit(blocking_io)
        waiter.wait_blocked(0, SWITCH, SHORT_TIMEOUT)
        assert not entered.is_set(), "the body waits until another thread took the GIL"
        waiter.wake(1)
        result(f1, "T1 to take the GIL")
        waiter.wake(0)
        waiter.wait_blocked(0, TAKE, SHORT_TIMEOUT)  # the body ran; now it attaches
        assert entered.is_set()
        a1.call(lambda: gil.release(t1))
        waiter.wake(0)
        result(f0, "MAIN to leave allow_threads")
        assert main.holds_gil
        assert not main.breaker.is_set(Bit.GIL_DROP_REQUEST)
        a0.call(lambda: gil.release(main))


def test_block_recorder_fails_with_a_sentence() -> None:
    recorder = BlockRecorder()
    with pytest.raises(
        AssertionError,
        match=r"^timed out after 0\.0 s waiting for thread 1 to block at take_gil "
        r"\(blocked now: \{\}\)$",
    ):
        recorder.wait_blocked(1, TAKE, 0.01)


def test_trace_log_wait_for() -> None:
    log = TraceLog()
    with actors("EMITTER") as (emitter,):
        emitter.submit(lambda: log(TraceEvent("x", 7)))
        log.wait_for(lambda events: len(events) == 1, "the event", SHORT_TIMEOUT)
    assert log.names() == ["x"]
    assert log.names(7) == ["x"]
    with pytest.raises(AssertionError, match=r"^timed out after 0\.0 s waiting for never$"):
        log.wait_for(lambda events: False, "never", 0.01)
