"""The z3 engine's steps of a verify run (engines/verify.py has the pipeline).

:func:`prove` is steps 1-3 (BMC to ``max_k``, Houdini k-induction, BMC to
``depth``), :func:`witnesses` step 4 (the documented counterexamples, in their
witness configuration), :func:`coverage` step 5 (the vacuity guard's
witnesses). Each reports its phases and every entry it settles through
:mod:`engines.progress`, from whichever process it runs in.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engines import bmc, induction, progress
from engines.encoding import Encoding
from engines.exhaustive import QuotientError, exhaust
from engines.induction import Cti
from engines.search_verify import ENGINE as SEARCH
from engines.vacuity import Coverage, random_walks, run_plans
from engines.verdicts import ModelClass
from model.actions import Instance
from model.config import Config
from model.domain import CONCRETE
from model.properties import PROPERTIES, Property
from model.trace import ReplayError, Trace, replay
from model.triggers import TRIGGERS, dead_reason

Witnessed = tuple[Trace, str, float, bool, str]
"""A documented counterexample found: (trace, note, seconds, seconds shared, engine)."""


@dataclass
class ProofResult:
    violated: dict[str, bmc.Reached]
    proved: dict[str, int]
    ctis: dict[str, Cti]
    seconds: dict[str, float]
    bounded_depth: int
    gave_up: dict[str, str] = dataclasses.field(default_factory=dict)
    """Entry id -> the query of it that reached the timeout (its verdict says so)."""
    shared: set[str] = dataclasses.field(default_factory=set)
    """The ids whose ``seconds`` are (or include) a BMC search's over several entries at
    once; the others' are their own queries' (k-induction asks about one entry a query)."""


def prove(
    model: ModelClass,
    cfg: Config,
    pids: Sequence[str],
    depth: int,
    max_k: int,
    deep: Sequence[str],
    helpers: Sequence[str] = (),
    timeout_ms: int | None = None,
) -> ProofResult:
    """Steps 1-3 of the module docstring; ``deep`` limits step 3 to those ids.

    ``helpers`` (also in ``pids``) are candidate lemmas only: induction proves
    those it can, and they are assumed from then on; none is searched deeper.
    ``timeout_ms`` bounds each z3 query. When the base case gives up at depth
    ``d``, induction is tried only up to k = ``d`` (its base case must hold).
    """
    enc = Encoding(model, cfg, [PROPERTIES[p] for p in pids])
    t0 = time.perf_counter()
    base = bmc.search(
        enc,
        {p: bmc.violation_goal(p) for p in pids},
        max_k,
        timeout_ms=timeout_ms,
        on_depth=_depth_phase(f"z3 BMC from the initial state, {len(pids)} entries", max_k),
        on_reached=_violation(helpers, shared=len(pids) > 1),
    )
    base_seconds = time.perf_counter() - t0
    violated = dict(base.reached)
    gave_up: dict[str, str] = {}
    k_top = max_k
    if base.gave_up is not None:
        gave_up = {p: base.gave_up for p in pids if p not in violated}
        k_top = max(0, base.depth)
    # Only what may hold is a candidate: a property expected to be violated cannot be
    # proved, and each failed check of it would cost a satisfiable query with the
    # quantified queue invariants assumed (slow for z3).
    candidates = [p for p in pids if p not in violated and (p in deep or p in helpers)]
    if all(p in helpers for p in candidates):
        candidates = []  # lemmas for nothing: every entry asked for is settled
    progress.phase(f"z3 k-induction: {len(candidates)} candidates, k up to {k_top}")
    ind = induction.k_induction(enc, candidates, k_top, timeout_ms=timeout_ms)
    gave_up.update(ind.gave_up)
    # A proof's seconds are its own induction queries'; a violation's, the time BMC took to
    # find it, and a bound's, its queries' and the whole BMC's: those searched every entry.
    seconds = {p: ind.seconds.get(p, 0.0) for p in pids}
    for p, r in base.reached.items():
        seconds[p] = r.seconds
    shared = set(base.reached) if len(pids) > 1 else set()
    searched = base_seconds
    for p, k in ind.proved.items():
        if p not in helpers:
            progress.settled(progress.Settled(p, "proved", "z3 k-induction", seconds[p], k=k))
    rest = [p for p in candidates if p not in ind.proved and p in deep]
    bounded = k_top
    if rest and depth > max_k and base.gave_up is None:
        lemmas = list(ind.proved)
        t1 = time.perf_counter()
        deeper = bmc.search(
            enc,
            {p: bmc.violation_goal(p) for p in rest},
            depth,
            lemmas=lemmas,
            timeout_ms=timeout_ms,
            on_depth=_depth_phase(f"z3 BMC of the {len(rest)} entries not proved", depth),
            on_reached=_violation(helpers, shared=len(rest) > 1, before=seconds),
        )
        violated.update(deeper.reached)
        for p, r in deeper.reached.items():
            seconds[p] += r.seconds
        bounded = deeper.depth
        shared.update(deeper.reached if len(rest) > 1 else ())
        searched += time.perf_counter() - t1
        if deeper.gave_up is not None:
            gave_up.update({p: deeper.gave_up for p in rest if p not in deeper.reached})
    for p in ind.proved:
        gave_up.pop(p, None)
    for p in pids:
        if p not in violated and p not in ind.proved:  # bounded by every BMC that ran
            seconds[p] += searched
            shared.update([p] if len(pids) > 1 else [])
    return ProofResult(
        violated, dict(ind.proved), dict(ind.ctis), seconds, bounded, gave_up, shared
    )


def _depth_phase(what: str, depth: int) -> Callable[[int, float], None]:
    def report(k: int, _seconds: float) -> None:
        progress.phase(f"{what}, to depth {depth}: depth {k} done")

    return report


def _violation(
    helpers: Sequence[str], *, shared: bool, before: Mapping[str, float] | None = None
) -> Callable[[str, bmc.Reached], None]:
    """Settle a violation as BMC finds it (a helper lemma's is no verdict); ``shared``: the
    search looks for several entries at once; ``before``: seconds spent on each earlier."""

    def report(pid: str, r: bmc.Reached) -> None:
        if pid not in helpers:
            seconds = r.seconds + (before or {}).get(pid, 0.0)
            progress.settled(
                progress.Settled(
                    pid, "violated", "z3 bmc", seconds, depth=r.depth, trace=r.trace, shared=shared
                )
            )

    return report


def lift(trace: Trace, target: Any) -> Trace:
    """Replay ``trace``'s steps in the concrete model ``target`` (a configuration with
    at least as many threads and signals); raises ReplayError if it does not apply."""
    by_label = {i.label: i for i in target.instances}
    states = [target.initial()]
    steps: list[Instance] = []
    for inst in trace.steps:
        big = by_label.get(inst.label)
        if big is None:
            raise ReplayError(f"lift: no step {inst.label} in the target configuration")
        guard, post = target.fire(big, states[-1])
        if not guard or post is None:
            raise ReplayError(f"lift: step {inst.label} is not enabled in the target configuration")
        states.append(post)
        steps.append(big)
    out = Trace(tuple(states), tuple(steps))
    replay(target, out)
    return out


def violates(m: Any, prop: Property, trace: Trace) -> bool:
    """Whether ``trace``'s last state (or last step) breaks ``prop`` in the concrete model."""
    if prop.step:
        return len(trace) > 0 and not prop.holds(m, trace.states[-2], trace.states[-1])
    return not prop.holds(m, trace.last)


