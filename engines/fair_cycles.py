"""Fair cycles in a reachable graph: the counterexamples of ``P ~> Q`` under fairness.

``P ~> Q`` fails exactly when some reachable state satisfies ``P``, not ``Q``,
and starts an infinite fair path on which ``Q`` never holds and no step
discharges it. On a finite graph, an infinite path ends in a strongly
connected component it never leaves, so (Emerson and Lei's algorithm, as
TLC and Spin use it):

1. drop the steps that discharge the case and the states where ``Q`` holds;
   also drop, for the loop only, the steps of a ``finite`` assumption (they may
   happen on the way to the loop, never forever);
2. take the strongly connected components of what is left (every state
   also has a stuttering step to itself: a behaviour may stay in a state
   forever, which is fair only if nothing fairness owes is enabled there);
3. a component is *fair* if, for each weak unit, one of its steps is inside
   or it is disabled somewhere inside; for a strong unit, the same, or it is
   enabled nowhere inside. A component that fails a strong unit only loses
   the states where that unit is enabled, and is split again;
4. the states that reach a fair component without ``Q`` are the bad ones;
   a bad state satisfying ``P`` is a counterexample.

The lasso returned is the stem (breadth first from the initial state to the
first such ``P`` state, then to the component) and a loop through the
component that passes one step, or one disabled state, for every unit it owes.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from engines.fair_graph import Graph

STUTTER = -1
"""The action of a stuttering step (a state repeating)."""

Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Lasso:
    """States and actions of a lasso on the graph: ``path[0]`` is initial;
    ``acts[k]`` leads from ``path[k]`` to ``path[k + 1]``; the loop goes from
    ``path[loop]`` back to the last state, which is ``path[loop]`` again."""

    path: tuple[int, ...]
    acts: tuple[int, ...]
    loop: int
    trigger_at: int
    """Where on the path the property's trigger holds and its obligation starts."""


