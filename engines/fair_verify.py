"""Verdicts on the temporal entries: the explicit engine for liveness under fairness.

Each temporal entry of the catalogue is about one program: a configuration
and the actions it leaves out (its ``scope``; a program that never adds a
pending call has no ``add_pending_call`` step). Entries with the same scope
share one reachable graph (:mod:`engines.fair_graph`); each of the entry's
cases is then searched for a fair lasso (:mod:`engines.fair_cycles`).

A lasso found on representatives is rebuilt in the concrete model step by
step, replayed, and checked again there before it is reported: the trigger
holds where the obligation starts, no state from there on meets the goal, no
step discharges it, the loop closes on the same representative, and the
loop is fair by the concrete guards. When the graph is complete and no case
has a fair lasso, the entry is *proved for that scope (exhaustive, N
states)*; when the search stopped short, it is *bounded*: no fair lasso in
the states explored. A trigger that no reachable state meets makes the
entry *vacuous*.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from engines import progress
from engines.fair_cycles import STUTTER, Lasso, find_lasso
from engines.fair_graph import Graph, build
from engines.prove import lift
from engines.rows import Layout
from engines.vector import ARRAY
from engines.verdicts import ModelClass, Verdict
from model.catalogue import Entry
from model.config import Config
from model.domain import CONCRETE
from model.fairness import units
from model.phases import BODY_STAGES, Phase
from model.properties.temporal import TEMPORAL, LeadsTo
from model.trace import ConcreteState, ReplayError, Trace, replay
from model.variants import without

ENGINE = "fair-cycle search"
MAX_STATES = 2_000_000
"""The most states one scope's graph may have (every step is kept)."""


class LassoError(RuntimeError):
    """The concrete model does not confirm a lasso found on representatives."""


def scope_text(entry: Entry) -> str:
    cfg = ", ".join(f"{k}={v}" for k, v in entry.scope_config().items())
    gone = f"; without {', '.join(entry.without)}" if entry.without else ""
    return f"{cfg}{gone}"


class Concrete:
    """The concrete model and the representative keys of its states (public: the z3
    lasso engine, :mod:`engines.lasso_bmc`, confirms its lassos with it too)."""

    def __init__(self, model_cls: ModelClass, cfg: Config) -> None:
        self.mc = model_cls(cfg, CONCRETE)
        self.am = model_cls(cfg, ARRAY)
        self.lay = Layout.of(self.mc.initial())

    def key(self, st: ConcreteState) -> bytes:
        block = self.lay.block([st])
        return self.lay.keys(self.lay.pack(self.am.quotient(self.lay.batch(block)), 1))[0]

    def lasso(self, g: Graph, found: Lasso) -> Trace:
        states, steps = [self.mc.initial()], []
        for k, a in enumerate(found.acts):
            if a == STUTTER:
                break
            inst = self.mc.instances[a]
            _, post = self.mc.fire(inst, states[-1])
            if post is None or self.key(post) != g.search.keys[found.path[k + 1]]:
                raise LassoError(
                    f"fair-cycle: step {k + 1} ({inst.label}) of a lasso does not lead to the "
                    "state found; the variant's quotient is not sound (set finite_quotient "
                    "to False)"
                )
            states.append(post)
            steps.append(inst)
        tr = Trace(tuple(states), tuple(steps), loop=found.loop)
        replay(self.mc, tr)
        return tr

    def confirm(self, tr: Trace, prop: LeadsTo, case: int, at: int, fair: Sequence[str]) -> None:
        """Check the lasso again in the concrete model (see the module docstring)."""
        m, loop = self.mc, tr.loop
        assert loop is not None
        problems = []
        if self.key(tr.states[loop]) != self.key(tr.last):
            problems.append("the loop does not close")
        if not prop.trigger(m, tr.states[at], case):
            problems.append("the trigger does not hold")
        if prop.goal is not None and any(prop.goal(m, s, case) for s in tr.states[at:]):
            problems.append("a state meets the goal")
        if prop.done is not None and any(
            prop.done(m, a, b, case) for a, b in itertools.pairwise(tr.states[at:])
        ):
            problems.append("a step discharges it")
        index = {inst: k for k, inst in enumerate(m.instances)}
        looped = list(zip(tr.states[loop:-1], tr.steps[loop:], strict=True))
        for unit in units(m, fair):
            taken = any(unit.covers(m, s, index[i]) for s, i in looped)
            if unit.kind == "finite":
                if taken:
                    problems.append(f"the loop takes a step of {unit.name}, owed finitely often")
                continue
            on = [
                any(m.guard(m.instances[k], s) and unit.covers(m, s, k) for k in unit.instances)
                for s in (tr.states[loop:-1] or tr.states[-1:])
            ]
            owed = all(on) if unit.kind == "weak" else any(on)
            if owed and not taken:
                problems.append(f"the loop is not fair to {unit.name}")
        if problems:
            raise LassoError(f"fair-cycle: a lasso found is not one in the concrete model: "
                             f"{'; '.join(problems)}")  # fmt: skip


