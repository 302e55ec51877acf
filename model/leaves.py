"""A state as a flat list of scalars, and back: how every engine sees a state's leaves.

A state is a tree of frozen dataclasses and tuples; its *leaves* are the
scalars at the bottom, in a fixed order (fields in declaration order, tuples
by position). Each leaf has a path (``threads[1].f0.stage``) and a sort from
its field's metadata (``bool``, ``int``, ``word``, ``array``). A queue's
``calls`` tuple is one ``array`` leaf when ``whole_arrays`` (the z3
interpretation makes it one z3 array) and one ``int`` leaf per slot otherwise
(the array interpretation makes it one column per slot).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from model.state import State


def _is_record(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _leaves(value: Any, path: str, whole_arrays: bool) -> Iterator[tuple[str, Any, str]]:
    """(path, leaf, sort) for every scalar of a state, in a fixed order."""
    if not _is_record(value):  # pragma: no cover - states are dataclasses
        raise TypeError(f"not a state: {value!r}")
    for f in dataclasses.fields(value):
        sort = f.metadata.get("sort", "int")
        sub = getattr(value, f.name)
        yield from _sorted(sub, f"{path}.{f.name}" if path else f.name, sort, whole_arrays)


def _sorted(value: Any, path: str, sort: str, whole: bool) -> Iterator[tuple[str, Any, str]]:
    if sort == "array" and whole:
        yield path, value, f"array[{len(value)}]" if isinstance(value, tuple) else sort
    elif _is_record(value):
        yield from _leaves(value, path, whole)
    elif isinstance(value, tuple):
        item_sort = "int" if sort == "array" else sort
        for k, item in enumerate(value):
            yield from _sorted(item, f"{path}[{k}]", item_sort, whole)
    else:
        yield path, value, sort


def leaf_paths(template: State[Any, Any], *, whole_arrays: bool = True) -> list[tuple[str, str]]:
    """(path, sort) of every scalar of a state shaped like ``template``."""
    return [(p, sort) for p, _, sort in _leaves(template, "", whole_arrays)]


def flatten(state: State[Any, Any], *, whole_arrays: bool = True) -> list[Any]:
    """The scalars of ``state`` in :func:`leaf_paths` order."""
    return [leaf for _, leaf, _ in _leaves(state, "", whole_arrays)]


def unflatten(
    template: State[Any, Any], leaves: list[Any], *, whole_arrays: bool = True
) -> State[Any, Any]:
    """A state shaped like ``template`` whose leaves are ``leaves``, in order."""
    it = iter(leaves)

    def build(value: Any, sort: str) -> Any:
        if sort == "array" and whole_arrays:
            return next(it)
        if _is_record(value):
            return type(value)(
                **{
                    f.name: build(getattr(value, f.name), f.metadata.get("sort", "int"))
                    for f in dataclasses.fields(value)
                }
            )
        if isinstance(value, tuple):
            return tuple(build(v, sort) for v in value)
        return next(it)

    out = build(template, "state")
    if next(it, None) is not None:
        raise ValueError("unflatten: too many leaves for the template")
    return out  # type: ignore[no-any-return]


def _expressions(value: Any, path: str) -> Iterator[str]:
    """Python expressions, over ``s``, of every leaf (arrays slot by slot), in order."""
    if _is_record(value):
        for f in dataclasses.fields(value):
            yield from _expressions(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, tuple):
        for k, item in enumerate(value):
            yield from _expressions(item, f"{path}[{k}]")
    else:
        yield path


def compile_flatten(template: State[Any, Any]) -> Callable[[State[Any, Any]], list[Any]]:
    """:func:`flatten` (``whole_arrays=False``) for states shaped like ``template``, as
    one generated function: the array engine flattens a batch per action fired."""
    body = ", ".join(_expressions(template, "s"))
    return eval(f"lambda s: [{body}]")  # type: ignore[no-any-return]


def compile_unflatten(template: State[Any, Any]) -> Callable[[list[Any]], State[Any, Any]]:
    """:func:`unflatten` (``whole_arrays=False``) for ``template``'s shape, generated once."""
    names: dict[str, type] = {}
    counter = iter(range(1 << 30))

    def build(value: Any) -> str:
        if _is_record(value):
            cls = type(value)
            names[cls.__name__] = cls
            fields = ", ".join(
                f"{f.name}={build(getattr(value, f.name))}" for f in dataclasses.fields(value)
            )
            return f"{cls.__name__}({fields})"
        if isinstance(value, tuple):
            return "(" + "".join(f"{build(v)}, " for v in value) + ")"
        return f"x[{next(counter)}]"

    src = build(template)
    return eval(f"lambda x: {src}", dict(names))  # type: ignore[no-any-return]
