"""One interpreter: its GIL, threads, pending calls, signals and finalization.

Mirrors the parts of ``PyInterpreterState`` / ``_PyRuntime`` that the GIL
protocol uses (CPython 3.13, default build): ``interp->ceval.gil``,
``interp->ceval.pending``, ``_PyRuntime.ceval.pending_mainthread``,
``_PyRuntime.main_tstate``, the signal ``Handlers[]``, the finalizing thread,
and ``interp->ceval.instrumentation_version``. Each ``Interpreter`` plays the
main interpreter of its own runtime.

The initial state is the one right after ``create_gil()``: nobody holds the
GIL, ``last_holder`` is ``None``, ``switch_number`` is 0. (CPython's
``_PyEval_InitGIL`` then attaches the main thread; do that with
``interp.gil.acquire(interp.main_thread)``.)

Protected by the per-interpreter queue's mutex (``pending->mutex``):
``handling_thread`` (cleared without it, as CPython does in default builds).
``_threads`` is appended under ``_threads_lock``. ``_finalizing`` and
``_instrumentation_version`` are single atomic stores.
"""

from __future__ import annotations

import signal
import threading
import typing
from collections.abc import Callable

from impl.breaker import EVENTS_MASK, Bit, _check_version
from impl.errors import GilProtocolError
from impl.gil import GIL
from impl.pending import Pending, PendingCall, check_callable
from impl.signals import Handler, SignalState, check_signum
from impl.snapshot import Snapshot, ThreadSnapshot
from impl.thread import AsyncExc, Phase, ThreadState
from impl.trace import Trace, TraceEvent
from impl.waiters import Observer, Waiter

_DROP = int(Bit.GIL_DROP_REQUEST)
_SIGNALS = int(Bit.SIGNALS_PENDING)
_CALLS = int(Bit.CALLS_TO_DO)
_ASYNC = int(Bit.ASYNC_EXCEPTION)
_GC = int(Bit.GC_SCHEDULED)
_STOP = int(Bit.EVAL_PLEASE_STOP)

PER_INTERP_MAX = 300
"""``MAXPENDINGCALLS``."""
PER_INTERP_MAXLOOP = 100
"""``MAXPENDINGCALLSLOOP``."""
MAIN_MAX = 32
"""``MAXPENDINGCALLS_MAIN``; its ``maxloop`` is 0, i.e. all 32."""


def _no_gc(ts: ThreadState) -> None:
    """The default GC hook: nothing to collect."""


