"""The GIL: ``take_gil`` and ``drop_gil`` over ``struct _gil_runtime_state``.

Mirrors Python/ceval_gil.c (CPython 3.13, default build: FORCE_SWITCHING on,
no free threading). The fields, what each lock protects and the invariants
are in :mod:`impl.gil_state` (:class:`~impl.gil_state.GILState`, the base of
:class:`GIL`).

Lock order: ``mutex`` before ``switch_mutex`` (take_gil nests them that way);
the pending-call mutexes and each :class:`~impl.Breaker`'s lock come after.
``drop_gil`` writes ``last_holder = tstate`` with no lock, as CPython does.
"""

from __future__ import annotations

from impl.breaker import EVENTS_MASK, Bit
from impl.errors import GilProtocolError, MustExit
from impl.gil_state import GILState, interval_to_microseconds
from impl.thread import Phase, ThreadState, check_tstate
from impl.trace import TraceEvent
from impl.waiters import BlockPoint

__all__ = ["GIL", "interval_to_microseconds"]

_DROP = int(Bit.GIL_DROP_REQUEST)
_CALLS = int(Bit.CALLS_TO_DO)
_VERSION_BITS = ~EVENTS_MASK
_HOLDING = Phase.HOLDING
_RELEASING = Phase.RELEASING
_DETACHED = Phase.DETACHED


