"""``PyThreadState_DeleteCurrent``: a thread's last release of the GIL."""

from __future__ import annotations

import pytest

from conformance.support import SHORT_TIMEOUT
from impl import Bit, BlockPoint, ControlledWaiter, GilProtocolError, Interpreter, Phase
from tests.impl.helpers import actors, start_waiting, time_out_once

DROP = Bit.GIL_DROP_REQUEST


def test_delete_current_thread_releases_for_good() -> None:
    interp = Interpreter()
    t1 = interp.new_thread()
    interp.gil.acquire(t1)
    interp.delete_current_thread(t1)
    snap = interp.snapshot()
    assert (snap.locked, snap.holder, snap.last_holder) == (False, None, 1)
    assert snap.thread(1).phase is Phase.EXITED
    assert not t1.holds_gil


def test_delete_current_thread_needs_the_gil() -> None:
    interp = Interpreter()
    t1 = interp.new_thread()
    with pytest.raises(
        GilProtocolError, match=r"^PyThreadState_DeleteCurrent: thread 1 does not hold the GIL$"
    ):
        interp.delete_current_thread(t1)
    assert interp.snapshot().thread(1).phase is Phase.DETACHED


def test_no_forced_switch_and_the_waiter_is_signalled() -> None:
    """A pending drop request does not make the last release wait (gh-104341)."""
    waiter = ControlledWaiter(wake_on_notify=False, hang_timeout=SHORT_TIMEOUT)
    interp = Interpreter(waiter=waiter)
    main, t1 = interp.main_thread, interp.new_thread()
    with actors("T0", "T1") as (a0, a1):
        a1.call(lambda: interp.gil.acquire(t1), "T1 takes the GIL")
        waiting = start_waiting(a0, main, waiter)
        time_out_once(waiter, main)
        assert t1.breaker.load() & DROP
        a1.call(lambda: interp.delete_current_thread(t1), "T1 deletes itself")
        assert waiter.notifications(BlockPoint.TAKE_GIL) == 1
        assert waiter.blocked() == {0: BlockPoint.TAKE_GIL}
        waiter.wake(0)
        waiting.result(SHORT_TIMEOUT)
    snap = interp.snapshot()
    assert (snap.holder, snap.switch_number) == (0, 2)
    assert snap.thread(1).phase is Phase.EXITED