@typing.final
class Interpreter:
    """An interpreter with a GIL, a main thread and the two pending-call queues.

    Args:
        switch_interval: seconds, as ``sys.setswitchinterval`` takes them.
        waiter: the GIL's :class:`~impl.Waiter` (default: real condition waits).
        observer: an :class:`~impl.Observer` of every block and wake.
        trace: a callable receiving a :class:`~impl.TraceEvent` per protocol step
            (vocabulary in :mod:`impl.trace`); ``None`` costs one attribute check.
        gc_hook: called as ``gc_hook(ts)`` when a check point handles
            GC_SCHEDULED (``_Py_RunGC``); default does nothing. Deviates:
            ``_Py_RunGC`` cannot fail; an exception from the hook propagates.
    """

    def __init__(
        self,
        switch_interval: float = 0.005,
        *,
        waiter: Waiter | None = None,
        observer: Observer | None = None,
        trace: Trace | None = None,
        gc_hook: Callable[[ThreadState], object] | None = None,
    ) -> None:
        self._trace = trace
        self.gil = GIL(switch_interval, waiter=waiter, observer=observer, trace=trace)
        self.gil._interp = self
        self.gc_hook: Callable[[ThreadState], object] = gc_hook or _no_gc
        self._threads_lock = threading.Lock()
        self._threads: list[ThreadState] = []
        self.main_thread = self._add_thread(is_main=True)
        self.pending = Pending(PER_INTERP_MAX, PER_INTERP_MAXLOOP)
        self.pending.name = "interp"
        self.pending._trace = trace
        self.pending_main = Pending(MAIN_MAX)
        self.pending_main.name = "main"
        self.pending_main._trace = trace
        self._handling_thread: ThreadState | None = None
        self._finalizing: ThreadState | None = None
        self._instrumentation_version = 0
        self._signals = SignalState(self.main_thread, trace)

    # -- threads ----------------------------------------------------------------------------
    def _add_thread(self, *, is_main: bool) -> ThreadState:
        with self._threads_lock:
            ts = ThreadState(self, len(self._threads), is_main=is_main)
            self._threads.append(ts)
        return ts

    def new_thread(self) -> ThreadState:
        """A new, detached, non-main ``ThreadState``; ids count up from 1."""
        return self._add_thread(is_main=False)

    @property
    def threads(self) -> tuple[ThreadState, ...]:
        """Every thread, by id."""
        with self._threads_lock:
            return tuple(self._threads)

    def _check_own(self, op: str, ts: ThreadState) -> None:
        if ts.interp is not self:
            raise ValueError(f"{op}: thread {ts.id} belongs to another interpreter")

    def _check_holds(self, op: str, ts: ThreadState) -> None:
        self._check_own(op, ts)
        if not ts.holds_gil:
            raise GilProtocolError(f"{op}: thread {ts.id} does not hold the GIL")

    # -- attach / detach ----------------------------------------------------------------
    def save_thread(self, ts: ThreadState) -> None:
        """Detach ``ts``: ``drop_gil``, with forced switching if a drop is requested.

        Mirrors ``PyEval_SaveThread()`` in Python/ceval_gil.c and
        ``_PyThreadState_Detach()`` in Python/pystate.c (CPython 3.13).
        """
        self.gil.release(ts)

    def restore_thread(self, ts: ThreadState) -> None:
        """Attach ``ts``: ``take_gil``.

        Mirrors ``PyEval_RestoreThread()`` in Python/ceval_gil.c and
        ``_PyThreadState_Attach()`` in Python/pystate.c (CPython 3.13).
        """
        self.gil.acquire(ts)

    # -- finalization ------------------------------------------------------------------
    @property
    def finalizing(self) -> ThreadState | None:
        """The finalizing thread (``_PyRuntimeState_GetFinalizing``), if any."""
        return self._finalizing

    def finalize(self) -> None:
        """Start finalization: from now on every other thread must exit.

        Mirrors the ``_PyRuntimeState_SetFinalizing()`` /
        ``_PyInterpreterState_SetFinalizing()`` step of ``Py_FinalizeEx()`` in
        Python/pylifecycle.c (CPython 3.13), done by the main thread with the
        GIL held. Nothing else of ``Py_FinalizeEx`` is done.

        Raises:
            GilProtocolError: the main thread does not hold the GIL, or the
                interpreter is already finalizing.
        """
        main = self.main_thread
        if self._finalizing is not None:
            raise GilProtocolError("finalize: the interpreter is already finalizing")
        if not main.holds_gil:
            raise GilProtocolError("finalize: the main thread does not hold the GIL")
        self._finalizing = main
        if self._trace is not None:
            self._trace(TraceEvent("finalize", main.id))

    def _must_exit(self, ts: ThreadState) -> bool:
        """Mirrors ``_PyThreadState_MustExit()`` in Python/pystate.c (CPython 3.13)."""
        finalizing = self._finalizing
        return finalizing is not None and finalizing is not ts

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
            GilProtocolError: ``ts`` does not hold the GIL.
        """
        self._check_holds("_Py_HandlePending", ts)
        self._handle_pending(ts)

    def _handle_pending(self, ts: ThreadState) -> None:
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
            ts.breaker._clear(_ASYNC)
            exc = ts._exchange_async_exc(None)
            if exc is not None:
                if self._trace is not None:
                    self._trace(TraceEvent("async_exc.raise", ts.id, {"exc": exc}))
                raise exc

    def _handle_signals(self, ts: ThreadState) -> None:
        """Mirrors ``handle_signals()`` in Python/ceval_gil.c (CPython 3.13)."""
        ts.breaker._clear(_SIGNALS)
        if not ts.is_main:  # _Py_ThreadCanHandleSignals()
            return
        try:
            self._signals.check(ts)
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
        if main_only:
            target: ThreadState | None = self.main_thread
            self.main_thread.breaker._set(_CALLS)
        else:
            target = self._signal_active_thread(_CALLS)
        if self._trace is not None:
            self._trace(
                TraceEvent(
                    "add_pending_call.signal",
                    None,
                    {"target": None if target is None else target.id},
                )
            )
        if seq is None:
            raise queue._full()

    def _signal_active_thread(self, bit: int) -> ThreadState | None:
        """Mirrors ``signal_active_thread()`` in Python/ceval_gil.c (CPython 3.13).

        If a thread holds the GIL, set ``bit`` on it; otherwise the next thread
        to attach sets it from ``update_eval_breaker_for_thread``.
        """
        gil = self.gil
        with gil._mutex:
            holder = gil._last_holder
            if gil._locked and holder is not None and holder.interp is self:
                holder.breaker._set(bit)
                return holder
        return None

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
            GilProtocolError: ``ts`` does not hold the GIL.
        """
        self._check_holds("make_pending_calls", ts)
        self._make_pending_calls(ts)

    def _make_pending_calls(self, ts: ThreadState) -> None:
        trace = self._trace
        pending = self.pending
        with pending._mutex:
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
        if trace is not None:
            trace(TraceEvent("make_pending_calls.start", ts.id))
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
            TypeError: ``exc`` is neither ``None``, an exception class nor an
                exception instance.
        """
        self._check_own("set_async_exc", ts)
        _check_async_exc(exc)
        ts._exchange_async_exc(exc)
        ts.breaker._set(_ASYNC)
        if self._trace is not None:
            self._trace(TraceEvent("async_exc.set", None, {"target": ts.id, "exc": exc}))

    # -- signals -----------------------------------------------------------------------
    def install_signal_handler(
        self, signum: int, handler: Handler = signal.default_int_handler
    ) -> None:
        """Install a real handler for ``signum``; ``handler`` runs on the main thread.

        The host handler's body only calls :meth:`trip_signal`. ``handler(signum,
        None)`` runs at the main thread's next check point; the default,
        ``signal.default_int_handler``, raises KeyboardInterrupt there (CPython's
        SIGINT handler). Must be called from the host's main thread, like
        ``signal.signal``.

        Raises:
            TypeError, ValueError: bad ``signum`` or ``handler``.
            OSError: the host refuses the signal (e.g. SIGKILL); nothing changed.
        """
        signum = check_signum("install_signal_handler", signum)
        self._signals.install(signum, handler)

    def uninstall_signal_handlers(self, signum: int | None = None) -> None:
        """Put back the host handlers replaced by :meth:`install_signal_handler`."""
        if signum is not None:
            signum = check_signum("uninstall_signal_handlers", signum)
        self._signals.uninstall(signum)

    def trip_signal(self, signum: int) -> None:
        """Record the arrival of ``signum`` (the body of the installed handler).

        Mirrors ``trip_signal()`` in Modules/signalmodule.c (CPython 3.13); see
        :meth:`impl.signals.SignalState.trip`. Also the effect of
        ``PyErr_SetInterruptEx`` for a signal with a Python handler.

        Raises:
            TypeError, ValueError: ``signum`` is not a valid signal number.
        """
        self._signals.trip(check_signum("trip_signal", signum))

    # -- snapshot ----------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """A consistent frozen copy of the protocol state.

        Takes ``mutex``, ``switch_mutex`` and both queues' mutexes, in the
        package's lock order. Must not be called from a trace callback, an
        observer, or anything else that runs with one of those held.
        """
        gil = self.gil
        with (
            gil._mutex,
            gil._switch_mutex,
            self.pending._mutex,
            self.pending_main._mutex,
            self._threads_lock,
        ):
            threads = tuple(self._threads)
            last = gil._last_holder
            holders = [t.id for t in threads if t.holds_gil]
            signals = self._signals
            handling = self._handling_thread
            finalizing = self._finalizing
            return Snapshot(
                locked=gil._locked,
                holder=holders[0] if holders else None,
                last_holder=None if last is None else last.id,
                switch_number=gil._switch_number,
                interval_us=gil._interval,
                threads=tuple(_thread_snapshot(t) for t in threads),
                pending=tuple(fn for _, fn in self.pending._calls),
                pending_main=tuple(fn for _, fn in self.pending_main._calls),
                handling_thread=None if handling is None else handling.id,
                is_tripped=signals.is_tripped,
                tripped=tuple(i for i, flag in enumerate(signals.tripped) if flag),
                finalizing=None if finalizing is None else finalizing.id,
                instrumentation_version=self._instrumentation_version,
            )


def _check_async_exc(exc: object) -> None:
    if exc is None or isinstance(exc, BaseException):
        return
    if isinstance(exc, type) and issubclass(exc, BaseException):
        return
    raise TypeError(
        f"set_async_exc: exc must be an exception class or instance, not {type(exc).__name__}"
    )


def _thread_snapshot(t: ThreadState) -> ThreadSnapshot:
    waiting = t.phase is Phase.TAKE_WAIT
    return ThreadSnapshot(
        id=t.id,
        is_main=t.is_main,
        phase=t.phase,
        holds_gil=t.holds_gil,
        breaker=t.breaker._value,
        async_exc=t._async_exc,
        saved_switch_number=t._take_saved_switch_number if waiting else None,
        drop_requested=t._take_drop_requested if waiting else False,
    )
