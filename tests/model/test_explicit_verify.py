"""``gilcheck verify --engine explicit|both``: the explicit search as an engine, and the
cross-check that makes z3 and the search keep each other honest."""

from __future__ import annotations

import dataclasses
from typing import Any

from engines.explicit_verify import _search, compare, explicit_verdicts
from engines.verdicts import EXIT_INCONCLUSIVE, EXIT_INTERNAL, EXIT_SAFETY
from engines.verify import verify
from model.catalogue import load
from model.config import Config
from model.protocol import Cpython313
from model.variants import register
from tests.model import mutants

ONE = Config(threads=1, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=0)
TWO = dataclasses.replace(ONE, threads=2)


def _mutant() -> type[Cpython313[Any, Any]]:
    """A model where take_gil ignores ``locked``: two holders in a few steps."""
    return register("mutant:TakeIgnoresLocked", mutants.TakeIgnoresLocked)


def test_explicit_engine_refutes_a_mutant_at_z3s_depth() -> None:
    """The explicit engine finds the shortest violation, the same length as z3's BMC."""
    mutant = _mutant()
    entries = {"INV-GIL-SINGLE-HOLDER": load()["INV-GIL-SINGLE-HOLDER"]}
    (explicit,) = explicit_verdicts(mutant, TWO, entries, depth=6)
    assert explicit.status == "violated"
    assert explicit.engine == "explicit bfs"
    z3 = verify(mutant, TWO, entries, depth=6, max_k=1, parallel=False, check_vacuity=False)
    (z3v,) = z3.verdicts
    assert z3v.status == "violated"
    assert z3.exit_code == EXIT_SAFETY
    assert explicit.depth == z3v.depth


def test_explicit_engine_bounds_what_it_does_not_break() -> None:
    """The search cannot prove (switch_number is unbounded): a property it does not break
    is bounded to the depth it completed, and says so."""
    entries = {"INV-GIL-SINGLE-HOLDER": load()["INV-GIL-SINGLE-HOLDER"]}
    (v,) = explicit_verdicts(Cpython313, TWO, entries, depth=4)
    assert v.status == "bounded"
    assert v.depth == 4
    assert "within 4 steps" in v.note


def test_explicit_engine_stops_at_the_time_limit_and_says_so() -> None:
    """verify's --time-limit bounds the explicit search too (it once ran past it)."""
    entries = {"INV-GIL-SINGLE-HOLDER": load()["INV-GIL-SINGLE-HOLDER"]}
    # Depth 40 at two threads takes hours: the limit, not the depth, ends this run.
    report = verify(Cpython313, TWO, entries, engine="explicit", depth=40, check_vacuity=False,
                    time_limit=0.5)  # fmt: skip
    (v,) = report.verdicts
    assert report.ended == "the time limit (0.5 s) passed"
    assert v.status == "bounded"
    assert v.depth is not None
    assert v.depth < 40
    assert "explicit: the time limit passed while computing level" in v.note
    assert report.exit_code == EXIT_INCONCLUSIVE


def test_both_engines_agree_on_the_faithful_model() -> None:
    entries = load()
    report = verify(
        Cpython313,
        TWO,
        entries,
        engine="both",
        depth=6,
        max_k=2,
        parallel=False,
        check_vacuity=False,
    )
    assert report.disagreements == []
    assert "explicit search:" in report.explicit_summary
    # The temporal entries have an engine of their own (tests/model/test_fair.py).
    assert all(v.engine.endswith("+ explicit") for v in report.verdicts if v.kind != "temporal")
    assert report.exit_code != EXIT_INTERNAL
    # Both engines see the forced-switch finding (6 steps) within the bound.
    forced = next(v for v in report.verdicts if v.id == "LIVE-FORCED-SWITCH-STRICT")
    assert forced.status == "violated"


def test_compare_reports_an_engine_that_proves_a_violated_property() -> None:
    """The cross-check can fail: z3's report on the faithful model set against a search of
    a mutant (as if one engine were wrong) is a disagreement, and the run exits 153."""
    pid = "INV-GIL-SINGLE-HOLDER"
    entries = {pid: load()[pid]}
    report = verify(Cpython313, TWO, entries, depth=6, max_k=1, parallel=False, check_vacuity=False)
    assert report.verdicts[0].status == "proved"
    mutant = _mutant()
    wrong = _search(mutant, TWO, [pid], 6)
    problems = compare(report, wrong)
    assert problems
    assert problems[0].startswith(f"{pid}: z3 proved it")
    report.disagreements = problems
    assert report.exit_code == EXIT_INTERNAL


def test_compare_reports_a_violation_of_different_length() -> None:
    """A BMC trace that is not the shortest, or a violation one engine misses, disagrees."""
    pid = "INV-GIL-SINGLE-HOLDER"
    mutant = _mutant()
    entries = {pid: load()[pid]}
    report = verify(mutant, TWO, entries, depth=6, max_k=1, parallel=False, check_vacuity=False)
    res = _search(mutant, TWO, [pid], 6)
    assert compare(report, res) == []
    v = report.verdicts[0]
    assert v.depth is not None
    v.depth += 1
    assert compare(report, res) == [
        f"{pid}: z3's shortest violation has {v.depth} steps, the explicit search's {v.depth - 1}"
    ]
    faithful = _search(Cpython313, TWO, [pid], 6)
    assert compare(report, faithful)[0].endswith("finds no violation within 6 steps")
