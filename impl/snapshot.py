"""Frozen snapshots of an interpreter's protocol state, for the abstraction function.

Taken by :meth:`impl.Interpreter.snapshot` under the GIL's ``mutex`` and
``switch_mutex`` and both queues' mutexes, so the GIL fields, the phases and
the queues are one consistent cut. Breaker words are read in that cut too, but
three writers set bits without any of those locks (``add_pending_call`` on the
main thread, ``set_async_exc``, ``trip_signal``), as in CPython.
"""

from __future__ import annotations

from dataclasses import dataclass

from impl.pending import PendingCall
from impl.thread import AsyncExc, Phase


@dataclass(frozen=True, slots=True)
class ThreadSnapshot:
    """One ``ThreadState``.

    Attributes:
        id: creation-order id; the main thread is 0.
        is_main: ``_Py_IsMainThread()``.
        phase: see :class:`~impl.Phase`.
        holds_gil: ``tstate->holds_gil``.
        breaker: the whole ``eval_breaker`` word (events and version).
        async_exc: the pending asynchronous exception, or ``None``.
        saved_switch_number: in TAKE_WAIT, ``take_gil``'s ``saved_switchnum``
            for the current wait; otherwise ``None``.
        drop_requested: in TAKE_WAIT, ``take_gil``'s local ``drop_requested``
            as it was when the current wait began; otherwise ``False``.
    """

    id: int
    is_main: bool
    phase: Phase
    holds_gil: bool
    breaker: int
    async_exc: AsyncExc | None
    saved_switch_number: int | None
    drop_requested: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole protocol state of one interpreter.

    Attributes:
        locked: ``gil->locked``.
        holder: id of the thread with ``holds_gil``, or ``None``.
        last_holder: id of ``gil->last_holder``, or ``None`` (never held).
        switch_number: ``gil->switch_number``.
        interval_us: ``gil->interval``.
        threads: every thread, by id.
        pending: the per-interpreter queue's callables, oldest first.
        pending_main: the main-thread queue's callables, oldest first.
        handling_thread: id of ``pending->handling_thread``, or ``None``.
        is_tripped: ``is_tripped`` in Modules/signalmodule.c.
        tripped: the signal numbers whose ``Handlers[i].tripped`` is set, ascending.
        finalizing: id of the finalizing thread, or ``None``.
        instrumentation_version: ``interp->ceval.instrumentation_version``.
    """

    locked: bool
    holder: int | None
    last_holder: int | None
    switch_number: int
    interval_us: int
    threads: tuple[ThreadSnapshot, ...]
    pending: tuple[PendingCall, ...]
    pending_main: tuple[PendingCall, ...]
    handling_thread: int | None
    is_tripped: bool
    tripped: tuple[int, ...]
    finalizing: int | None
    instrumentation_version: int

    def thread(self, ident: int) -> ThreadSnapshot:
        """The snapshot of thread ``ident``."""
        return self.threads[ident]
