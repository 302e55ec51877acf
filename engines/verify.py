"""``gilcheck verify``: every catalogue entry checked, one verdict each.

The z3 engine runs, in order:

1. BMC from the initial state to depth ``max_k`` without help: short
   violations, and the base case of the induction below.
2. k-induction (Houdini-pruned, k up to ``max_k``) over everything not
   violated: these are *proved* for all reachable states.
3. BMC to ``depth`` for what is neither, with the proved properties asserted on
   every step (they hold there anyway; they prune the search). A violation is
   reported with the shortest trace; otherwise the verdict is *bounded*, with
   the counterexample to induction that blocked the proof.
4. For an entry the catalogue expects to be violated (a CPython behaviour kept
   as a documented counterexample) and not violated yet: BMC in the entry's
   witness configuration (fewer threads or signals: a smaller search), whose
   trace is then replayed in the configuration checked and must break the
   property there too.
5. The vacuity guard (engines/vacuity.py): every entry's triggers, and every
   transition class, must be reachable.

Steps 1-3 and 4-5 run in two processes.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from engines import bmc, induction
from engines.encoding import Encoding
from engines.induction import Cti
from engines.vacuity import Coverage, random_walks, run_plans
from engines.verdicts import Engine, ModelClass, Report, Verdict
from model.actions import Instance
from model.catalogue import Entry
from model.config import Config
from model.domain import CONCRETE
from model.properties import PROPERTIES, Property
from model.trace import ReplayError, Trace, replay
from model.triggers import TRIGGERS, dead_reason

# -- the z3 engine ----------------------------------------------------------------------------


_FORK = (
    multiprocessing.get_context("fork")
    if "fork" in multiprocessing.get_all_start_methods()
    else None
)


@dataclass
class _ProofResult:
    violated: dict[str, bmc.Reached]
    proved: dict[str, int]
    ctis: dict[str, Cti]
    seconds: dict[str, float]
    bounded_depth: int


def _prove(
    model: ModelClass,
    cfg: Config,
    pids: Sequence[str],
    depth: int,
    max_k: int,
    deep: Sequence[str],
    helpers: Sequence[str] = (),
) -> _ProofResult:
    """Steps 1-3 of the module docstring; ``deep`` limits step 3 to those ids.

    ``helpers`` (also in ``pids``) are candidate lemmas only: induction proves
    those it can, and they are assumed from then on; none is searched deeper.
    """
    enc = Encoding(model, cfg, [PROPERTIES[p] for p in pids])
    t0 = time.perf_counter()
    base = bmc.search(enc, {p: bmc.violation_goal(p) for p in pids}, max_k)
    base_seconds = time.perf_counter() - t0
    violated = dict(base.reached)
    # Only what may hold is a candidate: a property expected to be violated cannot be
    # proved, and each failed check of it would cost a satisfiable query with the
    # quantified queue invariants assumed (slow for z3).
    candidates = [p for p in pids if p not in violated and (p in deep or p in helpers)]
    ind = induction.k_induction(enc, candidates, max_k)
    seconds = {p: base_seconds / max(1, len(pids)) + ind.seconds.get(p, 0.0) for p in pids}
    rest = [p for p in candidates if p not in ind.proved and p in deep]
    bounded = max_k
    if rest and depth > max_k:
        lemmas = list(ind.proved)
        deeper = bmc.search(enc, {p: bmc.violation_goal(p) for p in rest}, depth, lemmas=lemmas)
        violated.update(deeper.reached)
        for p, r in deeper.reached.items():
            seconds[p] += r.seconds
        bounded = deeper.depth
    return _ProofResult(violated, dict(ind.proved), dict(ind.ctis), seconds, bounded)


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


def _witnesses(
    model: ModelClass, cfg: Config, expected: Mapping[str, Mapping[str, int]], depth: int
) -> dict[str, tuple[Trace, str, float]]:
    """Step 4 of the module docstring: id -> (trace in ``cfg``, note, seconds)."""
    target = model(cfg, CONCRETE)
    found: dict[str, tuple[Trace, str, float]] = {}
    by_witness: dict[tuple[int, int], list[str]] = {}
    for pid, w in expected.items():
        key = (
            min(cfg.threads, w.get("threads", cfg.threads)),
            min(cfg.signals, w.get("signals", cfg.signals)),
        )
        by_witness.setdefault(key, []).append(pid)
    for (threads, signals), pids in sorted(by_witness.items()):
        small = dataclasses.replace(cfg, threads=threads, signals=signals)
        enc = Encoding(model, small, [PROPERTIES[p] for p in pids])
        t0 = time.perf_counter()
        res = bmc.search(enc, {p: bmc.violation_goal(p) for p in pids}, depth)
        for pid, r in res.reached.items():
            lifted = lift(r.trace, target)
            if violates(target, PROPERTIES[pid], lifted):
                note = (
                    f"found with {threads} thread(s) and {signals} signal(s) (the entry's witness "
                    f"configuration) at depth {r.depth}, replayed in the configuration checked"
                )
                found[pid] = (lifted, note, time.perf_counter() - t0)
    return found


def _coverage(
    model: ModelClass, cfg: Config, triggers: Sequence[str], vacuity_depth: int, seed: int
) -> Coverage:
    """Step 5 of the module docstring: plans, then random walks, then BMC for the rest."""
    cov = Coverage()
    if not triggers:
        return cov
    target = model(cfg, CONCRETE)
    run_plans(target, cov, triggers)
    random_walks(target, cov, walks=1500, length=100, seed=seed, triggers=triggers)
    missing = [t for t in triggers if t not in cov.triggers]
    wanted = [
        i for i in target.instances if i.label not in cov.instances and dead_reason(i) is None
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
        res = bmc.search(enc, goals, vacuity_depth)
        for name, r in res.reached.items():
            kind, _, key = name.partition(":")
            (cov.triggers if kind == "trigger" else cov.instances)[key] = r.trace
    return cov


def _enabled(inst: Instance) -> Callable[[Any, Any], bool]:
    """The concrete test of the goal "``inst`` is enabled"."""

    def test(m: Any, st: Any) -> bool:
        return bool(m.fire(inst, st)[0])

    return test


def _prove_and_cover(
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
) -> tuple[_ProofResult, Coverage]:
    return _prove(model, cfg, pids, depth, max_k, deep, helpers), _coverage(
        model, cfg, triggers, vacuity_depth, seed
    )


def verify(
    model: ModelClass,
    cfg: Config,
    entries: Mapping[str, Entry],
    *,
    engine: Engine = "z3",
    depth: int = 12,
    max_k: int = 2,
    vacuity_depth: int = 10,
    seed: int = 0,
    parallel: bool = True,
    check_vacuity: bool = True,
    name: str = "",
    assume: Mapping[str, Entry] | None = None,
) -> Report:
    """Check every entry of ``entries`` against the model class ``model`` in configuration ``cfg``.

    ``check_vacuity=False`` skips the vacuity guard (step 5), for quick checks of
    one entry; the report then says nothing about coverage. ``name`` is the
    variant's name for the report (by default, the one ``model`` is registered under).
    ``assume`` is the rest of the catalogue when ``entries`` is a selection
    (``--only``): its entries expected to hold join the induction as candidate
    lemmas (a proved invariant is a sound assumption; one that is not inductive
    is dropped, as any candidate is) but get no verdict of their own.
    """
    start = time.perf_counter()
    report = Report(model, cfg, engine, depth, max_k, vacuity_checked=check_vacuity, variant=name)
    pids = list(entries)
    if engine == "explicit":
        from engines.explicit_verify import explicit_verdicts

        report.verdicts = explicit_verdicts(model, cfg, entries, depth)
        report.seconds = time.perf_counter() - start
        return report
    expected = {p: e.witness for p, e in entries.items() if e.expected == "violated"}
    # Entries expected to be violated are searched for in their (smaller) witness
    # configuration rather than by deep BMC in the full one (step 4).
    deep = [p for p in pids if p not in expected]
    triggers = sorted({t for e in entries.values() for t in e.triggers}) if check_vacuity else []
    helpers = [p for p, e in (assume or {}).items() if p not in entries and e.expected == "holds"]
    proved_over = [*pids, *helpers]
    if parallel:
        # fork, so that a worker has the parent's modules: a variant loaded from a file
        # (``--load``) is pickled by reference to a module only the parent imported.
        with ProcessPoolExecutor(max_workers=2, mp_context=_FORK) as pool:
            fp: Future[tuple[_ProofResult, Coverage]] = pool.submit(
                _prove_and_cover,
                model,
                cfg,
                proved_over,
                depth,
                max_k,
                deep,
                helpers,
                triggers,
                vacuity_depth,
                seed,
            )
            fw: Future[dict[str, tuple[Trace, str, float]]] = pool.submit(
                _witnesses, model, cfg, expected, depth
            )
            (proof, cov), found = fp.result(), fw.result()
    else:
        proof, cov = _prove_and_cover(
            model, cfg, proved_over, depth, max_k, deep, helpers, triggers, vacuity_depth, seed
        )
        found = _witnesses(model, cfg, expected, depth)
    report.verdicts = [_verdict(entries[p], proof, found, depth) for p in pids]
    for t in triggers:
        if t not in cov.triggers:
            report.triggers_missing[t] = [p for p, e in entries.items() if t in e.triggers]
    for v in report.verdicts:
        needs = entries[v.id].triggers
        if v.status == "proved" and any(t in report.triggers_missing for t in needs):
            v.status = "vacuous"
            v.note = "proved, but the model never reaches " + ", ".join(
                t for t in needs if t in report.triggers_missing
            )
    target = model(cfg, CONCRETE)
    report.triggers_reached = len(cov.triggers)
    for inst in target.instances if check_vacuity else ():
        if dead_reason(inst) is not None:
            report.instances_by_design += 1
        elif inst.label in cov.instances:
            report.instances_covered += 1
        else:
            report.instances_dead.append(inst.label)
    if engine == "both":
        from engines.explicit_verify import cross_check

        cross_check(report, entries)
    report.seconds = time.perf_counter() - start
    return report


def _verdict(
    entry: Entry, proof: _ProofResult, found: Mapping[str, tuple[Trace, str, float]], depth: int
) -> Verdict:
    pid = entry.id
    base = Verdict(
        pid, entry.kind, entry.lemma, entry.expected, "bounded", "z3", proof.seconds.get(pid, 0.0)
    )
    if pid in proof.violated:
        r = proof.violated[pid]
        return dataclasses.replace(
            base, status="violated", engine="z3 bmc", depth=r.depth, trace=r.trace
        )
    if pid in proof.proved:
        return dataclasses.replace(
            base, status="proved", engine="z3 k-induction", k=proof.proved[pid]
        )
    if pid in found:
        trace, note, seconds = found[pid]
        return dataclasses.replace(
            base,
            status="violated",
            engine="z3 bmc",
            depth=len(trace),
            trace=trace,
            note=note,
            seconds=seconds,
        )
    if entry.expected == "violated":
        return dataclasses.replace(
            base,
            engine="z3 bmc",
            depth=depth,
            note=f"the documented counterexample was not found within {depth} steps in the "
            "entry's witness configuration (a fix? not proved: no induction is tried for it)",
        )
    return dataclasses.replace(
        base,
        engine="z3 bmc + k-induction",
        depth=proof.bounded_depth,
        cti=proof.ctis.get(pid),
        note=f"no violation within {proof.bounded_depth} steps; not inductive (see the CTI)",
    )
