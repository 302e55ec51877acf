"""The checked properties, one function per catalogue id (model/invariants.toml).

A *state* property is a predicate of one state; a *step* property relates a
state and its successor (an action property, in TLA+ terms). Both are written
against the model's domain, like the transitions, so the explicit search
evaluates them on Python values and the prover on z3 terms. Bounded liveness
properties are safety properties over ghost counters (see ``*_missed`` and
``must_yield`` in :mod:`model.state`).

The prose of each property lives once, in the catalogue; here each function's
docstring only names it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from model.base import INTERP, MAIN, MAINQ
from model.bits import EVENTS_MASK, FREE_THREADED_BITS, VERSION_MASK, Bit
from model.phases import DRAIN_STAGES, MAX_DEPTH, Phase, Stage
from model.state import NULL, Frame, PendingQueue, State, ThreadState

Kind = Literal["safety", "liveness"]
M = Any
"""A model instance of any domain (``model.protocol.Cpython313[B, I]``)."""
S = State[Any, Any]


@dataclass(frozen=True, slots=True)
class Property:
    """A catalogue entry's executable form."""

    id: str
    kind: Kind
    step: bool
    """True for a property of (state, successor), False for a state property."""
    fn: Callable[..., Any]

    def holds(self, m: M, pre: S, post: S | None = None) -> Any:
        """The property as a term of ``m``'s domain."""
        if self.step:
            if post is None:
                raise TypeError(f"{self.id} is a step property: it needs a successor")
            return self.fn(m, pre, post)
        return self.fn(m, pre)


PROPERTIES: dict[str, Property] = {}


