"""The eval-breaker half of Python/ceval_gil.c: ``_Py_HandlePending`` and pending calls.

Mirrors ``update_eval_breaker_for_thread()``, ``_Py_HandlePending()``,
``handle_signals()``, ``_PyEval_AddPendingCall()``, ``signal_active_thread()``
and ``make_pending_calls()`` in Python/ceval_gil.c, and
``PyThreadState_SetAsyncExc()`` in Python/pystate.c (CPython 3.13, default
build). :class:`EvalBreaker` is a base of :class:`impl.Interpreter`; it holds no
state of its own.

Protected by the per-interpreter queue's mutex (``pending->mutex``):
``handling_thread`` (cleared without it, as CPython does in default builds).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from impl.breaker import EVENTS_MASK, Bit, _check_version
from impl.errors import GilProtocolError
from impl.gil import GIL
from impl.pending import Pending, PendingCall, check_callable
from impl.signals import SignalState
from impl.thread import AsyncExc, ThreadState, check_tstate
from impl.trace import Trace, TraceEvent

_DROP = int(Bit.GIL_DROP_REQUEST)
_SIGNALS = int(Bit.SIGNALS_PENDING)
_CALLS = int(Bit.CALLS_TO_DO)
_ASYNC = int(Bit.ASYNC_EXCEPTION)
_GC = int(Bit.GC_SCHEDULED)
_STOP = int(Bit.EVAL_PLEASE_STOP)


class EvalBreaker:
    """Check-point handling, pending calls and asynchronous exceptions of an interpreter."""

    # Provided by Interpreter.
    gil: GIL
    pending: Pending
    pending_main: Pending
    main_thread: ThreadState
    gc_hook: Callable[[ThreadState], object]
    _trace: Trace | None
    _lin: threading.RLock | None
    _handling_thread: ThreadState | None
    _instrumentation_version: int
    _signals: SignalState

    def _check_own(self, op: str, ts: ThreadState) -> None:
        check_tstate(op, ts)
        if ts.interp is not self:
            raise ValueError(f"{op}: thread {ts.id} belongs to another interpreter")

    def _check_holds(self, op: str, ts: ThreadState) -> None:
        self._check_own(op, ts)
        if not ts.holds_gil:
            raise GilProtocolError(f"{op}: thread {ts.id} does not hold the GIL")

    # -- eval breaker upkeep -----------------------------------------------------------
    def _update_eval_breaker_for_thread(self, ts: ThreadState) -> None:
        """Mirrors ``update_eval_breaker_for_thread()`` in Python/ceval_gil.c (CPython 3.13).

        Called by ``take_gil`` with the GIL's mutex held: set CALLS_TO_DO if the
        per-interpreter queue is not empty, or else if ``ts`` is the main thread
        and the main queue is not empty; then copy the instrumentation version.
        """
        breaker = ts.breaker
        # npending, read without the queues' mutexes as CPython reads it atomically.
        if self.pending._calls or (ts.is_main and self.pending_main._calls):
            breaker._set(_CALLS)
        if breaker._value & ~EVENTS_MASK != self._instrumentation_version:
            breaker._copy_version(self._instrumentation_version)

    @property
    def instrumentation_version(self) -> int:
        """``interp->ceval.instrumentation_version``."""
        return self._instrumentation_version

    def set_instrumentation_version(self, ts: ThreadState, version: int) -> None:
        """Set the interpreter's version and ``ts``'s (the calling thread's) copy.

        Mirrors ``set_global_version()`` in Python/instrumentation.c (CPython
        3.13, default build): other threads pick the version up when they next
        attach (``update_eval_breaker_for_thread``).

        Raises:
            TypeError: ``ts`` is not a ThreadState.
            TypeError, ValueError: ``version`` is not a non-negative multiple of 256.
        """
        self._check_own("set_instrumentation_version", ts)
        version = _check_version("set_instrumentation_version", version)
        self._instrumentation_version = version
        ts.breaker._copy_version(version)

    # -- _Py_HandlePending -------------------------------------------------------------
    def handle_pending(self, ts: ThreadState) -> None:
        """Act on one snapshot of ``ts``'s event bits, in CPython's order.

        Mirrors ``_Py_HandlePending()`` in Python/ceval_gil.c (CPython 3.13,
        default build). With ``bits = breaker.load()`` taken once:

        1. EVAL_PLEASE_STOP: unset; ``_PyThreadState_Suspend`` then
           ``_PyThreadState_Attach``. A default build never stops the world, so
           Suspend is a plain detach: the GIL is dropped (forced switching
           included) and taken again.
        2. SIGNALS_PENDING: ``handle_signals``; if a handler raises, the bit is
           set again and the exception propagates at once (later bits stay).
        3. CALLS_TO_DO: :meth:`make_pending_calls`; an error propagates at once.
        4. GC_SCHEDULED: unset; ``gc_hook(ts)``.
        5. GIL_DROP_REQUEST: detach (``drop_gil``) and attach (``take_gil``);
           the bit is not unset here (``drop_gil``/``take_gil`` clear it).
        6. ASYNC_EXCEPTION: unset; exchange ``async_exc`` with ``None`` and raise
           it if there was one.

        EXPLICIT_MERGE and JIT_INVALIDATE_COLD are not handled (free-threaded
        only, and 3.14+ only): a set bit stays set, as in CPython 3.13.

        Raises:
            TypeError: ``ts`` is not a ThreadState.
            GilProtocolError: ``ts`` does not hold the GIL.
        """
        self._check_holds("_Py_HandlePending", ts)
        self._handle_pending(ts)

    def _handle_pending(self, ts: ThreadState) -> None:
        lin = self._lin
        if lin is None:
            bits = ts.breaker._value
        else:
            with lin:  # the snapshot and its event are one step (impl.trace)
                bits = ts.breaker._value
                if self._trace is not None:
                    self._trace(TraceEvent("handle_pending", ts.id, {"bits": bits}))
        if bits & _STOP:
            ts.breaker._clear(_STOP)
            self.gil.release(ts)
            self.gil.acquire(ts)
        if bits & _SIGNALS:
            self._handle_signals(ts)
        if bits & _CALLS:
            self._make_pending_calls(ts)
        if bits & _GC:
            if lin is None:
                ts.breaker._clear(_GC)
            else:
                with lin:
                    ts.breaker._clear(_GC)
                    if self._trace is not None:
                        self._trace(TraceEvent("gc.run", ts.id))
            self.gc_hook(ts)
        if bits & _DROP:
            # Give another thread a chance.
            self.gil.release(ts)
            # Other threads may run now.
            self.gil.acquire(ts)
        if bits & _ASYNC:
            if lin is None:
                ts.breaker._clear(_ASYNC)
                exc = ts._exchange_async_exc(None)
            else:
                with lin:
                    ts.breaker._clear(_ASYNC)
                    exc = ts._exchange_async_exc(None)
                    if self._trace is not None:
                        if exc is None:
                            self._trace(TraceEvent("async_exc.none", ts.id))
                        else:
                            self._trace(TraceEvent("async_exc.raise", ts.id, {"exc": exc}))
            if exc is not None:
                raise exc

    def _handle_signals(self, ts: ThreadState) -> None:
        """Mirrors ``handle_signals()`` in Python/ceval_gil.c (CPython 3.13).

        Then ``_PyErr_CheckSignalsTstate()`` (Modules/signalmodule.c): the test
        and reset of ``is_tripped`` here, the scan in
        :meth:`impl.signals.SignalState.scan`.
        """
        lin = self._lin
        if lin is None:
            ts.breaker._clear(_SIGNALS)
            # _Py_ThreadCanHandleSignals()
            scan = ts.is_main and self._signals.begin_check()
        else:
            with lin:  # the bit, is_tripped and the event are one step (impl.trace)
                ts.breaker._clear(_SIGNALS)
                scan = ts.is_main and self._signals.begin_check()
                if self._trace is not None:
                    self._trace(TraceEvent("handle_signals", ts.id, {"scan": scan}))
        if not scan:
            return
        try:
            self._signals.scan(ts)
        except BaseException:
            # On failure, re-schedule a call to handle_signals().
            ts.breaker._set(_SIGNALS)
            raise

    # -- pending calls -----------------------------------------------------------------
    def add_pending_call(self, fn: PendingCall, main_only: bool = False) -> None:
        """Queue ``fn`` to run at a later check point, and signal a thread.

        Mirrors ``_PyEval_AddPendingCall()`` in Python/ceval_gil.c (CPython
        3.13): push under the queue's mutex, release it, then signal *whether or
        not the push succeeded*: with ``main_only`` (``Py_AddPendingCall``) set
        CALLS_TO_DO on the main thread; otherwise ``signal_active_thread``:
        under the GIL's mutex, if the GIL is locked, set it on ``last_holder``.
        Callable from any thread, with or without the GIL, and from a callback.

        Raises:
            TypeError: ``fn`` is not callable (nothing is pushed or signalled).
            PendingFull: the queue is full; the signal was still sent.
        """
        check_callable(fn)
        queue = self.pending_main if main_only else self.pending
        seq = queue._push(fn)
        if not main_only:
            self._signal_active_thread(_CALLS)
        elif self._lin is None:
            self.main_thread.breaker._set(_CALLS)
        else:
            with self._lin:
                self.main_thread.breaker._set(_CALLS)
                self._trace_signal(self.main_thread)
        if seq is None:
            raise queue._full()

    def _signal_active_thread(self, bit: int) -> ThreadState | None:
        """Mirrors ``signal_active_thread()`` in Python/ceval_gil.c (CPython 3.13).

        If a thread holds the GIL, set ``bit`` on it; otherwise the next thread
        to attach sets it from ``update_eval_breaker_for_thread``.
        """
        gil = self.gil
        lin = self._lin
        with gil._mutex:
            if lin is not None:
                lin.acquire()
            try:
                holder = gil._last_holder
                target = None
                if gil._locked and holder is not None and holder.interp is self:
                    holder.breaker._set(bit)
                    target = holder
                if lin is not None:
                    self._trace_signal(target)
                return target
            finally:
                if lin is not None:
                    lin.release()

    def _trace_signal(self, target: ThreadState | None) -> None:
        if self._trace is not None:
            self._trace(
                TraceEvent(
                    "add_pending_call.signal",
                    None,
                    {"target": None if target is None else target.id},
                )
            )

    @property
    def handling_thread(self) -> ThreadState | None:
        """``pending->handling_thread``: the thread draining now, if any."""
        return self._handling_thread

    def make_pending_calls(self, ts: ThreadState) -> None:
        """Run pending calls on ``ts``; one thread at a time, never recursively.

        Mirrors ``make_pending_calls()`` in Python/ceval_gil.c (CPython 3.13):

        * under the queue's mutex, if a ``handling_thread`` exists (another
          thread, or ``ts`` itself at a check point inside a callback): set
          CALLS_TO_DO on it, unset it on ``ts``, return;
        * else ``ts`` becomes ``handling_thread``, unsets its own CALLS_TO_DO,
          and drains the per-interpreter queue (at most 100 calls); on an error
          it clears ``handling_thread``, sets its CALLS_TO_DO again and
          propagates; if the ``npending`` read at the *last pop* is above 0, it
          sets its CALLS_TO_DO again (that count is stale if a callback added
          calls, as in CPython);
        * on the main thread, the same with the main-thread queue (up to 32);
        * finally ``handling_thread`` is cleared.

        Raises:
            TypeError: ``ts`` is not a ThreadState.
            GilProtocolError: ``ts`` does not hold the GIL.
        """
        self._check_holds("make_pending_calls", ts)
        self._make_pending_calls(ts)

    def _make_pending_calls(self, ts: ThreadState) -> None:
        trace = self._trace
        lin = self._lin
        pending = self.pending
        with pending._mutex:
            if lin is not None:
                lin.acquire()
            try:
                handling = self._handling_thread
                if handling is not None:
                    # Another drain is running (maybe ours, re-entered from a callback):
                    # hand it the bit so that not every thread keeps tripping.
                    handling.breaker._set(_CALLS)
                    ts.breaker._clear(_CALLS)
                    if trace is not None:
                        trace(
                            TraceEvent(
                                "make_pending_calls.busy", ts.id, {"handling_thread": handling.id}
                            )
                        )
                    return
                self._handling_thread = ts
                if lin is not None:
                    # Traced, the unsignal happens here, in this step (see impl.trace).
                    ts.breaker._clear(_CALLS)
                    if trace is not None:
                        trace(TraceEvent("make_pending_calls.start", ts.id))
            finally:
                if lin is not None:
                    lin.release()
        if lin is None:
            # Unsignal before starting to call callbacks, so that any callback added
            # in-between re-signals.
            ts.breaker._clear(_CALLS)
        self._drain(ts, pending, "maxloop")
        if ts.is_main:
            self._drain(ts, self.pending_main, "maxloop_main")
        self._handling_thread = None
        if trace is not None:
            trace(TraceEvent("make_pending_calls.end", ts.id))

    def _drain(self, ts: ThreadState, queue: Pending, leftover: str) -> None:
        """One ``_make_pending_calls()`` and the re-signalling after it."""
        try:
            npending = queue.drain(ts.id)
        except BaseException:
            self._handling_thread = None
            # There might not be more calls to make, but we play it safe.
            self._resignal(ts, "error")
            raise
        if npending > 0:
            self._resignal(ts, leftover)

    def _resignal(self, ts: ThreadState, reason: str) -> None:
        lin = self._lin
        if lin is None:
            ts.breaker._set(_CALLS)
            return
        with lin:
            ts.breaker._set(_CALLS)
            if self._trace is not None:
                self._trace(TraceEvent("make_pending_calls.resignal", ts.id, {"reason": reason}))

    # -- asynchronous exceptions --------------------------------------------------------
    def set_async_exc(self, ts: ThreadState, exc: AsyncExc | None) -> None:
        """Arrange for ``exc`` to be raised in ``ts`` at its next check point.

        Mirrors ``PyThreadState_SetAsyncExc()`` in Python/pystate.c (CPython
        3.13): exchange ``ts.async_exc`` with ``exc`` (``None`` cancels a pending
        one), then set ASYNC_EXCEPTION on ``ts``. Delivered at most once.

        Deviates: an exception *instance* is raised as it is; CPython 3.13's
        ``_PyErr_SetNone`` accepts only a class and raises SystemError
        ("_PyErr_SetObject: exception ... is not a BaseException subclass")
        for an instance.

        Raises:
            TypeError: ``ts`` is not a ThreadState, or ``exc`` is neither
                ``None``, an exception class nor an exception instance.
        """
        self._check_own("set_async_exc", ts)
        _check_async_exc(exc)
        lin = self._lin
        if lin is None:
            ts._exchange_async_exc(exc)
            ts.breaker._set(_ASYNC)
            return
        with lin:  # the exchange, the bit and the event are one step (impl.trace)
            ts._exchange_async_exc(exc)
            ts.breaker._set(_ASYNC)
            if self._trace is not None:
                self._trace(TraceEvent("async_exc.set", None, {"target": ts.id, "exc": exc}))


def _check_async_exc(exc: object) -> None:
    if exc is None or isinstance(exc, BaseException):
        return
    if isinstance(exc, type) and issubclass(exc, BaseException):
        return
    raise TypeError(
        f"set_async_exc: exc must be an exception class or instance, not {type(exc).__name__}"
    )
