"""``gilcheck verify --engine search``, and the search that runs first in every verify.

The exhaustive search (:mod:`engines.exhaustive`) gives each entry one of:

* *violated*, with the shortest trace (breadth first), replayed on the
  concrete model;
* *proved (exhaustive, N states)*: the frontier emptied, so the property holds
  on every reachable state of this configuration (a proof for this
  configuration only, with no lemma);
* *bounded*: the search ended first (time, states or memory), and the entry
  has no violation among the states it reached, within the depth it completed.

:func:`search_first` is the bug-finding phase of the z3 pipeline: it runs the
search for a share of the time budget and settles each violation at once, so
that a reviewer's broken variant is refuted before induction starts.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

from engines import progress
from engines.exhaustive import SearchResult, exhaust
from engines.explicit import Found
from engines.verdicts import ModelClass, Verdict
from model.catalogue import Entry
from model.config import Config
from model.properties import PROPERTIES
from model.triggers import not_applicable

ENGINE = "exhaustive search"
MAX_MEMORY = 4 << 30
"""Default bound on the search's visited set (``--max-memory``)."""


def run_search(
    model: ModelClass,
    cfg: Config,
    pids: list[str],
    *,
    deadline: float | None,
    max_states: int | None,
    max_memory: int | None = MAX_MEMORY,
    max_depth: int | None = None,
) -> SearchResult:
    """The search over ``pids``, reporting levels as phases and violations as settled."""
    start = time.perf_counter()
    when: dict[str, float] = {}

    def level(depth: int, states: int, seconds: float) -> None:
        rate = states / seconds if seconds > 0 else 0.0
        progress.phase(
            f"exhaustive search: depth {depth} done, {states:,} states, {rate:,.0f} states/s"
        )

    def violated(pid: str, found: Found) -> None:
        when[pid] = time.perf_counter() - start
        progress.settled(
            progress.Settled(
                pid,
                "violated",
                ENGINE,
                when[pid],
                depth=found.depth,
                trace=found.trace,
                shared=len(pids) > 1,
            )
        )

    progress.phase("exhaustive search: breadth first over the finite quotient")
    res = exhaust(
        model,
        cfg,
        properties=[PROPERTIES[p] for p in pids],
        max_depth=max_depth,
        max_states=max_states,
        max_memory=max_memory,
        deadline=deadline,
        on_level=level,
        on_violation=violated,
    )
    # A violation's seconds: how far into the search it was found.
    for pid, found in res.violations.items():
        res.violations[pid] = dataclasses.replace(found, seconds=when.get(pid, res.seconds))
    return res


def summary(res: SearchResult) -> str:
    """One sentence on how far the search got, for notes and the report."""
    reduced = " and ".join(res.reductions) or "no reduction"
    if res.complete:
        return (
            f"all {res.states:,} reachable states explored (up to {reduced}), "
            f"{res.depth} levels, {res.seconds:.1f} s"
        )
    return (
        f"no violation among {res.states:,} states within {res.depth} steps "
        f"(search stopped: {res.stopped}; up to {reduced})"
    )


def verdict(
    entry: Entry, res: SearchResult, cfg: Config | None = None, *, shared: bool = True
) -> Verdict:
    """The search's verdict on one entry (``cfg``: the configuration searched, to tell
    a documented counterexample this configuration is too small for; ``shared``: the
    search checked other entries too, so its seconds are not this one's own)."""
    # One search checks every entry at once: its time is shared, not any entry's own.
    base = Verdict(
        entry.id, entry.kind, entry.lemma, entry.expected, "bounded", ENGINE, res.seconds,
        shared=shared,
    )  # fmt: skip
    found = res.violations.get(entry.id)
    if found is not None:
        return dataclasses.replace(
            base, status="violated", depth=found.depth, trace=found.trace, seconds=found.seconds
        )
    short = None if cfg is None else not_applicable(entry.witness.items(), cfg)
    if entry.expected == "violated" and short is not None:
        return dataclasses.replace(
            base,
            status="inapplicable",
            note=f"the documented counterexample {short} (its witness configuration)",
        )
    if res.complete:
        return dataclasses.replace(
            base, status="proved", depth=res.depth, states=res.states, note=summary(res)
        )
    return dataclasses.replace(base, depth=res.depth, states=res.states, note=summary(res))


def search_verdicts(
    model: ModelClass,
    cfg: Config,
    entries: Mapping[str, Entry],
    *,
    deadline: float | None,
    max_states: int | None,
    max_memory: int | None = MAX_MEMORY,
) -> tuple[list[Verdict], SearchResult]:
    """``--engine search``: one verdict per entry, and the search's figures."""
    res = run_search(
        model, cfg, list(entries), deadline=deadline, max_states=max_states, max_memory=max_memory
    )
    return [verdict(e, res, cfg, shared=len(entries) > 1) for e in entries.values()], res
