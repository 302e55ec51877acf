"""The state of the GIL: ``struct _gil_runtime_state`` and the switch interval.

Mirrors Include/internal/pycore_gil.h and ``create_gil()`` in
Python/ceval_gil.c, and ``sys_getswitchinterval_impl()`` /
``sys_setswitchinterval_impl()`` in Python/sysmodule.c (CPython 3.13, default
build). :class:`GILState` is the base of :class:`impl.gil.GIL`: it holds the
fields, reads them and has the two condition waits (where the waiter and
observer hooks act); the protocol steps (``take_gil``, ``drop_gil``) are in
:mod:`impl.gil`.

Locks, and what they protect (same split as CPython)::

    mutex (+ cond)              locked, switch_number, every ThreadState's
                                holds_gil and phase; last_holder is written
                                under mutex *and* switch_mutex in take_gil
    switch_mutex (+ switch_cond) last_holder (see drop_gil), the forced-
                                switching wait

Invariants (checked by tests through :meth:`impl.Interpreter.snapshot`)::

    at most one ThreadState has holds_gil
    holds_gil(t)  =>  locked and last_holder is t
    switch_number grows by one exactly when take_gil hands the GIL to a
    thread other than last_holder
"""

from __future__ import annotations

import math
import operator
import threading
import typing
from typing import TYPE_CHECKING

from impl.breaker import Bit
from impl.thread import Phase
from impl.trace import Trace, TraceEvent
from impl.waiters import BlockPoint, Observer, RealWaiter, Waiter

if TYPE_CHECKING:
    from impl.interpreter import Interpreter
    from impl.thread import ThreadState

_DROP = int(Bit.GIL_DROP_REQUEST)
_ULONG_LIMIT = 1 << 64


def _as_double(x: object) -> float:
    """Convert like Argument Clinic's ``double`` converter (``PyFloat_AsDouble``)."""
    if isinstance(x, float):
        return x
    t = type(x)
    if hasattr(t, "__float__"):
        return float(x)  # type: ignore[arg-type]  # checked: the type defines __float__
    if hasattr(t, "__index__"):
        return float(operator.index(typing.cast(typing.SupportsIndex, x)))
    raise TypeError(f"must be real number, not {t.__name__}")


def interval_to_microseconds(seconds: object) -> int:
    """Validate a switch interval in seconds and return the stored microseconds.

    Mirrors ``sys_setswitchinterval_impl()`` in Python/sysmodule.c (CPython
    3.13): ``(unsigned long)(1e6 * interval)``, i.e. truncation toward zero.

    Deviates: CPython passes NaN, infinity and values of 2**64 microseconds or
    more to that cast, which is undefined behaviour in C (x86-64 stores
    9223372036854775 for NaN and 0 for +inf); they raise ValueError here.

    Raises:
        TypeError: ``"must be real number, not str"`` for a non-real.
        ValueError: ``"switch interval must be strictly positive"`` for
            ``x <= 0``; ``"switch interval must be finite"`` for NaN or +inf;
            ``"switch interval is too large"`` for 2**64 microseconds or more.
    """
    x = _as_double(seconds)
    if x <= 0.0:
        raise ValueError("switch interval must be strictly positive")
    if not math.isfinite(x):
        raise ValueError("switch interval must be finite")
    us = 1e6 * x
    if us >= _ULONG_LIMIT:
        raise ValueError("switch interval is too large")
    return int(us)