def _components(
    n: int, src: npt.NDArray[np.int64], dst: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    mat = csr_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    _, labels = connected_components(mat, directed=True, connection="strong")
    out: npt.NDArray[np.int64] = np.asarray(labels, dtype=np.int64)
    return out


def fair_states(g: Graph, column: int, units: Sequence[int], only: Bools | None = None) -> Bools:
    """The states of fair components of ``column``'s loop graph (see the module docstring);
    ``only``: the steps the loop may take (all by default)."""
    n = g.n
    alive = ~g.goal[:, column]
    keep = ~g.done[:, column] & (True if only is None else only)
    for u in units:
        if g.units[u].kind == "finite":
            keep &= ~g.covers[:, u]
    while True:
        e = keep & alive[g.src] & alive[g.dst]
        idx = np.flatnonzero(alive)
        src = np.concatenate([g.src[e], idx])
        dst = np.concatenate([g.dst[e], idx])
        labels = _components(n, src, dst)
        inside = e & (labels[g.src] == labels[g.dst])
        fair = alive.copy()
        shrink = np.zeros(n, dtype=bool)
        size = np.bincount(labels[alive], minlength=n)
        for u in units:
            unit = g.units[u]
            if unit.kind == "finite":
                continue
            taken = np.zeros(n, dtype=bool)
            taken[labels[g.src[inside & g.covers[:, u]]]] = True
            on = g.enabled[:, u] & alive
            count = np.bincount(labels[on], minlength=n)
            if unit.kind == "weak":
                owed = (count == size) & (size > 0) & ~taken
                fair &= ~owed[labels]
            else:
                owed = (count > 0) & ~taken
                fair &= ~owed[labels]
                shrink |= owed[labels] & on
        if not shrink.any():
            return fair & alive
        alive &= ~shrink


def _bfs(
    g: Graph, starts: Sequence[int], targets: Bools, edges: Bools
) -> tuple[list[int], list[int]] | None:
    """A shortest path over ``edges`` from one of ``starts`` to a ``targets`` state:
    (states, actions), or None."""
    order = np.argsort(g.src[edges], kind="stable")
    esrc, edst, eact = g.src[edges][order], g.dst[edges][order], g.act[edges][order]
    first = np.searchsorted(esrc, np.arange(g.n + 1))
    back: dict[int, tuple[int, int]] = dict.fromkeys(starts, (-1, 0))
    queue = deque(starts)
    while queue:
        s = queue.popleft()
        if targets[s]:
            path, acts = [s], []
            while back[path[-1]][0] >= 0:
                prev, a = back[path[-1]]
                acts.append(a)
                path.append(prev)
            return path[::-1], acts[::-1]
        for k in range(first[s], first[s + 1]):
            t = int(edst[k])
            if t not in back:
                back[t] = (s, int(eact[k]))
                queue.append(t)
    return None


def _stem(g: Graph, sid: int) -> tuple[list[int], list[int]]:
    path = [sid]
    while g.parent[path[-1]] >= 0:
        path.append(g.parent[path[-1]])
    path.reverse()
    acts = [g.search_action[p] for p in path[1:]]
    return path, acts


def find_lasso(
    g: Graph, column: int, units: Sequence[int], only: Bools | None = None
) -> Lasso | None:
    """The shortest-stemmed fair lasso violating ``column``, or None if there is none;
    ``only``: the steps it may take after its stem's breadth-first part (all by default).
    Fairness is judged on the whole graph either way, so a lasso over ``only`` is one of
    the whole graph."""
    n = g.n
    fair = fair_states(g, column, units, only)
    if not fair.any():
        return None
    alive = ~g.goal[:, column]
    path_edges = ~g.done[:, column] & alive[g.src] & alive[g.dst] & (True if only is None else only)
    # Backward reachability of the fair states over the path graph: A @ f marks the
    # states with a successor in f.
    fwd = csr_matrix(
        (np.ones(int(path_edges.sum()), dtype=np.int32), (g.src[path_edges], g.dst[path_edges])),
        shape=(n, n),
    )
    bad = fair.copy()
    frontier = fair.copy()
    while frontier.any():
        nxt = (fwd @ frontier.astype(np.int32)) > 0
        frontier = nxt & ~bad & alive
        bad |= frontier
    start = np.flatnonzero(bad & g.trigger[:, column])
    if start.size == 0:
        return None
    s0 = int(start[0])
    stem, stem_acts = _stem(g, s0)
    reach = _bfs(g, [s0], fair, path_edges)
    assert reach is not None, "a bad state reaches a fair component"
    to_loop, to_acts = reach
    c0 = to_loop[-1]
    loop, loop_acts = _cycle(g, column, units, c0, fair, only)
    path = stem + to_loop[1:] + loop[1:]
    acts = stem_acts + to_acts + loop_acts
    return Lasso(tuple(path), tuple(acts), len(stem) + len(to_loop) - 2, len(stem) - 1)


def _cycle(
    g: Graph, column: int, units: Sequence[int], c0: int, fair: Bools, only: Bools | None
) -> tuple[list[int], list[int]]:
    """A short loop from ``c0`` back to it inside its fair component, owing nothing.

    Greedy: while some unit is owed by the loop so far, walk to the nearest step
    of that unit (or, for a weak unit, the nearest state where it is disabled);
    then walk back to ``c0``. Each walk settles one unit for good, so it ends.
    """
    loop_edges = ~g.done[:, column] & fair[g.src] & fair[g.dst] & (True if only is None else only)
    for u in units:
        if g.units[u].kind == "finite":
            loop_edges &= ~g.covers[:, u]
    comp_src = np.concatenate([g.src[loop_edges], np.flatnonzero(fair)])
    comp_dst = np.concatenate([g.dst[loop_edges], np.flatnonzero(fair)])
    labels = _components(g.n, comp_src, comp_dst)
    mine = labels == labels[c0]
    inside = loop_edges & mine[g.src] & mine[g.dst]
    owing = [u for u in units if g.units[u].kind != "finite"]
    path: list[int] = [c0]
    acts: list[int] = []
    taken = np.zeros(len(g.src), dtype=bool)
    edge_of: dict[tuple[int, int, int], int] = {}
    for edge in np.flatnonzero(inside).tolist():
        edge_of.setdefault((int(g.src[edge]), int(g.act[edge]), int(g.dst[edge])), edge)

    def owed() -> int | None:
        # Every state the loop passes; a closed loop's last state is its first.
        seen = path[:-1] if acts and path[-1] == c0 else path
        for u in owing:
            on = g.enabled[seen, u]
            if taken[g.covers[:, u]].any():
                continue
            if on.all() if g.units[u].kind == "weak" else on.any():
                return u
        return None

    def walk(targets: Bools) -> None:
        hop = _bfs(g, [path[-1]], targets, inside & (g.src != g.dst))
        assert hop is not None, "a component is strongly connected"
        for a, (x, y) in zip(hop[1], itertools.pairwise(hop[0]), strict=True):
            taken[edge_of[(x, a, y)]] = True
        path.extend(hop[0][1:])
        acts.extend(hop[1])

    while True:
        need = owed()
        if need is None:
            if path[-1] == c0 and acts:
                return path, acts
            if path[-1] == c0:
                return [c0, c0], [STUTTER]
            walk(_only(g.n, c0))
            continue
        own = inside & g.covers[:, need]
        here = np.flatnonzero(own & (g.src == path[-1]))
        if here.size:
            e = int(here[0])
            taken[e] = True
            path.append(int(g.dst[e]))
            acts.append(int(g.act[e]))
            continue
        targets = np.zeros(g.n, dtype=bool)
        targets[g.src[own]] = True
        if g.units[need].kind == "weak":
            targets |= mine & ~g.enabled[:, need]
        walk(targets)


def _only(n: int, s: int) -> Bools:
    out = np.zeros(n, dtype=bool)
    out[s] = True
    return out
