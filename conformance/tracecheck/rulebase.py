"""What a rule is made of: the context it sees, its refusal, and the field readers.

A rule (:data:`Rule`) turns an event in context (:class:`Ctx`) and one
candidate model state into the successors that explain the event, as
``(label, state)`` pairs; it raises :class:`Refused` (or returns nothing) when
the event does not fit the state. The helpers here read an event's fields
(refusing a missing or mistyped one) and take the common shapes of step.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from impl import TraceEvent
from model.base import INTERP, MAINQ
from model.state import State

if typing.TYPE_CHECKING:
    from conformance.tracecheck.checker import TraceChecker

ConcreteState = State[bool, int]

QUEUES: Final = {"interp": INTERP, "main": MAINQ}
"""impl's queue names to the model's queue parameter."""


class Refused(Exception):
    """One tried step does not explain the event (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class Ctx:
    """What a rule sees: the event, its actor, and the checker."""

    event: TraceEvent
    t: int | None
    checker: TraceChecker

    def f(self, key: str) -> object:
        try:
            return self.event.fields[key]
        except KeyError:
            raise Refused(f"the event has no field {key!r}") from None


Rule = Callable[[Ctx, ConcreteState], list[tuple[str, ConcreteState]]]
"""``(ctx, state)`` to the candidate successors: ``(label, state)`` pairs."""


def level_of(s: ConcreteState, t: int) -> int:
    """The innermost pass of ``t`` (the one a pass event belongs to)."""
    depth = s.threads[t].depth
    if depth < 1:
        raise Refused(f"thread {t} has no pass in progress")
    return depth - 1


def need(cond: bool, why: str) -> None:
    if not cond:
        raise Refused(why)


def one(label: str, post: ConcreteState) -> list[tuple[str, ConcreteState]]:
    return [(label, post)]


def actor_of(c: Ctx) -> int:
    assert c.t is not None  # feed() refuses a thread event without an actor
    return c.t


def int_field(c: Ctx, key: str) -> int:
    value = c.f(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refused(f"field {key!r} is {value!r}, not an int")
    return value


def queue_of(c: Ctx) -> int:
    name = c.f("queue")
    if name not in QUEUES:
        raise Refused(f"unknown queue {name!r}")
    return QUEUES[str(name)]


def signal_of(c: Ctx) -> int:
    """The model's index of the event's ``signum``."""
    signum = int_field(c, "signum")
    if signum not in c.checker.signals:
        raise Refused(f"signal {signum} is not one of the model's signals")
    return c.checker.signals[signum]


def pass_step(action: str, *extra: object) -> Rule:
    """The rule of a step of the actor's innermost pass: ``action(t, level, *extra)``."""

    def rule(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
        t = actor_of(c)
        level = level_of(s, t)
        post = c.checker.fire(action, t, level, *extra, s=s)
        return one(f"{action}(t={t}, level={level}{''.join(f', {x!r}' for x in extra)})", post)

    return rule
