"""Pending-call queues: ``struct _pending_calls`` (CPython 3.13).

Mirrors ``_push_pending_call()``, ``_pop_pending_call()`` and
``_make_pending_calls()`` in Python/ceval_gil.c and the queue sizes in
Include/internal/pycore_ceval_state.h (CPython 3.13): the per-interpreter queue
holds 300 calls and runs at most 100 per pass; the main-thread queue holds 32
and runs up to all of them (``maxloop`` 0 means ``max``).

Protected by the queue's ``_mutex`` (``pending->mutex``): the calls and the
sequence counter. ``len()`` reads without it, like the atomic ``npending``.
"""

from __future__ import annotations

import threading
import typing
from collections import deque
from collections.abc import Callable

from impl.errors import PendingFull
from impl.trace import Trace, TraceEvent

PendingCall = Callable[[], object]
"""A pending call takes no argument; raising is CPython's ``return -1``."""


def check_callable(fn: object) -> None:
    """Raise the TypeError ``add_pending_call`` gives for a non-callable."""
    if not callable(fn):
        raise TypeError(f"add_pending_call: callback must be callable, not {type(fn).__name__}")


def _check_count(name: str, value: object, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"Pending: {name} must be an int, not {type(value).__name__}")
    if not 1 <= value <= high:
        raise ValueError(f"Pending: {name} must be from 1 to {high}, not {value}")
    return value


@typing.final
class Pending:
    """A bounded FIFO of calls to make at a later check point.

    Args:
        capacity: ``max``: how many calls it holds (1 to 300, CPython's array size).
        max_per_pass: ``maxloop``: how many :meth:`drain` makes at most; ``None``
            means ``capacity`` (CPython's ``maxloop == 0``).
    """

    __slots__ = ("_calls", "_lin", "_max", "_maxloop", "_mutex", "_seq", "_trace", "name")

    def __init__(self, capacity: int = 32, max_per_pass: int | None = None) -> None:
        self._max = _check_count("capacity", capacity, 300)
        self._maxloop = (
            self._max
            if max_per_pass is None
            else _check_count("max_per_pass", max_per_pass, self._max)
        )
        self._calls: deque[tuple[int, PendingCall]] = deque()
        self._mutex = threading.Lock()
        self._seq = 0
        self._trace: Trace | None = None
        self._lin: threading.RLock | None = None
        """The interpreter's linearization lock when traced (see :mod:`impl.trace`)."""
        self.name = "pending"

    def __len__(self) -> int:
        """``npending``."""
        return len(self._calls)

    def __repr__(self) -> str:
        return f"<Pending {self.name} {len(self._calls)}/{self._max}>"

    @property
    def capacity(self) -> int:
        """``pending->max``."""
        return self._max

    @property
    def max_per_pass(self) -> int:
        """``pending->maxloop`` (0 already replaced by ``max``)."""
        return self._maxloop

    def calls(self) -> tuple[PendingCall, ...]:
        """The queued callables, oldest first."""
        with self._mutex:
            return tuple(fn for _, fn in self._calls)

    def add(self, fn: PendingCall) -> int:
        """Append ``fn``; return its sequence number in this queue.

        Mirrors ``_push_pending_call()`` in Python/ceval_gil.c (CPython 3.13),
        under ``pending->mutex``. Signalling a thread is the interpreter's job
        (:meth:`impl.Interpreter.add_pending_call`).

        Raises:
            TypeError: ``fn`` is not callable.
            PendingFull: the queue holds ``capacity`` calls; nothing changed.
        """
        check_callable(fn)
        seq = self._push(fn)
        if seq is None:
            raise self._full()
        return seq

    def _full(self) -> PendingFull:
        return PendingFull(f"add_pending_call: the {self.name} queue is full ({self._max} calls)")

    def _push(self, fn: PendingCall) -> int | None:
        lin = self._lin
        with self._mutex:
            if lin is not None:
                lin.acquire()
            try:
                if len(self._calls) >= self._max:
                    seq = None
                else:
                    self._seq += 1
                    seq = self._seq
                    self._calls.append((seq, fn))
                if self._trace is not None:
                    self._trace(
                        TraceEvent(
                            "add_pending_call.push",
                            None,
                            {
                                "queue": self.name,
                                "call": seq,
                                "fn": fn,
                                "full": seq is None,
                                "npending": len(self._calls),
                            },
                        )
                    )
            finally:
                if lin is not None:
                    lin.release()
        return seq

    def drain(self, actor: int | None = None) -> int:
        """Pop and make up to ``max_per_pass`` calls, oldest first.

        Mirrors ``_make_pending_calls()`` in Python/ceval_gil.c (CPython 3.13):
        each iteration pops one call and reads ``npending`` under the mutex, then
        makes the call with the mutex released. A raising call has already been
        popped: it is consumed, its exception propagates and the rest stay
        queued in order.

        Returns ``npending`` as read at the last pop (``*p_npending``), which is
        stale if a call added more meanwhile, exactly as in CPython; ``-1`` never
        happens because ``max_per_pass >= 1``.
        """
        trace = self._trace
        lin = self._lin
        npending = -1
        for _ in range(self._maxloop):
            with self._mutex:
                if lin is not None:
                    lin.acquire()
                try:
                    item = self._calls.popleft() if self._calls else None
                    npending = len(self._calls)
                    if trace is not None:
                        if item is None:
                            trace(
                                TraceEvent(
                                    "make_pending_calls.loop_end",
                                    actor,
                                    {"queue": self.name, "reason": "empty", "npending": npending},
                                )
                            )
                        else:
                            trace(
                                TraceEvent(
                                    "make_pending_calls.pop",
                                    actor,
                                    {
                                        "queue": self.name,
                                        "call": item[0],
                                        "fn": item[1],
                                        "npending": npending,
                                    },
                                )
                            )
                finally:
                    if lin is not None:
                        lin.release()
            if item is None:
                return npending
            seq, fn = item
            try:
                fn()
            except BaseException as exc:
                if trace is not None:
                    trace(
                        TraceEvent(
                            "callback.raise", actor, {"queue": self.name, "call": seq, "exc": exc}
                        )
                    )
                raise
            if trace is not None:
                trace(TraceEvent("callback.return", actor, {"queue": self.name, "call": seq}))
        if trace is not None:
            trace(
                TraceEvent(
                    "make_pending_calls.loop_end",
                    actor,
                    {"queue": self.name, "reason": "maxloop", "npending": npending},
                )
            )
        return npending
