"""States packed into fixed-width rows: the array interpretation's storage.

A :class:`Layout` is made from a model's initial state. It numbers the
state's scalar leaves (a queue's slots one by one, see :mod:`model.leaves`)
and converts between

* a *block*: an ``int64`` matrix of shape ``(width, n)``, one column per
  state, one row per leaf, so that a leaf of the whole batch is one
  contiguous row (what :class:`~engines.vector.ArrayDomain` computes on);
* a batch :class:`~model.state.State` whose leaves are those rows;
* concrete states (Python values), for traces and replay;
* *keys*: one ``bytes`` per state, the row narrowed to ``int16``, for the
  visited set. Every leaf of a finite model state fits (phases, counters
  under the quotient, 16-bit words read as signed): :meth:`keys` refuses a
  value that does not, rather than let two states share a key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from model.leaves import compile_flatten, compile_unflatten, flatten, leaf_paths, unflatten
from model.state import State

Block: TypeAlias = npt.NDArray[np.int64]
"""``(width, n)``: column ``j`` is state ``j``."""
Packed: TypeAlias = npt.NDArray[np.int16]
"""A block narrowed to 16 bits a leaf, as keys are: how a frontier waits to be fired."""

KEY_DTYPE = np.int16
"""A key holds each leaf in 16 bits: ``int16`` for integers, unsigned for words."""


class KeyRangeError(OverflowError):
    """A leaf value does not fit a key (the model's state space is not finite here)."""


@dataclass(frozen=True)
class Layout:
    """The leaves of one model configuration's states, in a fixed order."""

    template: State[bool, int]
    paths: tuple[str, ...]
    sorts: tuple[str, ...]

    @classmethod
    def of(cls, template: State[bool, int]) -> Layout:
        pairs = leaf_paths(template, whole_arrays=False)
        return cls(template, tuple(p for p, _ in pairs), tuple(s for _, s in pairs))

    @cached_property
    def _low(self) -> npt.NDArray[np.int64]:
        return np.array([[0 if s == "word" else -(1 << 15)] for s in self.sorts], dtype=np.int64)

    @cached_property
    def _high(self) -> npt.NDArray[np.int64]:
        return np.array(
            [[(1 << 16) - 1 if s == "word" else (1 << 15) - 1] for s in self.sorts], dtype=np.int64
        )

    @property
    def width(self) -> int:
        return len(self.paths)

    @property
    def key_bytes(self) -> int:
        """Memory of one key's payload (the visited set holds one per state)."""
        return self.width * np.dtype(KEY_DTYPE).itemsize

    def column(self, state: State[bool, int]) -> npt.NDArray[np.int64]:
        """One concrete state as a column."""
        return np.array([int(x) for x in flatten(state, whole_arrays=False)], dtype=np.int64)

    def block(self, states: list[State[bool, int]]) -> Block:
        out = np.empty((self.width, len(states)), dtype=np.int64)
        for j, s in enumerate(states):
            out[:, j] = self.column(s)
        return out

    @cached_property
    def _bools(self) -> npt.NDArray[np.intp]:
        return np.array([k for k, s in enumerate(self.sorts) if s == "bool"], dtype=np.intp)

    @cached_property
    def _build(self) -> Callable[[list[Any]], State[Any, Any]]:
        return compile_unflatten(self.template)

    @cached_property
    def _leaves(self) -> Callable[[State[Any, Any]], list[Any]]:
        return compile_flatten(self.template)

    def batch(self, block: Block) -> State[Any, Any]:
        """The batch state whose leaves are the rows of ``block`` (views, no copy)."""
        leaves: list[Any] = list(block)
        for k, row in zip(self._bools.tolist(), block[self._bools] != 0, strict=True):
            leaves[k] = row
        return self._build(leaves)

    def pack(self, batch: State[Any, Any], n: int) -> Block:
        """The block of a batch state of ``n`` states (constant leaves broadcast)."""
        out = np.empty((self.width, n), dtype=np.int64)
        for k, leaf in enumerate(self._leaves(batch)):
            out[k] = leaf
        return out

    def state(self, block: Block, j: int) -> State[bool, int]:
        """Column ``j`` as a concrete state."""
        leaves: list[Any] = []
        for v, sort in zip(block[:, j].tolist(), self.sorts, strict=True):
            leaves.append(bool(v) if sort == "bool" else int(v))
        return unflatten(self.template, leaves, whole_arrays=False)

    def keys(self, block: Block) -> list[bytes]:
        """One key per column: equal keys exactly when the columns are equal."""
        if block.shape[1] == 0:
            return []
        lo, hi = block.min(1), block.max(1)
        bad = (lo < self._low[:, 0]) | (hi > self._high[:, 0])
        if bad.any():
            row = int(np.argmax(bad))
            value = int(lo[row]) if lo[row] < self._low[row, 0] else int(hi[row])
            raise KeyRangeError(
                f"search: {self.paths[row]} reached {value}, outside "
                f"{int(self._low[row, 0])}..{int(self._high[row, 0])}; the state space is not "
                "finite under this variant's quotient"
            )
        # Narrowing wraps a word above 32767 to a negative int16: still one-to-one per leaf.
        rows = np.ascontiguousarray(block.T, dtype=KEY_DTYPE)
        return rows.view(np.dtype((np.void, self.key_bytes))).ravel().tolist()  # type: ignore[return-value]

    def narrow(self, block: Block) -> Packed:
        """``block`` in 16 bits a leaf (check it with :meth:`keys` first)."""
        return block.astype(KEY_DTYPE)

    def widen(self, packed: Packed) -> Block:
        """The block :meth:`narrow` was given (16-bit words come back unsigned)."""
        block = packed.astype(np.int64)
        words = self._words
        if words.size:
            w = block[words]
            block[words] = np.where(w < 0, w + (1 << 16), w)
        return block

    @cached_property
    def _words(self) -> npt.NDArray[np.intp]:
        return np.array([k for k, s in enumerate(self.sorts) if s == "word"], dtype=np.intp)

    def unkey(self, key: bytes) -> npt.NDArray[np.int64]:
        """The column a key was made from (16-bit words come back unsigned)."""
        raw = np.frombuffer(key, dtype=KEY_DTYPE).astype(np.int64)
        words = np.array([s == "word" for s in self.sorts])
        return np.where(words & (raw < 0), raw + (1 << 16), raw)
