"""Signal and async-exception properties: handlers run on the main thread, a tripped
signal is not lost, and an async exception is signalled and delivered at most once.
"""

from __future__ import annotations

from typing import Any

from model.base import MAIN
from model.bits import Bit
from model.phases import Stage
from model.properties.registry import M, S, state_property, step_property
from model.properties.vocabulary import _frames, _main_thread_only

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
