"""Eval-breaker bits, with CPython 3.13's values.

Mirrors ``Include/internal/pycore_ceval.h`` (CPython 3.13.0, lines 262-273).
Deviates: ``JIT_INVALIDATE_COLD`` (0x80) first appears in CPython 3.14; it is
kept so the event mask has every bit named, and no 3.13 action sets it (nor
PLEASE_STOP or EXPLICIT_MERGE, which only free-threaded builds set).
The bits above :data:`EVENTS_MASK` hold the instrumentation version
(``interp->ceval.instrumentation_version``), a multiple of 256.
"""

from __future__ import annotations

import enum
from typing import Final


class Bit(enum.IntFlag):
    """``_PY_*_BIT`` values of ``tstate->eval_breaker``."""

    GIL_DROP_REQUEST = 1 << 0
    SIGNALS_PENDING = 1 << 1
    CALLS_TO_DO = 1 << 2
    ASYNC_EXCEPTION = 1 << 3
    GC_SCHEDULED = 1 << 4
    EVAL_PLEASE_STOP = 1 << 5
    EXPLICIT_MERGE = 1 << 6
    JIT_INVALIDATE_COLD = 1 << 7


EVENTS_BITS: Final = 8
EVENTS_MASK: Final = (1 << EVENTS_BITS) - 1
VERSION_STEP: Final = 1 << EVENTS_BITS
"""What ``set_global_version`` adds to the instrumentation version (one event-mask width)."""
WORD_BITS: Final = 16
"""Width of the breaker word in the model: 8 event bits and 8 version bits.

CPython's ``eval_breaker`` is a ``uintptr_t``; the model keeps its low 16 bits,
so the instrumentation version wraps after 256 bumps."""
WORD_MASK: Final = (1 << WORD_BITS) - 1
VERSION_MASK: Final = WORD_MASK & ~EVENTS_MASK

FREE_THREADED_BITS: Final = Bit.EVAL_PLEASE_STOP | Bit.EXPLICIT_MERGE | Bit.JIT_INVALIDATE_COLD
"""Bits no action of a 3.13 default (GIL) build sets.

Stop-the-world is a no-op outside ``Py_GIL_DISABLED`` builds
(``_PyEval_StopTheWorld`` in Python/pystate.c), refcount merging is
free-threaded only, and the JIT bit first appears in 3.14.
"""


def bit_names(value: int) -> list[str]:
    """The names of the event bits set in ``value``, in bit order."""
    return [b.name for b in Bit if value & b and b.name is not None]
