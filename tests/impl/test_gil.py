"""take_gil / drop_gil: hand-offs, drop requests, forced switching, misuse, interval.

Threads that may block run on :class:`~tests.impl.helpers.Actor` threads; the
test thread drives them through a :class:`~impl.ControlledWaiter`, so "the
interval expired" is an explicit step and nothing depends on timing.
"""

from __future__ import annotations

import math

import pytest

from conformance.support import SHORT_TIMEOUT
from impl import (
    Bit,
    BlockPoint,
    BlockRecorder,
    ControlledWaiter,
    GilProtocolError,
    Interpreter,
    Phase,
    TraceLog,
)
from impl.gil import GIL
from tests.impl.helpers import actors, result, start_waiting, time_out_once

DROP = Bit.GIL_DROP_REQUEST
TAKE = BlockPoint.TAKE_GIL
SWITCH = BlockPoint.SWITCH_COND


def controlled(*, wake_on_notify: bool) -> tuple[Interpreter, ControlledWaiter, TraceLog]:
    waiter = ControlledWaiter(wake_on_notify=wake_on_notify, hang_timeout=SHORT_TIMEOUT)
    log = TraceLog()
    return Interpreter(waiter=waiter, trace=log), waiter, log


def test_acquire_release_round_trip() -> None:
    interp = Interpreter()
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    s = interp.snapshot()
    assert (s.locked, s.holder, s.last_holder, s.switch_number) == (False, None, None, 0)

    gil.acquire(main)
    s = interp.snapshot()
    assert (s.locked, s.holder, s.last_holder, s.switch_number) == (True, 0, 0, 1)
    assert main.holds_gil
    assert main.phase is Phase.HOLDING
    assert gil.holder is main

    gil.release(main)
    s = interp.snapshot()
    # last_holder is never cleared on release.
    assert (s.locked, s.holder, s.last_holder, s.switch_number) == (False, None, 0, 1)
    assert s.thread(0).phase is Phase.DETACHED

    gil.acquire(main)  # the same thread again: not a switch
    assert gil.switch_number == 1
    gil.release(main)
    gil.acquire(t1)  # another thread: a switch
    assert (gil.switch_number, gil.last_holder) == (2, t1)
    gil.release(t1)


def test_second_thread_waits_for_release() -> None:
    recorder = BlockRecorder()
    waiter = ControlledWaiter(wake_on_notify=True, hang_timeout=SHORT_TIMEOUT)
    interp = Interpreter(waiter=waiter, observer=recorder)
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    gil.acquire(main)
    with actors("T1") as (a1,):
        f1 = a1.submit(lambda: gil.acquire(t1))
        recorder.wait_blocked(1, TAKE, SHORT_TIMEOUT)
        s = interp.snapshot()  # taken once T1 really waits (it needs the mutex)
        assert s.thread(1).phase is Phase.TAKE_WAIT
        assert s.thread(1).saved_switch_number == 1
        assert (s.holder, s.locked) == (0, True)
        assert not f1.done()

        gil.release(main)  # COND_SIGNAL(cond) wakes T1 (wake_on_notify)
        result(f1, "T1 to take the GIL after the release")
        s = interp.snapshot()
        assert (s.holder, s.last_holder, s.switch_number) == (1, 1, 2)
        assert recorder.events == [("block", 1, TAKE, None), ("wake", 1, TAKE, False)]
        a1.call(lambda: gil.release(t1))