def witnesses(
    model: ModelClass,
    cfg: Config,
    expected: Mapping[str, Mapping[str, int]],
    depth: int,
    timeout_ms: int | None = None,
) -> tuple[dict[str, Witnessed], dict[str, tuple[int, str]]]:
    """Step 4 of the module docstring: id -> (trace in ``cfg``, note, seconds, whether the
    seconds are a search's shared with other entries), and id -> (depth, why) for the
    entries whose search gave up.

    A query that reaches ``timeout_ms`` ends that witness configuration's
    search; its entries not found are returned with the last complete depth."""
    target = model(cfg, CONCRETE)
    found: dict[str, Witnessed] = {}
    gave_up: dict[str, tuple[int, str]] = {}
    by_witness: dict[tuple[int, int], list[str]] = {}
    for pid, w in expected.items():
        key = (
            min(cfg.threads, w.get("threads", cfg.threads)),
            min(cfg.signals, w.get("signals", cfg.signals)),
        )
        by_witness.setdefault(key, []).append(pid)
    for (threads, signals), group in sorted(by_witness.items()):
        small = dataclasses.replace(cfg, threads=threads, signals=signals)
        t0 = time.perf_counter()
        what = f"documented counterexamples with {threads} thread(s), {signals} signal(s)"
        # The exhaustive search first: a small witness configuration is often settled in
        # seconds where a deep BMC query reaches z3's timeout on a loaded machine.
        for pid, lifted, d in _searched_witnesses(model, small, target, group, depth):
            note = (
                f"found by the exhaustive search with {threads} thread(s) and {signals} "
                f"signal(s) (the entry's witness configuration) at depth {d}, replayed in "
                "the configuration checked"
            )
            found[pid] = (lifted, note, time.perf_counter() - t0, len(group) > 1, SEARCH)
            progress.settled(
                progress.Settled(pid, "violated", SEARCH, found[pid][2],
                                 depth=len(lifted), trace=lifted, note=note,
                                 shared=found[pid][3])
            )  # fmt: skip
        pids = [p for p in group if p not in found]
        if not pids:
            continue
        enc = Encoding(model, small, [PROPERTIES[p] for p in pids])
        res = bmc.search(
            enc,
            {p: bmc.violation_goal(p) for p in pids},
            depth,
            timeout_ms=timeout_ms,
            on_depth=_depth_phase(what, depth),
        )
        if res.gave_up is not None:
            progress.phase(f"{what}: stopped at depth {res.depth}: {res.gave_up}")
            gave_up.update({p: (res.depth, res.gave_up) for p in pids if p not in res.reached})
        for pid, r in res.reached.items():
            lifted = lift(r.trace, target)
            if violates(target, PROPERTIES[pid], lifted):
                note = (
                    f"found with {threads} thread(s) and {signals} signal(s) (the entry's witness "
                    f"configuration) at depth {r.depth}, replayed in the configuration checked"
                )
                found[pid] = (lifted, note, time.perf_counter() - t0, len(pids) > 1, "z3 bmc")
                progress.settled(
                    progress.Settled(
                        pid,
                        "violated",
                        "z3 bmc",
                        found[pid][2],
                        depth=len(lifted),
                        trace=lifted,
                        note=note,
                        shared=found[pid][3],
                    )
                )
    return found, gave_up


