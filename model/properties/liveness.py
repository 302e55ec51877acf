"""Bounded liveness properties: safety properties over the ghost ``*_missed`` and
``must_yield`` counters, each bounded by the configuration's ``liveness_bound``.
"""

from __future__ import annotations

from typing import Any

from model.base import INTERP, MAINQ
from model.properties.registry import M, S, state_property, step_property
from model.properties.vocabulary import _acquires, _queue

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
