"""The vacuity guard: finds a witness for every trigger and transition class.

The triggers and the instances dead by design are part of the model
(:mod:`model.triggers`). Witnesses are found by (1) seeded random walks over
the concrete model, (2) plans: short recipes for the triggers that need
hundreds of steps at CPython's capacities (filling a 300-call queue), and (3)
BMC for what is left (:mod:`engines.verify`). Every witness is a trace that is
replayed through the concrete model, so a witness cannot be wrong; a plan that
no longer applies to a variant simply finds nothing, and the trigger is
reported as not reached.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from model.actions import Instance
from model.base import INTERP, MAINQ
from model.state import State
from model.trace import Trace, replay
from model.triggers import TRIGGERS, dead_reason

M = Any
S = State[Any, Any]


# -- finding witnesses --------------------------------------------------------------------


@dataclass
class Coverage:
    """What the vacuity search reached: triggers and transition classes, with witnesses."""

    triggers: dict[str, Trace] = field(default_factory=dict)
    """Trigger name -> a trace whose last state satisfies it."""
    instances: dict[str, Trace] = field(default_factory=dict)
    """Instance label -> a trace whose last state enables it."""
    walks: int = 0
    steps: int = 0
    gave_up: str | None = None
    """Set when a BMC query reached its timeout: what is not reached is undecided."""


def _record(
    m: M,
    trace_states: list[S],
    trace_steps: list[Instance],
    cov: Coverage,
    names: Sequence[str],
    labels: Sequence[Instance],
) -> None:
    s = trace_states[-1]
    for name in names:
        if name not in cov.triggers and TRIGGERS[name].holds(m, s):
            cov.triggers[name] = Trace(tuple(trace_states), tuple(trace_steps))
    for inst in labels:
        if inst.label not in cov.instances:
            guard, _ = m.fire(inst, s)
            if guard:
                cov.instances[inst.label] = Trace(tuple(trace_states), tuple(trace_steps))


def random_walks(
    m: M,
    cov: Coverage,
    *,
    walks: int,
    length: int,
    seed: int = 0,
    triggers: Sequence[str] | None = None,
) -> Coverage:
    """Seeded random walks from the initial state; records what they reach."""
    rng = random.Random(seed)
    names = [n for n in (TRIGGERS if triggers is None else triggers) if n not in cov.triggers]
    wanted = [
        i for i in m.instances if i.label not in cov.instances and dead_reason(i, m.cfg) is None
    ]
    for _ in range(walks):
        states = [m.initial()]
        steps: list[Instance] = []
        _record(m, states, steps, cov, names, wanted)
        order = list(m.instances)
        for _ in range(length):
            # The first enabled instance of a random permutation is uniform among the
            # enabled ones, and usually costs a few guards rather than all of them.
            rng.shuffle(order)
            step = next(
                (
                    (i, post)
                    for i in order
                    for _, post in [m.fire(i, states[-1])]
                    if post is not None
                ),
                None,
            )
            if step is None:
                break
            inst, post = step
            states.append(post)
            steps.append(inst)
            names = [n for n in names if n not in cov.triggers]
            wanted = [i for i in wanted if i.label not in cov.instances]
            _record(m, states, steps, cov, names, wanted)
        cov.walks += 1
        cov.steps += len(steps)
        if not names and not wanted:
            break
    return cov


# -- plans: recipes for the deep triggers --------------------------------------------------


def _run_plan(m: M, labels: Iterable[str]) -> Trace | None:
    """Replay a sequence of instance labels; None if one is not enabled."""
    by_label = {i.label: i for i in m.instances}
    states = [m.initial()]
    steps: list[Instance] = []
    for label in labels:
        inst = by_label.get(label)
        if inst is None:
            return None
        guard, post = m.fire(inst, states[-1])
        if not guard or post is None:
            return None
        states.append(post)
        steps.append(inst)
    trace = Trace(tuple(states), tuple(steps))
    replay(m, trace)
    return trace


def _fill(q: int, n: int) -> list[str]:
    return [f"add_pending_call(t=0, q={q})", f"signal_pending_call(t=0, q={q})"] * n


def _drain(q: int, n: int) -> list[str]:
    out = ["execute(t=0, op='JUMP_BACKWARD')", "make_pending_calls(t=0, level=0)"]
    if q == MAINQ:
        out.append("drain_done(t=0, level=0, q=0)")
    for _ in range(n):
        out += [
            f"pop_pending_call(t=0, level=0, q={q})",
            f"callback_return(t=0, level=0, q={q}, ok=True)",
        ]
    return out


def plans(m: M) -> dict[str, list[str]]:
    """Recipes (instance labels from the initial state) for triggers BMC cannot reach
    quickly at CPython's capacities."""
    cap_i, cap_m = m.capacity(INTERP), m.capacity(MAINQ)
    loop_i, loop_m = m.maxloop(INTERP), m.maxloop(MAINQ)
    return {
        "interp-queue-full": _fill(INTERP, cap_i),
        "main-queue-full": _fill(MAINQ, cap_m),
        "add-refused": _fill(MAINQ, cap_m + 1),
        "maxloop-cutoff": _fill(INTERP, loop_i + 1) + _drain(INTERP, loop_i)
        if loop_i < cap_i
        else _fill(MAINQ, loop_m + 1) + _drain(MAINQ, loop_m),
    }


def run_plans(m: M, cov: Coverage, names: Sequence[str]) -> Coverage:
    for name, labels in plans(m).items():
        if name in names and name not in cov.triggers:
            trace = _run_plan(m, labels)
            if trace is not None and TRIGGERS[name].holds(m, trace.last):
                cov.triggers[name] = trace
    return cov