def test_request_drop_sets_the_flag_and_the_hand_off_clears_it() -> None:
    interp, waiter, log = controlled(wake_on_notify=True)
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    with actors("MAIN", "T1") as (a0, a1):
        a0.call(lambda: gil.acquire(main))
        f1 = start_waiting(a1, t1, waiter)
        assert not main.breaker.is_set(DROP)

        time_out_once(waiter, t1)  # the interval expired with no switch
        assert gil.drop_requested
        assert main.breaker.is_set(DROP)
        s = interp.snapshot()
        assert s.thread(1).drop_requested
        assert [(e.name, e.thread, e["holder"]) for e in log.named("drop_request.set")] == [
            ("drop_request.set", 1, 0)
        ]

        # MAIN reaches a check point: it drops the GIL (forced switching), T1
        # takes it, MAIN attaches again and waits.
        f0 = a0.submit(lambda: interp.handle_pending(main))
        result(f1, "T1 to take the GIL")
        waiter.wait_blocked(0, TAKE, SHORT_TIMEOUT)
        s = interp.snapshot()
        assert (s.holder, s.switch_number) == (1, 2)
        assert not s.thread(0).breaker & DROP, "the forced dropper cleared its request"
        assert not s.thread(1).breaker & DROP, "take_gil clears the new holder's bit"
        assert not interp.gil.drop_requested  # (not `gil.`: mypy narrowed that one above)

        a1.call(lambda: gil.release(t1))
        result(f0, "MAIN to take the GIL back")
        assert (gil.holder, gil.switch_number) == (main, 3)
        a0.call(lambda: gil.release(main))


def test_request_drop_without_a_holder_is_refused() -> None:
    interp = Interpreter()
    before = interp.snapshot()
    with pytest.raises(GilProtocolError, match=r"^request_drop: GIL is not locked$"):
        interp.gil.request_drop()
    assert interp.snapshot() == before


def test_forced_switching_dropper_waits_until_another_thread_took_the_gil() -> None:
    """The real waiter: the dropper cannot re-take the GIL it dropped on request.

    Whatever the interleaving, MAIN's next acquisition follows T1's, and if MAIN
    blocked on switch_cond it woke only after T1 took the GIL.
    """
    recorder = BlockRecorder()
    log = TraceLog()
    # A long interval: no waiter times out during the test; request_drop() asks.
    interp = Interpreter(60.0, observer=recorder, trace=log)
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    with actors("MAIN", "T1") as (a0, a1):
        a0.call(lambda: gil.acquire(main))
        f1 = a1.submit(lambda: gil.acquire(t1))
        recorder.wait_blocked(1, TAKE, SHORT_TIMEOUT)
        gil.request_drop()
        f0 = a0.submit(lambda: interp.handle_pending(main))
        result(f1, "T1 to take the GIL")
        recorder.wait_blocked(0, TAKE, SHORT_TIMEOUT)
        a1.call(lambda: gil.release(t1))
        result(f0, "MAIN to take the GIL back")
        a0.call(lambda: gil.release(main))

    acquires = [(e.thread, e["switch_number"]) for e in log.named("take_gil.acquire")]
    assert acquires == [(0, 1), (1, 2), (0, 3)]
    names = [(e.name, e.thread) for e in log.events]
    t1_acquired = names.index(("take_gil.acquire", 1))
    if ("drop_gil.switch_wait", 0) in names:
        assert names.index(("drop_gil.switch_wake", 0)) > t1_acquired
        assert ("block", 0, SWITCH, None) in recorder.events


def test_forced_switching_step_by_step() -> None:
    interp, waiter, log = controlled(wake_on_notify=False)
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    with actors("MAIN", "T1") as (a0, a1):
        a0.call(lambda: gil.acquire(main))
        f1 = start_waiting(a1, t1, waiter)
        time_out_once(waiter, t1)

        f0 = a0.submit(lambda: interp.handle_pending(main))
        waiter.wait_blocked(0, SWITCH, SHORT_TIMEOUT)
        s = interp.snapshot()
        assert s.thread(0).phase is Phase.SWITCH_WAIT
        assert (s.locked, s.last_holder, s.holder) == (False, 0, None)
        assert not s.thread(0).breaker & DROP, "cleared before COND_WAIT(switch_cond)"
        assert waiter.notifications(TAKE) == 1  # drop_gil's COND_SIGNAL(cond)
        assert not f0.done()

        waiter.wake(1)  # T1 was signalled: it takes the GIL and signals switch_cond
        result(f1, "T1 to take the GIL")
        assert waiter.notifications(SWITCH) == 1
        s = interp.snapshot()
        assert (s.holder, s.switch_number) == (1, 2)
        assert s.thread(0).phase is Phase.SWITCH_WAIT
        assert not f0.done()

        waiter.wake(0)  # switch_cond's signal reaches MAIN; it attaches and waits
        waiter.wait_blocked(0, TAKE, SHORT_TIMEOUT)
        a1.call(lambda: gil.release(t1))
        waiter.wake(0)
        result(f0, "MAIN to take the GIL back")
        assert (gil.holder, gil.switch_number) == (main, 3)
        a0.call(lambda: gil.release(main))
    assert [e.name for e in log.events if e.thread == 0 and e.name.startswith("drop_gil")] == [
        "drop_gil",
        "drop_gil.switch_wait",
        "drop_gil.switch_wake",
        "drop_gil",
    ]
    assert log.named("drop_gil.switch_wake")[0]["switched"] is True


