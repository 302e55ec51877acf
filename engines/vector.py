"""The array interpretation: the same model code over batches of concrete states.

:class:`ArrayDomain` implements :class:`model.domain.Domain` with numpy
arrays: a boolean term is a ``bool`` array, an integer or a word an ``int64``
array, one entry per state of the batch. One call of an action therefore
evaluates its guard (a mask) and its successor on every state of the batch
at once; ``ite`` is ``numpy.where``, fieldwise through the state's
dataclasses. Literals stay Python scalars, which numpy broadcasts, so a
field an action sets to a constant costs nothing until the batch is packed
(:mod:`engines.rows`).

The rules of :mod:`model.domain` are what make this work: the model never
branches with ``if`` on a state value and never compares with ``==``, so it
cannot tell a batch from one state. The differential test compares this
interpretation with the other two, action by action.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final, TypeAlias, final

import numpy as np
import numpy.typing as npt

from model.bits import WORD_MASK
from model.domain import fieldwise_ite

Mask: TypeAlias = "npt.NDArray[np.bool_] | bool"
"""A boolean term: one truth value per state, or one for the whole batch."""
Vec: TypeAlias = "npt.NDArray[np.int64] | int"
"""An integer term: one value per state, or one for the whole batch."""


def _scalar(x: Any) -> bool:
    return not isinstance(x, np.ndarray)


@final
class ArrayDomain:
    """numpy arrays, one entry per state: ``bool`` masks, ``int64`` integers and words."""

    @property
    def name(self) -> str:
        return "array"

    def bool_(self, value: bool) -> bool:
        return bool(value)

    def int_(self, value: int) -> int:
        return int(value)

    def word(self, value: int) -> int:
        return int(value) & WORD_MASK

    def all(self, *xs: Mask) -> Mask:
        if any(_scalar(x) and not x for x in xs):
            return False
        arrays = [x for x in xs if not _scalar(x)]
        if not arrays:
            return True
        return functools.reduce(np.logical_and, arrays)

    def any(self, *xs: Mask) -> Mask:
        if any(_scalar(x) and x for x in xs):
            return True
        arrays = [x for x in xs if not _scalar(x)]
        if not arrays:
            return False
        return functools.reduce(np.logical_or, arrays)

    def not_(self, x: Mask) -> Mask:
        return (not x) if _scalar(x) else np.logical_not(x)

    def implies(self, a: Mask, b: Mask) -> Mask:
        return self.any(self.not_(a), b)

    def iff(self, a: Mask, b: Mask) -> Mask:
        if _scalar(a) and _scalar(b):
            return bool(a) == bool(b)
        return np.equal(a, b)

    def _where(self, cond: Mask, then: Any, else_: Any) -> Any:
        if _scalar(cond):
            return then if cond else else_
        if _scalar(then) and _scalar(else_) and then == else_:
            return then
        return np.where(cond, then, else_)

    def ite(self, cond: Mask, then: Any, else_: Any) -> Any:
        if _scalar(cond):
            return then if cond else else_
        return fieldwise_ite(self._where, cond, then, else_)

    def eq(self, a: Vec, b: Vec) -> Mask:
        return bool(a == b) if _scalar(a) and _scalar(b) else np.equal(a, b)

    def ne(self, a: Vec, b: Vec) -> Mask:
        return bool(a != b) if _scalar(a) and _scalar(b) else np.not_equal(a, b)

    def lt(self, a: Vec, b: Vec) -> Mask:
        return bool(a < b) if _scalar(a) and _scalar(b) else np.less(a, b)

    def le(self, a: Vec, b: Vec) -> Mask:
        return bool(a <= b) if _scalar(a) and _scalar(b) else np.less_equal(a, b)

    def add(self, a: Vec, b: Vec) -> Vec:
        return a + b

    def sub(self, a: Vec, b: Vec) -> Vec:
        return a - b

    def bor(self, a: Vec, b: Vec) -> Vec:
        return (a | int(b) if _scalar(b) else a | b) & WORD_MASK

    def band(self, a: Vec, b: Vec) -> Vec:
        return a & (int(b) if _scalar(b) else b) & WORD_MASK

    def bclear(self, a: Vec, bits: int) -> Vec:
        # int() first: ~ of an IntFlag member complements within the flag's members only.
        return a & (~int(bits) & WORD_MASK)

    def bhas(self, a: Vec, bits: int) -> Mask:
        if _scalar(a):
            return (int(a) & int(bits)) != 0
        return (a & int(bits)) != 0

    def select(self, arr: tuple[Vec, ...], index: Vec) -> Vec:
        # Outside the array's entries it holds 0, as in the other two domains.
        if _scalar(index):
            return arr[int(index)] if 0 <= int(index) < len(arr) else 0
        out: Vec = 0
        for k in range(len(arr) - 1, -1, -1):
            out = self._where(np.equal(index, k), arr[k], out)
        return out

    def store(self, arr: tuple[Vec, ...], index: Vec, value: Vec) -> tuple[Vec, ...]:
        if _scalar(index):
            k = int(index)
            if not 0 <= k < len(arr):
                return arr
            return (*arr[:k], value, *arr[k + 1 :])
        return tuple(self._where(np.equal(index, k), value, x) for k, x in enumerate(arr))

    def forall_below(self, n: int, body: Callable[[int], Mask]) -> Mask:
        return self.all(*(body(j) for j in range(n)))

    def concrete(self, x: Mask) -> bool | None:
        """The guard's value if it is the same for the whole batch (``False``: no state
        enables the action, so the engine skips its effect), else ``None``."""
        if not isinstance(x, np.ndarray):
            return bool(x)
        if not x.any():
            return False
        return True if x.all() else None


ARRAY: Final = ArrayDomain()
"""The one array domain."""
