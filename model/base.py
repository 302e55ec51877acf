"""The base of every model class: firing actions and small state helpers.

Nothing here mirrors a CPython function; the helpers keep the transitions in
the other modules short. Every helper works in any domain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any, ClassVar, Final, Generic

from model.actions import Instance, Params, instances_of
from model.bits import EVENTS_MASK, Bit
from model.config import Config
from model.domain import B, Domain, I, Terms, replace_at
from model.fairness import CPYTHON_FAIRNESS, Fairness
from model.phases import BODY_STAGES, Phase, Stage
from model.quotient import quotient
from model.state import Frame, State, ThreadState, empty_frame, initial_state
from model.symmetry import permute

MAIN: Final = 0
"""Thread 0 is the main thread (``_PyRuntime.main_tstate``)."""

INTERP: Final = 0
"""Queue parameter: ``interp->ceval.pending``."""
MAINQ: Final = 1
"""Queue parameter: ``_PyRuntime.ceval.pending_mainthread``."""
QUEUES: Final = (INTERP, MAINQ)

PASS_ORDER: Final = (
    (Stage.SIGNALS, Bit.SIGNALS_PENDING),
    (Stage.CALLS, Bit.CALLS_TO_DO),
    (Stage.GC, Bit.GC_SCHEDULED),
    (Stage.DROP, Bit.GIL_DROP_REQUEST),
    (Stage.ASYNC, Bit.ASYNC_EXCEPTION),
)
"""The bits ``_Py_HandlePending`` acts on, in its order (CPython 3.13; the
disassembly tests 0x20, 0x02, 0x04, 0x10, 0x01, 0x08: PLEASE_STOP first, which
a default build never sets, see :data:`model.bits.FREE_THREADED_BITS`)."""


class ModelBase(Generic[B, I]):
    """Holds the configuration and the domain; fires actions."""

    finite_quotient: ClassVar[bool] = True
    """Exhaustive search may explore :meth:`quotient` representatives (see
    :mod:`model.quotient`); a variant that reads a counter some other way sets False."""
    symmetric: ClassVar[bool] = True
    """Threads other than the main thread are interchangeable (see
    :mod:`model.symmetry`); a variant that treats one of them specially sets False."""
    fairness: ClassVar[tuple[Fairness, ...]] = CPYTHON_FAIRNESS
    """What a fair behaviour must eventually do (:mod:`model.fairness`); the liveness
    properties under fairness name the assumptions they need from it."""
    refuted_by: ClassVar[str | None] = None
    """The catalogue entry a deliberately broken variant must be refuted by (a bug
    brought back names the one its docstring gives); engines/kill.py checks it."""

    def __init__(self, cfg: Config, d: Domain[B, I]) -> None:
        self.cfg = cfg
        self.d = d
        self.terms = Terms(d)

    # -- the engine's interface -------------------------------------------------------------

    @cached_property
    def instances(self) -> tuple[Instance, ...]:
        """Every possible step of this model, in a stable order."""
        return tuple(instances_of(self))

    def initial(self) -> State[B, I]:
        """The initial state (override to start elsewhere)."""
        return initial_state(self.cfg, self.d)

    def fire(self, inst: Instance, s: State[B, I]) -> tuple[B, State[B, I] | None]:
        """Guard and successor of ``inst`` in ``s``.

        The successor is ``None`` when the domain knows the guard is false.
        """
        gen = getattr(self, inst.action)(s, *inst.args)
        guard = next(gen)
        if self.d.concrete(guard) is False:
            gen.close()
            return guard, None
        try:
            next(gen)
        except StopIteration as stop:
            post: State[B, I] = stop.value
            return guard, post
        raise TypeError(
            f"action {inst.action} yielded more than once (it must yield its guard only)"
        )

    def guard(self, inst: Instance, s: State[B, I]) -> B:
        """The guard of ``inst`` in ``s``, without its successor."""
        gen = getattr(self, inst.action)(s, *inst.args)
        enabled: B = next(gen)
        gen.close()
        return enabled

    def quotient(self, s: State[B, I]) -> State[B, I]:
        """The representative of ``s`` in the finite quotient (:mod:`model.quotient`)."""
        return quotient(self.d, s, self.cfg.liveness_bound)

    def permute(self, s: State[B, I], sigma: tuple[int, ...]) -> State[B, I]:
        """``s`` with thread ``k`` renamed ``sigma[k]`` (:mod:`model.symmetry`)."""
        return permute(self.d, s, sigma)

    def successors(self, s: State[B, I]) -> Iterator[tuple[Instance, State[B, I]]]:
        """Enabled steps from a concrete state."""
        for inst in self.instances:
            _, post = self.fire(inst, s)
            if post is not None:
                yield inst, post

    # -- parameter spaces -------------------------------------------------------------------

    @property
    def threads(self) -> range:
        return range(self.cfg.threads)

    @property
    def levels(self) -> range:
        """Pass nesting levels (see :data:`model.phases.MAX_DEPTH`)."""
        return range(2)

    @property
    def signals(self) -> range:
        return range(self.cfg.signals)

    def capacity(self, q: int) -> int:
        return self.cfg.interp_capacity if q == INTERP else self.cfg.main_capacity

    def maxloop(self, q: int) -> int:
        return self.cfg.interp_loop if q == INTERP else self.cfg.main_loop

    # -- state helpers ----------------------------------------------------------------------

    def with_thread(self, s: State[B, I], t: int, th: ThreadState[B, I]) -> State[B, I]:
        return dataclasses.replace(s, threads=replace_at(s.threads, t, th))

    def update_thread(
        self, s: State[B, I], t: int, f: Callable[[ThreadState[B, I]], ThreadState[B, I]]
    ) -> State[B, I]:
        return self.with_thread(s, t, f(s.threads[t]))

    def update_thread_at(
        self, s: State[B, I], target: I, f: Callable[[ThreadState[B, I]], ThreadState[B, I]]
    ) -> State[B, I]:
        """Apply ``f`` to the thread whose id is the term ``target``."""
        d = self.d
        threads = tuple(d.ite(d.eq(target, k), f(th), th) for k, th in enumerate(s.threads))
        return dataclasses.replace(s, threads=threads)

    def set_bits(
        self, th: ThreadState[B, I], bits: int, when: B | None = None
    ) -> ThreadState[B, I]:
        """``_Py_set_eval_breaker_bit(th, bits)`` (an atomic or), if ``when``."""
        new = self.d.bor(th.breaker, bits)
        return dataclasses.replace(
            th, breaker=new if when is None else self.d.ite(when, new, th.breaker)
        )

    def clear_bits(
        self, th: ThreadState[B, I], bits: int, when: B | None = None
    ) -> ThreadState[B, I]:
        """``_Py_unset_eval_breaker_bit(th, bits)`` (an atomic and), if ``when``."""
        new = self.d.bclear(th.breaker, bits)
        return dataclasses.replace(
            th, breaker=new if when is None else self.d.ite(when, new, th.breaker)
        )

    def has_bit(self, th: ThreadState[B, I], bit: int) -> B:
        return self.d.bhas(th.breaker, bit)

    def events(self, th: ThreadState[B, I]) -> I:
        """``eval_breaker & _PY_EVAL_EVENTS_MASK``."""
        return self.d.band(th.breaker, EVENTS_MASK)

    def in_phase(self, th: ThreadState[B, I], *phases: Phase) -> B:
        d = self.d
        return d.any(*(d.eq(th.phase, p) for p in phases))

    def holding(self, th: ThreadState[B, I]) -> B:
        return self.d.eq(th.phase, Phase.HOLDING)

    # -- frames -----------------------------------------------------------------------------

    def frame(self, th: ThreadState[B, I], level: int) -> Frame[B, I]:
        return th.f0 if level == 0 else th.f1

    def with_frame(self, th: ThreadState[B, I], level: int, f: Frame[B, I]) -> ThreadState[B, I]:
        return dataclasses.replace(th, f0=f) if level == 0 else dataclasses.replace(th, f1=f)

    def at_stage(self, th: ThreadState[B, I], level: int, *stages: Stage) -> B:
        """``th`` holds the GIL and its pass at ``level`` is the innermost, at one of ``stages``."""
        d = self.d
        f = self.frame(th, level)
        return d.all(
            self.holding(th),
            d.eq(th.depth, level + 1),
            d.eq(th.adding, 0),
            d.any(*(d.eq(f.stage, st) for st in stages)),
        )

    def runs_python(self, th: ThreadState[B, I]) -> B:
        """``th`` holds the GIL and runs Python code of its own choosing: plain bytecode
        (no pass in progress) or the body of a handler or callback of a level-0 pass."""
        d = self.d
        return d.all(
            self.holding(th),
            d.eq(th.adding, 0),
            d.any(
                d.eq(th.depth, 0),
                d.all(d.eq(th.depth, 1), d.any(*(d.eq(th.f0.stage, st) for st in BODY_STAGES))),
            ),
        )

    def next_stage(self, snap: I, after: Stage | None) -> I:
        """The first stage after ``after`` whose bit is in ``snap``, else ``Stage.NONE``."""
        d = self.d
        later = [(st, bit) for st, bit in PASS_ORDER if after is None or st > after]
        out: I = d.int_(Stage.NONE)
        for st, bit in reversed(later):
            out = d.ite(d.bhas(snap, bit), d.int_(st), out)
        return out

    def cleared_frame(self) -> Frame[B, I]:
        return empty_frame(self.d)


def param_space(*axes: Callable[[Any], Any]) -> Callable[[Any], list[Params]]:
    """Cartesian product of parameter axes, each a function of the model."""

    def space(model: Any) -> list[Params]:
        out: list[Params] = [()]
        for axis in axes:
            out = [(*p, v) for p in out for v in axis(model)]
        return out

    return space


def each_thread(model: ModelBase[Any, Any]) -> range:
    return model.threads


def each_level(model: ModelBase[Any, Any]) -> range:
    return model.levels


def each_queue(model: ModelBase[Any, Any]) -> tuple[int, ...]:
    return QUEUES


def each_signal(model: ModelBase[Any, Any]) -> range:
    return model.signals


def outcomes(model: ModelBase[Any, Any]) -> tuple[bool, ...]:
    return (True, False)