WITNESS_SEARCH_SECONDS = 10.0
"""The exhaustive search's share of a witness configuration, before BMC."""


def _searched_witnesses(
    model: ModelClass, small: Config, target: Any, pids: Sequence[str], depth: int
) -> list[tuple[str, Trace, int]]:
    """(id, trace lifted to the configuration checked, depth in ``small``) of each entry
    of ``pids`` the exhaustive search violates in ``small`` within ``depth`` steps."""
    try:
        res = exhaust(model, small, properties=[PROPERTIES[p] for p in pids], max_depth=depth,
                      deadline=time.monotonic() + WITNESS_SEARCH_SECONDS)  # fmt: skip
    except QuotientError:  # the variant's quotient is unsound here: BMC decides alone
        return []
    out = []
    for pid, f in res.violations.items():
        lifted = lift(f.trace, target)
        if violates(target, PROPERTIES[pid], lifted):
            out.append((pid, lifted, f.depth))
    return out


def coverage(
    model: ModelClass,
    cfg: Config,
    triggers: Sequence[str],
    vacuity_depth: int,
    seed: int,
    timeout_ms: int | None = None,
) -> Coverage:
    """Step 5 of the module docstring: plans, then random walks, then BMC for the rest.

    When a BMC query reaches ``timeout_ms``, what was not reached is left
    undecided (``Coverage.gave_up``): not reached, but not shown unreachable."""
    cov = Coverage()
    if not triggers:
        return cov
    target = model(cfg, CONCRETE)
    progress.phase(f"vacuity guard: plans and random walks for {len(triggers)} triggers")
    run_plans(target, cov, triggers)
    random_walks(target, cov, walks=1500, length=100, seed=seed, triggers=triggers)
    missing = [t for t in triggers if t not in cov.triggers]
    wanted = [
        i for i in target.instances if i.label not in cov.instances and dead_reason(i, cfg) is None
    ]
    if missing or wanted:
        enc = Encoding(model, cfg, [])
        goals: dict[str, bmc.Goal] = {
            f"trigger:{t}": bmc.state_goal(
                enc.d.all(TRIGGERS[t].holds(enc.sym, enc.pre)), TRIGGERS[t].holds
            )
            for t in missing
        }
        index = {inst.label: k for k, inst in enumerate(enc.instances)}
        for inst in wanted:
            goals[f"instance:{inst.label}"] = bmc.state_goal(
                enc.guards[index[inst.label]], _enabled(inst)
            )
        what = f"vacuity guard: BMC for {len(goals)} triggers and transitions not yet seen"
        res = bmc.search(
            enc,
            goals,
            vacuity_depth,
            timeout_ms=timeout_ms,
            on_depth=_depth_phase(what, vacuity_depth),
        )
        cov.gave_up = res.gave_up
        for name, r in res.reached.items():
            kind, _, key = name.partition(":")
            (cov.triggers if kind == "trigger" else cov.instances)[key] = r.trace
    return cov


def _enabled(inst: Instance) -> Callable[[Any, Any], bool]:
    """The concrete test of the goal "``inst`` is enabled"."""

    def test(m: Any, st: Any) -> bool:
        return bool(m.fire(inst, st)[0])

    return test


def prove_and_cover(
    model: ModelClass,
    cfg: Config,
    pids: Sequence[str],
    depth: int,
    max_k: int,
    deep: Sequence[str],
    helpers: Sequence[str],
    triggers: Sequence[str],
    vacuity_depth: int,
    seed: int,
    timeout_ms: int | None = None,
) -> tuple[ProofResult, Coverage]:
    return prove(model, cfg, pids, depth, max_k, deep, helpers, timeout_ms), coverage(
        model, cfg, triggers, vacuity_depth, seed, timeout_ms
    )
