"""The signal bridge: ``Handlers[]``, ``is_tripped`` and their two sides.

Mirrors Modules/signalmodule.c (CPython 3.13): ``trip_signal()`` (the part of
the C signal handler that matters here) and ``_PyErr_CheckSignalsTstate()``.
The C handler of CPython becomes a real ``signal.signal`` handler of the host
interpreter whose body only calls :meth:`SignalState.trip`.

``tripped`` and ``is_tripped`` are plain attribute stores (atomic on every
build), written in CPython's order; no lock of the protocol is taken on the
tripping side (bpo-30703: the handler may interrupt a thread that holds one).
"""

from __future__ import annotations

import signal
import threading
import typing
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from impl.breaker import Bit
from impl.trace import Trace, TraceEvent

if TYPE_CHECKING:
    from impl.thread import ThreadState

Handler = Callable[[int, FrameType | None], object]
"""A Python-level signal handler: ``handler(signum, frame)``; ``frame`` is ``None`` here."""

HostHandler = Callable[[int, FrameType | None], object] | int | signal.Handlers | None

_SIGNALS = int(Bit.SIGNALS_PENDING)


def check_signum(op: str, signum: object) -> int:
    """Validate a signal number as ``signal.signal`` does."""
    if not isinstance(signum, int) or isinstance(signum, bool):
        raise TypeError(f"{op}: signal number must be an int, not {type(signum).__name__}")
    if not 1 <= signum < signal.NSIG:
        raise ValueError(f"{op}: signal number out of range")
    return int(signum)


@typing.final
class SignalState:
    """``Handlers[]`` and ``is_tripped`` of one interpreter, plus the installed handlers."""

    __slots__ = (
        "_handlers",
        "_lin",
        "_previous",
        "_trace",
        "is_tripped",
        "main_thread",
        "tripped",
    )

    def __init__(
        self, main_thread: ThreadState, trace: Trace | None, lin: threading.RLock | None = None
    ) -> None:
        self.main_thread = main_thread
        self._trace = trace
        self._lin = lin
        self.tripped = [False] * signal.NSIG
        self.is_tripped = False
        self._handlers: dict[int, Handler] = {}
        self._previous: dict[int, HostHandler] = {}

    def trip(self, signum: int) -> None:
        """Record that ``signum`` arrived; set the main thread's SIGNALS bit.

        Mirrors ``trip_signal()`` in Modules/signalmodule.c (CPython 3.13):
        ``Handlers[sig].tripped = 1`` first, then ``is_tripped = 1`` ("as it gets
        cleared in PyErr_CheckSignals() before .tripped"), then
        ``_PyEval_SignalReceived()``, which sets SIGNALS on the main thread
        whatever thread the OS picked. There is no wakeup fd here.

        Traced, the three writes and the event are one step under the
        linearization lock (an ``RLock``, so a handler that interrupts the host
        thread holding it re-enters instead of deadlocking; see :mod:`impl.trace`).
        """
        lin = self._lin
        if lin is None:
            self.tripped[signum] = True
            self.is_tripped = True
            self.main_thread.breaker._set(_SIGNALS)
            return
        with lin:
            self.tripped[signum] = True
            self.is_tripped = True
            self.main_thread.breaker._set(_SIGNALS)
            if self._trace is not None:
                self._trace(TraceEvent("signal.tripped", None, {"signum": signum}))

    def check(self, ts: ThreadState) -> None:
        """Run the Python handlers of the tripped signals, lowest number first.

        Mirrors ``_PyErr_CheckSignalsTstate()`` in Modules/signalmodule.c
        (CPython 3.13): nothing if ``is_tripped`` is clear; otherwise clear it
        *before* the scan (a signal arriving during the scan is not lost), and
        for each tripped signal clear its flag and call its handler. If a
        handler raises, ``is_tripped`` is set again and the exception
        propagates; the signals not yet scanned stay tripped. The two halves
        are :meth:`begin_check` and :meth:`scan`.

        Deviates: a tripped signal with no handler installed any more is skipped
        silently; CPython writes an unraisable ``OSError("Signal N ignored due
        to race condition")`` (bpo-43406).
        """
        if self.begin_check():
            self.scan(ts)

    def begin_check(self) -> bool:
        """``if (!is_tripped) return 0; is_tripped = 0;``: whether to scan."""
        if not self.is_tripped:
            return False
        self.is_tripped = False
        return True

    def scan(self, ts: ThreadState) -> None:
        """The ``for (i = 1; i < Py_NSIG; i++)`` loop of ``_PyErr_CheckSignalsTstate()``.

        Traced, each stretch of the loop up to the next handler (or to the end)
        is one step with its event (``signal.handler`` or ``signal.scan_done``).
        """
        trace = self._trace
        lin = self._lin
        tripped = self.tripped
        signum = 0
        while True:
            if lin is not None:
                lin.acquire()
            try:
                handler: Handler | None = None
                for num in range(signum + 1, signal.NSIG):
                    if not tripped[num]:
                        continue
                    tripped[num] = False
                    handler = self._handlers.get(num)
                    if handler is not None:
                        signum = num
                        break
                if trace is not None:
                    if handler is None:
                        trace(TraceEvent("signal.scan_done", ts.id))
                    else:
                        trace(TraceEvent("signal.handler", ts.id, {"signum": signum}))
            finally:
                if lin is not None:
                    lin.release()
            if handler is None:
                return
            try:
                handler(signum, None)
            except BaseException as exc:
                if lin is None:
                    self.is_tripped = True
                else:
                    with lin:
                        self.is_tripped = True
                        if trace is not None:
                            trace(
                                TraceEvent(
                                    "signal.handler_raise", ts.id, {"signum": signum, "exc": exc}
                                )
                            )
                raise

    def install(self, signum: int, handler: Handler) -> None:
        """Install a host handler that trips ``signum``; ``handler`` runs at a check point."""
        if not callable(handler):
            raise TypeError(
                f"install_signal_handler: handler must be callable, not {type(handler).__name__}"
            )

        def host_handler(sig: int, frame: FrameType | None) -> None:
            self.trip(sig)

        try:
            previous = signal.signal(signum, host_handler)  # may raise: nothing changed yet
        except OSError as exc:
            name = signal.Signals(signum).name if signum in signal.valid_signals() else signum
            raise OSError(
                exc.errno, f"install_signal_handler: the host refuses a handler for {name}"
            ) from exc
        self._previous.setdefault(signum, previous)
        self._handlers[signum] = handler

    def uninstall(self, signum: int | None = None) -> None:
        """Restore the host handlers that :meth:`install` replaced."""
        nums = list(self._previous) if signum is None else [signum]
        for num in nums:
            if num not in self._previous:
                continue
            previous = self._previous.pop(num)
            # signal.signal() returns None for a handler not installed from
            # Python; SIG_DFL is the closest thing that can be put back.
            signal.signal(num, signal.SIG_DFL if previous is None else previous)
            self._handlers.pop(num, None)

    def installed(self) -> tuple[int, ...]:
        """The signal numbers with a handler installed, ascending."""
        return tuple(sorted(self._handlers))
