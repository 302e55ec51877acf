"""The registry of checked properties: the :class:`Property` record, ``PROPERTIES``
(every check by catalogue id, in definition order) and the ``@state_property`` /
``@step_property`` decorators the subject modules register their checks with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from model.state import State

Kind = Literal["safety", "liveness"]
M = Any
"""A model instance of any domain (``model.protocol.Cpython313[B, I]``)."""
S = State[Any, Any]


@dataclass(frozen=True, slots=True)
class Property:
    """A catalogue entry's executable form."""

    id: str
    kind: Kind
    step: bool
    """True for a property of (state, successor), False for a state property."""
    fn: Callable[..., Any]

    def holds(self, m: M, pre: S, post: S | None = None) -> Any:
        """The property as a term of ``m``'s domain."""
        if self.step:
            if post is None:
                raise TypeError(f"{self.id} is a step property: it needs a successor")
            return self.fn(m, pre, post)
        return self.fn(m, pre)


PROPERTIES: dict[str, Property] = {}


def _register(
    pid: str, kind: Kind, step: bool
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if pid in PROPERTIES:
            raise ValueError(f"property {pid} is defined twice")
        PROPERTIES[pid] = Property(pid, kind, step, fn)
        return fn

    return deco


def state_property(
    pid: str, kind: Kind = "safety"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register(pid, kind, step=False)


def step_property(
    pid: str, kind: Kind = "safety"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register(pid, kind, step=True)
