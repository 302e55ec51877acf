"""``gilcheck verify --engine explicit|both``: the explicit-state search as a verdict engine.

The explicit search (:mod:`engines.explicit`) enumerates every state reachable
within a depth, so it can refute a property with a shortest counterexample
but never prove one: ``switch_number`` grows without bound, the reachable
state space is infinite, and the verdict for a property it does not break is
*bounded* to the depth it completed.

With ``--engine both`` the search runs beside z3 on the same variant and
configuration, and the two must agree wherever both looked: a property z3
proved has no violation in the explored levels; a violation z3's BMC found
within the explored depth is found by the search at the same depth (both
report shortest traces); and a violation the search found is one z3 reports
too. A disagreement means one engine is wrong, which is a gilcheck bug:
:attr:`Report.disagreements` is filled and the run exits 153.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from engines import progress
from engines.explicit import ExplicitResult, explore
from engines.verdicts import ModelClass, Report, Verdict
from model.catalogue import Entry
from model.config import Config
from model.domain import CONCRETE
from model.properties import PROPERTIES

MAX_STATES = 400_000
"""Where the search stops (cleanly, at the last complete level) to bound time and memory."""


def _search(
    model: ModelClass,
    cfg: Config,
    pids: list[str],
    depth: int,
    max_states: int = MAX_STATES,
    deadline: float | None = None,
    stop_on: frozenset[str] = frozenset(),
) -> ExplicitResult:
    seen = [0]

    def level(k: int, count: int, seconds: float) -> None:
        seen[0] += count
        rate = seen[0] / seconds if seconds > 0 else 0.0
        progress.phase(
            f"explicit search to depth {depth}: depth {k} done, {seen[0]} states, "
            f"{rate:,.0f} states/s"
        )

    progress.phase(f"explicit search: breadth first to depth {depth}, at most {max_states} states")
    return explore(
        model(cfg, CONCRETE),
        depth,
        properties=[PROPERTIES[p] for p in pids],
        max_states=max_states,
        on_level=level,
        deadline=deadline,
        stop_on=stop_on,
    )


def _bound_note(res: ExplicitResult) -> str:
    note = f"no violation among the {res.states} states reachable within {res.depth} steps"
    return note + (f" ({res.stopped})" if res.stopped else "")


def explicit_verdicts(
    model: ModelClass,
    cfg: Config,
    entries: Mapping[str, Entry],
    depth: int,
    max_states: int = MAX_STATES,
    deadline: float | None = None,
    stop_on_violation: bool | frozenset[str] = False,
) -> list[Verdict]:
    """One verdict per entry from a breadth-first search ``depth`` steps deep.

    Past ``deadline`` (``time.monotonic()``) the search stops at its last complete
    level, and the bounded verdicts say so; likewise at the first violation of an
    entry expected to hold (``stop_on_violation``, as in :func:`engines.verify.verify`).
    A violation's seconds are those the search took to find it.
    """
    pids = list(entries)
    holds = frozenset(p for p, e in entries.items() if e.expected == "holds")
    if isinstance(stop_on_violation, frozenset):
        stop_on = stop_on_violation & holds
    else:
        stop_on = holds if stop_on_violation else frozenset()
    res = _search(model, cfg, pids, depth, max_states, deadline, stop_on)
    out = []
    for pid in pids:
        e = entries[pid]
        # One search for every entry: its time is shared, not any entry's own.
        base = Verdict(
            pid, e.kind, e.lemma, e.expected, "bounded", "explicit bfs", res.seconds,
            shared=len(pids) > 1,
        )  # fmt: skip
        found = res.violations.get(pid)
        if found is not None:
            out.append(
                dataclasses.replace(
                    base,
                    status="violated",
                    depth=found.depth,
                    trace=found.trace,
                    seconds=round(found.seconds, 3),
                )
            )
        else:
            out.append(dataclasses.replace(base, depth=res.depth, note=_bound_note(res)))
    return out


def compare(report: Report, res: ExplicitResult) -> list[str]:
    """Every way z3's verdicts in ``report`` and the search ``res`` disagree, as sentences."""
    problems = []
    for v in report.verdicts:
        found = res.violations.get(v.id)
        if v.status == "proved" and found is not None:
            problems.append(
                f"{v.id}: z3 proved it, the explicit search violates it at depth {found.depth}"
            )
        elif v.status == "violated" and v.depth is not None:
            # A trace lifted from a smaller witness configuration (a note says so)
            # need not be the shortest in this one: only its length bounds the search's.
            shortest = not v.note
            if found is None and v.depth <= res.depth:
                problems.append(
                    f"{v.id}: z3 violates it at depth {v.depth}, the explicit search finds no "
                    f"violation within {res.depth} steps"
                )
            elif found is not None and (
                found.depth > v.depth or (shortest and found.depth != v.depth)
            ):
                problems.append(
                    f"{v.id}: z3's shortest violation has {v.depth} steps, the explicit "
                    f"search's {found.depth}"
                )
        elif v.status in ("bounded", "vacuous") and found is not None:
            bound = v.depth or 0
            if found.depth <= bound:
                problems.append(
                    f"{v.id}: z3 found no violation within {bound} steps, the explicit "
                    f"search violates it at depth {found.depth}"
                )
    return problems


def cross_check(
    report: Report,
    entries: Mapping[str, Entry],
    max_states: int = MAX_STATES,
    deadline: float | None = None,
) -> None:
    """Run the search beside z3's verdicts in ``report`` and record the comparison there
    (over the levels it completed before ``deadline``)."""
    res = _search(report.model, report.config, list(entries), report.depth, max_states, deadline)
    report.disagreements = compare(report, res)
    report.explicit_summary = (
        f"explicit search: {res.states} states, levels 0..{res.depth} complete, "
        f"{res.seconds:.1f} s" + (f" ({res.stopped})" if res.stopped else "")
    )
    for v in report.verdicts:
        v.engine += " + explicit"
