"""The explicit fair-cycle engine and the z3 lasso BMC agree on liveness under fairness.

For each (model class, temporal entry, scope) below, both engines run:

* the explicit engine finds a lasso of total length ``n``: the z3 engine,
  given the bound ``min(n, bound)``, finds one too, of length ``<= n``. It is
  the shortest there is, and in every case here strictly shorter than the
  explicit one, whose loop visits every unit's step in turn and whose
  trigger comes before the loop; the z3 lasso may place the trigger on the
  loop. (So "the same length when the explicit stem is shortest" does not
  hold: the explicit *loops* are not shortest.) A case whose explicit lasso
  is longer than ``bound`` asserts only that z3 finds one within ``bound``.
* the explicit engine proves the entry (no fair lasso in the whole graph):
  the z3 engine finds none up to ``bound`` and says *bounded*, never proved.

Both engines replay and confirm their lassos in the concrete model before
returning them; the test confirms the z3 lasso once more.

Cases marked slow take minutes (z3 to 13 steps and more); they run with
``GILCHECK_SLOW=1``. The rest take about a minute together on a 2-core machine.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import pytest

from engines.fair_verify import Concrete, temporal_verdicts
from engines.lasso_verdicts import ENGINE, z3_temporal_verdicts
from model.catalogue import Entry, load
from model.config import Config
from model.properties.temporal import TEMPORAL
from model.protocol import Cpython313
from model.trace import replay
from model.variants import without
from tests.model import fair_variants as fv

SLOW = os.environ.get("GILCHECK_SLOW") == "1"
QUERY = 600.0
"""Seconds per z3 query: a bound's last queries in the slow cases take minutes."""


@dataclass(frozen=True)
class Case:
    model: Any
    pid: str
    bound: int
    """The z3 bound: the explicit lasso's length if shorter."""
    scope: tuple[tuple[str, int], ...] = ()
    """Overrides of the entry's scope configuration (e.g. fewer threads)."""
    slow: bool = False

    @property
    def id(self) -> str:
        over = ",".join(f"{k}={v}" for k, v in self.scope)
        return f"{self.model.__name__}-{self.pid}" + (f"-{over}" if over else "")


CASES = [
    # The faithful model, where the catalogue's scopes are small enough for z3.
    Case(Cpython313, "LIVE-FAIR-WAITER-ACQUIRES-TWO", 6),
    Case(Cpython313, "LIVE-FAIR-GIL-PROGRESS", 8, (("threads", 2),)),
    Case(Cpython313, "LIVE-FAIR-DROP-REQUEST-HONOURED", 6, (("threads", 2),)),
    Case(Cpython313, "LIVE-FAIR-SIGNAL-HANDLED", 6, (("threads", 1),)),
    Case(Cpython313, "LIVE-FAIR-PENDING-CALL-RUNS-DETACHING", 6),
    Case(Cpython313, "LIVE-FAIR-PENDING-CALL-RUNS", 16, slow=True),
    Case(Cpython313, "LIVE-FAIR-WAITER-ACQUIRES", 12, (("threads", 2),), slow=True),
    # Broken variants: each must have a fair lasso.
    Case(fv.WakeNeverAsks, "LIVE-FAIR-WAITER-ACQUIRES-TWO", 8),
    Case(fv.DropKeepsGil, "LIVE-FAIR-DROP-REQUEST-HONOURED", 11, (("threads", 2),)),
    Case(fv.DrainNeverPops, "LIVE-FAIR-PENDING-CALL-RUNS", 8),
    Case(fv.ScanNeverHandles, "LIVE-FAIR-SIGNAL-HANDLED", 8, (("threads", 1),)),
    Case(fv.DrainNeverPops, "LIVE-FAIR-PENDING-CALL-RUNS-DETACHING", 20, slow=True),
]


def _entry(case: Case) -> Entry:
    e = load()[case.pid]
    return dataclasses.replace(e, scope={**e.scope, **dict(case.scope)})


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.id, marks=[pytest.mark.timeout(1200)] if c.slow else []) for c in CASES],
)
def test_engines_agree(case: Case) -> None:
    if case.slow and not SLOW:
        pytest.skip("slow: set GILCHECK_SLOW=1")
    entry = _entry(case)
    (explicit,) = temporal_verdicts(case.model, {entry.id: entry})
    assert explicit.status in ("violated", "proved"), explicit.note
    if explicit.status == "violated":
        assert explicit.trace is not None
        n = len(explicit.trace)
        (z,) = z3_temporal_verdicts(
            case.model, {entry.id: entry}, max_length=min(n, case.bound), query_seconds=QUERY
        )
        assert z.engine == ENGINE
        assert z.status == "violated", (n, z.note)
        assert z.trace is not None
        assert z.trace.loop is not None
        assert len(z.trace) <= n, (len(z.trace), n)
        _confirm_again(case, entry, z.trace, z.note)
    else:
        (z,) = z3_temporal_verdicts(
            case.model, {entry.id: entry}, max_length=case.bound, query_seconds=QUERY
        )
        assert z.status == "bounded", z.note
        assert z.depth == case.bound, z.note
        assert f"no fair lasso up to length {case.bound}" in z.note
        assert "not a proof" in z.note


def _confirm_again(case: Case, entry: Entry, trace: Any, note: str) -> None:
    cls = without(case.model, entry.without)
    conc = Concrete(cls, Config(**entry.scope_config()))
    replay(conc.mc, trace)
    prop = TEMPORAL[entry.id]
    # The note names the case and where the obligation starts.
    label = note.split("fair lasso for ", 1)[1].split(" (", 1)[0]
    who = next(c for c in prop.cases(conc.mc) if prop.case_label(c) == label)
    at = int(note.split("obligation starts at step ", 1)[1].split(",", 1)[0])
    conc.confirm(trace, prop, who, at, entry.fairness)


def test_bounded_is_never_proved() -> None:
    """A bound with no lasso is reported as bounded, with the bound reached."""
    entry = _entry(Case(Cpython313, "LIVE-FAIR-WAITER-ACQUIRES-TWO", 3))
    (z,) = z3_temporal_verdicts(Cpython313, {entry.id: entry}, max_length=3)
    assert (z.status, z.depth, z.trace) == ("bounded", 3, None)
    assert "no fair lasso up to length 3 (z3 lasso BMC; not a proof)" in z.note


def test_incremental_finds_the_same_length() -> None:
    """One solver with push/pop per bound finds a lasso of the same (shortest) length."""
    entry = _entry(Case(fv.WakeNeverAsks, "LIVE-FAIR-WAITER-ACQUIRES-TWO", 8))
    fresh, incremental = (
        z3_temporal_verdicts(fv.WakeNeverAsks, {entry.id: entry}, max_length=8, incremental=inc)[0]
        for inc in (False, True)
    )
    assert fresh.trace is not None
    assert incremental.trace is not None
    assert len(fresh.trace) == len(incremental.trace)
