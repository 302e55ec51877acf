"""``gilcheck verify``: every catalogue entry checked, one verdict each.

Every run starts with the exhaustive search (:mod:`engines.search_verify`),
for :data:`SEARCH_SECONDS` or a quarter of ``time_limit``: a violation it
finds is settled at once, with the shortest trace, and that entry takes no
part in what follows; if it exhausts the configuration, every entry it did
not refute is proved for this configuration. The z3 engine then runs, in order:

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

Steps 1-3 and 4-5 run in two worker processes (:mod:`engines.workers`), which
report their progress to the parent and are stopped when the run ends early:
at ``time_limit``, too, whatever z3 is doing. What is not settled then is
reported with what the search knows about it, and the run exits 14.
"""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Mapping
from typing import Any

from engines import progress, workers
from engines.exhaustive import SearchResult
from engines.explicit_verify import MAX_STATES
from engines.progress import Interrupted, Settled
from engines.prove import ProofResult, Witnessed, prove_and_cover, witnesses
from engines.reachable import vacuous_note, where_reached
from engines.search_verify import run_search, search_verdicts, summary, verdict
from engines.vacuity import Coverage
from engines.verdicts import Engine, ModelClass, Report, Verdict
from engines.z3_verdicts import join_notes, merge, z3_verdict
from model.catalogue import Entry
from model.config import Config
from model.domain import CONCRETE
from model.triggers import TRIGGERS, dead_reason, not_applicable

SEARCH_SECONDS = 3.0
"""How long the search runs before z3 when there is no ``time_limit``."""
SEARCH_SHARE = 0.25
"""The share of ``time_limit`` the search runs before z3."""
Z3_QUERY_SECONDS = 30.0
"""How long one z3 query may run before it is given up (``--z3-timeout``)."""


