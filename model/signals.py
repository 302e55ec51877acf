"""The signal bridge (Modules/signalmodule.c and Python/ceval_gil.c, CPython 3.13).

The C handler, ``trip_signal``, is three writes in a fixed order, each its own
action so that the main thread's scan can interleave with them: the signal's
``tripped`` flag, then ``is_tripped``, then the main thread's SIGNALS bit. The
main thread handles them in a pass: ``handle_signals`` clears ``is_tripped``
before it scans, and the scan calls each tripped signal's Python handler in
ascending signal number.
"""

from __future__ import annotations

import dataclasses

from model.actions import Effect, action
from model.base import MAIN, each_level, each_signal, each_thread, outcomes, param_space
from model.bits import Bit
from model.domain import B, I, replace_at
from model.pending import PendingActions
from model.phases import Stage
from model.state import State


class SignalActions(PendingActions[B, I]):
    """``trip_signal`` and the SIGNALS stage of a pass."""

    def _handled(self, s: State[B, I], sig: int) -> State[B, I]:
        """``sig``'s handler is being called: no pass is due to handle it any more (ghost)."""
        d = self.d
        main = s.threads[MAIN]
        main = dataclasses.replace(
            main,
            f0=dataclasses.replace(main.f0, signals_due=d.bclear(main.f0.signals_due, 1 << sig)),
            f1=dataclasses.replace(main.f1, signals_due=d.bclear(main.f1.signals_due, 1 << sig)),
        )
        out = dataclasses.replace(s, signal_missed=replace_at(s.signal_missed, sig, d.int_(0)))
        return self.with_thread(out, MAIN, main)

    @action(param_space(each_signal), actor=None)
    def trip_signal(self, s: State[B, I], sig: int) -> Effect:
        """The OS delivers ``sig``: the C handler sets ``Handlers[sig].tripped``.

        Mirrors the first store of ``trip_signal()`` (CPython 3.13). The same
        signal is blocked while its C handler runs (``sigaction`` without
        ``SA_NODEFER``), so one delivery per signal is in progress at a time.
        """
        d = self.d
        yield d.eq(s.trip_stage[sig], 0)
        return dataclasses.replace(
            s,
            tripped=replace_at(s.tripped, sig, d.bool_(True)),
            trip_stage=replace_at(s.trip_stage, sig, d.int_(1)),
        )

    @action(param_space(each_signal), actor=None)
    def trip_signal_is_tripped(self, s: State[B, I], sig: int) -> Effect:
        """Mirrors ``_Py_atomic_store_int(&is_tripped, 1)`` in ``trip_signal()``: after
        ``tripped``, "as it gets cleared in PyErr_CheckSignals() before .tripped"."""
        d = self.d
        yield d.eq(s.trip_stage[sig], 1)
        return dataclasses.replace(
            s, is_tripped=d.bool_(True), trip_stage=replace_at(s.trip_stage, sig, d.int_(2))
        )

    @action(param_space(each_signal), actor=None)
    def signal_received(self, s: State[B, I], sig: int) -> Effect:
        """Mirrors ``_PyEval_SignalReceived()`` called by ``trip_signal()`` (CPython 3.13):
        ``_PY_SIGNALS_PENDING_BIT`` on ``_PyRuntime.main_tstate``, whichever thread
        the OS interrupted. (The wake-up fd write that follows is not modelled.)"""
        d = self.d
        yield d.eq(s.trip_stage[sig], 2)
        out = dataclasses.replace(s, trip_stage=replace_at(s.trip_stage, sig, d.int_(0)))
        return self.update_thread(out, MAIN, lambda th: self.set_bits(th, Bit.SIGNALS_PENDING))

    @action(param_space(each_thread, each_level))
    def handle_signals(self, s: State[B, I], t: int, level: int) -> Effect:
        """Mirrors ``handle_signals()`` and the start of ``_PyErr_CheckSignalsTstate()``
        (CPython 3.13): unset the SIGNALS bit; a thread other than the main thread
        stops there; the main thread returns if ``is_tripped`` is clear, else
        clears it before scanning, so that a signal arriving during the scan
        trips it again."""
        d = self.d
        me = s.threads[t]
        yield self.at_stage(me, level, Stage.SIGNALS)
        out = self.with_thread(s, t, self.clear_bits(me, Bit.SIGNALS_PENDING))
        skip = self.advance(out, t, level, Stage.SIGNALS)
        if t != MAIN:
            return skip
        scan = self.set_stage(
            dataclasses.replace(out, is_tripped=d.bool_(False)), t, level, Stage.SCAN, d.int_(0)
        )
        return d.ite(s.is_tripped, scan, skip)

    @action(param_space(each_thread, each_level, each_signal))
    def call_signal_handler(self, s: State[B, I], t: int, level: int, sig: int) -> Effect:
        """The scan reaches tripped signal ``sig``: clear its flag and call its handler.

        Mirrors one iteration of the ``for (i = 1; i < Py_NSIG; i++)`` loop of
        ``_PyErr_CheckSignalsTstate()`` (CPython 3.13): skip signals that are not
        tripped, then ``Handlers[i].tripped = 0`` and call the Python handler.
        """
        d = self.d
        me = s.threads[t]
        f = self.frame(me, level)
        skipped = [d.any(d.lt(k, f.idx), d.not_(s.tripped[k])) for k in range(sig)]
        yield d.all(
            self.at_stage(me, level, Stage.SCAN), d.le(f.idx, sig), s.tripped[sig], *skipped
        )
        out = dataclasses.replace(s, tripped=replace_at(s.tripped, sig, d.bool_(False)))
        out = self._handled(out, sig)
        return self.set_stage(out, t, level, Stage.HANDLER, d.int_(sig))

    @action(param_space(each_thread, each_level))
    def scan_done(self, s: State[B, I], t: int, level: int) -> Effect:
        """The scan finds no further tripped signal: ``_PyErr_CheckSignalsTstate()``
        returns 0 and the pass goes on (CPython 3.13)."""
        d = self.d
        me = s.threads[t]
        f = self.frame(me, level)
        rest = [d.any(d.lt(k, f.idx), d.not_(s.tripped[k])) for k in self.signals]
        yield d.all(self.at_stage(me, level, Stage.SCAN), *rest)
        return self.advance(s, t, level, Stage.SIGNALS)

    @action(param_space(each_thread, each_level, outcomes))
    def handler_return(self, s: State[B, I], t: int, level: int, ok: bool) -> Effect:
        """The Python signal handler returns, or raises (``ok`` false).

        Mirrors the handler call's aftermath in ``_PyErr_CheckSignalsTstate()``
        and ``handle_signals()`` (CPython 3.13): on success the scan goes on; on
        an exception ``is_tripped`` is set again ("re-schedule"), the unscanned
        signals stay tripped, the SIGNALS bit is set again and the pass returns
        -1 at once, skipping the later stages.
        """
        d = self.d
        me = s.threads[t]
        yield self.at_stage(me, level, Stage.HANDLER)
        if ok:
            return self.set_stage(s, t, level, Stage.SCAN, d.add(self.frame(me, level).idx, 1))
        out = dataclasses.replace(s, is_tripped=d.bool_(True))
        out = self.update_thread(out, t, lambda th: self.set_bits(th, Bit.SIGNALS_PENDING))
        return self.end_pass(out, t, level, d.bool_(True))
