"""The optional event log: one :class:`TraceEvent` per protocol step.

Pass ``trace=callable`` to :class:`impl.Interpreter`; each step below calls it
with a :class:`TraceEvent`. With ``trace=None`` (the default) a step costs one
attribute check. The callable runs on the thread that takes the step, often
with the GIL's mutex, ``switch_mutex`` or a queue's mutex held, and also inside
a real signal handler (``signal.tripped``): it must not block, must not call
back into ``impl``, and must be safe to re-enter. :class:`TraceLog` is such a
callable.

Event vocabulary
----------------
``thread`` is the acting thread's id (``None`` when no ``ThreadState`` acts:
a signal handler, or ``add_pending_call`` from a foreign thread). Fields:

GIL (``take_gil`` / ``drop_gil`` in Python/ceval_gil.c):
  ``take_gil.must_exit``        ``at``: ``"entry"``, ``"wait"`` or ``"acquired"``
                                (the three ``_PyThreadState_MustExit`` exits)
  ``take_gil.wait``             ``saved_switch_number``, ``interval_us``: about to
                                do one ``COND_TIMED_WAIT`` (with a FairGIL, also
                                while the GIL is free but others wait longer)
  ``take_gil.wake``             ``timed_out``
  ``drop_request.set``          ``holder``: the waiter set GIL_DROP_REQUEST on it
  ``drop_request.reset``        ``holder``: gh-96387, an exiting waiter unset it
  ``take_gil.acquire``          ``switch_number`` (after the bump), ``switched``
  ``drop_gil``                  ``final_release``; ``locked`` is now false
  ``drop_gil.switch_wait``      the forced-switching ``COND_WAIT(switch_cond)`` begins
  ``drop_gil.switch_wake``      ``switched``: ``last_holder`` is another thread now

Eval loop and ``_Py_HandlePending``:
  ``eval.check_point``          ``code``, ``pc``, ``op``: a check point found an
                                event bit set and calls ``_Py_HandlePending``
  ``handle_pending``            ``bits``: the one snapshot the pass acts on
  ``handle_signals``            ``scan``: SIGNALS_PENDING was unset; ``scan`` says
                                ``is_tripped`` was set (and is now reset), so the
                                handlers' scan follows (always false off main)

Pending calls (``_PyEval_AddPendingCall``, ``make_pending_calls``):
  ``add_pending_call.push``     ``queue`` (``"interp"``/``"main"``), ``call`` (the
                                queue's sequence number, or ``None`` when full),
                                ``fn``, ``full``, ``npending``
  ``add_pending_call.signal``   ``target``: the thread whose CALLS_TO_DO was set,
                                or ``None`` (the GIL was not locked)
  ``make_pending_calls.busy``   ``handling_thread``: the bit was handed to it
  ``make_pending_calls.start``  this thread became ``handling_thread``
  ``make_pending_calls.pop``    ``queue``, ``call``, ``fn``, ``npending`` (after the pop)
  ``make_pending_calls.loop_end`` ``queue``, ``reason``, ``npending``: one queue's
                                ``_make_pending_calls`` loop ended, ``"empty"`` (a pop
                                found nothing) or ``"maxloop"``; ``npending`` as read
                                at the last pop
  ``callback.return``           ``queue``, ``call``
  ``callback.raise``            ``queue``, ``call``, ``exc`` (the exception)
  ``make_pending_calls.resignal`` ``reason``: ``"error"``, ``"maxloop"`` or
                                ``"maxloop_main"``; own CALLS_TO_DO set again
  ``make_pending_calls.end``    ``handling_thread`` is cleared

Signals (Modules/signalmodule.c):
  ``signal.tripped``            ``signum`` (emitted inside the host signal handler)
  ``signal.handler``            ``signum``: the Python handler is about to run
  ``signal.scan_done``          the scan found no further tripped signal
  ``signal.handler_raise``      ``signum``, ``exc``; ``is_tripped`` is set again

Other:
  ``async_exc.set``             ``target``, ``exc``
  ``async_exc.raise``           ``exc``
  ``async_exc.none``            ASYNC_EXCEPTION was set but ``async_exc`` was
                                ``None`` (cancelled or already taken): nothing raised
  ``gc.run``                    GC_SCHEDULED was handled
  ``finalize``                  the interpreter is finalizing from now on

Linearization
-------------
An interpreter made with ``trace=`` also has a *linearization lock* (an
``RLock``, the innermost lock of the package; no wait happens under it). Each
traced step whose effect another thread reads without the lock that guards it
(eval-breaker bits, ``npending`` read by ``take_gil``, ``is_tripped`` and
``tripped``, ``async_exc``) makes its reads, its writes and its event inside
that lock: a waiter's wake-up with its drop request, the acquisition (under
``switch_mutex``, with ``update_eval_breaker_for_thread``), the check point's
snapshot, each push and pop with its signal, the start or hand-off of a drain,
the end of a queue's loop on an empty pop, ``handle_signals`` and each stretch
of the signal scan, a signal's trip, and both sides of an asynchronous
exception. The other events are emitted under the protocol lock that orders
their effect (``take_gil.wait`` under ``mutex``, ``drop_gil.switch_wait`` and
``.switch_wake`` under ``switch_mutex``) or change nothing another thread reads.
So the order of the events in the log is an order in which the steps could have
happened one at a time: a behaviour a model can be asked to explain.

Deviates (traced only): ``make_pending_calls`` unsets CALLS_TO_DO under the
queue's mutex together with ``handling_thread = tstate``, closing CPython's
window between the two; a push and signal that landed in that window ends the
same way as one made just before it.
"""

