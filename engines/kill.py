"""One cell of the kill matrix: one engine's run of the catalogue on one variant.

The kill matrix asks of every deliberately broken variant which engine
refutes it, by which entry, after how many steps and seconds. Each cell is one
:func:`engines.verify.verify` run of the whole catalogue (the vacuity guard
off: a cell asks for violations, not coverage) with one engine alone: the
exhaustive search, z3 (BMC and k-induction, the search before it given no
time, so that z3's own kills are counted; the entry a variant names first) or
the explicit search. The faithful
model is the control row: a cell of it is *clean* when no entry expected to
hold is violated and every documented expected counterexample is found.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from engines.verdicts import ModelClass, Report, Verdict
from engines.verify import verify
from model.catalogue import Entry
from model.config import Config
from model.properties.gil import DEADLOCK

ModelEngine = Literal["search", "z3", "explicit"]
MODEL_ENGINES: Final[tuple[ModelEngine, ...]] = ("search", "z3", "explicit")

Outcome = Literal["killed", "survived", "clean", "unclean", "incomplete"]
"""``killed`` / ``survived`` for a broken variant; ``clean`` / ``unclean`` / ``incomplete``
for the control (incomplete: nothing wrong, but an expected counterexample was not
reached before the engine's depth or time ran out)."""


@dataclass(frozen=True, slots=True)
class Kill:
    """An entry expected to hold that the engine refuted."""

    id: str
    kind: Literal["safety", "liveness", "deadlock", "divergence"]
    """TLC's three classes, or (for impl) a divergence from the model."""
    steps: int | None
    """The counterexample's length (its number of steps)."""
    seconds: float


@dataclass(frozen=True, slots=True)
class Cell:
    """What one engine concluded about one variant."""

    engine: str
    outcome: Outcome
    kills: tuple[Kill, ...]
    seconds: float
    note: str = ""
    """Why a variant survived (how far the engine got), or what the control got wrong."""

    def killed_by(self, pid: str) -> Kill | None:
        return next((k for k in self.kills if k.id == pid), None)


def kill_kind(v: Verdict) -> Literal["safety", "liveness", "deadlock"]:
    """TLC's three classes: a deadlock is a safety property of its own."""
    if v.id == DEADLOCK:
        return "deadlock"
    return "safety" if v.kind == "safety" else "liveness"


def run_cell(
    model: ModelClass,
    cfg: Config,
    entries: Mapping[str, Entry],
    engine: ModelEngine,
    *,
    control: bool,
    depth: int,
    max_k: int,
    time_limit: float,
    name: str = "",
) -> Cell:
    """One engine on one variant, bounded by ``time_limit`` seconds.

    ``control`` marks the faithful model, whose cell is clean or unclean rather
    than killed or survived. A broken variant's run ends at the violation of
    the entry it names in ``refuted_by`` (at the first violation if it names
    none): what was refuted before that is kept.

    z3 checks the named entry alone first (bug finding first, as the search
    does for ``verify``): over the whole catalogue its k-induction would take
    the time before its BMC starts. The rest of the catalogue gets what is left.
    """
    expect = model.refuted_by
    stop: bool | frozenset[str] = False if control else (frozenset({expect}) if expect else True)
    start = time.perf_counter()

    def run(checked: Mapping[str, Entry], seconds: float) -> Report:
        return verify(model, cfg, checked, engine=engine, depth=depth, max_k=max_k,
                      parallel=False, check_vacuity=False, name=name, time_limit=seconds,
                      search_seconds=0.0 if engine == "z3" else None,
                      stop_on_violation=stop)  # fmt: skip

    if engine == "z3" and expect is not None and not control and expect in entries:
        alone = run({expect: entries[expect]}, time_limit)
        (v,) = alone.verdicts
        seconds = time.perf_counter() - start
        if v.status == "violated":
            kill = Kill(v.id, kill_kind(v), v.depth, round(seconds, 3))
            return Cell(engine, "killed", (kill,), seconds, "")
        if time_limit <= seconds:
            return Cell(engine, "survived", (), seconds, _how_far(alone))
    report = run(entries, time_limit - (time.perf_counter() - start))
    seconds = time.perf_counter() - start
    kills = tuple(
        Kill(v.id, kill_kind(v), v.depth, round(v.seconds, 3))
        for v in report.verdicts
        if v.expected == "holds" and v.status == "violated"
    )
    if control:
        return _control(engine, report, kills, seconds)
    if kills:
        return Cell(engine, "killed", kills, seconds)
    return Cell(engine, "survived", (), seconds, _how_far(report))


def _control(engine: str, report: Report, kills: tuple[Kill, ...], seconds: float) -> Cell:
    """The faithful model's cell: wrong when it refutes an entry expected to hold or
    proves one expected to be violated; incomplete when an expected counterexample
    lies beyond where the engine stopped."""
    missed = [v for v in report.verdicts if v.expected == "violated" and v.status != "violated"]
    wrong = [k.id for k in kills] + [f"{v.id} proved, expected a counterexample" for v in missed
                                     if v.status == "proved"]  # fmt: skip
    if wrong:
        return Cell(engine, "unclean", kills, seconds, "; ".join(wrong))
    if missed:
        # z3's notes start with the search it was given no time for: its end says more.
        first = "" if engine == "z3" else missed[0].note
        where = first or report.ended or f"none within {report.depth} steps"
        note = f"expected counterexample not reached ({where}): " + ", ".join(v.id for v in missed)
        return Cell(engine, "incomplete", kills, seconds, note)
    return Cell(engine, "clean", kills, seconds)


def _how_far(report: Report) -> str:
    """What an engine that found no violation knows: proofs, depths, where it stopped."""
    proved = sum(v.status == "proved" for v in report.verdicts)
    depths = [v.depth for v in report.verdicts if v.status == "bounded" and v.depth is not None]
    parts = [f"{proved} proved"] if proved else []
    if depths:
        parts.append(f"no violation within {min(depths)} steps")
    if report.ended:
        parts.append(report.ended)
    return "; ".join(parts) or "no violation found"
