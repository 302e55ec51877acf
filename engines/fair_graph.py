"""The whole reachable graph of a configuration, with what liveness under fairness reads.

:func:`build` runs the exhaustive search (:mod:`engines.exhaustive`) on the
finite quotient, without symmetry reduction (a lasso must come back to the
same threads, not to a renaming of them), and keeps every step. Beside the
graph it keeps, evaluated once in the array interpretation:

* per state: each fairness unit's enabledness, and each temporal property's
  trigger and goal, per case;
* per step: which units it counts for, and which cases its ``done`` discharges.

:mod:`engines.fair_cycles` then looks for fair cycles in it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from engines.exhaustive import SearchResult, exhaust
from engines.vector import ARRAY
from model.config import Config
from model.fairness import Unit, units
from model.properties.temporal import Case, LeadsTo

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
Mark = Callable[[Any, Any], Any]
"""A state predicate ``mark(model, state)``, a term of the model's domain."""


@dataclass(frozen=True, slots=True)
class Column:
    """One (property, case) pair: a column of the trigger, goal and done tables."""

    prop: LeadsTo
    case: Case


@dataclass
class Graph:
    """States ``0..n-1`` (breadth-first order: 0 is initial) and their steps."""

    search: SearchResult
    units: list[Unit]
    columns: list[Column]
    src: Ints
    dst: Ints
    act: Ints
    """Each step's action instance (an index into the model's ``instances``)."""
    covers: Bools
    """``covers[e, u]``: step ``e`` is one of unit ``u``'s."""
    done: Bools
    """``done[e, c]``: step ``e`` discharges column ``c``."""
    enabled: Bools
    """``enabled[s, u]``: some step of unit ``u`` is enabled in state ``s``."""
    trigger: Bools
    goal: Bools
    marks: Bools
    """``marks[s, j]``: the ``j``-th of the ``marks`` given to :func:`build` holds in ``s``."""

    @property
    def parent(self) -> list[int]:
        return self.search.parent

    @property
    def search_action(self) -> list[int]:
        return self.search.action

    @property
    def n(self) -> int:
        return int(self.search.states)


def _bools(x: Any, n: int) -> Bools:
    return np.broadcast_to(np.asarray(x, dtype=bool), (n,)).copy()


class _Recorder:
    def __init__(
        self, model: Any, props: Sequence[LeadsTo], fair: Sequence[str], marks: Sequence[Mark]
    ) -> None:
        self.m = model
        self.marks = marks
        self.units = units(model, fair)
        self.columns = [Column(p, c) for p in props for c in p.cases(model)]
        self.states_: list[tuple[Bools, Bools, Bools, Bools]] = []
        self.src: list[Ints] = []
        self.act: list[Ints] = []
        self.covers: list[Bools] = []
        self.done: list[Bools] = []
        self.dst: list[Ints] = []

    def states(self, batch: Any, first_id: int, n: int) -> None:
        m = self.m
        enabled = np.zeros((n, len(self.units)), dtype=bool)
        for k, inst in enumerate(m.instances):
            gen = getattr(m, inst.action)(batch, *inst.args)
            guard = _bools(next(gen), n)
            gen.close()
            if not guard.any():
                continue
            for u, unit in enumerate(self.units):
                if k in unit.instances:
                    enabled[:, u] |= guard & _bools(unit.covers(m, batch, k), n)
        trig = np.zeros((n, len(self.columns)), dtype=bool)
        goal = np.zeros((n, len(self.columns)), dtype=bool)
        for c, col in enumerate(self.columns):
            trig[:, c] = _bools(col.prop.trigger(m, batch, col.case), n)
            if col.prop.goal is not None:
                goal[:, c] = _bools(col.prop.goal(m, batch, col.case), n)
        marks = np.zeros((n, len(self.marks)), dtype=bool)
        for j, mark in enumerate(self.marks):
            marks[:, j] = _bools(mark(m, batch), n)
        self.states_.append((enabled, trig, goal, marks))

    def steps(self, action: int, pre: Any, post: Any, sources: Ints) -> None:
        m, n = self.m, len(sources)
        self.src.append(sources.astype(np.int64))
        self.act.append(np.full(n, action, dtype=np.int64))
        cov = np.zeros((n, len(self.units)), dtype=bool)
        for u, unit in enumerate(self.units):
            if action in unit.instances:
                cov[:, u] = _bools(unit.covers(m, pre, action), n)
        self.covers.append(cov)
        done = np.zeros((n, len(self.columns)), dtype=bool)
        for c, col in enumerate(self.columns):
            if col.prop.done is not None:
                done[:, c] = _bools(col.prop.done(m, pre, post, col.case), n)
        self.done.append(done)

    def targets(self, ids: Ints) -> None:
        self.dst.append(ids)


def _cat(parts: list[Any], width: int, dtype: Any) -> Any:
    if not parts:
        return np.zeros((0, width), dtype=dtype) if width >= 0 else np.zeros(0, dtype=dtype)
    return np.concatenate(parts)


def build(
    model_cls: Any,
    cfg: Config,
    props: Sequence[LeadsTo],
    fairness: Sequence[str],
    *,
    max_states: int | None = None,
    deadline: float | None = None,
    marks: Sequence[Mark] = (),
) -> Graph:
    """The reachable graph of ``model_cls`` at ``cfg`` with the tables of ``props``
    under the fairness assumptions ``fairness`` (their union: each column is later
    judged under its own property's subset). ``marks`` are state predicates kept per
    state beside them (``Graph.marks``)."""
    start = time.perf_counter()
    rec = _Recorder(model_cls(cfg, ARRAY), props, fairness, marks)
    res = exhaust(
        model_cls,
        cfg,
        symmetry=False,
        max_states=max_states,
        deadline=deadline,
        stop_when_all_violated=False,
        recorder=rec,
    )
    res.seconds = time.perf_counter() - start
    nu, nc = len(rec.units), len(rec.columns)
    states = rec.states_
    return Graph(
        search=res,
        units=rec.units,
        columns=rec.columns,
        src=_cat(rec.src, -1, np.int64),
        dst=_cat(rec.dst, -1, np.int64),
        act=_cat(rec.act, -1, np.int64),
        covers=_cat(rec.covers, nu, bool),
        done=_cat(rec.done, nc, bool),
        enabled=_cat([s[0] for s in states], nu, bool),
        trigger=_cat([s[1] for s in states], nc, bool),
        goal=_cat([s[2] for s in states], nc, bool),
        marks=_cat([s[3] for s in states], len(marks), bool),
    )
