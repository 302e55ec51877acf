"""A z3 query that reaches its timeout leaves an entry undecided, never proved or vacuous.

Each test gives z3 one millisecond per query: every query of these unrollings
takes longer, so each engine must stop where it was and say so, not raise.
"""

from __future__ import annotations

from engines import bmc, induction
from engines.encoding import Encoding
from engines.prove import coverage, prove
from engines.verdicts import EXIT_INCONCLUSIVE
from engines.verify import verify
from model.catalogue import load
from model.config import Config
from model.properties import PROPERTIES
from model.triggers import TRIGGERS
from model.variants import DEFAULT, model_class

CFG = Config(threads=2, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=1)
HOLDS = [e.id for e in load().values() if e.expected == "holds" and e.kind != "temporal"]


def _encoding() -> Encoding:
    return Encoding(model_class(DEFAULT), CFG, [PROPERTIES[p] for p in HOLDS])


def test_bmc_gives_up_at_the_last_depth_it_decided() -> None:
    res = bmc.search(_encoding(), {p: bmc.violation_goal(p) for p in HOLDS}, 12, timeout_ms=1)
    assert res.gave_up is not None
    assert "gave up" in res.gave_up, res.gave_up
    assert -1 <= res.depth < 12, res.depth
    assert not res.reached  # the faithful model violates none of these


def test_induction_drops_a_candidate_it_gave_up_on_without_a_cti() -> None:
    res = induction.k_induction(_encoding(), HOLDS, 2, timeout_ms=1)
    assert res.gave_up, "no query reached a 1 ms timeout"
    assert not set(res.gave_up) & set(res.proved)
    assert not set(res.gave_up) & set(res.ctis), "a timeout is not a counterexample"


def test_prove_tries_induction_only_as_deep_as_its_base_case() -> None:
    m = model_class(DEFAULT)
    res = prove(m, CFG, HOLDS, 12, 2, HOLDS, timeout_ms=1)
    assert res.gave_up
    assert res.bounded_depth < 12
    assert all(k <= max(0, res.bounded_depth) for k in res.proved.values()), res.proved


def test_vacuity_bmc_that_gives_up_leaves_what_it_did_not_reach_undecided() -> None:
    # With no signal, the walks cannot reach a signal's triggers, so BMC is asked.
    no_signal = Config(threads=2, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=0)
    triggers = [t.name for t in TRIGGERS.values() if dict(t.needs).get("signals", 0) >= 1]
    assert triggers
    cov = coverage(model_class(DEFAULT), no_signal, triggers, 10, 0, timeout_ms=1)
    assert cov.gave_up is not None
    assert "gave up" in cov.gave_up
    assert not set(cov.triggers) & set(triggers)


def test_verify_reports_what_z3_gave_up_on_as_undecided() -> None:
    report = verify(model_class(DEFAULT), CFG, load(), parallel=False, z3_timeout=0.001)
    assert report.exit_code == EXIT_INCONCLUSIVE
    assert not report.triggers_missing, "undecided triggers reported as missing"
    assert not report.instances_dead, "undecided instances reported as dead"
    assert all(v.status != "vacuous" for v in report.verdicts)
    undecided = [v for v in report.verdicts if "z3 gave up" in v.note]
    assert undecided, [v.note for v in report.verdicts]
    assert all(v.status == "bounded" for v in undecided)
