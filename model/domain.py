"""The operations a transition may use, and their concrete interpretation.

Every transition and every invariant in this package is written once, against
the :class:`Domain` protocol below, and never looks at what kind of values it
holds. Two domains interpret it:

* :data:`CONCRETE` (this module): plain Python ``bool`` and ``int``. The
  explicit-state search and the conformance tests run the model this way.
* ``engines.symbolic.Z3Domain``: z3 terms. The prover runs the same code and gets
  the transition relation and the invariants as formulas.

Rules for code written against a domain (the differential test
``tests/model/test_differential.py`` catches a breach):

* Never branch with ``if`` on a value that came out of a state; use
  :meth:`Domain.ite`. Branching on a *parameter* of an action (the acting
  thread, the queue, an outcome chosen by the environment) is fine: parameters
  are always plain Python values, in both domains.
* Never compare state values with ``==``; use :meth:`Domain.eq`. (A z3 term
  compared with ``==`` is a formula, and ``bool()`` of it silently answers a
  different question.)

Integer-like state values come in two sorts that share the methods below:
unbounded integers (counters, thread ids, phases) and fixed-width words (the
eval breaker, which is a ``uintptr_t`` in CPython). Their literals are made
with :meth:`Domain.int_` and :meth:`Domain.word` respectively.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Final, Generic, Protocol, TypeVar, final

from model.bits import WORD_MASK

B = TypeVar("B")
"""A boolean term of some domain: ``bool`` concretely."""
I = TypeVar("I")  # noqa: E741 - the conventional name for the integer sort
"""An integer-like term of some domain: ``int`` concretely."""
T = TypeVar("T")


class Domain(Protocol[B, I]):
    """An interpretation of the model's operations. See the module docstring."""

    @property
    def name(self) -> str: ...

    def bool_(self, value: bool) -> B: ...

    def int_(self, value: int) -> I: ...

    def word(self, value: int) -> I: ...

    def all(self, *xs: B) -> B: ...

    def any(self, *xs: B) -> B: ...

    def not_(self, x: B) -> B: ...

    def implies(self, a: B, b: B) -> B: ...

    def iff(self, a: B, b: B) -> B: ...

    def ite(self, cond: B, then: T, else_: T) -> T:
        """``then`` if ``cond`` else ``else_``; works fieldwise on dataclasses and tuples."""
        ...

    def eq(self, a: I | int, b: I | int) -> B: ...

    def ne(self, a: I | int, b: I | int) -> B: ...

    def lt(self, a: I | int, b: I | int) -> B: ...

    def le(self, a: I | int, b: I | int) -> B: ...

    def add(self, a: I | int, b: I | int) -> I: ...

    def sub(self, a: I | int, b: I | int) -> I: ...

    def bor(self, a: I, b: I | int) -> I:
        """Bitwise or of two words."""
        ...

    def band(self, a: I, b: I | int) -> I:
        """Bitwise and of two words."""
        ...

    def bclear(self, a: I, bits: int) -> I:
        """``a & ~bits`` on a word (``_Py_atomic_and_uintptr(&x, ~bits)``)."""
        ...

    def bhas(self, a: I, bits: int) -> B:
        """``(a & bits) != 0`` on a word."""
        ...

    def select(self, arr: Any, index: I | int) -> I:
        """``arr[index]`` of an array (a fixed-length tuple concretely)."""
        ...

    def store(self, arr: Any, index: I | int, value: I | int) -> Any:
        """``arr`` with ``arr[index] = value``."""
        ...

    def forall_below(self, n: int, body: Callable[[Any], B]) -> B:
        """``body(j)`` for every index ``0 <= j < n`` (a quantifier symbolically)."""
        ...

    def concrete(self, x: B) -> bool | None:
        """``x`` as a Python bool if this domain knows it, else ``None``.

        The engine uses it to skip computing the effect of a disabled action in
        the concrete domain; the symbolic domain answers ``None``.
        """
        ...


