"""Counterexample and witness traces: a sequence of states and the steps between them.

A trace found by any engine is replayed through the concrete model before it
is reported (:func:`replay`): every step must be enabled and produce exactly
the next state. That makes a z3 counterexample a fact about the Python model,
not only about its encoding.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from model.actions import Instance
from model.state import State

ConcreteState = State[bool, int]


class ReplayError(RuntimeError):
    """A trace is not a behaviour of the concrete model."""


@dataclass(frozen=True, slots=True)
class Trace:
    """``states[0] --steps[0]--> states[1] --> ...``; ``states[0]`` is initial unless noted.

    A lasso (a liveness counterexample: an infinite behaviour) has ``loop`` set:
    the last state repeats ``states[loop]`` (its representative in the finite
    quotient, see :mod:`model.quotient`), so the behaviour is the stem
    ``states[:loop]`` followed by the steps from ``states[loop]`` on, forever.
    ``loop == len(steps)`` is a behaviour that stays in its last state (it
    stutters: nothing fairness owes is enabled there). ``loop`` is the index
    ITF's ``loop`` field carries.
    """

    states: tuple[ConcreteState, ...]
    steps: tuple[Instance, ...]
    loop: int | None = None

    def __post_init__(self) -> None:
        if len(self.states) != len(self.steps) + 1:
            raise ValueError("trace: need exactly one more state than steps")
        if self.loop is not None and not 0 <= self.loop <= len(self.steps):
            raise ValueError("trace: a lasso's loop must start at one of its states")

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def last(self) -> ConcreteState:
        return self.states[-1]


def replay(model: Any, trace: Trace, *, from_initial: bool = True) -> None:
    """Check that ``trace`` is a behaviour of the concrete ``model``; raise ReplayError if not."""
    if from_initial and trace.states[0] != model.initial():
        raise ReplayError("replay: the first state is not the model's initial state")
    for k, (inst, (pre, post)) in enumerate(zip(trace.steps, _pairs(trace.states), strict=True)):
        guard, got = model.fire(inst, pre)
        if not guard or got is None:
            raise ReplayError(f"replay: step {k + 1} ({inst.label}) is not enabled")
        if got != post:
            diff = ", ".join(path for path, _, _ in diff_states(post, got)) or "?"
            raise ReplayError(
                f"replay: step {k + 1} ({inst.label}) leads elsewhere (differs in {diff})"
            )


def unrolled(model: Any, trace: Trace, times: int) -> Trace:
    """A lasso as a finite trace: its stem, then its loop played ``times`` times in all.

    The loop's steps are fired again from where the last round ended: the state
    is the loop's first one up to the quotient (counters have grown), so each
    step is enabled again in a sound model; :class:`ReplayError` says if one is
    not. A trace that is no lasso, or one that stutters, comes back as it is.
    """
    if trace.loop is None or trace.loop == len(trace.steps):
        return Trace(trace.states, trace.steps)
    states, steps = list(trace.states), list(trace.steps)
    for _ in range(times - 1):
        for inst in trace.steps[trace.loop :]:
            guard, post = model.fire(inst, states[-1])
            if not guard or post is None:
                raise ReplayError(
                    f"replay: step {len(steps) + 1} ({inst.label}), the loop played again, "
                    "is not enabled"
                )
            states.append(post)
            steps.append(inst)
    return Trace(tuple(states), tuple(steps))


def _pairs(states: Sequence[ConcreteState]) -> Iterator[tuple[ConcreteState, ConcreteState]]:
    return itertools.pairwise(states)


def leaves_with_paths(value: Any, path: str = "") -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(path, value, field metadata) for every scalar of a concrete state."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            sub = getattr(value, f.name)
            p = f"{path}.{f.name}" if path else f.name
            if dataclasses.is_dataclass(sub) or isinstance(sub, tuple):
                for q, v, meta in leaves_with_paths(sub, p):
                    yield q, v, meta or dict(f.metadata)
            else:
                yield p, sub, dict(f.metadata)
    elif isinstance(value, tuple):
        for k, item in enumerate(value):
            if dataclasses.is_dataclass(item) or isinstance(item, tuple):
                yield from leaves_with_paths(item, f"{path}[{k}]")
            else:
                yield f"{path}[{k}]", item, {}


def diff_states(a: ConcreteState, b: ConcreteState) -> list[tuple[str, Any, Any]]:
    """(path, old, new) for every scalar that differs."""
    out = []
    for (p, x, _), (_, y, _) in zip(leaves_with_paths(a), leaves_with_paths(b), strict=True):
        if x != y:
            out.append((p, x, y))
    return out
