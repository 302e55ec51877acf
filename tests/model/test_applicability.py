"""A trigger or a transition that a configuration cannot have is *not applicable* there.

``--signals 0`` or ``--threads 1`` are legal configurations: an entry whose
every trigger needs a signal is reported "not applicable" (proved, trivially),
not vacuous, and the run does not exit 14 for it. That is only honest if the
``needs`` of each trigger is true: below it, no reachable state satisfies the
trigger. The explicit search checks that to a depth on small queues, and the
faithful model at the default configuration (3 threads, 2 signals) reaches
every trigger (tests of ``gilcheck verify``'s vacuity guard).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from engines.explicit import explore
from engines.verify import verify
from model.catalogue import load
from model.config import Config
from model.domain import CONCRETE
from model.protocol import Cpython313
from model.triggers import DEAD_BY_DESIGN, TRIGGERS, dead_reason, not_applicable

SMALL = Config(threads=2, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=1)
DEPTH = 8


def _enabled(m: Any, inst: Any) -> Any:
    return lambda s: bool(m.fire(inst, s)[0])


def _holds(m: Any, pred: Any) -> Any:
    return lambda s: bool(pred(m, s))


BELOW = {
    "signals": dataclasses.replace(SMALL, signals=0),
    "threads": dataclasses.replace(SMALL, threads=1),
}
"""A configuration just below each size a trigger or an instance can need."""


@pytest.mark.parametrize("field", sorted(BELOW))
def test_what_needs_a_size_is_never_reached_below_it(field: str) -> None:
    """One breadth-first search per configuration looks for every trigger that needs
    ``field`` and for every instance dead below it; none may be reached."""
    cfg = BELOW[field]
    m = Cpython313(cfg, CONCRETE)
    goals = {}
    for name, trig in TRIGGERS.items():
        if any(f == field for f, _ in trig.needs):
            assert not_applicable(trig.needs, cfg) is not None
            goals[f"trigger {name}"] = _holds(m, trig.holds)
    dead = [d for d in DEAD_BY_DESIGN if d.below is not None and d.below[0] == field]
    assert dead, f"nothing is dead below {field}"
    for d in dead:
        insts = [i for i in m.instances if dead_reason(i, cfg) == d.reason]
        assert insts, f"no instance of {d.action} is dead in {cfg}"
        assert all(dead_reason(i, SMALL) != d.reason for i in insts), f"{d.action}: dead anyway"
        goals.update({f"instance {i.label}": _enabled(m, i) for i in insts})
    res = explore(m, DEPTH, goals=goals)
    assert not res.reached, f"reached in {cfg}: {sorted(res.reached)}"


@pytest.mark.slow
def test_signals_0_makes_a_signal_entry_not_applicable_and_the_run_exit_0() -> None:
    cfg = dataclasses.replace(SMALL, signals=0)
    pid = "INV-HANDLERS-MAIN-THREAD"
    report = verify(Cpython313, cfg, {pid: load()[pid]}, depth=4, max_k=1, parallel=False)
    (v,) = report.verdicts
    assert (v.status, v.as_expected) == ("inapplicable", True), v
    assert "signal-handler-runs needs --signals 1" in v.note
    assert report.exit_code == 0, [(x.id, x.status, x.note) for x in report.verdicts]


@pytest.mark.slow
def test_a_trigger_that_is_applicable_but_unreached_is_still_vacuous() -> None:
    """The guard still fails: a variant where no handler ever runs, at signals=1."""

    class NoHandlers(Cpython313[Any, Any]):
        def call_signal_handler(self, s: Any, t: int, level: int, sig: int) -> Any:
            yield self.d.bool_(False)
            return s

    cfg = dataclasses.replace(SMALL, threads=1, signals=1)
    pid = "INV-HANDLERS-MAIN-THREAD"
    report = verify(
        NoHandlers, cfg, {pid: load()[pid]}, depth=4, max_k=1, vacuity_depth=4, parallel=False
    )
    (v,) = report.verdicts
    assert v.status == "vacuous", v
    assert report.exit_code == 14
