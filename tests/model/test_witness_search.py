"""Documented counterexamples are looked for by the exhaustive search first.

In its witness configuration (fewer threads and signals) an entry CPython
violates is usually found by the search in a second or two, where a BMC query
of depth 12-13 could reach z3's timeout on a loaded machine and leave the
faithful model's run inconclusive (exit 14). BMC still decides what the search
does not reach within the bound.
"""

from __future__ import annotations

from engines.prove import violates, witnesses
from model.catalogue import load
from model.domain import CONCRETE
from model.properties import PROPERTIES
from model.protocol import Cpython313
from model.trace import replay
from tests.cli_helpers import SMALL_CONFIG

STRICT = ("INV-NO-LOST-WAKEUP-STRICT", "LIVE-PENDING-CALL-RUNS-STRICT")


def test_the_search_finds_the_documented_counterexamples_and_lifts_them() -> None:
    entries = load()
    expected = {p: entries[p].witness for p in STRICT}
    found, gave_up = witnesses(Cpython313, SMALL_CONFIG, expected, depth=13, timeout_ms=1)
    # A 1 ms z3 timeout: had BMC been asked, it would have given up.
    assert gave_up == {}
    assert set(found) == set(STRICT)
    target = Cpython313(SMALL_CONFIG, CONCRETE)
    for pid, (trace, note, _, _, engine) in found.items():
        assert engine == "exhaustive search"
        assert note.startswith("found by the exhaustive search with 1 thread(s) and 0 signal(s)")
        replay(target, trace)
        assert violates(target, PROPERTIES[pid], trace), pid


def test_what_the_search_does_not_reach_within_the_bound_is_not_found() -> None:
    """At depth 5 neither is reachable: the search stops at the bound, and BMC (no
    timeout) completes depth 5 without a counterexample either."""
    entries = load()
    expected = {p: entries[p].witness for p in STRICT}
    found, gave_up = witnesses(Cpython313, SMALL_CONFIG, expected, depth=5, timeout_ms=None)
    assert (found, gave_up) == ({}, {})
