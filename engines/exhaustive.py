"""Exhaustive breadth-first search over the array interpretation: a proof per configuration.

:func:`exhaust` runs a model over batches of states (:mod:`engines.vector`)
from its initial state, level by level, until no new state appears. Each
state is kept as the representative of its class: first the finite quotient
(:mod:`model.quotient`), then, unless the variant says its threads are not
interchangeable, the least of its renamings (:mod:`model.symmetry`), so
that the search reaches one state per orbit. A level's frontier is fired in
chunks; per action instance, the guard is one mask over the chunk and the
successor is computed only on the states it enables.

When the frontier empties, every state property was evaluated on every
reachable representative and every step property on every step out of one,
so a property with no violation holds on every reachable state of this
configuration: *proved (exhaustive, N states)*. A violation is shortest
(breadth first), and its trace is rebuilt in the concrete model, step by
step, choosing each step whose successor has the recorded representative,
then replayed; a trace the concrete model does not confirm raises
:class:`QuotientError` (the variant's quotient or symmetry is not sound).

Bounds: ``max_states`` and ``max_memory`` stop the search at the last
complete level; ``deadline`` (a ``time.monotonic()`` value) too, checked
between chunks, so a large level does not outlive it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from engines.explicit import Found
from engines.rows import Block, KeyRangeError, Layout, Packed
from engines.vector import ARRAY
from model.actions import Instance
from model.config import Config
from model.domain import CONCRETE
from model.properties import Property
from model.symmetry import renamings
from model.trace import ConcreteState, Trace, replay

CHUNK = 16_384
"""States fired together: large enough that numpy's per-call cost is spread thin."""

KEY_OVERHEAD = 33 + 8 + 8 + 8 + 4 + 40
"""Bytes a state costs beside its key's payload: the ``bytes`` header, the
dictionary's hash and pointer slots, its id, parent and action, and the
dictionary's spare room (an estimate, measured with ``tracemalloc``)."""


class _OutOfTime(Exception):
    """The deadline passed in the middle of a level."""


class QuotientError(RuntimeError):
    """The concrete model does not confirm a trace found on representatives."""


@dataclass
class SearchResult:
    """What :func:`exhaust` found. ``complete``: every reachable state was explored."""

    complete: bool
    depth: int
    """The deepest complete level (the longest shortest path, when complete)."""
    states: int
    """Distinct representatives reached."""
    transitions: int
    seconds: float
    violations: dict[str, Found]
    reductions: tuple[str, ...]
    bytes_per_state: int
    stopped: str | None = None
    levels: list[int] = field(default_factory=list)
    """New representatives per level."""
    keys: list[bytes] = field(default_factory=list, repr=False)
    """Every representative's key (:meth:`engines.rows.Layout.unkey` reads one back)."""
    parent: list[int] = field(default_factory=list, repr=False)
    """Each state's parent in the breadth-first tree (-1 for the initial state)."""
    action: list[int] = field(default_factory=list, repr=False)
    """The instance of the step from its parent (an index into the model's ``instances``)."""

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else float("inf")


class _Reducer:
    """Quotient, then least renaming, of a block of states."""

    def __init__(self, model: Any, layout: Layout, quotient: bool, symmetry: bool) -> None:
        self.model = model
        self.layout = layout
        self.quotient = quotient and bool(getattr(type(model), "finite_quotient", False))
        sym = symmetry and bool(getattr(type(model), "symmetric", False))
        self.renamings = renamings(model.cfg.threads)[1:] if sym else []

    @property
    def names(self) -> tuple[str, ...]:
        return (("quotient",) if self.quotient else ()) + (("symmetry",) if self.renamings else ())

    def __call__(self, block: Block) -> Block:
        n = block.shape[1]
        if n == 0:
            return block
        lay, m = self.layout, self.model
        if self.quotient:
            block = lay.pack(m.quotient(lay.batch(block)), n)
        if not self.renamings:
            return block
        batch = lay.batch(block)
        best = block
        for sigma in self.renamings:
            cand = lay.pack(m.permute(batch, sigma), n)
            diff = cand != best
            first = np.argmax(diff, axis=0)
            cols = np.arange(n)
            less = diff[first, cols] & (cand[first, cols] < best[first, cols])
            if less.any():
                best = np.where(less, cand, best)
        return best