def _mid_operation(t: int) -> Callable[[Any, Any], Any]:
    """Thread ``t`` is inside one of impl's operations: releasing (drop_gil's two steps),
    between the push and the signal of an add, or in a pass's machinery (not the body of
    a handler or callback, where its own code runs)."""

    def mark(m: Any, s: Any) -> Any:
        d, th = m.d, s.threads[t]
        inner = d.ite(d.eq(th.depth, 2), th.f1.stage, th.f0.stage)
        body = d.any(d.eq(th.depth, 0), *(d.eq(inner, st) for st in BODY_STAGES))
        return d.any(d.eq(th.phase, Phase.RELEASING), d.ne(th.adding, 0), d.not_(body))

    return mark


def _one_at_a_time(g: Graph, actors: Sequence[int | None]) -> npt.NDArray[np.bool_]:
    """The steps taken while no other thread is inside an impl operation (``g.marks``):
    the lock-step harness plays a lasso of such steps on impl (gilcheck replay)."""
    who = np.array([-1 if a is None else a for a in actors], dtype=np.int64)[g.act]
    others = g.marks[g.src].copy()
    mine = who >= 0
    others[np.flatnonzero(mine), who[mine]] = False
    out: npt.NDArray[np.bool_] = np.asarray(~others.any(axis=1), dtype=bool)
    return out


def by_scope(entries: Mapping[str, Entry]) -> dict[tuple[Any, ...], list[Entry]]:
    out: dict[tuple[Any, ...], list[Entry]] = {}
    for e in entries.values():
        key = (tuple(sorted(e.scope_config().items())), e.without)
        out.setdefault(key, []).append(e)
    return out


"""The entries by scope (configuration and actions left out): public, the z3 lasso
engine groups them the same way."""


def temporal_verdicts(
    model_cls: ModelClass,
    entries: Mapping[str, Entry],
    *,
    deadline: float | None = None,
    max_states: int | None = MAX_STATES,
) -> list[Verdict]:
    """One verdict per temporal entry of ``entries``, each in its own scope."""
    out = []
    for group in by_scope(entries).values():
        first = group[0]
        cfg = Config(**first.scope_config())
        cls = without(model_cls, first.without)
        props = [TEMPORAL[e.id] for e in group]
        fair = sorted({f for e in group for f in e.fairness})
        marks = [_mid_operation(t) for t in range(cfg.threads)]
        g = build(cls, cfg, props, fair, max_states=max_states, deadline=deadline, marks=marks)
        conc = Concrete(cls, cfg)
        prefer = _one_at_a_time(g, [i.actor for i in conc.mc.instances])
        for e in group:
            out.append(_verdict(e, g, conc, prefer))
    return out


