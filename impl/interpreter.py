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

Check points, pending calls and asynchronous exceptions are in
:mod:`impl.ceval` (the :class:`~impl.ceval.EvalBreaker` base class).
``_threads`` is appended under ``_threads_lock``. ``_finalizing`` and
``_instrumentation_version`` are single atomic stores.
"""

from __future__ import annotations

import signal
import threading
import typing
from collections.abc import Callable

from impl.ceval import EvalBreaker
from impl.errors import GilProtocolError
from impl.fair_gil import FairGIL
from impl.gil import GIL
from impl.pending import Pending
from impl.signals import Handler, SignalState, check_signum
from impl.snapshot import Snapshot, ThreadSnapshot
from impl.thread import Phase, ThreadState
from impl.trace import Trace, TraceEvent
from impl.waiters import Observer, Waiter

PER_INTERP_MAX = 300
"""``MAXPENDINGCALLS``."""
PER_INTERP_MAXLOOP = 100
"""``MAXPENDINGCALLSLOOP``."""
MAIN_MAX = 32
"""``MAXPENDINGCALLS_MAIN``; its ``maxloop`` is 0, i.e. all 32."""


def _no_gc(ts: ThreadState) -> None:
    """The default GC hook: nothing to collect."""


@typing.final
class Interpreter(EvalBreaker):
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
        fair: give the interpreter a :class:`~impl.FairGIL`, which serves the
            threads waiting in ``take_gil`` in arrival order (not CPython's);
            the default is CPython's :class:`~impl.GIL`.
    """

    def __init__(
        self,
        switch_interval: float = 0.005,
        *,
        waiter: Waiter | None = None,
        observer: Observer | None = None,
        trace: Trace | None = None,
        gc_hook: Callable[[ThreadState], object] | None = None,
        fair: bool = False,
    ) -> None:
        self._trace = trace
        gil_class = FairGIL if fair else GIL
        self.gil: GIL = gil_class(switch_interval, waiter=waiter, observer=observer, trace=trace)
        self.gil._interp = self
        self.gc_hook: Callable[[ThreadState], object] = gc_hook or _no_gc
        self._threads_lock = threading.Lock()
        self._threads: list[ThreadState] = []
        self.main_thread = self._add_thread(is_main=True)
        # One linearization lock for every traced step (see impl.trace); None untraced.
        self._lin = self.gil._lin
        self.pending = Pending(PER_INTERP_MAX, PER_INTERP_MAXLOOP)
        self.pending.name = "interp"
        self.pending._trace = trace
        self.pending._lin = self._lin
        self.pending_main = Pending(MAIN_MAX)
        self.pending_main.name = "main"
        self.pending_main._trace = trace
        self.pending_main._lin = self._lin
        self._handling_thread: ThreadState | None = None
        self._finalizing: ThreadState | None = None
        self._instrumentation_version = 0
        self._signals = SignalState(self.main_thread, trace, self._lin)

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

    def delete_current_thread(self, ts: ThreadState) -> None:
        """``ts``'s thread function returned: it releases the GIL for the last time.

        Mirrors ``_PyThreadState_DeleteCurrent()`` in Python/pystate.c (CPython
        3.13), whose ``_PyEval_ReleaseLock(interp, tstate, 1)`` is
        :meth:`impl.GIL.release_final`. ``ts`` stays in :attr:`threads` with
        phase EXITED and must not be used again.

        Raises:
            TypeError: ``ts`` is not a ThreadState.
            ValueError: ``ts`` belongs to another interpreter.
            GilProtocolError: ``ts`` does not hold the GIL.
        """
        self._check_holds("PyThreadState_DeleteCurrent", ts)
        self.gil.release_final(ts)

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