def test_spurious_switch_cond_wake_lets_the_dropper_take_the_gil_back() -> None:
    """The forced-switching wait is a single COND_WAIT: a spurious wake ends it."""
    interp, waiter, log = controlled(wake_on_notify=False)
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    with actors("MAIN", "T1") as (a0, a1):
        a0.call(lambda: gil.acquire(main))
        f1 = start_waiting(a1, t1, waiter)
        time_out_once(waiter, t1)
        f0 = a0.submit(lambda: interp.handle_pending(main))
        waiter.wait_blocked(0, SWITCH, SHORT_TIMEOUT)

        waiter.wake(0)  # spurious: nobody took the GIL
        result(f0, "MAIN to take the GIL back")
        s = interp.snapshot()
        assert (s.holder, s.last_holder, s.switch_number) == (0, 0, 1)
        assert log.named("drop_gil.switch_wake")[0]["switched"] is False
        assert s.thread(1).phase is Phase.TAKE_WAIT
        assert s.thread(1).drop_requested

        time_out_once(waiter, t1)  # T1 asks again
        assert main.breaker.is_set(DROP)
        f0 = a0.submit(lambda: gil.release(main))  # a request is pending: forced switching
        waiter.wait_blocked(0, SWITCH, SHORT_TIMEOUT)
        waiter.wake(1)
        result(f1, "T1 to take the GIL")
        waiter.wake(0)
        result(f0, "MAIN to return from drop_gil")
        a1.call(lambda: gil.release(t1))


def test_a_waiter_that_saw_a_switch_gives_the_new_holder_a_fresh_interval() -> None:
    interp, waiter, _ = controlled(wake_on_notify=False)
    gil, main = interp.gil, interp.main_thread
    t1, t2 = interp.new_thread(), interp.new_thread()
    with actors("MAIN", "T1", "T2") as (a0, a1, a2):
        a0.call(lambda: gil.acquire(main))
        f1 = a1.submit(lambda: gil.acquire(t1))
        f2 = a2.submit(lambda: gil.acquire(t2))
        waiter.wait_blocked(1, TAKE, SHORT_TIMEOUT)
        waiter.wait_blocked(2, TAKE, SHORT_TIMEOUT)
        a0.call(lambda: gil.release(main))
        waiter.wake(1)
        result(f1, "T1 to take the GIL")
        assert gil.switch_number == 2

        time_out_once(waiter, t2)  # timed out, but a switch happened meanwhile
        assert not t1.breaker.is_set(DROP)
        assert interp.snapshot().thread(2).saved_switch_number == 2

        time_out_once(waiter, t2)  # now a full interval passed with no switch
        assert t1.breaker.is_set(DROP)

        f1 = a1.submit(lambda: gil.release(t1))  # forced switching
        waiter.wait_blocked(1, SWITCH, SHORT_TIMEOUT)
        waiter.wake(2)
        result(f2, "T2 to take the GIL")
        waiter.wake(1)
        result(f1, "T1 to return from drop_gil")
        a2.call(lambda: gil.release(t2))


def test_timed_out_wake_with_the_gil_free_takes_it_without_a_request() -> None:
    interp, waiter, log = controlled(wake_on_notify=False)
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    with actors("MAIN", "T1") as (a0, a1):
        a0.call(lambda: gil.acquire(main))
        f1 = start_waiting(a1, t1, waiter)
        a0.call(lambda: gil.release(main))
        waiter.wake(1, timed_out=True)  # timed out, but locked is 0 now
        result(f1, "T1 to take the GIL")
        assert log.named("drop_request.set") == []
        a1.call(lambda: gil.release(t1))


