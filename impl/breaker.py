"""The per-thread eval breaker: ``PyThreadState.eval_breaker`` in CPython 3.13.

Mirrors Include/internal/pycore_ceval.h (CPython 3.13): the event bits, the
``_PY_EVAL_EVENTS_MASK`` and the ``_Py_set_eval_breaker_bit`` /
``_Py_unset_eval_breaker_bit`` / ``_Py_eval_breaker_bit_is_set`` accessors. The
bits above the mask hold the instrumentation (``sys.monitoring``) version.

Atomicity strategy
------------------
CPython changes the word with one atomic OR or AND. Pure Python has no atomic
read-modify-write, so each :class:`Breaker` owns a small ``threading.Lock``
that every write (``set``, ``clear``, ``set_version``) takes; the GIL is not
relied on, so the writes stay atomic with respect to each other on
free-threaded builds too. Reads (``load``) take no lock: reading one attribute
that holds an ``int`` is atomic on every CPython build.

Besides the whole word, a breaker keeps ``_events``, the word's event bits
(``word & EVENTS_MASK``), stored after the word in the same critical section, so
that a check point is one attribute read. A check that reads an ``_events``
value older than the word is a check that happened just before the write.

The critical section is exactly ``with self._lock:`` around a load, an
operation and the two stores. It contains no call, no backward jump and no
``RESUME``, so the host interpreter never runs a Python-level signal handler
while a thread holds the lock (host handlers run only at eval-breaker check
points, and blocking in ``Lock.acquire`` runs them before the lock is taken).
That is why :meth:`impl.Interpreter.trip_signal`, which runs inside a real
``signal.signal`` handler and sets the main thread's SIGNALS bit, cannot
deadlock on this lock: the lock stands in for the hardware atomic and is not a
protocol lock in the sense of bpo-30703.
"""

from __future__ import annotations

import enum
import threading
import typing
from typing import Final

EVENTS_BITS: Final = 8
"""``_PY_EVAL_EVENTS_BITS``: the low bits of the word that are events."""

EVENTS_MASK: Final = (1 << EVENTS_BITS) - 1
"""``_PY_EVAL_EVENTS_MASK`` (0xFF): a check point acts iff ``word & EVENTS_MASK``."""


class Bit(enum.IntFlag, boundary=enum.STRICT):
    """The eval-breaker event bits, with CPython's values.

    Mirrors the ``_PY_*_BIT`` macros in Include/internal/pycore_ceval.h
    (CPython 3.13; ``JIT_INVALIDATE_COLD`` exists only from 3.14 and is never
    set or handled here).

    A ``Bit`` is a combination of event bits, ``0`` to ``EVENTS_MASK``:
    ``Bit(v)`` raises ValueError for any other ``v`` (``Bit(0x200)`` would be
    an instrumentation version). ``~`` stays inside the mask; ``|`` and
    ``^`` give a ``Bit`` when the result is inside the mask and the plain int
    otherwise, so that ``word | Bit.CALLS_TO_DO`` for a word with version bits
    is an int (the word with the bit), while ``word & Bit.CALLS_TO_DO`` is
    always inside the mask and so a ``Bit``.
    """

    GIL_DROP_REQUEST = 1 << 0
    SIGNALS_PENDING = 1 << 1
    CALLS_TO_DO = 1 << 2
    ASYNC_EXCEPTION = 1 << 3
    GC_SCHEDULED = 1 << 4
    EVAL_PLEASE_STOP = 1 << 5
    EXPLICIT_MERGE = 1 << 6
    JIT_INVALIDATE_COLD = 1 << 7

    @classmethod
    def _missing_(cls, value: object) -> Bit:
        """Make a combination inside the mask; refuse anything else in one line."""
        if isinstance(value, int) and 0 <= value <= EVENTS_MASK:
            result: Bit = super()._missing_(int(value))  # Bit(False) holds 0, not False
            return result
        raise ValueError(
            f"Bit: {value!r} is not a combination of eval-breaker bits"
            f" (the event mask is {EVENTS_MASK:#x})"
        )

    # IntFlag's operators build ``Bit(result)``; outside the mask that would raise,
    # so the result is the plain word instead. The override is deliberate: for an
    # int operand the result is ``Bit | int``, not IntFlag's ``Self``.
    @typing.overload  # type: ignore[override]
    def __or__(self, other: Bit) -> Bit: ...
    @typing.overload
    def __or__(self, other: int) -> Bit | int: ...
    def __or__(self, other: int) -> Bit | int:
        if not isinstance(other, int):
            return NotImplemented
        return _bit_or_word(self._value_ | int(other))

    @typing.overload  # type: ignore[override]
    def __xor__(self, other: Bit) -> Bit: ...
    @typing.overload
    def __xor__(self, other: int) -> Bit | int: ...
    def __xor__(self, other: int) -> Bit | int:
        if not isinstance(other, int):
            return NotImplemented
        return _bit_or_word(self._value_ ^ int(other))

    __ror__ = __or__  # type: ignore[assignment]
    __rxor__ = __xor__  # type: ignore[assignment]
    # ``&`` is IntFlag's: a Bit has no bit outside the mask, so neither has the result.


