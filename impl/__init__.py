"""A threaded implementation of CPython 3.13's GIL protocol.

Real OS threads, real signals and a small eval loop, faithful to
Python/ceval_gil.c (CPython 3.13, default build). Start with
:class:`Interpreter`; the event vocabulary of ``trace=`` is in
:mod:`impl.trace`, the blocking-point hooks in :mod:`impl.waiters`.

``impl`` imports nothing from ``model``: the two are compared, so they must
not share code.
"""

from __future__ import annotations

from impl.breaker import EVENTS_BITS, EVENTS_MASK, Bit, Breaker
from impl.errors import GilProtocolError, MustExit, PendingFull
from impl.eval import Code, Instr, Op, run
from impl.fair_gil import FairGIL
from impl.gil import GIL
from impl.interpreter import Interpreter
from impl.pending import Pending
from impl.snapshot import Snapshot, ThreadSnapshot
from impl.thread import Phase, ThreadState
from impl.trace import TraceEvent, TraceLog
from impl.waiters import (
    BlockPoint,
    BlockRecorder,
    ControlledWaiter,
    Observer,
    RealWaiter,
    Waiter,
    WakeNotGranted,
)

__all__ = [
    "EVENTS_BITS",
    "EVENTS_MASK",
    "GIL",
    "Bit",
    "BlockPoint",
    "BlockRecorder",
    "Breaker",
    "Code",
    "ControlledWaiter",
    "FairGIL",
    "GilProtocolError",
    "Instr",
    "Interpreter",
    "MustExit",
    "Observer",
    "Op",
    "Pending",
    "PendingFull",
    "Phase",
    "RealWaiter",
    "Snapshot",
    "ThreadSnapshot",
    "ThreadState",
    "TraceEvent",
    "TraceLog",
    "Waiter",
    "WakeNotGranted",
    "run",
]