def _verdict(e: Entry, g: Graph, conc: Concrete, prefer: npt.NDArray[np.bool_]) -> Verdict:
    start = time.perf_counter()
    prop = TEMPORAL[e.id]
    mine = [u for u, unit in enumerate(g.units) if unit.name.split("[")[0] in e.fairness]
    columns = [c for c, col in enumerate(g.columns) if col.prop.id == e.id]
    base = Verdict(e.id, e.kind, False, e.expected, "bounded", ENGINE, g.search.seconds,
                   states=g.n, depth=g.search.depth, shared=True,
                   config=Config(**e.scope_config()), without=e.without)  # fmt: skip
    under = f"under {', '.join(e.fairness)}; {scope_text(e)}"
    for c in columns:
        # A lasso impl can be made to play first; any lasso if there is none such.
        found = find_lasso(g, c, mine, prefer) or find_lasso(g, c, mine)
        if found is None:
            continue
        case = g.columns[c].case
        tr = conc.lasso(g, found)
        conc.confirm(tr, prop, case, found.trigger_at, e.fairness)
        lifted = _lifted(conc, e, tr, prop, case, found.trigger_at)
        lift_note = ""
        if lifted is not None:
            tr, base = lifted[0], dataclasses.replace(base, config=lifted[1])
            lift_note = "; lifted to CPython's queue capacities (no pending calls here)"
        stem, cycle = tr.loop or 0, len(tr) - (tr.loop or 0)
        note = (
            f"fair lasso for {prop.case_label(case)}: the obligation starts at step "
            f"{found.trigger_at}, the loop at step {stem} ({cycle or 'stuttering'} "
            f"{'steps' if cycle else ''}), found among {g.n:,} states {under}{lift_note}"
        ).replace("  ", " ")
        v = dataclasses.replace(base, status="violated", trace=tr, depth=len(tr),
                                seconds=g.search.seconds + time.perf_counter() - start,
                                note=note)  # fmt: skip
        _settled(v)
        return v
    reached = bool(g.trigger[:, columns].any()) if columns else False
    seconds = g.search.seconds + time.perf_counter() - start
    if not reached:
        return dataclasses.replace(
            base, status="vacuous", seconds=seconds,
            note=f"no reachable state meets the trigger ({g.n:,} states, {under})",
        )  # fmt: skip
    if g.search.complete:
        v = dataclasses.replace(
            base, status="proved", seconds=seconds,
            note=f"no fair lasso: exhaustive, {g.n:,} states, {len(g.src):,} steps, {under}",
        )  # fmt: skip
        _settled(v)
        return v
    return dataclasses.replace(
        base, seconds=seconds,
        note=f"no fair lasso in the {g.n:,} states explored before {g.search.stopped} ({under})",
    )  # fmt: skip


def _lifted(
    conc: Concrete, e: Entry, tr: Trace, prop: LeadsTo, case: int, at: int
) -> tuple[Trace, Config] | None:
    """``tr`` in CPython's queue capacities, if the scope adds no pending calls (its queues
    stay empty, so their size cannot matter) and the lasso is one there too: impl, whose
    queues are CPython's, can then play it. None otherwise."""
    cfg = conc.mc.cfg
    big = Config(threads=cfg.threads, signals=cfg.signals, liveness_bound=cfg.liveness_bound)
    if "add_pending_call" not in e.without or big == cfg:
        return None
    target = Concrete(type(conc.mc), big)
    try:
        out = lift(tr, target.mc)
        out = Trace(out.states, out.steps, loop=tr.loop)
        target.confirm(out, prop, case, at, e.fairness)
    except (ReplayError, LassoError):
        return None
    return out, big


def _settled(v: Verdict) -> None:
    if v.status in ("proved", "violated"):
        progress.settled(progress.Settled(v.id, v.status, v.engine, v.seconds, depth=v.depth,
                                       trace=v.trace, note=v.note, shared=True))  # fmt: skip
