"""Lemmas: auxiliary invariants that make the catalogue inductive."""

from __future__ import annotations

from typing import Any

from model.base import INTERP, MAIN, MAINQ
from model.bits import Bit
from model.phases import DRAIN_STAGES, Phase, Stage
from model.properties.registry import M, S, state_property
from model.properties.vocabulary import _adding, _at, _frames, _holding, _queue
from model.state import ThreadState

# -- lemmas: auxiliary invariants that make the catalogue inductive ----------------------------

_BEFORE_CALLS = (Stage.SIGNALS, Stage.SCAN, Stage.HANDLER, Stage.CALLS)
_UP_TO_DROP = (*_BEFORE_CALLS, *DRAIN_STAGES, Stage.GC, Stage.DROP)


def _top_frame_at(m: M, th: ThreadState[Any, Any], *stages: Stage) -> Any:
    """The innermost pass of ``th`` is at one of ``stages``."""
    d = m.d
    return d.any(
        d.all(d.eq(th.depth, 1), _at(m, th.f0, *stages)),
        d.all(d.eq(th.depth, 2), _at(m, th.f1, *stages)),
    )


@state_property("LEMMA-PASS-HOLDS-GIL")
def pass_holds_gil(m: M, s: S) -> Any:
    """LEMMA-PASS-HOLDS-GIL."""
    d = m.d
    parts = []
    for th in s.threads:
        top_drop_done = d.any(
            d.all(
                d.eq(th.depth, 1),
                d.eq(th.f0.stage, Stage.ASYNC),
                d.bhas(th.f0.snap, Bit.GIL_DROP_REQUEST),
            ),
            d.all(
                d.eq(th.depth, 2),
                d.eq(th.f1.stage, Stage.ASYNC),
                d.bhas(th.f1.snap, Bit.GIL_DROP_REQUEST),
            ),
        )
        in_body = _top_frame_at(m, th, Stage.HANDLER, Stage.CALLBACK_INTERP, Stage.CALLBACK_MAIN)
        parts.append(
            d.implies(
                d.all(d.le(1, th.depth), d.not_(_holding(m, th))),
                d.any(in_body, top_drop_done),
            )
        )
        # C code between the push and the signal of an add: running, or detached in C.
        parts.append(
            d.implies(
                d.ne(th.adding, 0),
                d.any(_holding(m, th), d.all(d.eq(th.phase, Phase.DETACHED), th.c_code)),
            )
        )
    return d.all(*parts)


@state_property("LEMMA-DROP-DUE")
def drop_due(m: M, s: S) -> Any:
    """LEMMA-DROP-DUE."""
    d = m.d
    return d.all(
        *(
            d.implies(
                f.drop_due, d.all(d.bhas(f.snap, Bit.GIL_DROP_REQUEST), _at(m, f, *_UP_TO_DROP))
            )
            for th in s.threads
            for f in _frames(th)
        )
    )


@state_property("LEMMA-CALLS-DUE")
def calls_due(m: M, s: S) -> Any:
    """LEMMA-CALLS-DUE."""
    d = m.d
    parts = []
    for t, th in enumerate(s.threads):
        for f in _frames(th):
            waiting_to_drain = d.all(d.bhas(f.snap, Bit.CALLS_TO_DO), _at(m, f, *_BEFORE_CALLS))
            first_pop = d.all(d.eq(f.stage, Stage.DRAIN_INTERP), d.eq(f.idx, 0))
            parts.append(
                d.implies(
                    f.calls_due_interp,
                    d.all(
                        d.lt(0, s.interp_q.npending),
                        d.any(waiting_to_drain, first_pop, s.interp_q.swallowed),
                    ),
                )
            )
            if t == MAIN:
                main_drain_ahead = d.any(
                    _at(m, f, Stage.DRAIN_INTERP, Stage.CALLBACK_INTERP),
                    d.all(d.eq(f.stage, Stage.DRAIN_MAIN), d.eq(f.idx, 0)),
                )
                parts.append(
                    d.implies(
                        f.calls_due_main,
                        d.all(
                            d.lt(0, s.main_q.npending),
                            d.any(waiting_to_drain, main_drain_ahead, s.main_q.swallowed),
                        ),
                    )
                )
        # A drain in progress elsewhere has not popped yet (it pops before anyone else runs).
    for u, th in enumerate(s.threads):
        due_somewhere = d.any(*(f.calls_due_interp for w in s.threads for f in _frames(w)))
        parts.append(
            d.implies(
                d.all(d.eq(s.handling_thread, u), due_somewhere),
                d.any(
                    *(d.all(d.eq(f.stage, Stage.DRAIN_INTERP), d.eq(f.idx, 0)) for f in _frames(th))
                ),
            )
        )
    return d.all(*parts)