def test_misuse_raises_and_changes_nothing() -> None:
    interp = Interpreter()
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()

    before = interp.snapshot()
    with pytest.raises(GilProtocolError, match=r"^drop_gil: GIL is not locked$"):
        gil.release(main)
    assert interp.snapshot() == before

    gil.acquire(main)
    before = interp.snapshot()
    with pytest.raises(GilProtocolError, match=r"^drop_gil: thread 1 does not hold the GIL$"):
        gil.release(t1)
    assert interp.snapshot() == before
    with pytest.raises(GilProtocolError, match=r"^take_gil: thread 0 already holds the GIL$"):
        gil.acquire(main)
    assert interp.snapshot() == before

    other = Interpreter().main_thread
    with pytest.raises(
        ValueError, match=r"^take_gil: thread 0 belongs to an interpreter with another GIL$"
    ):
        gil.acquire(other)
    with pytest.raises(GilProtocolError, match=r"^drop_gil: thread 0 does not hold the GIL$"):
        gil.release(other)
    assert interp.snapshot() == before
    gil.release(main)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        # Experiment 6 on CPython 3.13.0 (cpython-experiments/RESULTS.txt).
        (0.005, 0.005),
        (1.9999e-06, 1e-06),
        (1e-07, 0.0),
        (1.5e-05, 1.4999999999999999e-05),
        (15 * 1e-6, 1.4e-05),
        (True, 1.0),
        (2, 2.0),
    ],
)
def test_switch_interval_is_truncated_to_microseconds(seconds: float, expected: float) -> None:
    gil = GIL()
    gil.set_switch_interval(seconds)
    assert gil.get_switch_interval() == expected
    assert gil.interval_us == int(1e6 * seconds)


@pytest.mark.parametrize(
    ("seconds", "exc_type", "message"),
    [
        (0, ValueError, r"^switch interval must be strictly positive$"),
        (0.0, ValueError, r"^switch interval must be strictly positive$"),
        (-0.0, ValueError, r"^switch interval must be strictly positive$"),
        (-1e-9, ValueError, r"^switch interval must be strictly positive$"),
        (-math.inf, ValueError, r"^switch interval must be strictly positive$"),
        (math.nan, ValueError, r"^switch interval must be finite$"),
        (math.inf, ValueError, r"^switch interval must be finite$"),
        (1e30, ValueError, r"^switch interval is too large$"),
        ("0.1", TypeError, r"^must be real number, not str$"),
        (None, TypeError, r"^must be real number, not NoneType$"),
        (1j, TypeError, r"^must be real number, not complex$"),
    ],
)
def test_bad_switch_interval_raises_and_changes_nothing(
    seconds: object, exc_type: type[Exception], message: str
) -> None:
    interp = Interpreter(0.002)
    with pytest.raises(exc_type, match=message):
        interp.gil.set_switch_interval(seconds)  # type: ignore[arg-type]  # bad on purpose
    assert interp.gil.interval_us == 2000
    with pytest.raises(exc_type, match=message):
        GIL(seconds)  # type: ignore[arg-type]  # bad on purpose


def test_effective_wait_is_at_least_one_microsecond_and_reread_each_wait() -> None:
    interp, waiter, log = controlled(wake_on_notify=False)
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    gil.set_switch_interval(1e-7)  # stores 0 us
    assert gil.get_switch_interval() == 0.0
    with actors("MAIN", "T1") as (a0, a1):
        a0.call(lambda: gil.acquire(main))
        f1 = start_waiting(a1, t1, waiter)
        gil.set_switch_interval(0.25)
        waiter.wake(1)
        waiter.wait_blocked(1, TAKE, SHORT_TIMEOUT)
        a0.call(lambda: gil.release(main))
        waiter.wake(1)
        result(f1, "T1 to take the GIL")
        a1.call(lambda: gil.release(t1))
    assert [e["interval_us"] for e in log.named("take_gil.wait")] == [1, 250000]
