"""Explicit-state search: breadth first over the concrete interpretation of a model.

:func:`explore` runs a model over Python values (``model_cls(cfg, CONCRETE)``)
from its initial state and computes, depth by depth, the *level sets*: the
states reachable in exactly ``k`` steps. (Instructions that are not check
points are stuttering steps, so a state reachable in fewer steps usually is in
the level too; the levels are not disjoint.) Along the way it records, for
every property, the shortest trace that violates it and, for every goal, the
shortest trace that reaches it. The prover's bounded model checking answers
the same questions over z3 (:mod:`engines.bmc`); the agreement test
compares the two level by level.

How it runs: every distinct state is fired once. Its successors are kept as
a tuple of state numbers, so a state met again in a later level costs a set
union, not a second firing. Properties are evaluated once per new state (state
properties) or once per distinct ``(state, successor)`` pair (step properties),
and a property is no longer evaluated once it has its shortest violation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from model.actions import Instance
from model.properties import Property
from model.trace import ConcreteState, Trace

StatePredicate = Callable[[ConcreteState], bool]
"""A goal: a predicate of one concrete state (the vacuity guard's reachability checks)."""


class ModelError(RuntimeError):
    """The concrete model raised while firing an action; ``trace`` reaches the pre-state."""

    def __init__(self, message: str, trace: Trace, instance: Instance) -> None:
        super().__init__(message)
        self.trace = trace
        self.instance = instance


@dataclass(frozen=True, slots=True)
class Found:
    """A property violated, or a goal reached, first at ``depth`` along ``trace``."""

    depth: int
    trace: Trace
    seconds: float = 0.0
    """Seconds into the search when it was found."""


@dataclass
class ExplicitResult:
    """What :func:`explore` found.

    Every level up to :attr:`depth` is complete. A property absent from
    :attr:`violations` holds on every state (state property) or every step
    (step property) reachable within :attr:`depth` steps; one present is
    violated first at ``violations[pid].depth``, and no trace shorter than that
    violates it. :attr:`reached` says the same of goals. When ``max_states``
    stopped the search, what was found in the level it cut off (``depth + 1``)
    is reported too, and is shortest as well.
    """

    depth: int
    """The deepest complete level."""
    violations: dict[str, Found]
    reached: dict[str, Found]
    states: int
    """Distinct states seen (all levels, including a level cut off by ``max_states``)."""
    transitions: int
    """Enabled (state, action instance) pairs fired: each distinct state is fired once."""
    seconds: float
    stopped: str | None = None
    """Why the search ended before the requested depth (``None``: it did not)."""
    _levels: list[frozenset[int]] = field(default_factory=list, repr=False)
    _states: list[ConcreteState] = field(default_factory=list, repr=False)

    @property
    def counts(self) -> list[int]:
        """``counts[k]``: the number of states reachable in exactly ``k`` steps, k = 0..depth."""
        return [len(level) for level in self._levels]

    def level(self, k: int) -> frozenset[ConcreteState]:
        """The states reachable in exactly ``k`` steps (``0 <= k <= depth``)."""
        if not 0 <= k <= self.depth:
            raise IndexError(f"explicit: level {k} is outside the explored 0..{self.depth}")
        return frozenset(self._states[i] for i in self._levels[k])

    def verdict(self, pid: str) -> int | None:
        """The depth of ``pid``'s shortest violation; ``None``: none within :attr:`depth`."""
        found = self.violations.get(pid)
        return None if found is None else found.depth

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else float("inf")


class _Search:
    """The state of one :func:`explore` call (see there)."""

    def __init__(
        self,
        model: Any,
        properties: Iterable[Property],
        goals: Mapping[str, StatePredicate],
    ) -> None:
        self.model = model
        self.start = time.perf_counter()
        self.instances: tuple[Instance, ...] = tuple(model.instances)
        props = list(properties)
        self.state_props = [p for p in props if not p.step]
        self.step_props = [p for p in props if p.step]
        self.goals = dict(goals)
        self.ids: dict[ConcreteState, int] = {}
        self.states: list[ConcreteState] = []
        self.depth_of: list[int] = []
        self.parent: list[tuple[int, int]] = []
        """``(parent state, instance index)`` of each state's first discovery; ``(-1, -1)``
        for the initial state."""
        self.succ: list[tuple[int, ...] | None] = []
        self.violations: dict[str, Found] = {}
        self.reached: dict[str, Found] = {}
        self.transitions = 0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    # -- traces -----------------------------------------------------------------------------

    def trace_to(self, sid: int) -> Trace:
        """The shortest trace from the initial state to state ``sid`` (by first discovery)."""
        states: list[ConcreteState] = []
        steps: list[Instance] = []
        while True:
            states.append(self.states[sid])
            pid, inst = self.parent[sid]
            if pid < 0:
                break
            steps.append(self.instances[inst])
            sid = pid
        return Trace(tuple(reversed(states)), tuple(reversed(steps)))

    def trace_via(self, sid: int, inst: int, post: ConcreteState) -> Trace:
        """The shortest trace to ``sid``, then the step ``inst`` into ``post``."""
        base = self.trace_to(sid)
        return Trace((*base.states, post), (*base.steps, self.instances[inst]))

    # -- states -----------------------------------------------------------------------------

    def add(self, s: ConcreteState, depth: int, parent: tuple[int, int]) -> int:
        """Number ``s`` (new, first reached at ``depth``) and check it."""
        sid = len(self.states)
        self.ids[s] = sid
        self.states.append(s)
        self.depth_of.append(depth)
        self.parent.append(parent)
        self.succ.append(None)
        self.check_state(sid, s, depth)
        return sid

    def check_state(self, sid: int, s: ConcreteState, depth: int) -> None:
        if self.state_props:
            for p in self.state_props:
                if not p.holds(self.model, s):
                    self.violations[p.id] = Found(depth, self.trace_to(sid), self.elapsed())
            self.state_props = [p for p in self.state_props if p.id not in self.violations]
        if self.goals:
            for name, goal in self.goals.items():
                if goal(s):
                    self.reached[name] = Found(depth, self.trace_to(sid), self.elapsed())
            self.goals = {n: g for n, g in self.goals.items() if n not in self.reached}

    def expand(self, sid: int) -> tuple[int, ...]:
        """Fire every instance in state ``sid`` (once per state); its successors' numbers."""
        s = self.states[sid]
        depth = self.depth_of[sid] + 1
        model = self.model
        ids = self.ids
        out: dict[int, None] = {}
        for i, inst in enumerate(self.instances):
            try:
                _, post = model.fire(inst, s)
            except Exception as exc:
                raise ModelError(
                    f"explicit: the concrete model raised {type(exc).__name__}: {exc} "
                    f"firing {inst.label} in a state reached in {self.depth_of[sid]} steps",
                    self.trace_to(sid),
                    inst,
                ) from exc
            if post is None:
                continue
            self.transitions += 1
            tid = ids.get(post)
            if tid is None:
                tid = self.add(post, depth, (sid, i))
            if tid in out:
                continue
            out[tid] = None
            if self.step_props:
                for p in self.step_props:
                    if not p.holds(model, s, post):
                        self.violations[p.id] = Found(
                            depth, self.trace_via(sid, i, post), self.elapsed()
                        )
                self.step_props = [p for p in self.step_props if p.id not in self.violations]
        succ = tuple(out)
        self.succ[sid] = succ
        return succ


def explore(
    model: Any,
    depth: int,
    *,
    properties: Iterable[Property] = (),
    goals: Mapping[str, StatePredicate] | None = None,
    max_states: int | None = None,
    on_level: Callable[[int, int, float], None] | None = None,
    deadline: float | None = None,
    stop_on: frozenset[str] = frozenset(),
) -> ExplicitResult:
    """Breadth-first search of the concrete ``model`` from its initial state, ``depth`` steps deep.

    Guarantees, for ``k`` from 0 to the returned ``depth``: ``level(k)`` is exactly
    the set of states reachable from ``model.initial()`` in ``k`` steps of
    ``model.fire``; each property in ``properties`` is evaluated with
    ``Property.holds`` on every state of those levels (state properties) or every
    step out of levels ``0..depth-1`` (step properties, reported at the depth the
    step ends at), and its shortest violation is reported with a trace of that
    many steps that :func:`model.trace.replay` accepts; likewise each goal's
    shortest trace. With ``max_states``, the search stops cleanly once more
    than that many distinct states are known: the result's ``depth`` is the
    last complete level and ``stopped`` says why; likewise once ``time.monotonic()``
    passes ``deadline``, and once a property in ``stop_on`` is violated (its
    trace is still shortest: every state of the levels before was checked).
    ``on_level(k, count, seconds)``
    is called after each level. A model that raises while firing raises
    :class:`ModelError` with the trace to the state it raised in.
    """
    if depth < 0:
        raise ValueError(f"explicit: depth must be at least 0, got {depth}")
    start = time.perf_counter()
    search = _Search(model, properties, goals or {})
    init = model.initial()
    search.add(init, 0, (-1, -1))
    levels: list[frozenset[int]] = [frozenset((0,))]
    stopped: str | None = None
    if on_level is not None:
        on_level(0, 1, time.perf_counter() - start)
    level: frozenset[int] = levels[0]
    for k in range(1, depth + 1):
        nxt: set[int] = set()
        for n, sid in enumerate(sorted(level)):
            if deadline is not None and n % 256 == 0 and time.monotonic() > deadline:
                stopped = (
                    f"explicit: the time limit passed while computing level {k}; "
                    f"levels 0..{k - 1} are complete"
                )
                break
            succ = search.succ[sid]
            if succ is None:
                succ = search.expand(sid)
            nxt.update(succ)
            hit = sorted(stop_on.intersection(search.violations)) if stop_on else []
            if hit:
                stopped = f"explicit: stopped at the violation of {hit[0]} in level {k}"
                break
            if max_states is not None and len(search.states) > max_states:
                stopped = (
                    f"explicit: more than {max_states} states (max_states) while computing "
                    f"level {k}; levels 0..{k - 1} are complete"
                )
                break
        if stopped is not None:
            break
        level = frozenset(nxt)
        levels.append(level)
        if on_level is not None:
            on_level(k, len(level), time.perf_counter() - start)
    return ExplicitResult(
        depth=len(levels) - 1,
        violations=search.violations,
        reached=search.reached,
        states=len(search.states),
        transitions=search.transitions,
        seconds=time.perf_counter() - start,
        stopped=stopped,
        _levels=levels,
        _states=search.states,
    )
