"""The symbolic interpretation: the same model code over z3 terms.

:class:`Z3Domain` implements :class:`model.domain.Domain` with z3 ``Bool``,
``Int`` and 16-bit ``BitVec`` terms. :func:`fresh_state` makes a state of
fresh variables shaped like the model's initial state; :func:`flatten` and
:func:`unflatten` convert between a state and its list of leaves, and
:func:`concretize` reads a concrete state back out of a z3 model. Nothing here
knows any transition: the relation comes from running the model's own actions
on symbolic states (see :mod:`engines.encoding`).
"""

from __future__ import annotations

from typing import Any, final

import z3

from model.bits import WORD_BITS
from model.domain import fieldwise_ite
from model.leaves import flatten, leaf_paths, unflatten

__all__ = [
    "Term",
    "Z3Domain",
    "concretize",
    "equal_states",
    "flatten",
    "fresh_state",
    "leaf_paths",
    "lift",
    "make_var",
    "unflatten",
    "value_of",
]
from model.state import State

Term = Any
"""A z3 expression (z3 ships no type information)."""


@final
class Z3Domain:
    """z3 terms: ``Bool`` for booleans, ``Int`` for integers, ``BitVec(16)`` for words."""

    def __init__(self, ctx: z3.Context | None = None) -> None:
        self.ctx = ctx
        self._bound = 0
        self._true = z3.BoolVal(True, ctx)
        self._false = z3.BoolVal(False, ctx)

    @property
    def name(self) -> str:
        return "z3"

    def bool_(self, value: bool) -> Term:
        return self._true if value else self._false

    def int_(self, value: int) -> Term:
        return z3.IntVal(int(value), self.ctx)

    def word(self, value: int) -> Term:
        return z3.BitVecVal(int(value), WORD_BITS, self.ctx)

    def _b(self, x: Any) -> Term:
        return self.bool_(x) if isinstance(x, bool) else x

    def all(self, *xs: Any) -> Term:
        terms = [self._b(x) for x in xs]
        if any(z3.is_false(t) for t in terms):
            return self._false
        terms = [t for t in terms if not z3.is_true(t)]
        if not terms:
            return self._true
        return terms[0] if len(terms) == 1 else z3.And(*terms)

    def any(self, *xs: Any) -> Term:
        terms = [self._b(x) for x in xs]
        if any(z3.is_true(t) for t in terms):
            return self._true
        terms = [t for t in terms if not z3.is_false(t)]
        if not terms:
            return self._false
        return terms[0] if len(terms) == 1 else z3.Or(*terms)

    def not_(self, x: Any) -> Term:
        x = self._b(x)
        if z3.is_true(x):
            return self._false
        if z3.is_false(x):
            return self._true
        return z3.Not(x)

    def implies(self, a: Any, b: Any) -> Term:
        return self.any(self.not_(a), b)

    def iff(self, a: Any, b: Any) -> Term:
        return self._b(a) == self._b(b)

    def _scalar_ite(self, cond: Term, then: Any, else_: Any) -> Term:
        if isinstance(then, bool):
            then = self.bool_(then)
        if isinstance(else_, bool):
            else_ = self.bool_(else_)
        if z3.is_expr(then) and z3.is_expr(else_) and then.eq(else_):
            return then
        return z3.If(cond, then, else_)

    def ite(self, cond: Any, then: Any, else_: Any) -> Any:
        cond = self._b(cond)
        if z3.is_true(cond):
            return then
        if z3.is_false(cond):
            return else_
        return fieldwise_ite(lambda c, a, b: self._scalar_ite(c, a, b), cond, then, else_)

    def eq(self, a: Any, b: Any) -> Term:
        return self._b(a == b)

    def ne(self, a: Any, b: Any) -> Term:
        return self._b(a != b)

    def lt(self, a: Any, b: Any) -> Term:
        return self._b(a < b)

    def le(self, a: Any, b: Any) -> Term:
        return self._b(a <= b)

    def add(self, a: Any, b: Any) -> Term:
        return a + b

    def sub(self, a: Any, b: Any) -> Term:
        return a - b

    def bor(self, a: Any, b: Any) -> Term:
        return a | _plain(b)

    def band(self, a: Any, b: Any) -> Term:
        return a & _plain(b)

    def bclear(self, a: Any, bits: int) -> Term:
        # int() first: ~ of an IntFlag member complements within the flag's members only.
        return a & ~int(bits)

    def bhas(self, a: Any, bits: int) -> Term:
        return (a & int(bits)) != 0

    def select(self, arr: Any, index: Any) -> Term:
        return z3.Select(arr, index)

    def store(self, arr: Any, index: Any, value: Any) -> Term:
        return z3.Store(arr, index, value)

    def int_sort(self) -> z3.SortRef:
        """The sort of model integers."""
        return z3.IntSort(self.ctx)

    def forall_below(self, n: int, body: Any) -> Term:
        self._bound += 1
        j = z3.Const(f"j!{self._bound}", self.int_sort())
        return z3.ForAll([j], z3.Implies(z3.And(j >= 0, j < n), self._b(body(j))))

    def concrete(self, x: Any) -> bool | None:
        x = self._b(x)
        if z3.is_true(x):
            return True
        if z3.is_false(x):
            return False
        return None


