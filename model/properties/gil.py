"""GIL properties: type correctness of the state, a single holder, the switch number,
drop requests and who may take the GIL.
"""

from __future__ import annotations

from typing import Any, Final

from model.base import INTERP, MAIN, MAINQ
from model.bits import Bit
from model.phases import MAX_DEPTH, Phase, Stage
from model.properties.registry import M, S, state_property, step_property
from model.properties.vocabulary import _acquires, _at, _holding, _in_range, _queue
from model.state import NULL, Frame

# -- GIL ------------------------------------------------------------------------------------


def _canonical_when_unused(m: M, f: Frame[Any, Any]) -> Any:
    """A frame not in use holds nothing (the model clears a frame when its pass ends)."""
    d = m.d
    return d.implies(
        d.eq(f.stage, Stage.NONE),
        d.all(
            d.eq(f.snap, 0),
            d.eq(f.idx, 0),
            d.not_(f.drop_due),
            d.not_(f.calls_due_interp),
            d.not_(f.calls_due_main),
            d.eq(f.signals_due, 0),
        ),
    )


@state_property("INV-TYPE-OK")
def type_ok(m: M, s: S) -> Any:
    """INV-TYPE-OK."""
    d = m.d
    n = m.cfg.threads
    parts = [
        _in_range(m, s.last_holder, 0, n - 1),
        _in_range(m, s.handling_thread, NULL, n - 1),
        d.le(0, s.switch_number),
        d.le(0, s.drain_npending),
        *(_in_range(m, st, 0, 2) for st in s.trip_stage),
        *(d.le(0, x) for x in s.signal_missed),
    ]
    for q in (INTERP, MAINQ):
        pq = _queue(s, q)
        parts += [d.le(0, x) for x in (pq.added, pq.refused, pq.ran, pq.started, pq.missed)]
        parts.append(d.le(0, pq.last_started))
    for t, th in enumerate(s.threads):
        f0, f1 = th.f0, th.f1
        parts += [
            _in_range(m, th.phase, min(Phase), max(Phase)),
            _in_range(m, th.depth, 0, MAX_DEPTH),
            _in_range(m, th.adding, 0, 2),
            _in_range(m, th.ticket, 0, n),
            d.implies(
                th.c_code,
                d.any(
                    *(
                        d.eq(th.phase, p)
                        for p in (Phase.RELEASING, Phase.SWITCH_WAIT, Phase.DETACHED)
                    )
                ),
            ),
            _in_range(m, f0.stage, min(Stage), max(Stage)),
            _in_range(m, f1.stage, min(Stage), max(Stage)),
            # A frame is in use exactly below the depth; the level-1 frame only inside a body.
            *(_canonical_when_unused(m, f) for f in (f0, f1)),
            d.iff(d.le(1, th.depth), d.ne(f0.stage, Stage.NONE)),
            d.iff(d.eq(th.depth, 2), d.ne(f1.stage, Stage.NONE)),
            d.implies(
                d.eq(th.depth, 2),
                _at(m, f0, Stage.HANDLER, Stage.CALLBACK_INTERP, Stage.CALLBACK_MAIN),
            ),
            d.le(0, th.async_exc),
            d.le(th.async_exc, th.async_posted),
            d.le(0, th.async_delivered),
            d.le(th.async_delivered, th.async_posted),
            d.le(0, th.async_deliveries),
            d.le(0, th.drop_missed),
            d.le(th.drop_missed, th.drop_missed_any),
            d.le(th.saved_switchnum, s.switch_number),
            d.le(0, f0.idx),
            d.le(0, f1.idx),
            *(d.eq(d.band(f.signals_due, ~((1 << m.cfg.signals) - 1)), 0) for f in (f0, f1)),
        ]
        if t != MAIN:
            parts += [d.all(d.eq(f.signals_due, 0), d.not_(f.calls_due_main)) for f in (f0, f1)]
    return d.all(*parts)


@state_property("INV-GIL-SINGLE-HOLDER")
def single_holder(m: M, s: S) -> Any:
    """INV-GIL-SINGLE-HOLDER."""
    d = m.d
    holders = [_holding(m, th) for th in s.threads]
    return d.all(m.terms.at_most_one(holders), d.iff(s.locked, d.any(*holders)))