class _StopRun(Exception):
    """``stop_on_violation``: an entry expected to hold is violated; end the run."""


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
    stop_on_violation: bool | frozenset[str] = False,
    listener: progress.Listener | None = None,
    max_states: int | None = None,
    time_limit: float | None = None,
    max_memory: int | None = None,
    z3_timeout: float = Z3_QUERY_SECONDS,
    search_seconds: float | None = None,
) -> Report:
    """Check every entry of ``entries`` against the model class ``model`` in configuration ``cfg``.

    ``check_vacuity=False`` skips the vacuity guard (step 5), for quick checks of
    one entry; the report then says nothing about coverage. ``name`` is the
    variant's name for the report (by default, the one ``model`` is registered under).
    ``assume`` is the rest of the catalogue when ``entries`` is a selection
    (``--only``): its entries expected to hold join the induction as candidate
    lemmas (a proved invariant is a sound assumption; one that is not inductive
    is dropped, as any candidate is) but get no verdict of their own.

    ``listener`` hears the phases and each entry as it is settled
    (:mod:`engines.progress`). ``stop_on_violation`` ends the run at the first
    violation of an entry expected to hold (a set of ids: of one of those). A KeyboardInterrupt or
    :class:`~engines.progress.Interrupted` (SIGTERM) ends it too; either way the
    workers are stopped and the report holds what was settled, the rest
    ``unchecked``. ``max_states`` bounds the explicit search (``--engine
    explicit|both``) and the exhaustive search, and ``max_memory`` the search's
    visited set. ``time_limit`` (seconds) bounds the whole run: when it passes,
    the workers are stopped and what is not settled is reported as it stands.
    ``z3_timeout`` (seconds) bounds each z3 query: a query that reaches it is
    given up, and what it would have decided is reported as undecided, never
    proved (the entry's note says which query). ``search_seconds`` replaces the
    exhaustive search's share before z3 (0 leaves every entry to z3, as
    the kill matrix does to tell the engines' kills apart).
    """
    start = time.perf_counter()
    deadline = None if time_limit is None else time.monotonic() + time_limit
    # Liveness under fairness has an engine of its own, run in each entry's scope.
    asked = entries
    temporal = {p: e for p, e in entries.items() if e.kind == "temporal"}
    entries = {p: e for p, e in entries.items() if e.kind != "temporal"}
    if assume is not None:
        assume = {p: e for p, e in assume.items() if e.kind != "temporal"}
    check_vacuity = check_vacuity and bool(entries)
    report = Report(model, cfg, engine, depth, max_k, vacuity_checked=check_vacuity, variant=name)
    settled: dict[str, Settled] = {}

    def hear(event: progress.Event) -> None:
        if isinstance(event, Settled) and event.id in asked:
            settled[event.id] = event
            if listener is not None:
                listener(event)
            stops = (
                event.id in stop_on_violation
                if isinstance(stop_on_violation, frozenset)
                else stop_on_violation
            )
            if stops and event.status == "violated" and asked[event.id].expected == "holds":
                raise _StopRun(event.id)
        elif listener is not None and not isinstance(event, Settled):
            listener(event)

    searched = None
    try:
        if not entries:
            pass
        elif engine == "explicit":
            from engines.explicit_verify import explicit_verdicts

            with progress.listening(hear):
                report.verdicts = explicit_verdicts(
                    model, cfg, entries, depth, max_states or MAX_STATES, deadline,
                    stop_on_violation,
                )  # fmt: skip
            if deadline is not None and time.monotonic() > deadline:
                report.ended = f"the time limit ({time_limit:g} s) passed"  # bounded, said so
        elif engine == "search":
            with progress.listening(hear):
                report.verdicts, searched = search_verdicts(
                    model,
                    cfg,
                    entries,
                    deadline=deadline,
                    max_states=max_states,
                    max_memory=max_memory,
                )
        else:
            share = (
                search_seconds
                if search_seconds is not None
                else SEARCH_SECONDS
                if time_limit is None
                else SEARCH_SHARE * time_limit
            )
            until = time.monotonic() + share
            holds = [p for p, e in entries.items() if e.expected == "holds"]
            with progress.listening(hear):
                searched = run_search(
                    model,
                    cfg,
                    holds,
                    deadline=until,
                    max_states=max_states,
                    max_memory=max_memory,
                )
            timeout_ms = max(1, round(z3_timeout * 1000))
            _z3_run(
                report,
                entries,
                assume,
                (vacuity_depth, seed, timeout_ms),
                parallel,
                hear,
                searched,
                deadline,
            )
            if engine == "both":
                from engines.explicit_verify import cross_check

                with progress.listening(hear):
                    cross_check(report, entries, max_states or MAX_STATES, deadline)
        if temporal:
            from engines.fair_verify import temporal_verdicts

            progress.phase("liveness under fairness: fair cycles in each entry's scope")
            with progress.listening(hear):
                report.verdicts += temporal_verdicts(model, temporal, deadline=deadline)
    except _StopRun as stop:
        report.ended = f"stopped at the first violation of an entry expected to hold ({stop})"
        _partial(report, asked, settled)
    except workers.TimeLimit:
        report.ended = f"the time limit ({time_limit:g} s) passed"
        _partial(report, asked, settled, searched)
    except KeyboardInterrupt:
        report.interrupted = signal.SIGINT
        report.ended = "interrupted by SIGINT"
        _partial(report, asked, settled)
    except Interrupted as exc:
        report.interrupted = exc.signum
        report.ended = f"interrupted by {signal.Signals(exc.signum).name}"
        _partial(report, asked, settled)
    if searched is not None:
        report.search = {
            "states": searched.states,
            "seconds": round(searched.seconds, 3),
            "depth": searched.depth,
            "complete": searched.complete,
            "transitions": searched.transitions,
            "reductions": list(searched.reductions),
            "bytes_per_state": searched.bytes_per_state,
            "stopped": searched.stopped,
            "summary": summary(searched),
        }
    report.seconds = time.perf_counter() - start
    return report


def _partial(
    report: Report,
    entries: Mapping[str, Entry],
    settled: Mapping[str, Settled],
    searched: SearchResult | None = None,
) -> None:
    """The report of a run that ended early: what was settled, what the search knows
    of the rest (bounded: no violation within its depth), the rest unchecked."""
    report.vacuity_checked = False
    report.verdicts = []
    for pid, e in entries.items():
        base = Verdict(pid, e.kind, e.lemma, e.expected, "unchecked", "", 0.0)
        s = settled.get(pid)
        # The search before z3 looks for violations of the entries expected to hold only:
        # it says nothing of a documented counterexample.
        if s is None and searched is not None and e.expected == "holds" and e.kind != "temporal":
            v = verdict(e, searched, report.config)
            if v.status == "proved" or v.status == "bounded":
                v.note = f"{v.note}; not settled otherwise: {report.ended}"
            report.verdicts.append(v)
            continue
        if s is None:
            report.verdicts.append(dataclasses.replace(base, note=f"not settled: {report.ended}"))
            continue
        report.verdicts.append(
            dataclasses.replace(
                base,
                status=s.status,
                engine=s.engine,
                seconds=s.seconds,
                k=s.k,
                depth=s.depth,
                trace=s.trace,
                shared=s.shared,
                note=s.note
                or ("the vacuity guard did not complete" if s.status == "proved" else ""),
            )
        )