def _plain(x: Any) -> Any:
    """Enum members become plain ints before z3 sees them."""
    return int(x) if isinstance(x, int) else x


# -- states of variables ------------------------------------------------------------------


def make_var(d: Z3Domain, name: str, sort: str) -> Term:
    """A fresh variable of a state leaf's sort (``bool``, ``int``, ``word`` or ``array[n]``)."""
    if sort.startswith("array"):
        return z3.Array(name, d.int_sort(), d.int_sort())
    if sort == "bool":
        return z3.Bool(name, d.ctx)
    if sort == "word":
        return z3.BitVec(name, WORD_BITS, d.ctx)
    return z3.Int(name, d.ctx)


def fresh_state(d: Z3Domain, template: State[Any, Any], suffix: str) -> State[Any, Any]:
    """A state of fresh z3 variables named ``path@suffix``, shaped like ``template``."""
    return unflatten(
        template, [make_var(d, f"{p}@{suffix}", sort) for p, sort in leaf_paths(template)]
    )


def lift(d: Z3Domain, state: State[Any, Any]) -> State[Any, Any]:
    """A concrete state as z3 constants."""
    paths = leaf_paths(state)
    leaves = flatten(state)
    out = []
    for (_, sort), v in zip(paths, leaves, strict=True):
        if sort.startswith("array"):
            arr = z3.K(d.int_sort(), d.int_(0))
            for j, x in enumerate(v):
                if x != 0:
                    arr = z3.Store(arr, d.int_(j), d.int_(x))
            out.append(arr)
        else:
            out.append(
                d.bool_(bool(v)) if sort == "bool" else d.word(v) if sort == "word" else d.int_(v)
            )
    return unflatten(state, out)


def equal_states(a: State[Any, Any], b: State[Any, Any]) -> Term:
    """The formula ``a == b`` (leaf by leaf; arrays compare extensionally)."""
    return z3.And(*[x == y for x, y in zip(flatten(a), flatten(b), strict=True)])


def concretize(
    d: Z3Domain, model: z3.ModelRef, sym: State[Any, Any], template: State[bool, int]
) -> State[bool, int]:
    """The concrete state, shaped like ``template``, that ``model`` assigns to ``sym``."""
    out: list[Any] = []
    for (_, sort), leaf in zip(leaf_paths(template), flatten(sym), strict=True):
        out.append(value_of(d, model, leaf, sort))
    return unflatten(template, out)


def value_of(d: Z3Domain, model: z3.ModelRef, term: Term, sort: str = "int") -> Any:
    """A leaf's value in ``model``: a Python bool or int, or a tuple for an
    ``array[n]`` leaf (its first n entries)."""
    if sort.startswith("array"):
        n = int(sort[len("array[") : -1])
        return tuple(value_of(d, model, z3.Select(term, j)) for j in range(n))
    v = model.eval(term, model_completion=True)
    if z3.is_bool(v):
        return z3.is_true(v)
    return v.as_long()