@state_property("INV-GIL-HOLDER-IS-LAST-HOLDER")
def holder_is_last_holder(m: M, s: S) -> Any:
    """INV-GIL-HOLDER-IS-LAST-HOLDER."""
    d = m.d
    return d.all(
        *(d.implies(_holding(m, th), d.eq(s.last_holder, t)) for t, th in enumerate(s.threads))
    )


@step_property("STEP-GIL-SWITCH-NUMBER")
def switch_number(m: M, pre: S, post: S) -> Any:
    """STEP-GIL-SWITCH-NUMBER."""
    d = m.d
    bumped = d.eq(post.switch_number, d.add(pre.switch_number, 1))
    return d.all(
        d.any(d.eq(post.switch_number, pre.switch_number), bumped),
        d.iff(bumped, d.ne(post.last_holder, pre.last_holder)),
    )


@state_property("INV-DROP-REQUEST-HAS-REQUESTER")
def drop_request_has_requester(m: M, s: S) -> Any:
    """INV-DROP-REQUEST-HAS-REQUESTER."""
    d = m.d
    parts = []
    for h, th in enumerate(s.threads):
        requesters = [
            d.all(d.eq(w.phase, Phase.TAKE_WAIT), w.drop_requested)
            for k, w in enumerate(s.threads)
            if k != h
        ]
        parts.append(
            d.implies(
                d.all(_holding(m, th), d.bhas(th.breaker, Bit.GIL_DROP_REQUEST)), d.any(*requesters)
            )
        )
    return d.all(*parts)


@step_property("STEP-DROP-REQUEST-FROM-WAITER")
def drop_request_from_waiter(m: M, pre: S, post: S) -> Any:
    """STEP-DROP-REQUEST-FROM-WAITER."""
    d = m.d
    parts = []
    for h in range(m.cfg.threads):
        rises = d.all(
            d.not_(d.bhas(pre.threads[h].breaker, Bit.GIL_DROP_REQUEST)),
            d.bhas(post.threads[h].breaker, Bit.GIL_DROP_REQUEST),
        )
        by_waiter = d.any(
            *(
                d.all(
                    d.eq(pre.threads[w].phase, Phase.TAKE_WAIT),
                    d.eq(pre.threads[w].saved_switchnum, pre.switch_number),
                    post.threads[w].drop_requested,
                )
                for w in range(m.cfg.threads)
                if w != h
            )
        )
        parts.append(
            d.implies(
                rises,
                d.all(pre.locked, d.eq(pre.last_holder, h), _holding(m, pre.threads[h]), by_waiter),
            )
        )
    return d.all(*parts)


@step_property("STEP-NEW-HOLDER-DROP-CLEAR")
def new_holder_drop_clear(m: M, pre: S, post: S) -> Any:
    """STEP-NEW-HOLDER-DROP-CLEAR."""
    d = m.d
    return d.all(
        *(
            d.implies(
                _acquires(m, pre, post, t),
                d.not_(d.bhas(post.threads[t].breaker, Bit.GIL_DROP_REQUEST)),
            )
            for t in range(m.cfg.threads)
        )
    )


@state_property("INV-SWITCH-WAIT-DROP-CLEAR")
def switch_wait_drop_clear(m: M, s: S) -> Any:
    """INV-SWITCH-WAIT-DROP-CLEAR."""
    d = m.d
    return d.all(
        *(
            d.implies(
                d.eq(th.phase, Phase.SWITCH_WAIT), d.not_(d.bhas(th.breaker, Bit.GIL_DROP_REQUEST))
            )
            for th in s.threads
        )
    )


@step_property("STEP-NO-TAKE-AFTER-FINALIZE")
def no_take_after_finalize(m: M, pre: S, post: S) -> Any:
    """STEP-NO-TAKE-AFTER-FINALIZE."""
    d = m.d
    return d.all(
        *(
            d.implies(_acquires(m, pre, post, t), d.not_(pre.finalizing))
            for t in range(m.cfg.threads)
            if t != MAIN
        )
    )


DEADLOCK: Final = "INV-NO-DEADLOCK"
"""TLC's deadlock check, as a state property (its violations are their own class)."""


@state_property(DEADLOCK)
def no_deadlock(m: M, s: S) -> Any:
    """INV-NO-DEADLOCK."""
    d = m.d
    # Only threads' steps count: a signal arriving does not unblock a waiter.
    steps = [m.guard(inst, s) for inst in m.instances if inst.actor is not None]
    return d.any(d.all(*(d.eq(th.phase, Phase.EXITED) for th in s.threads)), *steps)