def _register(
    pid: str, kind: Kind, step: bool
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if pid in PROPERTIES:
            raise ValueError(f"property {pid} is defined twice")
        PROPERTIES[pid] = Property(pid, kind, step, fn)
        return fn

    return deco


def state_property(
    pid: str, kind: Kind = "safety"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register(pid, kind, step=False)


def step_property(
    pid: str, kind: Kind = "safety"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register(pid, kind, step=True)


# -- shared vocabulary ------------------------------------------------------------------------


def _frames(th: ThreadState[Any, Any]) -> tuple[Frame[Any, Any], ...]:
    return (th.f0, th.f1)


def _at(m: M, f: Frame[Any, Any], *stages: Stage) -> Any:
    d = m.d
    return d.any(*(d.eq(f.stage, st) for st in stages))


def _main_thread_only(m: M, s: S, *stages: Stage) -> Any:
    """No frame of a thread other than the main thread is at one of ``stages``."""
    d = m.d
    return d.all(
        *(
            d.not_(_at(m, f, *stages))
            for t, th in enumerate(s.threads)
            if t != MAIN
            for f in _frames(th)
        )
    )


def _holding(m: M, th: ThreadState[Any, Any]) -> Any:
    return m.d.eq(th.phase, Phase.HOLDING)


def _adding(m: M, s: S, q: int) -> Any:
    d = m.d
    return d.any(*(d.eq(th.adding, q + 1) for th in s.threads))


def _queue(s: S, q: int) -> PendingQueue[Any, Any]:
    return s.interp_q if q == INTERP else s.main_q


def _cap(m: M, q: int) -> int:
    """The capacity the configuration gives ``q`` (the specification; a variant may
    override ``capacity()`` to change what its transitions do, not what is required)."""
    return int(m.cfg.interp_capacity if q == INTERP else m.cfg.main_capacity)


def _loop(m: M, q: int) -> int:
    """The per-pass limit the configuration gives ``q``."""
    return int(m.cfg.interp_loop if q == INTERP else m.cfg.main_loop)


def _in_range(m: M, x: Any, lo: int, hi: int) -> Any:
    d = m.d
    return d.all(d.le(lo, x), d.le(x, hi))


def _lost_wakeup(m: M, s: S, q: int) -> Any:
    """Calls of ``q`` wait, no drain or add is under way, an eligible thread holds
    the GIL, and it has no CALLS_TO_DO bit."""
    d = m.d
    pq = _queue(s, q)
    quiet = d.all(d.lt(0, pq.npending), d.eq(s.handling_thread, NULL), d.not_(_adding(m, s, q)))
    if q == INTERP:
        return d.all(
            quiet,
            s.locked,
            d.not_(
                d.bhas(
                    m.terms.select([th.breaker for th in s.threads], s.last_holder), Bit.CALLS_TO_DO
                )
            ),
        )
    main = s.threads[MAIN]
    return d.all(quiet, _holding(m, main), d.not_(d.bhas(main.breaker, Bit.CALLS_TO_DO)))


def _acquires(m: M, pre: S, post: S, t: int) -> Any:
    d = m.d
    return d.all(d.not_(_holding(m, pre.threads[t])), _holding(m, post.threads[t]))


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


# -- eval breaker ---------------------------------------------------------------------------


@state_property("INV-BREAKER-VERSION")
def breaker_version(m: M, s: S) -> Any:
    """INV-BREAKER-VERSION."""
    d = m.d
    return d.all(
        d.eq(d.band(s.instrumentation_version, EVENTS_MASK), 0),
        *(
            d.implies(
                _holding(m, th), d.eq(d.band(th.breaker, VERSION_MASK), s.instrumentation_version)
            )
            for th in s.threads
        ),
    )


@state_property("INV-BREAKER-NO-FREE-THREADED-BITS")
def no_free_threaded_bits(m: M, s: S) -> Any:
    """INV-BREAKER-NO-FREE-THREADED-BITS."""
    d = m.d
    return d.all(*(d.not_(d.bhas(th.breaker, FREE_THREADED_BITS)) for th in s.threads))


@state_property("INV-SIGNALS-BIT-MAIN-ONLY")
def signals_bit_main_only(m: M, s: S) -> Any:
    """INV-SIGNALS-BIT-MAIN-ONLY."""
    d = m.d
    return d.all(
        *(
            d.not_(d.bhas(th.breaker, Bit.SIGNALS_PENDING))
            for t, th in enumerate(s.threads)
            if t != MAIN
        )
    )


@state_property("INV-PASS-SNAPSHOT")
def pass_snapshot(m: M, s: S) -> Any:
    """INV-PASS-SNAPSHOT."""
    d = m.d
    needs = (
        ((Stage.SIGNALS, Stage.SCAN, Stage.HANDLER), Bit.SIGNALS_PENDING),
        ((Stage.CALLS, *DRAIN_STAGES), Bit.CALLS_TO_DO),
        ((Stage.GC,), Bit.GC_SCHEDULED),
        ((Stage.DROP,), Bit.GIL_DROP_REQUEST),
        ((Stage.ASYNC,), Bit.ASYNC_EXCEPTION),
    )
    parts = []
    for th in s.threads:
        for f in _frames(th):
            parts.append(d.eq(d.band(f.snap, ~EVENTS_MASK), 0))
            parts += [d.implies(_at(m, f, *stages), d.bhas(f.snap, bit)) for stages, bit in needs]
    return d.all(*parts)


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


# -- signals and async exceptions -----------------------------------------------------------


@state_property("INV-HANDLERS-MAIN-THREAD")
def handlers_main_thread(m: M, s: S) -> Any:
    """INV-HANDLERS-MAIN-THREAD."""
    return _main_thread_only(m, s, Stage.SCAN, Stage.HANDLER)


@state_property("INV-SIGNAL-NOT-LOST")
def signal_not_lost(m: M, s: S) -> Any:
    """INV-SIGNAL-NOT-LOST."""
    d = m.d
    main = s.threads[MAIN]
    parts = []
    for sig in m.signals:
        scan_ahead = d.any(
            *(
                d.any(
                    d.all(d.eq(f.stage, Stage.SCAN), d.le(f.idx, sig)),
                    d.all(d.eq(f.stage, Stage.HANDLER), d.lt(f.idx, sig)),
                )
                for f in _frames(main)
            )
        )
        signalled = d.any(d.eq(s.trip_stage[sig], 2), d.bhas(main.breaker, Bit.SIGNALS_PENDING))
        parts.append(
            d.implies(
                s.tripped[sig],
                d.any(d.eq(s.trip_stage[sig], 1), scan_ahead, d.all(s.is_tripped, signalled)),
            )
        )
    in_flight = d.any(*(d.eq(st, 2) for st in s.trip_stage))
    parts.append(
        d.implies(s.is_tripped, d.any(d.bhas(main.breaker, Bit.SIGNALS_PENDING), in_flight))
    )
    return d.all(*parts)


@state_property("INV-ASYNC-EXC-SIGNALLED")
def async_exc_signalled(m: M, s: S) -> Any:
    """INV-ASYNC-EXC-SIGNALLED."""
    d = m.d
    return d.all(
        *(
            d.implies(
                d.ne(th.async_exc, 0),
                d.all(
                    d.bhas(th.breaker, Bit.ASYNC_EXCEPTION), d.lt(th.async_delivered, th.async_exc)
                ),
            )
            for th in s.threads
        )
    )


@step_property("STEP-ASYNC-AT-MOST-ONCE")
def async_at_most_once(m: M, pre: S, post: S) -> Any:
    """STEP-ASYNC-AT-MOST-ONCE."""
    d = m.d
    parts = []
    for a, b in zip(pre.threads, post.threads, strict=True):
        delivered = d.ne(b.async_deliveries, a.async_deliveries)
        parts.append(
            d.implies(
                delivered,
                d.all(
                    d.eq(b.async_deliveries, d.add(a.async_deliveries, 1)),
                    d.lt(a.async_delivered, b.async_delivered),
                ),
            )
        )
    return d.all(*parts)


# -- bounded liveness -----------------------------------------------------------------------


def _bound(m: M) -> int:
    return int(m.cfg.liveness_bound) - 1


@state_property("LIVE-DROP-REQUEST-HONOURED", kind="liveness")
def drop_request_honoured(m: M, s: S) -> Any:
    """LIVE-DROP-REQUEST-HONOURED."""
    d = m.d
    return d.all(*(d.le(th.drop_missed, _bound(m)) for th in s.threads))


@state_property("LIVE-DROP-REQUEST-HONOURED-STRICT", kind="liveness")
def drop_request_honoured_strict(m: M, s: S) -> Any:
    """LIVE-DROP-REQUEST-HONOURED-STRICT."""
    d = m.d
    return d.all(*(d.le(th.drop_missed_any, _bound(m)) for th in s.threads))


@state_property("LIVE-PENDING-CALL-RUNS", kind="liveness")
def pending_call_runs(m: M, s: S) -> Any:
    """LIVE-PENDING-CALL-RUNS."""
    d = m.d
    return d.all(
        *(
            d.any(d.le(_queue(s, q).missed, _bound(m)), _queue(s, q).swallowed)
            for q in (INTERP, MAINQ)
        )
    )


@state_property("LIVE-PENDING-CALL-RUNS-STRICT", kind="liveness")
def pending_call_runs_strict(m: M, s: S) -> Any:
    """LIVE-PENDING-CALL-RUNS-STRICT."""
    d = m.d
    return d.all(*(d.le(_queue(s, q).missed, _bound(m)) for q in (INTERP, MAINQ)))


@state_property("LIVE-SIGNAL-HANDLED", kind="liveness")
def signal_handled(m: M, s: S) -> Any:
    """LIVE-SIGNAL-HANDLED."""
    d = m.d
    return d.all(*(d.le(n, _bound(m)) for n in s.signal_missed))


@step_property("LIVE-FORCED-SWITCH", kind="liveness")
def forced_switch(m: M, pre: S, post: S) -> Any:
    """LIVE-FORCED-SWITCH."""
    d = m.d
    return d.all(
        *(
            d.implies(_acquires(m, pre, post, t), d.any(d.not_(th.must_yield), th.spurious_wake))
            for t, th in enumerate(pre.threads)
        )
    )


@step_property("LIVE-FORCED-SWITCH-STRICT", kind="liveness")
def forced_switch_strict(m: M, pre: S, post: S) -> Any:
    """LIVE-FORCED-SWITCH-STRICT."""
    d = m.d
    return d.all(
        *(
            d.implies(_acquires(m, pre, post, t), d.not_(th.must_yield))
            for t, th in enumerate(pre.threads)
        )
    )


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