def _z3_run(
    report: Report,
    entries: Mapping[str, Entry],
    assume: Mapping[str, Entry] | None,
    knobs: tuple[int, int, int],
    parallel: bool,
    hear: progress.Listener,
    searched: SearchResult,
    deadline: float | None,
) -> None:
    """Steps 1-5 (module docstring), in two worker processes unless ``parallel`` is off;
    the entries ``searched`` refuted keep its verdict and are not given to z3.
    ``knobs`` are the vacuity depth, the seed and the z3 query timeout (ms)."""
    model, cfg, depth, max_k = report.model, report.config, report.depth, report.max_k
    vacuity_depth, seed, timeout_ms = knobs
    refuted = set(searched.violations)
    pids = [p for p in entries if p not in refuted]
    expected = {p: e.witness for p, e in entries.items() if e.expected == "violated"}
    # Entries expected to be violated are searched for in their (smaller) witness
    # configuration rather than by deep BMC in the full one (step 4).
    deep = [p for p in pids if p not in expected]
    check_vacuity = report.vacuity_checked
    triggers = sorted({t for e in entries.values() for t in e.triggers}) if check_vacuity else []
    helpers = [p for p, e in (assume or {}).items() if p not in entries and e.expected == "holds"]
    proved_over = [*pids, *helpers]
    prove_args = (model, cfg, proved_over, depth, max_k, deep, helpers, triggers)
    tasks: list[workers.Task] = [
        (prove_and_cover, (*prove_args, vacuity_depth, seed, timeout_ms)),
        (witnesses, (model, cfg, expected, depth, timeout_ms)),
    ]
    results: list[Any]
    if parallel:
        results = workers.run_all(tasks, hear, deadline)
    elif deadline is not None:
        # One worker at a time: still stopped at the deadline.
        results = [workers.run_all([task], hear, deadline)[0] for task in tasks]
    else:
        with progress.listening(hear):
            results = [fn(*args) for fn, args in tasks]
    proof: ProofResult
    cov: Coverage
    found: dict[str, Witnessed]
    witness_depth: dict[str, tuple[int, str]]
    (proof, cov), (found, witness_depth) = results
    report.verdicts = [
        verdict(entries[p], searched, cfg)
        if p in refuted
        else merge(
            z3_verdict(entries[p], proof, (found, witness_depth), depth, cfg), entries[p], searched
        )
        for p in entries
    ]
    # A trigger this configuration cannot have (a signal with --signals 0) is not applicable.
    na = {t: why for t in triggers if (why := not_applicable(TRIGGERS[t].needs, cfg))}
    # When a vacuity query gave up, what it did not reach is undecided, not missing.
    unreached = report.triggers_undecided if cov.gave_up else report.triggers_missing
    report.vacuity_gave_up = cov.gave_up
    for t in triggers:
        if t not in cov.triggers and t not in na:
            unreached[t] = [p for p, e in entries.items() if t in e.triggers]
    for t in report.triggers_missing:
        report.triggers_where[t] = where_reached(model, t, cfg)
    for v in report.verdicts:
        needs = entries[v.id].triggers
        if v.status == "proved" and any(t in report.triggers_undecided for t in needs):
            v.note = join_notes(
                v.note,
                "the vacuity guard gave up before reaching "
                + ", ".join(t for t in needs if t in report.triggers_undecided),
            )
        if v.status == "proved" and any(t in report.triggers_missing for t in needs):
            v.status = "vacuous"
            missing = [t for t in needs if t in report.triggers_missing]
            v.note = vacuous_note(model, missing, cfg, report.triggers_where)
        elif v.status == "proved" and needs and all(t in na for t in needs):
            v.status = "inapplicable"
            v.note = "proved, but trivially here: " + "; ".join(f"{t} {na[t]}" for t in needs)
    target = model(cfg, CONCRETE)
    report.triggers_reached = len(cov.triggers)
    report.triggers_inapplicable = len(na)
    for inst in target.instances if check_vacuity else ():
        if dead_reason(inst, cfg) is not None:
            report.instances_by_design += 1
        elif inst.label in cov.instances:
            report.instances_covered += 1
        elif not cov.gave_up:
            report.instances_dead.append(inst.label)