def _fire(model: Any, inst: Instance, batch: Any) -> Any:
    gen = getattr(model, inst.action)(batch, *inst.args)
    guard = next(gen)
    gen.close()
    return guard


class Recorder(Protocol):
    """What a search tells an observer that keeps its whole graph (:mod:`engines.fair_graph`)."""

    def states(self, batch: Any, first_id: int, n: int) -> None:
        """New states ``first_id, ..., first_id + n - 1`` as a batch of the array domain."""

    def steps(self, action: int, pre: Any, post: Any, sources: npt.NDArray[np.int64]) -> None:
        """Instance ``action`` fired on ``pre`` (the states ``sources``) gave ``post``
        (before reduction)."""

    def targets(self, ids: npt.NDArray[np.int64]) -> None:
        """The states the steps reported since the last call lead to, in their order."""


class _Search:
    def __init__(
        self,
        model_cls: Any,
        cfg: Config,
        properties: Iterable[Property],
        quotient: bool,
        symmetry: bool,
    ) -> None:
        self.m = model_cls(cfg, ARRAY)
        self.mc = model_cls(cfg, CONCRETE)
        self.layout = Layout.of(self.mc.initial())
        self.reduce = _Reducer(self.m, self.layout, quotient, symmetry)
        self.instances: tuple[Instance, ...] = tuple(self.m.instances)
        props = list(properties)
        self.state_props = [p for p in props if not p.step]
        self.step_props = [p for p in props if p.step]
        self.ids: dict[bytes, int] = {}
        self.keys: list[bytes] = []
        self.parent: list[int] = []
        self.action: list[int] = []
        self.violations: dict[str, Found] = {}
        self.on_violation: Callable[[str, Found], None] | None = None
        self.transitions = 0
        self.deadline: float | None = None
        self.recorder: Recorder | None = None

    # -- traces -----------------------------------------------------------------------------

    def _path(self, sid: int) -> list[int]:
        path = [sid]
        while self.parent[path[-1]] >= 0:
            path.append(self.parent[path[-1]])
        return path[::-1]

    def _next(
        self, s: ConcreteState, key: bytes | None, accept: Callable[[ConcreteState], bool]
    ) -> tuple[Instance, ConcreteState] | None:
        """A step of the concrete model from ``s`` to a state with representative ``key``."""
        succ = [(i, post) for i in self.mc.instances for _, post in [self.mc.fire(i, s)] if post]
        if not succ:
            return None
        block = self.reduce(self.layout.block([post for _, post in succ]))
        keys = self.layout.keys(block)
        for (inst, post), k in zip(succ, keys, strict=True):
            if (key is None or k == key) and accept(post):
                return inst, post
        return None

    def trace(self, sid: int, last: Callable[[ConcreteState, ConcreteState], bool]) -> Trace:
        """A concrete trace to state ``sid`` whose final step satisfies ``last``.

        ``last`` is given ``(pre, post)``; for a step violation it checks the
        step, and ``sid`` is then ``-1 - parent``: the trace goes one step past.
        """
        step_past = sid < 0
        path = self._path(-1 - sid if step_past else sid)
        states = [self.mc.initial()]
        steps: list[Instance] = []
        targets: list[bytes | None] = [self.keys[j] for j in path[1:]]
        if step_past:
            targets.append(None)
        for k, key in enumerate(targets):
            pre = states[-1]
            final = k == len(targets) - 1
            accept: Callable[[ConcreteState], bool] = bool
            if final:
                accept = functools.partial(last, pre)
            found = self._next(pre, key, accept)
            if found is None:
                raise QuotientError(
                    f"search: the concrete model has no step from a state on the trace to the "
                    f"state found at depth {k + 1}; the variant's quotient or symmetry is not "
                    "sound (set finite_quotient or symmetric to False)"
                )
            steps.append(found[0])
            states.append(found[1])
        out = Trace(tuple(states), tuple(steps))
        replay(self.mc, out)
        return out

    # -- search -----------------------------------------------------------------------------

    def add(self, keys: Sequence[bytes], parents: npt.NDArray[np.int64], acts: Any) -> list[int]:
        """Number the keys not seen before (first occurrence wins); their positions."""
        first: dict[bytes, int] = {}
        for j in range(len(keys) - 1, -1, -1):
            first[keys[j]] = j
        ids = self.ids
        fresh = sorted(j for k, j in first.items() if k not in ids)
        base = len(self.keys)
        for n, j in enumerate(fresh):
            ids[keys[j]] = base + n
        self.keys.extend(keys[j] for j in fresh)
        self.parent.extend(parents[fresh].tolist())
        self.action.extend(acts[fresh].tolist())
        return fresh

    def found(self, pid: str, where: Found) -> None:
        self.violations[pid] = where
        if self.on_violation is not None:
            self.on_violation(pid, where)

    def check_states(self, packed: Packed, first_id: int, depth: int) -> None:
        """Every state property on the new states, a chunk at a time (memory)."""
        for lo in range(0, packed.shape[1], 4 * CHUNK):
            if self.recorder is not None:
                part = self.layout.widen(packed[:, lo : lo + 4 * CHUNK])
                self.recorder.states(self.layout.batch(part), first_id + lo, part.shape[1])
            if not self.state_props:
                return
            self._check_chunk(packed[:, lo : lo + 4 * CHUNK], first_id + lo, depth)

    def _check_chunk(self, packed: Packed, first_id: int, depth: int) -> None:
        block = self.layout.widen(packed)
        batch = self.layout.batch(block)
        for p in list(self.state_props):
            ok = np.broadcast_to(p.holds(self.m, batch), (block.shape[1],))
            if not ok.all():
                sid = first_id + int(np.argmin(ok))

                def broken(_pre: ConcreteState, post: ConcreteState, p: Property = p) -> bool:
                    return not p.holds(self.mc, post)

                tr = self.trace(sid, broken)
                self.found(p.id, Found(depth, tr))
                self.state_props.remove(p)

    def expand(self, frontier: Packed, ids: npt.NDArray[np.int64], depth: int) -> Packed:
        """Fire every instance on ``frontier``; number the new representatives; their block.

        Successors are deduplicated chunk by chunk, so memory holds one chunk's
        successors and the new states, not a whole level's successors.
        """
        lay = self.layout
        out: list[Packed] = []
        for lo in range(0, frontier.shape[1], CHUNK):
            if self.deadline is not None and time.monotonic() >= self.deadline:
                raise _OutOfTime
            chunk = lay.widen(frontier[:, lo : lo + CHUNK])
            cids = ids[lo : lo + CHUNK]
            batch = lay.batch(chunk)
            blocks: list[Block] = []
            parents: list[npt.NDArray[np.int64]] = []
            acts: list[npt.NDArray[np.int64]] = []
            for a, inst in enumerate(self.instances):
                guard = _fire(self.m, inst, batch)
                if not isinstance(guard, np.ndarray):
                    if not guard:
                        continue
                    guard = np.ones(chunk.shape[1], dtype=bool)
                sel = np.flatnonzero(guard)
                if sel.size == 0:
                    continue
                sub = chunk if sel.size == chunk.shape[1] else chunk[:, sel]
                pre = lay.batch(sub)
                _, post = self.m.fire(inst, pre)
                self.transitions += sel.size
                self._check_steps(pre, post, cids[sel], a, depth)
                if self.recorder is not None:
                    self.recorder.steps(a, pre, post, cids[sel])
                blocks.append(self.reduce(lay.pack(post, sel.size)))
                parents.append(cids[sel])
                acts.append(np.full(sel.size, a, dtype=np.int64))
            if blocks:
                block = np.concatenate(blocks, axis=1)
                keys = lay.keys(block)
                fresh = self.add(keys, np.concatenate(parents), np.concatenate(acts))
                if self.recorder is not None:
                    known = self.ids
                    self.recorder.targets(
                        np.fromiter((known[k] for k in keys), np.int64, len(keys))
                    )
                out.append(lay.narrow(block[:, fresh]))
        if not out:
            return np.empty((lay.width, 0), dtype=np.int16)
        return np.concatenate(out, axis=1)

    def _check_steps(
        self, pre: Any, post: Any, parents: npt.NDArray[np.int64], a: int, depth: int
    ) -> None:
        for p in list(self.step_props):
            ok = np.broadcast_to(p.holds(self.m, pre, post), parents.shape)
            if not ok.all():
                parent = int(parents[int(np.argmin(ok))])

                def last(pre: ConcreteState, post: ConcreteState, p: Property = p) -> bool:
                    return not p.holds(self.mc, pre, post)

                self.found(p.id, Found(depth, self.trace(-1 - parent, last)))
                self.step_props.remove(p)


