"""A kill-matrix cell (engines/kill.py): which entry an engine refutes a variant by.

Each shipped bug (model/bugs/, and the model twin of a broken impl) names the
entry that must refute it in ``refuted_by``; the exhaustive search's cell must
be a kill by that entry, of its class, with the counterexample's length. A
variant that changes nothing the catalogue can see survives, and says how far
the engine got.
"""

from __future__ import annotations

from typing import Any

import pytest

import conformance.broken_impls  # noqa: F401  (registers no-resignal-on-error)
import model.bugs  # noqa: F401  (registers the bug variants)
from engines.kill import run_cell
from model.catalogue import load
from model.properties.gil import DEADLOCK
from model.protocol import Cpython313
from model.variants import VARIANTS
from tests.cli_helpers import SMALL_CONFIG

NAMED = sorted(name for name, cls in VARIANTS.items() if cls.refuted_by)
SAFETY_NAMED = [n for n in NAMED if not str(VARIANTS[n].refuted_by).startswith("LIVE-FAIR-")]
"""Bugs whose entry the search decides; a temporal one (gh-88811) is killed by the
fair-cycle search instead (tests/model/test_fair.py)."""


def test_every_shipped_bug_names_an_entry_of_the_catalogue() -> None:
    assert len(NAMED) >= 6, NAMED
    catalogue = load()
    for name in NAMED:
        pid = VARIANTS[name].refuted_by
        assert pid in catalogue, f"{name}: refuted_by {pid} is no catalogue entry"
        assert pid in (VARIANTS[name].__doc__ or ""), f"{name}'s docstring does not name {pid}"


@pytest.mark.parametrize("name", SAFETY_NAMED)
def test_the_search_kills_each_bug_by_the_entry_it_names(name: str) -> None:
    cls = VARIANTS[name]
    cell = run_cell(
        cls, SMALL_CONFIG, load(), "search", control=False, depth=13, max_k=1, time_limit=60
    )
    assert cell.outcome == "killed", f"{name} survived the search: {cell.note}"
    kill = cell.killed_by(str(cls.refuted_by))
    assert kill is not None, f"{name} was killed by {[k.id for k in cell.kills]} only"
    assert kill.steps is not None
    assert kill.steps >= 1
    assert kill.kind == ("deadlock" if kill.id == DEADLOCK else "safety")


class RenamedOnly(Cpython313[Any, Any]):
    """The faithful protocol under another name: nothing to kill."""


def test_a_variant_the_catalogue_cannot_tell_apart_survives() -> None:
    entries = {p: e for p, e in load().items() if p.startswith("INV-CALL")}
    cell = run_cell(
        RenamedOnly, SMALL_CONFIG, entries, "explicit", control=False, depth=4, max_k=1,
        time_limit=60,
    )  # fmt: skip
    assert cell.outcome == "survived"
    assert not cell.kills
    assert "no violation within 4 steps" in cell.note, cell.note


def test_the_control_row_is_clean_on_the_faithful_model_and_unclean_on_a_bug() -> None:
    # The expected counterexample is 6 steps long (found in well under a second), so
    # the time limit bounds only the search for violations of the other two.
    pids = ("INV-CALL-NO-LOSS", "INV-NO-LOST-WAKEUP", "LIVE-FORCED-SWITCH-STRICT")
    entries = {p: load()[p] for p in pids}
    assert entries["LIVE-FORCED-SWITCH-STRICT"].expected == "violated"

    def control(cls: type[Cpython313[Any, Any]]) -> str:
        cell = run_cell(
            cls, SMALL_CONFIG, entries, "search", control=True, depth=13, max_k=1, time_limit=6
        )
        return f"{cell.outcome}: {cell.note}"

    assert control(Cpython313) == "clean: "
    assert control(VARIANTS["gh-95820"]) == "unclean: INV-NO-LOST-WAKEUP"


def test_a_control_that_stops_short_of_an_expected_counterexample_is_incomplete() -> None:
    """Not reaching a documented counterexample is not a wrong answer, nor a clean one."""
    entries = {p: load()[p] for p in ("INV-CALL-NO-LOSS", "INV-NO-LOST-WAKEUP-STRICT")}
    cell = run_cell(
        Cpython313, SMALL_CONFIG, entries, "explicit", control=True, depth=3, max_k=1,
        time_limit=30,
    )  # fmt: skip
    assert cell.outcome == "incomplete", cell
    assert cell.note.startswith("expected counterexample not reached (no violation among the ")
    assert cell.note.endswith(" states reachable within 3 steps): INV-NO-LOST-WAKEUP-STRICT")


def test_z3_kills_a_bug_by_its_own_entry_which_it_checks_first() -> None:
    """Over the whole catalogue z3's induction would take the time before BMC starts."""
    bug = VARIANTS["gh-96387"]
    cell = run_cell(bug, SMALL_CONFIG, load(), "z3", control=False, depth=13, max_k=1,
                    time_limit=120)  # fmt: skip
    assert cell.outcome == "killed", cell
    (kill,) = cell.kills
    assert (kill.id, kill.kind, kill.steps) == ("INV-DROP-REQUEST-HAS-REQUESTER", "safety", 4)
