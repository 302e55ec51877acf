"""Shared vocabulary of the property modules: frames, stages, queues, the GIL holder
and the configuration's limits, as terms of the model's domain.
"""

from __future__ import annotations

from typing import Any

from model.base import INTERP, MAIN
from model.bits import Bit
from model.phases import Phase, Stage
from model.properties.registry import M, S
from model.state import NULL, Frame, PendingQueue, ThreadState

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
