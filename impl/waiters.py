"""Blocking points, and the two hooks around them: the waiter and the observer.

The protocol blocks in exactly two places (Python/ceval_gil.c, CPython 3.13):

* :attr:`BlockPoint.TAKE_GIL`: ``COND_TIMED_WAIT(gil->cond, gil->mutex,
  interval, timed_out)`` in ``take_gil``'s ``while (locked)`` loop;
* :attr:`BlockPoint.SWITCH_COND`: the single ``COND_WAIT(gil->switch_cond,
  gil->switch_mutex)`` in ``drop_gil`` (forced switching).

Every other lock in ``impl`` is held only for a short critical section that
never waits for another thread's progress.

The waiter
----------
Both waits, and the two ``COND_SIGNAL``s that end them, go through the GIL's
:class:`Waiter`. The default, :class:`RealWaiter`, is ``Condition.wait`` with
the real interval and ``Condition.notify``. :class:`ControlledWaiter` takes
wall-clock time out of the protocol: a thread that reaches a blocking point
*parks* (it releases the mutex, as a condition wait does) and stays parked until
the test calls :meth:`ControlledWaiter.wake`, which also says whether the timed
wait "timed out". A ``wake`` of a switch-cond wait that no ``take_gil`` signalled
is a spurious wake-up.

The observer
------------
An optional :class:`Observer` hears ``on_block(ts, point)`` just before each
wait and ``on_wake(ts, point, timed_out)`` just after. Both run with the
blocking point's mutex held: an observer must not block or call into ``impl``.
Because the mutex is held, anything a test does after seeing ``on_block`` that
needs that mutex (``drop_gil``, ``snapshot()``) happens after the thread really
waits, so no notification can be lost. :class:`BlockRecorder` is a ready-made
observer.
"""

from __future__ import annotations

import enum
import threading
import time
import typing
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from impl.thread import ThreadState


class BlockPoint(enum.StrEnum):
    """Where a thread blocks in the protocol."""

    TAKE_GIL = "take_gil"
    """``COND_TIMED_WAIT(gil->cond)`` in ``take_gil``."""
    SWITCH_COND = "switch_cond"
    """``COND_WAIT(gil->switch_cond)`` in ``drop_gil`` (FORCE_SWITCHING)."""


class Waiter(Protocol):
    """How the GIL waits on and signals its two condition variables.

    ``timed_wait`` and ``wait`` are called with ``cond``'s lock held and must
    return with it held, releasing it while they block (``Condition.wait``
    semantics); ``notify`` is called with ``cond``'s lock held, and only when a
    thread is inside ``timed_wait``/``wait`` on that condition.
    """

    def timed_wait(self, ts: ThreadState, cond: threading.Condition, timeout: float) -> bool:
        """Wait at TAKE_GIL for at most ``timeout`` s; return ``timed_out``."""
        ...

    def wait(self, ts: ThreadState, cond: threading.Condition) -> None:
        """Wait once at SWITCH_COND; a return is a wake-up (maybe spurious)."""
        ...

    def notify(self, cond: threading.Condition, point: BlockPoint) -> None:
        """``COND_SIGNAL(cond)``: wake one thread waiting at ``point``."""
        ...


class Observer(Protocol):
    """Hears every block and wake; called with the point's mutex held."""

    def on_block(self, ts: ThreadState, point: BlockPoint) -> None: ...

    def on_wake(self, ts: ThreadState, point: BlockPoint, timed_out: bool) -> None: ...


@typing.final
class RealWaiter:
    """The default waiter: real condition variables and the real interval.

    Mirrors ``PyCOND_TIMEDWAIT`` / ``PyCOND_WAIT`` / ``PyCOND_SIGNAL`` in
    Python/condvar.h (CPython 3.13). A wait that is notified and times out at
    the same moment reports what ``Condition.wait`` returns.
    """

    def timed_wait(self, ts: ThreadState, cond: threading.Condition, timeout: float) -> bool:
        return not cond.wait(min(timeout, threading.TIMEOUT_MAX))

    def wait(self, ts: ThreadState, cond: threading.Condition) -> None:
        cond.wait()

    def notify(self, cond: threading.Condition, point: BlockPoint) -> None:
        cond.notify()


