"""How an action is declared, enumerated and fired.

An action is a generator method of a model class, decorated with
:func:`action`. It yields its guard once, then returns the successor state::

    @action(each_thread)
    def switch_wake(self, s: State[B, I], t: int) -> Effect[B, I]:
        me = s.threads[t]
        yield self.d.eq(me.phase, Phase.SWITCH_WAIT)      # the guard
        return self.with_thread(s, t, ...)                # the effect

Guard and effect share their local variables, and the effect may assume the
guard. The concrete engine stops after the ``yield`` when the guard is false,
so a disabled action costs only its guard. Parameters (the acting thread, a
queue, an outcome the environment chooses) are plain Python values in every
domain; :func:`action` is given a function that lists them for a model.

A variant overrides an action by defining a method of the same name; it may
leave the decorator off, and the parameters of the base class apply.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar

if TYPE_CHECKING:
    from model.state import State

ParamValue: TypeAlias = int | bool | str
Params: TypeAlias = tuple[ParamValue, ...]
Effect: TypeAlias = "Generator[Any, None, State[Any, Any]]"
"""What an action method returns: a generator that yields the guard and returns
the successor (typed loosely because it is generic in the domain)."""

F = TypeVar("F", bound=Callable[..., Any])

_ACTION_ATTR: Final = "__gilcheck_action__"


@dataclass(frozen=True, slots=True)
class ActionMeta:
    """What :func:`action` records on a method."""

    params: Callable[[Any], Iterable[Params]]
    actor: int | None
    """Index of the parameter that names the acting thread, if any."""


def action(params: Callable[[Any], Iterable[Params]], *, actor: int | None = 0) -> Callable[[F], F]:
    """Declare a model action; ``params(model)`` lists its parameter tuples.

    ``actor`` is the position of the acting thread among the parameters (for
    traces and per-thread views), or ``None`` for environment actions.
    """

    def mark(fn: F) -> F:
        setattr(fn, _ACTION_ATTR, ActionMeta(params, actor))
        return fn

    return mark


@dataclass(frozen=True, slots=True)
class Instance:
    """One action with its parameters: a possible step of the model."""

    action: str
    args: Params
    arg_names: tuple[str, ...]
    actor: int | None
    """The acting thread, or ``None`` for the environment (signals)."""

    @property
    def label(self) -> str:
        """``name(p=v, ...)``, the way traces print a step."""
        inner = ", ".join(f"{n}={_show(v)}" for n, v in zip(self.arg_names, self.args, strict=True))
        return f"{self.action}({inner})"


def _show(value: ParamValue) -> str:
    return repr(value)


def declared_actions(cls: type) -> dict[str, ActionMeta]:
    """Actions of ``cls`` and its bases, in order of first declaration.

    A method that overrides an action without the decorator keeps the base
    class's declaration; a variant may remove an action by setting its name
    to ``None`` in the class body.
    """
    found: dict[str, ActionMeta] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            meta = getattr(value, _ACTION_ATTR, None)
            if isinstance(meta, ActionMeta):
                found[name] = meta
            elif value is None and name in found:
                del found[name]
    return found


def instances_of(model: Any) -> list[Instance]:
    """Every (action, parameters) pair of ``model``, in a stable order."""
    out: list[Instance] = []
    for name, meta in declared_actions(type(model)).items():
        method = getattr(model, name)
        arg_names = tuple(list(inspect.signature(method).parameters)[1:])
        for args in meta.params(model):
            if len(args) != len(arg_names):
                raise TypeError(
                    f"action {name}: parameters {args!r} do not match its signature {arg_names}"
                )
            actor = args[meta.actor] if meta.actor is not None else None
            if actor is not None and not isinstance(actor, int):
                raise TypeError(f"action {name}: the actor parameter must be a thread id")
            out.append(Instance(name, tuple(args), arg_names, actor))
    return out
