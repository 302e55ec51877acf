"""Named protocol variants: the model classes the tools can be pointed at by name.

``cpython-3.13`` is the faithful model. Variants that bring historical CPython
bugs back, or a user's own protocol change, register here under a name of their
own (``register``), and every engine and command accepts that name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from model.actions import declared_actions
from model.config import Config
from model.domain import CONCRETE
from model.protocol import Cpython313

DEFAULT = "cpython-3.13"

VARIANTS: dict[str, type[Cpython313[Any, Any]]] = {DEFAULT: Cpython313}


class UnknownVariant(KeyError):
    """No variant has that name."""

    def __str__(self) -> str:
        return f"variant: no variant named {self.args[0]!r} (known: {', '.join(sorted(VARIANTS))})"


def register(name: str, cls: type[Cpython313[Any, Any]]) -> type[Cpython313[Any, Any]]:
    """Make ``cls`` available as ``name``; returns it, so it can decorate a class."""
    if name in VARIANTS and VARIANTS[name] is not cls:
        raise ValueError(f"variant: the name {name!r} is taken by {VARIANTS[name].__name__}")
    VARIANTS[name] = cls
    return cls


def model_class(name: str) -> type[Cpython313[Any, Any]]:
    try:
        return VARIANTS[name]
    except KeyError:
        raise UnknownVariant(name) from None


def variant_name(cls: type[Cpython313[Any, Any]]) -> str:
    """The name ``cls`` is registered under; its class name if it is not registered."""
    return next((name for name, c in VARIANTS.items() if c is cls), cls.__qualname__)


def without(cls: type[Cpython313[Any, Any]], actions: Sequence[str]) -> type[Cpython313[Any, Any]]:
    """``cls`` without the actions ``actions``: a program that never takes those steps (a
    temporal entry's scope). Raises ``ValueError`` for a name that is not one of its actions."""
    have = declared_actions(cls)
    missing = [a for a in actions if a not in have]
    if missing:
        raise ValueError(f"scope: {', '.join(missing)} is not an action of {cls.__name__}")
    if not actions:
        return cls
    body: dict[str, Any] = dict.fromkeys(actions)
    body["__doc__"] = f"{cls.__name__} without {', '.join(actions)}."
    return type(cls.__name__, (cls,), body)


def concrete_model(name: str, cfg: Config) -> Cpython313[bool, int]:
    """The variant ``name`` over Python values."""
    return model_class(name)(cfg, CONCRETE)