class WakeNotGranted(AssertionError):
    """A thread parked in a :class:`ControlledWaiter` was never woken."""


@dataclass(slots=True, eq=False)
class _Park:
    ts_id: int
    point: BlockPoint
    cond: threading.Condition
    seq: int
    granted: bool = False
    timed_out: bool = False


@typing.final
class ControlledWaiter:
    """A waiter whose waits end only when the test says so.

    A thread that reaches TAKE_GIL or SWITCH_COND *parks*: it registers itself,
    then waits on the real condition (releasing the GIL's mutex or
    ``switch_mutex``) until :meth:`wake` grants it. No wall-clock time is
    involved, so "the interval expired" (``wake(t, timed_out=True)``), "a
    signal arrived" (``wake(t)``) and "a spurious wake-up" are all explicit test
    steps.

    Args:
        wake_on_notify: when true, each ``COND_SIGNAL`` the GIL sends grants the
            oldest thread parked at that point on that condition
            (``timed_out=False``; a :class:`~impl.FairGIL` gives each waiter a
            condition of its own, so the signal grants the one it names); timeouts
            still happen only through :meth:`wake`. When false (the default,
            for lock-step harnesses) signals are only counted (see
            :meth:`notifications`) and every wake-up is explicit.
        hang_timeout: a parked thread that is not woken within this many
            seconds raises :class:`WakeNotGranted` instead of hanging.

    Protocol for tests: after :meth:`wake`, wait for the woken thread's next
    observable point (parked again via :meth:`wait_blocked`, or its operation
    returned) before taking a snapshot.
    """

    def __init__(self, *, wake_on_notify: bool = False, hang_timeout: float = 60.0) -> None:
        self.wake_on_notify = wake_on_notify
        self.hang_timeout = hang_timeout
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._parked: dict[int, _Park] = {}
        self._seq = 0
        self._closed = False
        self._notified: Counter[BlockPoint] = Counter()

    # -- Waiter protocol (called by the GIL, with cond's lock held) ----------------
    def timed_wait(self, ts: ThreadState, cond: threading.Condition, timeout: float) -> bool:
        return self._park(ts, cond, BlockPoint.TAKE_GIL)

    def wait(self, ts: ThreadState, cond: threading.Condition) -> None:
        self._park(ts, cond, BlockPoint.SWITCH_COND)

    def notify(self, cond: threading.Condition, point: BlockPoint) -> None:
        with self._lock:
            self._notified[point] += 1
            if not self.wake_on_notify:
                return
            parks = [
                p
                for p in self._parked.values()
                if p.point is point and p.cond is cond and not p.granted
            ]
            if not parks:
                return
            park = min(parks, key=lambda p: p.seq)
            park.granted = True
            self._changed.notify_all()
        cond.notify_all()

    def _park(self, ts: ThreadState, cond: threading.Condition, point: BlockPoint) -> bool:
        with self._lock:
            if self._closed:
                return True
            self._seq += 1
            park = _Park(ts.id, point, cond, self._seq)
            self._parked[ts.id] = park
            self._changed.notify_all()
        deadline = time.monotonic() + self.hang_timeout
        try:
            # park.granted is written before cond is notified, under self._lock;
            # we re-read it after every wake-up of cond, holding cond's lock.
            while not park.granted:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WakeNotGranted(
                        f"ControlledWaiter: thread {ts.id} parked at {point} "
                        f"was not woken within {self.hang_timeout:.1f} s"
                    )
                cond.wait(remaining)
            return park.timed_out
        finally:
            with self._lock:
                if self._parked.get(ts.id) is park:
                    del self._parked[ts.id]
                self._changed.notify_all()

    # -- test side -------------------------------------------------------------------
    def blocked(self) -> dict[int, BlockPoint]:
        """The threads parked now and not yet woken, by id."""
        with self._lock:
            return {i: p.point for i, p in self._parked.items() if not p.granted}

    def wait_blocked(self, ts_id: int, point: BlockPoint, timeout: float) -> None:
        """Wait until thread ``ts_id`` is parked at ``point`` and not yet woken."""

        def parked() -> bool:
            p = self._parked.get(ts_id)
            return p is not None and p.point is point and not p.granted

        with self._lock:
            if not self._changed.wait_for(parked, timeout):
                raise AssertionError(
                    f"timed out after {timeout:.1f} s waiting for thread {ts_id} "
                    f"to park at {point} (parked now: {self._describe()})"
                )

    def wake(self, ts_id: int, *, timed_out: bool = False) -> BlockPoint:
        """End thread ``ts_id``'s wait; ``timed_out`` is what a TAKE_GIL wait reports.

        Returns the point the thread was parked at.

        Raises:
            ValueError: the thread is not parked (or was already woken).
        """
        with self._lock:
            park = self._parked.get(ts_id)
            if park is None or park.granted:
                raise ValueError(
                    f"ControlledWaiter.wake: thread {ts_id} is not parked "
                    f"(parked now: {self._describe()})"
                )
            park.timed_out = timed_out
            park.granted = True
            self._changed.notify_all()
        with park.cond:
            park.cond.notify_all()
        return park.point

    def notifications(self, point: BlockPoint) -> int:
        """How many ``COND_SIGNAL``s the GIL sent to waiters at ``point`` so far."""
        with self._lock:
            return self._notified[point]

    def close(self) -> None:
        """Wake every parked thread (``timed_out=True``); later waits return at once.

        For teardown after ``Interpreter.finalize()``: waiters in ``take_gil``
        then exit on their next timed-out wake.
        """
        with self._lock:
            self._closed = True
            parks = [p for p in self._parked.values() if not p.granted]
            for park in parks:
                park.timed_out = True
                park.granted = True
            self._changed.notify_all()
        for park in parks:
            with park.cond:
                park.cond.notify_all()

    def _describe(self) -> str:
        parks = sorted(self._parked.values(), key=lambda p: p.seq)
        return (
            ", ".join(f"{p.ts_id}@{p.point}{'(woken)' if p.granted else ''}" for p in parks)
            or "none"
        )


