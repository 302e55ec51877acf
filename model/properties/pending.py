"""Pending-call properties: the two queues' bounds and order, no call lost or run
twice, no lost wakeup, a single drainer and the per-pass limit.
"""

from __future__ import annotations

from typing import Any

from model.base import INTERP, MAINQ
from model.phases import DRAIN_STAGES, Stage
from model.properties.registry import M, S, state_property, step_property
from model.properties.vocabulary import (
    _at,
    _cap,
    _frames,
    _in_range,
    _loop,
    _lost_wakeup,
    _main_thread_only,
    _queue,
)
from model.state import PendingQueue

# -- pending calls --------------------------------------------------------------------------


def _offset(m: M, pq: PendingQueue[Any, Any], k: Any, cap: int) -> Any:
    """How far slot ``k`` is from ``first`` around the ring: 0 for the oldest entry."""
    d = m.d
    return d.ite(d.le(pq.first, k), d.sub(k, pq.first), d.add(d.sub(k, pq.first), cap))


def _live(m: M, pq: PendingQueue[Any, Any], k: Any, cap: int) -> Any:
    """Slot ``k`` holds one of the ``npending`` entries."""
    return m.d.lt(_offset(m, pq, k, cap), pq.npending)


@state_property("INV-QUEUE-BOUNDS")
def queue_bounds(m: M, s: S) -> Any:
    """INV-QUEUE-BOUNDS."""
    d = m.d
    parts = []
    for q in (INTERP, MAINQ):
        pq = _queue(s, q)
        cap = _cap(m, q)
        parts.append(_in_range(m, pq.npending, 0, cap))
        parts.append(_in_range(m, pq.first, 0, cap - 1))
        parts.append(
            d.forall_below(
                cap,
                lambda k, pq=pq, cap=cap: d.implies(
                    d.not_(_live(m, pq, k, cap)), d.eq(d.select(pq.calls, k), 0)
                ),
            )
        )
    return d.all(*parts)


@state_property("INV-QUEUE-FIFO")
def queue_fifo(m: M, s: S) -> Any:
    """INV-QUEUE-FIFO."""
    d = m.d
    parts = []
    for q in (INTERP, MAINQ):
        pq = _queue(s, q)
        cap = _cap(m, q)

        def ordered(k: Any, pq: PendingQueue[Any, Any] = pq, cap: int = cap) -> Any:
            nxt = d.ite(d.eq(k, cap - 1), d.int_(0), d.add(k, 1))
            return d.implies(
                d.lt(d.add(_offset(m, pq, k, cap), 1), pq.npending),
                d.lt(d.select(pq.calls, k), d.select(pq.calls, nxt)),
            )

        parts.append(d.forall_below(cap, ordered))
    return d.all(*parts)


@state_property("INV-CALL-NO-LOSS")
def call_no_loss(m: M, s: S) -> Any:
    """INV-CALL-NO-LOSS."""
    d = m.d
    parts = []
    for q in (INTERP, MAINQ):
        pq = _queue(s, q)
        cap = _cap(m, q)
        parts.append(d.eq(pq.npending, d.sub(pq.added, pq.ran)))
        parts.append(
            d.forall_below(
                cap,
                lambda k, pq=pq, cap=cap: d.implies(
                    _live(m, pq, k, cap),
                    d.eq(d.select(pq.calls, k), d.add(pq.ran, _offset(m, pq, k, cap))),
                ),
            )
        )
    return d.all(*parts)


@step_property("STEP-CALL-AT-MOST-ONCE")
def call_at_most_once(m: M, pre: S, post: S) -> Any:
    """STEP-CALL-AT-MOST-ONCE."""
    d = m.d
    parts = []
    for q in (INTERP, MAINQ):
        a, b = _queue(pre, q), _queue(post, q)
        started = d.ne(b.started, a.started)
        parts.append(
            d.implies(
                started, d.all(d.eq(b.started, d.add(a.started, 1)), d.le(a.ran, b.last_started))
            )
        )
    return d.all(*parts)


@step_property("STEP-REFUSED-ADD-CHANGES-NOTHING")
def refused_add_changes_nothing(m: M, pre: S, post: S) -> Any:
    """STEP-REFUSED-ADD-CHANGES-NOTHING."""
    d = m.d
    parts = []
    for q in (INTERP, MAINQ):
        a, b = _queue(pre, q), _queue(post, q)
        same = d.all(
            d.eq(b.npending, a.npending),
            d.eq(b.first, a.first),
            d.eq(b.added, a.added),
            d.forall_below(
                _cap(m, q),
                lambda k, a=a, b=b: d.eq(d.select(a.calls, k), d.select(b.calls, k)),
            ),
        )
        parts.append(
            d.implies(d.ne(b.refused, a.refused), d.all(d.eq(a.npending, _cap(m, q)), same))
        )
    return d.all(*parts)


@state_property("INV-NO-LOST-WAKEUP")
def no_lost_wakeup(m: M, s: S) -> Any:
    """INV-NO-LOST-WAKEUP."""
    d = m.d
    return d.all(
        *(d.implies(_lost_wakeup(m, s, q), _queue(s, q).swallowed) for q in (INTERP, MAINQ))
    )


@state_property("INV-NO-LOST-WAKEUP-STRICT")
def no_lost_wakeup_strict(m: M, s: S) -> Any:
    """INV-NO-LOST-WAKEUP-STRICT."""
    d = m.d
    return d.all(*(d.not_(_lost_wakeup(m, s, q)) for q in (INTERP, MAINQ)))


@state_property("INV-SINGLE-DRAINER")
def single_drainer(m: M, s: S) -> Any:
    """INV-SINGLE-DRAINER."""
    d = m.d
    parts = []
    for t, th in enumerate(s.threads):
        draining = [_at(m, f, *DRAIN_STAGES) for f in _frames(th)]
        parts.append(d.iff(d.any(*draining), d.eq(s.handling_thread, t)))
        parts.append(m.terms.at_most_one(draining))
    return d.all(*parts)


@state_property("INV-PER-PASS-BOUND")
def per_pass_bound(m: M, s: S) -> Any:
    """INV-PER-PASS-BOUND."""
    d = m.d
    parts = []
    for th in s.threads:
        for f in _frames(th):
            for q, drain, callback in (
                (INTERP, Stage.DRAIN_INTERP, Stage.CALLBACK_INTERP),
                (MAINQ, Stage.DRAIN_MAIN, Stage.CALLBACK_MAIN),
            ):
                parts.append(d.implies(d.eq(f.stage, drain), _in_range(m, f.idx, 0, _loop(m, q))))
                parts.append(
                    d.implies(d.eq(f.stage, callback), _in_range(m, f.idx, 0, _loop(m, q) - 1))
                )
    return d.all(*parts)


@state_property("INV-MAIN-QUEUE-MAIN-THREAD")
def main_queue_main_thread(m: M, s: S) -> Any:
    """INV-MAIN-QUEUE-MAIN-THREAD."""
    return _main_thread_only(m, s, Stage.DRAIN_MAIN, Stage.CALLBACK_MAIN)