from __future__ import annotations

import queue
import threading
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One protocol step: its ``name``, the acting ``thread`` id and step ``fields``."""

    name: str
    thread: int | None
    fields: Mapping[str, object] = field(default_factory=dict)

    def __getitem__(self, key: str) -> object:
        return self.fields[key]


Trace = Callable[[TraceEvent], None]
"""The type of the ``trace=`` callable."""


@typing.final
class TraceLog:
    """A ready-made ``trace=`` callable that keeps every event, in order.

    Appending is one ``list.append`` plus one ``SimpleQueue.put`` per waiting
    reader, both re-entrant, so a log is safe inside a signal handler and with
    the GIL's mutexes held. Readers may block in :meth:`wait_for`.
    """

    def __init__(self) -> None:
        self.events: list[TraceEvent] = []
        self._bells: list[queue.SimpleQueue[None]] = []
        self._bells_lock = threading.Lock()

    def __call__(self, event: TraceEvent) -> None:
        self.events.append(event)
        for bell in tuple(self._bells):
            bell.put(None)

    def names(self, thread: int | None = None) -> list[str]:
        """The event names so far, optionally only those of ``thread``."""
        return [e.name for e in self.events if thread is None or e.thread == thread]

    def named(self, name: str) -> list[TraceEvent]:
        """The events called ``name``, in order."""
        return [e for e in self.events if e.name == name]

    def wait_for(
        self,
        predicate: Callable[[list[TraceEvent]], bool],
        what: str,
        timeout: float,
    ) -> None:
        """Block until ``predicate(events)`` holds; fail with ``what`` after ``timeout`` s."""
        bell: queue.SimpleQueue[None] = queue.SimpleQueue()
        with self._bells_lock:
            self._bells.append(bell)
        try:
            deadline = time.monotonic() + timeout
            while not predicate(list(self.events)):
                remaining = deadline - time.monotonic()
                try:
                    bell.get(timeout=max(remaining, 0.0))
                except queue.Empty:
                    if predicate(list(self.events)):
                        return
                    raise AssertionError(
                        f"timed out after {timeout:.1f} s waiting for {what}"
                    ) from None
        finally:
            with self._bells_lock:
                self._bells.remove(bell)
