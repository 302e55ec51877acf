"""Eval-breaker properties: the instrumentation version, the bits a thread's breaker
may carry, and the snapshot a pass of the eval breaker works from.
"""

from __future__ import annotations

from typing import Any

from model.base import MAIN
from model.bits import EVENTS_MASK, FREE_THREADED_BITS, VERSION_MASK, Bit
from model.phases import DRAIN_STAGES, Stage
from model.properties.registry import M, S, state_property
from model.properties.vocabulary import _at, _frames, _holding

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