@typing.final
class BlockRecorder:
    """A ready-made :class:`Observer`: who is blocked where, and the history.

    ``events`` holds ``("block", ts_id, point, None)`` and ``("wake", ts_id,
    point, timed_out)`` tuples in the order they happened.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._blocked: dict[int, BlockPoint] = {}
        self.events: list[tuple[str, int, BlockPoint, bool | None]] = []

    def on_block(self, ts: ThreadState, point: BlockPoint) -> None:
        with self._cond:
            self._blocked[ts.id] = point
            self.events.append(("block", ts.id, point, None))
            self._cond.notify_all()

    def on_wake(self, ts: ThreadState, point: BlockPoint, timed_out: bool) -> None:
        with self._cond:
            self._blocked.pop(ts.id, None)
            self.events.append(("wake", ts.id, point, timed_out))
            self._cond.notify_all()

    def blocked(self) -> dict[int, BlockPoint]:
        """The threads blocked now, by id."""
        with self._cond:
            return dict(self._blocked)

    def wait_blocked(self, ts_id: int, point: BlockPoint, timeout: float) -> None:
        """Wait until thread ``ts_id`` is blocked at ``point``."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._blocked.get(ts_id) is point, timeout):
                raise AssertionError(
                    f"timed out after {timeout:.1f} s waiting for thread {ts_id} "
                    f"to block at {point} (blocked now: {self._blocked})"
                )