@state_property("LEMMA-SIGNALS-DUE")
def signals_due(m: M, s: S) -> Any:
    """LEMMA-SIGNALS-DUE."""
    d = m.d
    parts = []
    for f in _frames(s.threads[MAIN]):
        for sig in m.signals:
            where = d.any(
                d.all(
                    d.eq(f.stage, Stage.SIGNALS), d.bhas(f.snap, Bit.SIGNALS_PENDING), s.is_tripped
                ),
                d.all(d.eq(f.stage, Stage.SCAN), d.le(f.idx, sig)),
                d.all(d.eq(f.stage, Stage.HANDLER), d.lt(f.idx, sig)),
            )
            parts.append(d.implies(d.bhas(f.signals_due, 1 << sig), d.all(s.tripped[sig], where)))
    return d.all(*parts)


@state_property("LEMMA-MUST-YIELD")
def must_yield(m: M, s: S) -> Any:
    """LEMMA-MUST-YIELD."""
    d = m.d
    return d.all(
        *(
            d.implies(
                th.must_yield,
                d.all(
                    d.eq(s.last_holder, t),
                    d.not_(_holding(m, th)),
                    d.any(
                        d.all(
                            d.eq(th.phase, Phase.RELEASING),
                            d.bhas(th.breaker, Bit.GIL_DROP_REQUEST),
                        ),
                        d.eq(th.phase, Phase.SWITCH_WAIT),
                        th.spurious_wake,
                    ),
                ),
            )
            for t, th in enumerate(s.threads)
        )
    )


@state_property("LEMMA-DRAIN-SIGNALLED")
def drain_signalled(m: M, s: S) -> Any:
    """LEMMA-DRAIN-SIGNALLED."""
    d = m.d
    parts = []
    for t, th in enumerate(s.threads):
        calls = d.bhas(th.breaker, Bit.CALLS_TO_DO)
        for f in _frames(th):
            for q, drain, callback in (
                (INTERP, Stage.DRAIN_INTERP, Stage.CALLBACK_INTERP),
                (MAINQ, Stage.DRAIN_MAIN, Stage.CALLBACK_MAIN),
            ):
                pq = _queue(s, q)
                after_pop = d.any(
                    d.eq(f.stage, callback), d.all(d.eq(f.stage, drain), d.le(1, f.idx))
                )
                grew = d.lt(s.drain_npending, pq.npending)
                parts.append(
                    d.implies(
                        d.all(_holding(m, th), after_pop, grew),
                        d.any(calls, pq.swallowed, _adding(m, s, q)),
                    )
                )
            if t == MAIN:
                # Draining the main-thread queue: the interpreter's queue was drained first.
                parts.append(
                    d.implies(
                        d.all(
                            _holding(m, th),
                            _at(m, f, Stage.DRAIN_MAIN, Stage.CALLBACK_MAIN),
                            d.lt(0, s.interp_q.npending),
                        ),
                        d.any(calls, s.interp_q.swallowed, _adding(m, s, INTERP)),
                    )
                )
    return d.all(*parts)
