"""A finite quotient of the state space: what exhaustive search explores.

Left alone, the model's state space is infinite: ``switch_number`` and the
ghost counters grow on every switch, call and pass. No property, guard or
transition reads those values except through a few comparisons, so states
that agree on the comparisons behave the same forever. :func:`quotient` maps
a state to the one representative of its class (itself a state of the
model, so every engine can run on it); exhaustive search keeps only
representatives (:mod:`engines.exhaustive`). The mapping, field by field
(stated again in specs/protocol.md):

* ``switch_number`` is only compared with a waiter's ``saved_switchnum``
  (equal or not) and grows by one: it becomes ``min(switch_number, 1)``, and
  each ``saved_switchnum`` keeps its distance below it, clipped to 1.
* A queue's call ids (the live slots, ``added``, ``ran``, ``last_started``)
  are compared with each other and offset by small counts: they all shift
  down by ``max(0, min(ran - 1, last_started, added))``, so the oldest id
  still of interest becomes 0 or 1. Slots not in use are not ids and stay.
* A thread's exception ids (``async_delivered``, ``async_exc``,
  ``async_posted``; 0 is NULL) are only ordered and a new one is the largest
  plus one: each becomes its rank among them, 0 staying 0.
* Counters that properties compare with a bound (the ``*_missed`` counters,
  against ``liveness_bound``) saturate at the bound plus one; counters only
  compared with 0 or with their own previous value (``refused``, ``started``,
  ``async_deliveries``) saturate at 1.
* Instrumentation versions are only compared for equality with the current
  one: the interpreter's becomes 0 (never bumped) or one step, and a
  thread's version bits become the current one or a stale one, two steps
  above the current (so that the next bump does not make it current). Deviates: the
  model's 8 version bits wrap after 256 bumps and this quotient does not
  (CPython's version is a ``uintptr_t`` and does not wrap either).

Two conditions make the quotient sound, and a test checks both on every
state a search reaches (``check_quotient`` in :mod:`engines.exhaustive`):
every property has the same value on a state and on its representative, and
every action's successors of the two have the same representative. A
variant whose actions read these values some other way sets
``finite_quotient = False`` (or overrides ``quotient``); its search is then
bounded by depth and ``--max-states``, not exhaustive.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from model.bits import EVENTS_MASK, VERSION_MASK, VERSION_STEP
from model.domain import Domain
from model.state import PendingQueue, State, ThreadState


def _min(d: Domain[Any, Any], x: Any, k: int) -> Any:
    return d.ite(d.lt(k, x), d.int_(k), x)


def _max0(d: Domain[Any, Any], x: Any) -> Any:
    return d.ite(d.lt(x, 0), d.int_(0), x)


def _queue(d: Domain[Any, Any], pq: PendingQueue[Any, Any], bound: int) -> PendingQueue[Any, Any]:
    cap = len(pq.calls)
    delta = _max0(
        d,
        d.ite(
            d.lt(pq.last_started, d.sub(pq.ran, 1)),
            d.ite(d.lt(pq.added, pq.last_started), pq.added, pq.last_started),
            d.ite(d.lt(pq.added, d.sub(pq.ran, 1)), pq.added, d.sub(pq.ran, 1)),
        ),
    )

    def live(k: int) -> Any:
        off = d.ite(d.le(pq.first, k), d.sub(k, pq.first), d.sub(k + cap, pq.first))
        return d.lt(off, pq.npending)

    return dataclasses.replace(
        pq,
        calls=tuple(d.ite(live(k), d.sub(c, delta), c) for k, c in enumerate(pq.calls)),
        added=d.sub(pq.added, delta),
        ran=d.sub(pq.ran, delta),
        last_started=d.sub(pq.last_started, delta),
        refused=_min(d, pq.refused, 1),
        started=_min(d, pq.started, 1),
        missed=_min(d, pq.missed, bound + 1),
    )


def _ranks(d: Domain[Any, Any], values: list[Any]) -> list[Any]:
    """Each value's rank among the distinct ``values``, counted from ``values[0]``'s."""
    first = [d.all(*(d.ne(values[j], values[i]) for i in range(j))) for j in range(len(values))]

    def rank(x: Any) -> Any:
        out: Any = d.int_(0)
        for y, f in zip(values, first, strict=True):
            out = d.add(out, d.ite(d.all(f, d.lt(y, x)), d.int_(1), d.int_(0)))
        return out

    zero = rank(values[0])
    return [d.sub(rank(x), zero) for x in values]


def _thread(
    d: Domain[Any, Any], th: ThreadState[Any, Any], s: State[Any, Any], sw: Any, bound: int
) -> ThreadState[Any, Any]:
    _, delivered, exc, posted = _ranks(
        d, [d.int_(0), th.async_delivered, th.async_exc, th.async_posted]
    )
    version = d.band(th.breaker, VERSION_MASK)
    never_bumped = d.eq(s.instrumentation_version, 0)
    current = d.ite(never_bumped, d.word(0), d.word(VERSION_STEP))
    # Two steps above the current one: the next bump cannot make a stale version current.
    stale = d.ite(never_bumped, d.word(2 * VERSION_STEP), d.word(3 * VERSION_STEP))
    kept = d.ite(d.eq(version, s.instrumentation_version), current, stale)
    return dataclasses.replace(
        th,
        saved_switchnum=d.sub(sw, _min(d, d.sub(s.switch_number, th.saved_switchnum), 1)),
        breaker=d.bor(d.band(th.breaker, EVENTS_MASK), kept),
        async_delivered=delivered,
        async_exc=exc,
        async_posted=posted,
        async_deliveries=_min(d, th.async_deliveries, 1),
        drop_missed=_min(d, th.drop_missed, bound + 1),
        drop_missed_any=_min(d, th.drop_missed_any, bound + 1),
    )


def quotient(d: Domain[Any, Any], s: State[Any, Any], liveness_bound: int) -> State[Any, Any]:
    """The representative of ``s``'s class (see the module docstring)."""
    sw = _min(d, s.switch_number, 1)
    return dataclasses.replace(
        s,
        switch_number=sw,
        instrumentation_version=d.ite(
            d.eq(s.instrumentation_version, 0), d.word(0), d.word(VERSION_STEP)
        ),
        interp_q=_queue(d, s.interp_q, liveness_bound),
        main_q=_queue(d, s.main_q, liveness_bound),
        signal_missed=tuple(_min(d, x, liveness_bound + 1) for x in s.signal_missed),
        threads=tuple(_thread(d, th, s, sw, liveness_bound) for th in s.threads),
    )
