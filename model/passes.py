"""Check points and the ``_Py_HandlePending`` pass (Python/ceval_gil.c, CPython 3.13).

A check point snapshots ``eval_breaker & _PY_EVAL_EVENTS_MASK`` once and, if
any event is set, runs the pass on that snapshot: signals, pending calls, GC,
drop request, async exception, in that order, each only if its bit is in the
snapshot. The pass is a *frame* that advances through :class:`Stage` values,
one action per stage, so that other threads and signals interleave with it.
Signals and pending calls have modules of their own; GC, the drop request and
the async exception are here.

The frames also carry the ghost flags of the bounded-liveness properties
(``*_due``): what the pass was due to serve when it started. A pass that ends
without error and without serving one of them counts a miss.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic

from model.actions import Effect, action
from model.base import MAIN, each_level, each_thread, param_space
from model.bits import Bit
from model.domain import B, I
from model.gil import GilActions
from model.phases import Stage
from model.state import NULL, Frame, State


@dataclass(frozen=True, slots=True)
class Instruction:
    """An instruction kind of the abstract programs threads run."""

    name: str
    checks: bool
    """Whether CPython 3.13 tests the eval breaker at it (``HAS_EVAL_BREAK_FLAG``)."""
    note: str


INSTRUCTIONS_313: tuple[Instruction, ...] = (
    Instruction("RESUME", True, "function start, oparg 0: checks (oparg & 3 < 2)"),
    Instruction("RESUME_AFTER_YIELD", True, "RESUME oparg 1: checks"),
    Instruction("RESUME_AFTER_YIELD_FROM", False, "RESUME oparg 2: no check"),
    Instruction("RESUME_AFTER_AWAIT", False, "RESUME oparg 3: no check"),
    Instruction("JUMP_BACKWARD", True, "loop back edge: checks"),
    Instruction("JUMP_BACKWARD_NO_INTERRUPT", False, "yield-from/await loops, except exits"),
    Instruction("CALL", True, "C call: _CHECK_PERIODIC after the callee returns"),
    Instruction("CALL_PY_EXACT_ARGS", False, "Python-to-Python call: the callee's RESUME checks"),
)
"""Instruction kinds and whether they are check points (pycore_opcode_metadata.h, 3.13)."""


def each_instruction(model: Any) -> list[str]:
    return [ins.name for ins in model.INSTRUCTIONS]


@dataclass(frozen=True, slots=True)
class _Due(Generic[B, I]):
    """What a pass is due to serve (the ``*_due`` ghosts of a :class:`Frame`)."""

    drop: B
    calls_interp: B
    calls_main: B
    signals: I


class PassActions(GilActions[B, I]):
    """Check points, pass frames, and the GC, drop and async-exception stages."""

    INSTRUCTIONS: ClassVar[Sequence[Instruction]] = INSTRUCTIONS_313

    # -- due flags and misses (liveness ghosts) ------------------------------------------------

    def _due(self, s: State[B, I], t: int, level: int) -> _Due[B, I]:
        """What a pass starting now at ``level`` is due to serve (see module docstring)."""
        d = self.d
        me = s.threads[t]
        no_drain = d.eq(s.handling_thread, NULL)
        adding_interp = d.any(*(d.eq(th.adding, 1) for th in s.threads))
        adding_main = d.any(*(d.eq(th.adding, 2) for th in s.threads))
        calls_interp = d.all(d.lt(0, s.interp_q.npending), no_drain, d.not_(adding_interp))
        calls_main = d.bool_(False)
        signals = d.word(0)
        if t == MAIN:
            calls_main = d.all(d.lt(0, s.main_q.npending), no_drain, d.not_(adding_main))
            # A pass nested in a signal handler does not scan: is_tripped was cleared.
            scanning = (
                d.any(d.eq(me.f0.stage, Stage.SCAN), d.eq(me.f0.stage, Stage.HANDLER))
                if level == 1
                else d.bool_(False)
            )
            for sig in self.signals:
                due = d.all(s.tripped[sig], d.eq(s.trip_stage[sig], 0), d.not_(scanning))
                signals = d.ite(due, d.bor(signals, 1 << sig), signals)
        return _Due(self.has_bit(me, Bit.GIL_DROP_REQUEST), calls_interp, calls_main, signals)

    def _account(self, s: State[B, I], t: int, due: _Due[B, I], error: B) -> State[B, I]:
        """Count the misses of a pass by ``t`` that ends now (``error``: it returned -1)."""
        d = self.d
        ok = d.not_(error)

        def inc(cond: B, x: I) -> I:
            return d.ite(cond, d.add(x, 1), x)

        interp_q = dataclasses.replace(
            s.interp_q, missed=inc(d.all(ok, due.calls_interp), s.interp_q.missed)
        )
        main_q = dataclasses.replace(
            s.main_q, missed=inc(d.all(ok, due.calls_main), s.main_q.missed)
        )
        signal_missed = tuple(
            inc(d.all(ok, d.bhas(due.signals, 1 << sig)), s.signal_missed[sig])
            for sig in self.signals
        )
        me = s.threads[t]
        me = dataclasses.replace(
            me,
            drop_missed=inc(d.all(ok, due.drop), me.drop_missed),
            drop_missed_any=inc(due.drop, me.drop_missed_any),
        )
        out = dataclasses.replace(s, interp_q=interp_q, main_q=main_q, signal_missed=signal_missed)
        return self.with_thread(out, t, me)

    # -- frames -----------------------------------------------------------------------------

    def check_point(self, s: State[B, I], t: int, level: int) -> State[B, I]:
        """The eval loop's test of the breaker at a check point, for ``t`` at ``level``.

        Mirrors ``if (eval_breaker & _PY_EVAL_EVENTS_MASK) _Py_HandlePending(tstate)``
        (``_CHECK_PERIODIC``, CPython 3.13): the pass starts on one snapshot.
        """
        d = self.d
        me = s.threads[t]
        snap = self.events(me)
        first = self.next_stage(snap, None)
        due = self._due(s, t, level)
        frame = Frame(
            stage=first,
            snap=snap,
            idx=d.int_(0),
            drop_due=due.drop,
            calls_due_interp=due.calls_interp,
            calls_due_main=due.calls_main,
            signals_due=due.signals,
        )
        pushed = self.with_thread(
            s, t, dataclasses.replace(self.with_frame(me, level, frame), depth=d.int_(level + 1))
        )
        nothing = self._account(s, t, due, d.bool_(False))
        return d.ite(d.eq(first, Stage.NONE), nothing, pushed)

    def end_pass(self, s: State[B, I], t: int, level: int, error: B) -> State[B, I]:
        """``_Py_HandlePending`` returns (-1 if ``error``): the frame at ``level`` is popped."""
        d = self.d
        f = self.frame(s.threads[t], level)
        due = _Due(f.drop_due, f.calls_due_interp, f.calls_due_main, f.signals_due)
        out = self._account(s, t, due, error)
        return self.update_thread(
            out,
            t,
            lambda th: dataclasses.replace(
                self.with_frame(th, level, self.cleared_frame()), depth=d.int_(level)
            ),
        )

    def advance(self, s: State[B, I], t: int, level: int, after: Stage) -> State[B, I]:
        """Go on to the next stage of the snapshot after ``after``, or end the pass."""
        d = self.d
        me = s.threads[t]
        f = self.frame(me, level)
        nxt = self.next_stage(f.snap, after)
        moved = self.with_thread(
            s, t, self.with_frame(me, level, dataclasses.replace(f, stage=nxt, idx=d.int_(0)))
        )
        return d.ite(d.eq(nxt, Stage.NONE), self.end_pass(s, t, level, d.bool_(False)), moved)

    def set_stage(self, s: State[B, I], t: int, level: int, stage: Stage, idx: I) -> State[B, I]:
        me = s.threads[t]
        f = dataclasses.replace(self.frame(me, level), stage=self.d.int_(stage), idx=idx)
        return self.with_thread(s, t, self.with_frame(me, level, f))

    # -- actions ------------------------------------------------------------------------------

    @action(param_space(each_thread, each_instruction))
    def execute(self, s: State[B, I], t: int, op: str) -> Effect:
        """The holder executes one instruction of its own code (no pass in progress).

        Mirrors the eval loop of Python/ceval.c (CPython 3.13) at the level the
        protocol sees: an instruction with ``HAS_EVAL_BREAK_FLAG`` is a check
        point, any other changes no protocol state.
        """
        d = self.d
        me = s.threads[t]
        yield d.all(self.holding(me), d.eq(me.depth, 0), d.eq(me.adding, 0))
        (ins,) = [i for i in self.INSTRUCTIONS if i.name == op]
        return self.check_point(s, t, 0) if ins.checks else s

    @action(param_space(each_thread))
    def body_check_point(self, s: State[B, I], t: int) -> Effect:
        """A signal handler or pending callback run by a level-0 pass reaches a check point.

        Mirrors a check point of the eval loop running the handler's or
        callback's code: a second ``_Py_HandlePending`` nested in the first.
        Deviates: handlers and callbacks run by that nested pass have no check
        points of their own (two levels are modelled).
        """
        d = self.d
        me = s.threads[t]
        yield d.all(self.runs_python(me), d.eq(me.depth, 1))
        return self.check_point(s, t, 1)

    @action(param_space(each_thread, each_level))
    def handle_gc(self, s: State[B, I], t: int, level: int) -> Effect:
        """Mirrors the ``_PY_GC_SCHEDULED_BIT`` step of ``_Py_HandlePending``:
        unset the bit, then ``_Py_RunGC``. Deviates: the collection itself has no
        effect in the model (finalizers would be Python code: see handlers)."""
        me = s.threads[t]
        yield self.at_stage(me, level, Stage.GC)
        out = self.with_thread(s, t, self.clear_bits(me, Bit.GC_SCHEDULED))
        return self.advance(out, t, level, Stage.GC)

    @action(param_space(each_thread, each_level))
    def handle_drop_request(self, s: State[B, I], t: int, level: int) -> Effect:
        """Honour the drop request: ``_PyThreadState_Detach`` then ``_PyThreadState_Attach``.

        Mirrors the ``_PY_GIL_DROP_REQUEST_BIT`` step of ``_Py_HandlePending``
        (CPython 3.13). The bit is not unset here: ``drop_gil`` unsets it before
        a forced-switch wait, ``take_gil`` when the thread gets the GIL back. The
        pass goes on (async exception) once :meth:`take_gil` succeeded.
        """
        me = s.threads[t]
        yield self.at_stage(me, level, Stage.DROP)
        # Release first: the frames' drop_due ghosts are honoured before the pass may end.
        return self.advance(self.released(s, t), t, level, Stage.DROP)

    @action(param_space(each_thread, each_level))
    def handle_async_exc(self, s: State[B, I], t: int, level: int) -> Effect:
        """Deliver a pending asynchronous exception.

        Mirrors the ``_PY_ASYNC_EXCEPTION_BIT`` step of ``_Py_HandlePending``
        (CPython 3.13): unset the bit, ``exc = _Py_atomic_exchange_ptr(&tstate->
        async_exc, NULL)``; if there was one, raise it (the pass returns -1).
        """
        d = self.d
        me = s.threads[t]
        yield self.at_stage(me, level, Stage.ASYNC)
        exc = me.async_exc
        delivered = d.ne(exc, 0)
        me = dataclasses.replace(
            self.clear_bits(me, Bit.ASYNC_EXCEPTION),
            async_exc=d.int_(0),
            async_delivered=d.ite(delivered, exc, me.async_delivered),
            async_deliveries=d.ite(delivered, d.add(me.async_deliveries, 1), me.async_deliveries),
        )
        out = self.with_thread(s, t, me)
        return d.ite(
            delivered,
            self.end_pass(out, t, level, d.bool_(True)),
            self.advance(out, t, level, Stage.ASYNC),
        )