def exhaust(
    model_cls: Any,
    cfg: Config,
    *,
    properties: Iterable[Property] = (),
    max_depth: int | None = None,
    max_states: int | None = None,
    max_memory: int | None = None,
    deadline: float | None = None,
    quotient: bool = True,
    symmetry: bool = True,
    stop_when_all_violated: bool = True,
    on_level: Callable[[int, int, float], None] | None = None,
    on_violation: Callable[[str, Found], None] | None = None,
    recorder: Recorder | None = None,
) -> SearchResult:
    """Search ``model_cls`` at ``cfg`` breadth first until no new state appears.

    ``properties`` are checked as described in the module docstring. The
    search ends early, at the last complete level, when ``max_depth`` levels
    are done, more than ``max_states`` representatives or ``max_memory``
    bytes are reached, ``deadline`` passes, or (``stop_when_all_violated``)
    every property has its shortest violation. ``on_level(depth, states,
    seconds)`` is called after each level, ``on_violation(id, found)`` as soon
    as a property's shortest violation is confirmed; ``recorder`` is told every
    state and every step (:class:`Recorder`).
    """
    start = time.perf_counter()
    search = _Search(model_cls, cfg, properties, quotient, symmetry)
    search.on_violation = on_violation
    search.deadline = deadline
    search.recorder = recorder
    lay = search.layout
    per_state = lay.key_bytes + KEY_OVERHEAD
    init = search.reduce(lay.block([search.mc.initial()]))
    search.add(lay.keys(init), np.array([-1]), np.array([-1]))
    frontier, ids = lay.narrow(init), np.array([0], dtype=np.int64)
    search.check_states(frontier, 0, 0)
    depth, levels, stopped = 0, [1], None
    if on_level is not None:
        on_level(0, 1, time.perf_counter() - start)
    while frontier.shape[1]:
        if stop_when_all_violated and not (search.state_props or search.step_props):
            stopped = "every property checked is violated"
            break
        if max_depth is not None and depth >= max_depth:
            stopped = f"depth {max_depth} reached"
            break
        if deadline is not None and time.monotonic() >= deadline:
            stopped = "the time limit"
            break
        base = len(search.keys)
        try:
            nxt = search.expand(frontier, ids, depth + 1)
        except _OutOfTime:
            # Level depth + 1 is incomplete: what it found was checked, but only levels
            # 0..depth are claimed.
            stopped = "the time limit"
            break
        except KeyRangeError as exc:
            # A counter the quotient does not bound: the space is not finite (or not
            # small) here; what was searched so far stands.
            stopped = str(exc)
            break
        if search.step_props or search.state_props or recorder is not None:
            search.check_states(nxt, base, depth + 1)
        frontier, ids = nxt, np.arange(base, base + nxt.shape[1], dtype=np.int64)
        if frontier.shape[1]:
            depth += 1
            levels.append(frontier.shape[1])
        if on_level is not None:
            on_level(depth, len(search.keys), time.perf_counter() - start)
        if max_states is not None and len(search.keys) > max_states:
            stopped = f"more than {max_states} states (max_states)"
            break
        if max_memory is not None and len(search.keys) * per_state > max_memory:
            stopped = f"more than {max_memory} bytes (max_memory)"
            break
    complete = frontier.shape[1] == 0
    return SearchResult(
        complete=complete,
        depth=depth,
        states=len(search.keys),
        transitions=search.transitions,
        seconds=time.perf_counter() - start,
        violations=search.violations,
        reductions=search.reduce.names,
        bytes_per_state=per_state,
        stopped=None if complete else stopped,
        levels=levels,
        keys=search.keys,
        parent=search.parent,
        action=search.action,
    )