def _bit_or_word(value: int) -> Bit | int:
    """``value`` as a :class:`Bit` if it is inside the event mask, else the plain int."""
    return Bit(value) if 0 <= value <= EVENTS_MASK else value


def _check_bits(op: str, bits: object) -> int:
    """Return ``bits`` as an int, or raise the error for a bad event mask."""
    if not isinstance(bits, int) or isinstance(bits, bool):
        raise TypeError(f"{op}: bits must be an int, not {type(bits).__name__}")
    if bits < 0 or bits & ~EVENTS_MASK:
        raise ValueError(f"{op}: bits {bits:#x} are outside the event mask {EVENTS_MASK:#x}")
    return int(bits)


@typing.final
class Breaker:
    """One thread's eval-breaker word: event bits below the mask, version above.

    Writes are serialised by a per-breaker lock (see the module docstring);
    ``load`` is a plain read. The public ``set``/``clear``/``is_set`` validate
    their argument; the package itself uses the unchecked ``_set``/``_clear``.
    """

    __slots__ = ("_events", "_lock", "_value")

    def __init__(self) -> None:
        self._value = 0
        self._events = 0  # _value & EVENTS_MASK, for check points
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Breaker({self._value:#x})"

    def load(self) -> int:
        """Return the whole word (events and version).

        Mirrors ``_Py_atomic_load_uintptr_relaxed(&tstate->eval_breaker)``.
        """
        return self._value

    def set(self, bits: int) -> None:
        """Set event ``bits``; the other bits and the version are kept.

        Mirrors ``_Py_set_eval_breaker_bit()`` in Include/internal/pycore_ceval.h
        (CPython 3.13), an atomic OR.

        Raises:
            TypeError: ``bits`` is not an int (``bool`` is refused too).
            ValueError: ``bits`` has a bit outside ``EVENTS_MASK``.
        """
        self._set(_check_bits("Breaker.set", bits))

    def clear(self, bits: int) -> None:
        """Clear event ``bits``; the other bits and the version are kept.

        Mirrors ``_Py_unset_eval_breaker_bit()`` in Include/internal/pycore_ceval.h
        (CPython 3.13), an atomic AND with the complement.

        Raises:
            TypeError: ``bits`` is not an int.
            ValueError: ``bits`` has a bit outside ``EVENTS_MASK``.
        """
        self._clear(_check_bits("Breaker.clear", bits))

    def is_set(self, bit: int) -> bool:
        """Whether any of ``bit`` is set.

        Mirrors ``_Py_eval_breaker_bit_is_set()`` in Include/internal/pycore_ceval.h
        (CPython 3.13).

        Raises:
            TypeError: ``bit`` is not an int.
            ValueError: ``bit`` has a bit outside ``EVENTS_MASK``.
        """
        return bool(self._value & _check_bits("Breaker.is_set", bit))

    @property
    def version(self) -> int:
        """The instrumentation version: the bits above ``EVENTS_MASK``."""
        return self._value & ~EVENTS_MASK

    def set_version(self, version: int) -> None:
        """Replace the bits above the mask by ``version``; the events are kept.

        Mirrors ``set_version_raw()`` in Python/instrumentation.c (CPython 3.13),
        a CAS loop.

        Raises:
            TypeError: ``version`` is not an int.
            ValueError: ``version`` is negative or not a multiple of 256.
        """
        self._copy_version(_check_version("Breaker.set_version", version))

    # Unchecked writers used inside the package. Each critical section must stay a
    # single load-op-store with no call in it (see the module docstring).
    def _set(self, bits: int) -> None:
        with self._lock:
            value = self._value | bits
            self._value = value
            self._events = value & EVENTS_MASK

    def _clear(self, bits: int) -> None:
        with self._lock:
            value = self._value & ~bits
            self._value = value
            self._events = value & EVENTS_MASK

    def _copy_version(self, version: int) -> None:
        """Mirrors ``copy_eval_breaker_bits()`` in Python/ceval_gil.c (CPython 3.13)."""
        if self._value & ~EVENTS_MASK == version:
            return
        with self._lock:
            self._value = (self._value & EVENTS_MASK) | version  # events unchanged


def _check_version(op: str, version: object) -> int:
    if not isinstance(version, int) or isinstance(version, bool):
        raise TypeError(f"{op}: version must be an int, not {type(version).__name__}")
    if version < 0 or version & EVENTS_MASK:
        raise ValueError(f"{op}: version {version:#x} is not a non-negative multiple of 256")
    return int(version)
