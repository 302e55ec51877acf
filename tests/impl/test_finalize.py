"""Finalization: the three ways take_gil makes a thread exit, and gh-96387."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass

import pytest

from conformance.support import SHORT_TIMEOUT, join_thread
from impl import (
    Bit,
    BlockPoint,
    ControlledWaiter,
    GilProtocolError,
    Interpreter,
    MustExit,
    Phase,
    ThreadState,
    TraceLog,
)
from tests.impl.helpers import actors, exception

DROP = Bit.GIL_DROP_REQUEST
TAKE = BlockPoint.TAKE_GIL
EXIT_MESSAGE = r"^take_gil: thread 1 must exit: the interpreter is finalizing$"


def setup() -> tuple[Interpreter, ControlledWaiter, TraceLog]:
    waiter = ControlledWaiter(wake_on_notify=False, hang_timeout=SHORT_TIMEOUT)
    log = TraceLog()
    interp = Interpreter(waiter=waiter, trace=log)
    return interp, waiter, log


def test_take_gil_after_finalize_exits_at_entry() -> None:
    interp, _, log = setup()
    main = interp.main_thread
    t1 = interp.new_thread()
    interp.gil.acquire(main)
    interp.finalize()
    before = interp.snapshot()
    with pytest.raises(MustExit, match=EXIT_MESSAGE):
        interp.gil.acquire(t1)
    after = interp.snapshot()
    assert after.thread(1).phase is Phase.EXITED
    assert after.threads[0] == before.threads[0]
    assert (after.locked, after.holder, after.switch_number) == (True, 0, 1)
    assert log.names(1) == ["take_gil.must_exit"]
    assert log.named("take_gil.must_exit")[0]["at"] == "entry"


def test_the_finalizing_thread_keeps_going() -> None:
    interp, _, _ = setup()
    main = interp.main_thread
    interp.gil.acquire(main)
    interp.finalize()
    interp.gil.release(main)
    interp.gil.acquire(main)
    assert interp.finalizing is main
    interp.gil.release(main)


@dataclass
class Scene:
    """MAIN holds the GIL; T1 (on its actor) waits in take_gil, parked."""

    interp: Interpreter
    waiter: ControlledWaiter
    log: TraceLog
    main: ThreadState
    t1: ThreadState
    t1_acquire: Future[object]


@pytest.fixture
def scene() -> Iterator[Scene]:
    interp, waiter, log = setup()
    main, t1 = interp.main_thread, interp.new_thread()
    with actors("T1") as (a1,):
        interp.gil.acquire(main)
        f1 = a1.submit(lambda: interp.gil.acquire(t1))
        waiter.wait_blocked(1, TAKE, SHORT_TIMEOUT)
        yield Scene(interp, waiter, log, main, t1, f1)


def t1_exits(scene: Scene) -> None:
    assert isinstance(exception(scene.t1_acquire, "T1 to exit"), MustExit)
    assert scene.interp.snapshot().thread(1).phase is Phase.EXITED


def test_a_waiter_that_must_exit_resets_its_drop_request_gh_96387(scene: Scene) -> None:
    interp, waiter, main = scene.interp, scene.waiter, scene.main
    waiter.wake(1, timed_out=True)  # T1 asks MAIN to drop
    waiter.wait_blocked(1, TAKE, SHORT_TIMEOUT)
    assert main.breaker.is_set(DROP)

    interp.finalize()
    waiter.wake(1, timed_out=True)  # timed out, no switch, and T1 must exit
    t1_exits(scene)
    assert not main.breaker.is_set(DROP), "otherwise MAIN's drop_gil would wait forever"
    s = interp.snapshot()
    assert (s.holder, s.switch_number) == (0, 1)
    assert [e.name for e in scene.log.events if e.thread == 1][-2:] == [
        "drop_request.reset",
        "take_gil.must_exit",
    ]
    interp.gil.release(main)  # no request pending: no forced-switching wait


def test_a_waiter_that_never_asked_exits_without_touching_the_holder(scene: Scene) -> None:
    scene.interp.finalize()
    scene.main.breaker.set(Bit.CALLS_TO_DO)
    scene.waiter.wake(1, timed_out=True)
    t1_exits(scene)
    assert scene.main.breaker.load() == Bit.CALLS_TO_DO
    assert scene.log.named("drop_request.reset") == []
    scene.main.breaker.clear(Bit.CALLS_TO_DO)
    scene.interp.gil.release(scene.main)


def test_a_signalled_waiter_does_not_exit_until_it_times_out_or_acquires(scene: Scene) -> None:
    scene.interp.finalize()
    scene.waiter.wake(1)  # signalled (not timed out) while still locked: loop again
    scene.waiter.wait_blocked(1, TAKE, SHORT_TIMEOUT)
    assert not scene.t1_acquire.done()
    scene.waiter.wake(1, timed_out=True)
    t1_exits(scene)
    scene.interp.gil.release(scene.main)


def test_a_waiter_that_acquires_during_finalization_releases_and_exits(scene: Scene) -> None:
    interp, gil, main = scene.interp, scene.interp.gil, scene.main
    interp.finalize()
    gil.release(main)  # e.g. wait_for_thread_shutdown() in allow-threads
    scene.waiter.wake(1)
    t1_exits(scene)
    s = interp.snapshot()
    # T1 took the GIL (a switch), then dropped it with final_release=1.
    assert (s.locked, s.holder, s.last_holder, s.switch_number) == (False, None, 1, 2)
    assert not s.thread(1).holds_gil
    names = [e.name for e in scene.log.events if e.thread == 1]
    assert names[-2:] == ["take_gil.must_exit", "drop_gil"]
    assert scene.log.events[-1]["final_release"] is True
    gil.acquire(main)  # MAIN is not last_holder any more: a switch
    assert gil.switch_number == 3
    gil.release(main)


def test_finalize_misuse() -> None:
    interp = Interpreter()
    with pytest.raises(
        GilProtocolError, match=r"^finalize: the main thread does not hold the GIL$"
    ):
        interp.finalize()
    assert interp.finalizing is None
    interp.gil.acquire(interp.main_thread)
    interp.finalize()
    with pytest.raises(
        GilProtocolError, match=r"^finalize: the interpreter is already finalizing$"
    ):
        interp.finalize()


def test_must_exit_ends_a_plain_worker_thread() -> None:
    interp = Interpreter()
    interp.gil.acquire(interp.main_thread)
    interp.finalize()
    t1 = interp.new_thread()
    reached: list[str] = []

    def body() -> None:
        try:
            interp.gil.acquire(t1)
            reached.append("after acquire")
        except MustExit:
            reached.append("exit")
            raise

    # pytest records every exception that ends a thread, SystemExit included,
    # so the test swallows it at the top of the thread after checking it.
    def target() -> None:
        try:
            body()
        except SystemExit:
            reached.append("thread ends")

    worker = threading.Thread(target=target)
    worker.start()
    join_thread(worker)
    assert reached == ["exit", "thread ends"]