class GILState:
    """The fields of a :class:`~impl.gil.GIL` (``struct _gil_runtime_state``) and their readers.

    ``__init__`` is ``create_gil()``; the arguments are documented on
    :class:`~impl.gil.GIL`. Holds no protocol step of its own, only the two
    waits that ``take_gil`` and ``drop_gil`` block in.
    """

    __slots__ = (
        "_cond",
        "_cond_waiters",
        "_interp",
        "_interval",
        "_last_holder",
        "_lin",
        "_locked",
        "_mutex",
        "_observer",
        "_switch_cond",
        "_switch_mutex",
        "_switch_number",
        "_switch_waiters",
        "_trace",
        "_waiter",
    )

    def __init__(
        self,
        interval: float = 0.005,
        *,
        waiter: Waiter | None = None,
        observer: Observer | None = None,
        trace: Trace | None = None,
    ) -> None:
        # create_gil(): locked = 0, last_holder = NULL; switch_number starts at 0.
        self._interval = interval_to_microseconds(interval)
        self._mutex = threading.Lock()
        self._cond = threading.Condition(self._mutex)
        self._switch_mutex = threading.Lock()
        self._switch_cond = threading.Condition(self._switch_mutex)
        self._locked = False
        self._last_holder: ThreadState | None = None
        self._switch_number = 0
        # How many threads are inside a wait on cond / switch_cond. Protected by
        # the matching mutex. COND_SIGNAL with no waiter does nothing, so the
        # signal is skipped then (the uncontended path stays cheap).
        self._cond_waiters = 0
        self._switch_waiters = 0
        self._waiter: Waiter = waiter if waiter is not None else RealWaiter()
        self._observer = observer
        self._trace = trace
        self._interp: Interpreter | None = None
        # The linearization lock of a traced interpreter (see impl.trace); None untraced.
        self._lin: threading.RLock | None = threading.RLock() if trace is not None else None

    # -- read-only state ----------------------------------------------------------------
    @property
    def locked(self) -> bool:
        """``gil->locked``."""
        return self._locked

    @property
    def last_holder(self) -> ThreadState | None:
        """``gil->last_holder``: never cleared on release."""
        return self._last_holder

    @property
    def switch_number(self) -> int:
        """``gil->switch_number``."""
        return self._switch_number

    @property
    def holder(self) -> ThreadState | None:
        """The thread whose ``holds_gil`` is true, if any."""
        with self._mutex:
            holder = self._last_holder
            if self._locked and holder is not None and holder.holds_gil:
                return holder
            return None

    @property
    def drop_requested(self) -> bool:
        """Whether the current holder's GIL_DROP_REQUEST bit is set."""
        holder = self.holder
        return holder is not None and bool(holder.breaker.load() & _DROP)

    def get_switch_interval(self) -> float:
        """Mirrors ``sys_getswitchinterval_impl()``: ``1e-6 * interval``."""
        return 1e-6 * self._interval

    def set_switch_interval(self, seconds: float) -> None:
        """Mirrors ``sys_setswitchinterval_impl()`` (see :func:`interval_to_microseconds`).

        The new value is read by each waiter at its next wait.
        """
        self._interval = interval_to_microseconds(seconds)

    @property
    def interval_us(self) -> int:
        """``gil->interval``: the stored switch interval in whole microseconds."""
        return self._interval

    # -- the two blocking points (through the waiter and observer hooks) -----------------
    def _wait_for_gil(self, ts: ThreadState, saved_switchnum: int, interval: int) -> bool:
        """One ``COND_TIMED_WAIT(gil->cond, gil->mutex, interval, timed_out)``."""
        trace = self._trace
        observer = self._observer
        if trace is not None:
            trace(
                TraceEvent(
                    "take_gil.wait",
                    ts.id,
                    {"saved_switch_number": saved_switchnum, "interval_us": interval},
                )
            )
        if observer is not None:
            observer.on_block(ts, BlockPoint.TAKE_GIL)
        self._cond_waiters += 1
        try:
            timed_out = self._waiter.timed_wait(ts, self._take_cond(ts), interval * 1e-6)
        finally:
            self._cond_waiters -= 1
        if observer is not None:
            observer.on_wake(ts, BlockPoint.TAKE_GIL, timed_out)
        return timed_out

    def _take_cond(self, ts: ThreadState) -> threading.Condition:
        """The condition ``ts`` waits on in ``take_gil``: ``gil->cond``, shared by all."""
        return self._cond

    def _switch_wait(self, ts: ThreadState) -> None:
        """The single ``COND_WAIT(gil->switch_cond, gil->switch_mutex)``.

        NOTE (CPython): if the wait did not atomically start when the mutex is
        released, another thread could take and drop the GIL and signal before
        we wait. ``Condition.wait`` (and :class:`ControlledWaiter`) register the
        waiter before releasing the lock.
        """
        trace = self._trace
        observer = self._observer
        ts.phase = Phase.SWITCH_WAIT
        if trace is not None:
            trace(TraceEvent("drop_gil.switch_wait", ts.id))
        if observer is not None:
            observer.on_block(ts, BlockPoint.SWITCH_COND)
        self._switch_waiters += 1
        try:
            self._waiter.wait(ts, self._switch_cond)
        finally:
            self._switch_waiters -= 1
            ts.phase = Phase.RELEASING
        if observer is not None:
            observer.on_wake(ts, BlockPoint.SWITCH_COND, False)
        if trace is not None:
            trace(
                TraceEvent("drop_gil.switch_wake", ts.id, {"switched": self._last_holder is not ts})
            )