@final
class ConcreteDomain:
    """Python values: ``bool`` for booleans, ``int`` for integers and words."""

    @property
    def name(self) -> str:
        return "concrete"

    def bool_(self, value: bool) -> bool:
        return value

    def int_(self, value: int) -> int:
        return int(value)

    def word(self, value: int) -> int:
        return value & WORD_MASK

    def all(self, *xs: bool) -> bool:
        return all(xs)

    def any(self, *xs: bool) -> bool:
        return any(xs)

    def not_(self, x: bool) -> bool:
        return not x

    def implies(self, a: bool, b: bool) -> bool:
        return (not a) or b

    def iff(self, a: bool, b: bool) -> bool:
        return a == b

    def ite(self, cond: bool, then: T, else_: T) -> T:
        return then if cond else else_

    def eq(self, a: int, b: int) -> bool:
        return a == b

    def ne(self, a: int, b: int) -> bool:
        return a != b

    def lt(self, a: int, b: int) -> bool:
        return a < b

    def le(self, a: int, b: int) -> bool:
        return a <= b

    def add(self, a: int, b: int) -> int:
        return a + b

    def sub(self, a: int, b: int) -> int:
        return a - b

    def bor(self, a: int, b: int) -> int:
        return (a | int(b)) & WORD_MASK

    def band(self, a: int, b: int) -> int:
        return a & int(b) & WORD_MASK

    def bclear(self, a: int, bits: int) -> int:
        # int() first: ~ of an IntFlag member complements within the flag's members only.
        return a & ~int(bits) & WORD_MASK

    def bhas(self, a: int, bits: int) -> bool:
        return (a & int(bits)) != 0

    def select(self, arr: tuple[int, ...], index: int) -> int:
        # Outside its first len(arr) entries an array holds 0, as the z3 array lifted
        # from it does (the two interpretations must agree on every state).
        return arr[index] if 0 <= index < len(arr) else 0

    def store(self, arr: tuple[int, ...], index: int, value: int) -> tuple[int, ...]:
        # The tuple is the array's first len(arr) entries; a store past them changes
        # nothing visible (a transition may compute one it then discards, as an add to
        # a full queue does before it refuses).
        if not 0 <= index < len(arr):
            return arr
        return (*arr[:index], value, *arr[index + 1 :])

    def forall_below(self, n: int, body: Callable[[int], bool]) -> bool:
        return all(body(j) for j in range(n))

    def concrete(self, x: bool) -> bool:
        return x


CONCRETE: Final = ConcreteDomain()
"""The one concrete domain."""


def fieldwise_ite(ite: Any, cond: Any, then: Any, else_: Any) -> Any:
    """Apply a scalar ``ite`` through dataclasses and tuples of equal shape.

    Used by symbolic domains, whose scalar ``ite`` cannot take a structure.
    Identical sub-structures are returned as they are, which keeps the formulas
    small: most of a state is not touched by a given action.
    """
    if then is else_:
        return then
    if dataclasses.is_dataclass(then) and not isinstance(then, type):
        changes = {
            f.name: fieldwise_ite(ite, cond, getattr(then, f.name), getattr(else_, f.name))
            for f in dataclasses.fields(then)
        }
        return type(then)(**changes)
    if isinstance(then, tuple):
        if not isinstance(else_, tuple) or len(then) != len(else_):
            raise TypeError("ite: the two branches have different shapes")
        return tuple(fieldwise_ite(ite, cond, a, b) for a, b in zip(then, else_, strict=True))
    return ite(cond, then, else_)


def replace_at(items: Sequence[T], index: int, value: T) -> tuple[T, ...]:
    """``items`` with position ``index`` (a Python int) replaced by ``value``."""
    out = list(items)
    out[index] = value
    return tuple(out)


class Terms(Generic[B, I]):
    """Helpers built from a domain's primitives; the same for every domain."""

    __slots__ = ("d",)

    def __init__(self, d: Domain[B, I]) -> None:
        self.d = d

    def select(self, items: Sequence[T], index: I) -> T:
        """``items[index]`` for a term ``index`` (an if-then-else chain symbolically)."""
        d = self.d
        out = items[-1]
        for k in range(len(items) - 2, -1, -1):
            out = d.ite(d.eq(index, k), items[k], out)
        return out

    def exactly_one(self, xs: Sequence[B]) -> B:
        """Exactly one of ``xs`` holds."""
        d = self.d
        at_most = [d.not_(d.all(xs[i], xs[j])) for i in range(len(xs)) for j in range(i)]
        return d.all(d.any(*xs), *at_most)

    def at_most_one(self, xs: Sequence[B]) -> B:
        d = self.d
        return d.all(*[d.not_(d.all(xs[i], xs[j])) for i in range(len(xs)) for j in range(i)])