class GIL(GILState):
    """The global interpreter lock of one :class:`~impl.Interpreter`.

    Create it through ``Interpreter(...)``, which passes the ``waiter``,
    ``observer`` and ``trace`` hooks; a ``GIL`` built alone can be configured
    and inspected but no ``ThreadState`` can take it.

    Who may leave ``take_gil``'s wait loop, and whom a release signals, are
    three small hooks (:meth:`_must_wait`, :meth:`_leave_queue`,
    :meth:`_notify_take_gil`, plus :meth:`~impl.gil_state.GILState._take_cond`):
    here they are CPython's; :class:`impl.fair_gil.FairGIL` overrides them.

    Args:
        interval: the switch interval in seconds (``sys.setswitchinterval``).
        waiter: how the two condition waits happen (default :class:`RealWaiter`).
        observer: hears every block and wake.
        trace: receives a :class:`~impl.TraceEvent` per protocol step.
    """

    __slots__ = ()

    # -- the protocol -------------------------------------------------------------------
    def request_drop(self) -> None:
        """Set GIL_DROP_REQUEST on the current holder, as a timed-out waiter does.

        Mirrors the ``_Py_set_eval_breaker_bit(holder_tstate,
        _PY_GIL_DROP_REQUEST_BIT)`` step of ``take_gil()``, without a waiter.
        As in CPython, the holder's next ``drop_gil`` then waits on
        ``switch_cond`` until another thread takes the GIL: with no thread in
        ``take_gil`` that wait never ends.

        Raises:
            GilProtocolError: ``"request_drop: GIL is not locked"``.
        """
        with self._mutex:
            holder = self._last_holder
            if not self._locked or holder is None:
                raise GilProtocolError("request_drop: GIL is not locked")
            lin = self._lin
            if lin is None:
                holder.breaker._set(_DROP)
                return
            with lin:
                holder.breaker._set(_DROP)
                if self._trace is not None:
                    self._trace(TraceEvent("drop_request.set", None, {"holder": holder.id}))

    def acquire(self, ts: ThreadState) -> None:
        """Take the GIL for ``ts``, waiting as long as it takes.

        Mirrors ``take_gil()`` in Python/ceval_gil.c (CPython 3.13).

        Deviates: CPython deadlocks when the holder takes the GIL again; this
        raises. ``PyThread_exit_thread()`` is :class:`~impl.MustExit`.

        Fast path (untraced, ``ts`` is ``last_holder``, the GIL is free): one
        critical section of ``mutex`` and no ``switch_mutex``, observably the
        general path. With ``locked`` 0 under ``mutex`` nobody holds the GIL,
        so ``last_holder`` and ``finalizing`` cannot change; ``last_holder`` is
        only ever a ThreadState of this GIL that passed the argument checks;
        being ``ts`` already, no ``switch_number`` bump and no write that
        ``switch_mutex`` orders against drop_gil; with no switch waiter the
        general path sends no ``COND_SIGNAL``. Else the general path runs.

        Raises:
            TypeError: ``"take_gil: tstate must be a ThreadState, not T"``.
            GilProtocolError: ``"take_gil: thread N already holds the GIL"``.
            ValueError: ``ts`` belongs to an interpreter with another GIL.
            MustExit: the interpreter is finalizing and ``ts`` is not the
                finalizing thread (at entry; after a timed-out wait with no
                switch, having reset its own drop request, gh-96387; or after
                acquiring, having released the GIL again).
        """
        if self._lin is None:
            mutex = self._mutex
            mutex.acquire()
            try:
                # `is ts` stands for the argument checks; not locked: not holds_gil.
                if self._last_holder is ts and not self._locked and not self._switch_waiters:
                    interp = ts.interp
                    if interp._finalizing is None:
                        self._locked = True
                        ts.holds_gil = True
                        ts.phase = _HOLDING
                        breaker = ts.breaker
                        if breaker._events & _DROP:
                            breaker._clear(_DROP)
                        # interp._update_eval_breaker_for_thread(ts), inlined.
                        if interp.pending._calls or (ts.is_main and interp.pending_main._calls):
                            breaker._set(_CALLS)
                        if breaker._value & _VERSION_BITS != interp._instrumentation_version:
                            breaker._copy_version(interp._instrumentation_version)
                        return
            finally:
                mutex.release()
        self._take_gil(ts)

    def _take_gil(self, ts: ThreadState) -> None:
        """Mirrors ``take_gil()`` (CPython 3.13) whole: :meth:`acquire`'s general path."""
        given: object = ts  # inlined check_tstate (no call on the fast path)
        if not isinstance(given, ThreadState):
            check_tstate("take_gil", given)
        interp = ts.interp
        if interp.gil is not self:
            raise ValueError(f"take_gil: thread {ts.id} belongs to an interpreter with another GIL")
        if ts.holds_gil:
            raise GilProtocolError(f"take_gil: thread {ts.id} already holds the GIL")
        trace = self._trace
        finalizing = interp._finalizing  # _PyThreadState_MustExit(), inlined
        if finalizing is not None and finalizing is not ts:
            # bpo-39877: after Py_Finalize() started, another thread cannot continue.
            ts.phase = Phase.EXITED
            if trace is not None:
                trace(TraceEvent("take_gil.must_exit", ts.id, {"at": "entry"}))
            raise MustExit(f"take_gil: thread {ts.id} must exit: the interpreter is finalizing")

        lin = self._lin
        mutex = self._mutex
        mutex.acquire()
        mutex_held = True
        exiting = False
        try:
            drop_requested = False
            waiting = self._must_wait(ts)
            if waiting:
                ts.phase = Phase.TAKE_WAIT
            while waiting:
                saved_switchnum = self._switch_number
                interval = self._interval
                if interval < 1:
                    interval = 1
                ts._take_saved_switch_number = saved_switchnum
                ts._take_drop_requested = drop_requested
                timed_out = self._wait_for_gil(ts, saved_switchnum, interval)
                # Traced: the wake-up and the drop request are one step (impl.trace).
                if lin is not None:
                    lin.acquire()
                try:
                    if trace is not None:
                        trace(TraceEvent("take_gil.wake", ts.id, {"timed_out": timed_out}))
                    # If we timed out and no switch occurred in the meantime, it is
                    # time to ask the GIL-holding thread to drop it.
                    if (
                        timed_out
                        and self._reread_locked()
                        and self._switch_number == saved_switchnum
                    ):
                        holder = self._last_holder
                        assert holder is not None
                        if interp._must_exit(ts):
                            ts.phase = Phase.EXITED
                            ts._take_saved_switch_number = None
                            self._leave_queue(ts)
                            mutex_held = False
                            mutex.release()
                            # gh-96387: reset the request this loop made, or drop_gil()
                            # could wait forever for this exiting thread. Requests by
                            # other waiters are wiped too; they ask again.
                            if drop_requested:
                                holder.breaker._clear(_DROP)
                                if trace is not None:
                                    trace(
                                        TraceEvent(
                                            "drop_request.reset", ts.id, {"holder": holder.id}
                                        )
                                    )
                            if trace is not None:
                                trace(TraceEvent("take_gil.must_exit", ts.id, {"at": "wait"}))
                            raise MustExit(
                                f"take_gil: thread {ts.id} must exit: the interpreter is finalizing"
                            )
                        holder.breaker._set(_DROP)
                        drop_requested = True
                        if trace is not None:
                            trace(TraceEvent("drop_request.set", ts.id, {"holder": holder.id}))
                finally:
                    if lin is not None:
                        lin.release()
                waiting = self._must_wait(ts)

            # This mutex must be taken before modifying last_holder: see drop_gil().
            # The acquisition's tail runs under it too, so that a traced
            # take_gil.acquire is one step with the last_holder write (impl.trace).
            with self._switch_mutex:
                if lin is not None:
                    lin.acquire()
                try:
                    self._locked = True
                    switched = ts is not self._last_holder
                    if switched:
                        self._last_holder = ts
                        self._switch_number += 1
                    ts._take_saved_switch_number = None
                    if self._switch_waiters:
                        self._waiter.notify(self._switch_cond, BlockPoint.SWITCH_COND)
                    finalizing = interp._finalizing
                    exiting = finalizing is not None and finalizing is not ts
                    if not exiting:
                        ts.holds_gil = True
                        ts.phase = Phase.HOLDING
                        breaker = ts.breaker
                        if breaker._events & _DROP:  # unsetting an unset bit is a no-op
                            breaker._clear(_DROP)
                        interp._update_eval_breaker_for_thread(ts)
                        if trace is not None:
                            trace(
                                TraceEvent(
                                    "take_gil.acquire",
                                    ts.id,
                                    {"switch_number": self._switch_number, "switched": switched},
                                )
                            )
                finally:
                    if lin is not None:
                        lin.release()

            if exiting:
                # bpo-36475: a thread that waited here while Py_Finalize() ran.
                ts.phase = Phase.EXITED
                mutex_held = False
                mutex.release()
                if trace is not None:
                    trace(TraceEvent("take_gil.must_exit", ts.id, {"at": "acquired"}))
                self._drop_final(ts.id)
                raise MustExit(f"take_gil: thread {ts.id} must exit: the interpreter is finalizing")
        except BaseException:
            if ts.phase is Phase.TAKE_WAIT:  # the waiter failed (e.g. a hang guard)
                ts.phase = Phase.DETACHED
                ts._take_saved_switch_number = None
                if mutex_held:
                    self._leave_queue(ts)
            raise
        finally:
            if mutex_held:
                mutex.release()

    def _reread_locked(self) -> bool:
        """``locked`` read again after a wait (a call, so the loop condition is not assumed)."""
        return self._locked

    # -- the hooks of FairGIL (called with mutex held) ----------------------------------
    def _must_wait(self, ts: ThreadState) -> bool:
        """``take_gil``'s loop condition for ``ts``: CPython's ``while (locked)``."""
        return self._locked

    def _leave_queue(self, ts: ThreadState) -> None:
        """``ts`` leaves ``take_gil``'s wait loop without the GIL; CPython keeps no queue."""

    def _notify_take_gil(self) -> None:
        """``COND_SIGNAL(gil->cond)``: wake one waiter in ``take_gil`` (the OS picks)."""
        self._waiter.notify(self._cond, BlockPoint.TAKE_GIL)

    def release(self, ts: ThreadState) -> None:
        """Drop the GIL held by ``ts``; honour a pending drop request by forced switching.

        Mirrors ``drop_gil(interp, tstate, final_release=0)`` in
        Python/ceval_gil.c (CPython 3.13): ``last_holder = tstate``; under
        ``mutex`` ``locked = 0``, ``holds_gil = 0`` and ``COND_SIGNAL(cond)``;
        then, if ``ts``'s GIL_DROP_REQUEST bit is set, under ``switch_mutex``
        and only if no other thread took the GIL yet, unset that bit and wait
        *once* on ``switch_cond`` (a spurious wake-up ends the wait).

        Deviates: CPython checks only ``locked`` (``Py_FatalError``); this also
        refuses a ``ts`` that does not hold the GIL.

        Raises:
            TypeError: ``"drop_gil: tstate must be a ThreadState, not T"``.
            GilProtocolError: ``"drop_gil: GIL is not locked"``, or
                ``"drop_gil: thread N does not hold the GIL"``.
        """
        # The holder is last_holder (a checked ThreadState of this GIL) and its
        # holds_gil implies locked; anything else goes through the full check.
        if self._last_holder is not ts or not ts.holds_gil:
            self._check_dropper(ts)
        # Sub-interpreter support in CPython (PyThreadState_Swap); a no-op here.
        self._last_holder = ts
        mutex = self._mutex
        mutex.acquire()  # drop_gil_impl()
        try:
            self._locked = False
            ts.holds_gil = False
            ts.phase = _RELEASING
            if self._cond_waiters:
                self._notify_take_gil()
            lin = self._lin
            if lin is not None:
                with lin:
                    if self._trace is not None:
                        self._trace(TraceEvent("drop_gil", ts.id, {"final_release": False}))
        finally:
            mutex.release()

        breaker = ts.breaker
        if not breaker._events & _DROP:
            ts.phase = _DETACHED
            return
        with self._switch_mutex:
            # Not switched yet => wait.
            if self._last_holder is ts:
                breaker._clear(_DROP)
                self._switch_wait(ts)
            ts.phase = Phase.DETACHED

    def release_final(self, ts: ThreadState) -> None:
        """``ts`` drops the GIL for the last time; it is gone afterwards.

        Mirrors ``drop_gil(interp, tstate, final_release=1)`` in
        Python/ceval_gil.c (CPython 3.13) as ``_PyThreadState_DeleteCurrent()``
        calls it through ``_PyEval_ReleaseLock()``: ``last_holder = tstate``
        (already so, ``ts`` holds the GIL), ``locked = 0``, ``holds_gil = 0``
        and ``COND_SIGNAL(cond)``, and no forced switching even with a drop
        request pending (gh-104341). ``ts`` ends in :attr:`Phase.EXITED`.

        Raises:
            TypeError: ``"drop_gil: tstate must be a ThreadState, not T"``.
            GilProtocolError: ``"drop_gil: GIL is not locked"``, or
                ``"drop_gil: thread N does not hold the GIL"``.
        """
        self._check_dropper(ts)
        self._last_holder = ts
        self._drop_final(ts.id, ts)

    def _check_dropper(self, ts: ThreadState) -> None:
        """``drop_gil``'s check, strengthened: the GIL is locked and ``ts`` holds it."""
        given: object = ts  # inlined check_tstate (no call on the fast path)
        if not isinstance(given, ThreadState):
            check_tstate("drop_gil", given)
        if not self._locked:
            raise GilProtocolError("drop_gil: GIL is not locked")
        if not ts.holds_gil or ts.interp.gil is not self:
            raise GilProtocolError(f"drop_gil: thread {ts.id} does not hold the GIL")

    def _drop_final(self, actor: int, ts: ThreadState | None = None) -> None:
        """``drop_gil(interp, tstate, final_release=1)``: no switching.

        Mirrors the ``final_release`` path of ``drop_gil()`` in
        Python/ceval_gil.c (CPython 3.13): used by an exiting ``take_gil``
        (``tstate`` NULL: no ``last_holder`` fix-up) and by
        :meth:`release_final` (``ts`` stops holding the GIL and exits in the
        same critical section).
        """
        if not self._locked:
            raise GilProtocolError("drop_gil: GIL is not locked")
        with self._mutex:
            self._locked = False
            if ts is not None:
                ts.holds_gil = False
                ts.phase = Phase.EXITED
            if self._cond_waiters:
                self._notify_take_gil()
            if self._trace is not None:
                self._trace(TraceEvent("drop_gil", actor, {"final_release": True}))
