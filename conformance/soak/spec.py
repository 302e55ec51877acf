"""What a load is asked to do (:class:`LoadSpec`), what it counts, and what it raises on purpose."""

from __future__ import annotations

import signal
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

SIGNALS: Final = tuple(
    s for s in (getattr(signal, "SIGUSR1", None), getattr(signal, "SIGUSR2", None)) if s
)
"""The real signals used, ascending (so model signal k is ``SIGNALS[k]``)."""

MAX_THREADS: Final = 16
"""ThreadStates of a load, main included: from 1 to this (the model's limit)."""
MAX_SECONDS: Final = 86_400.0
"""The longest timed run, in seconds (a day)."""
MIN_INTERVAL: Final = 1e-6
"""The shortest switch interval, in seconds: impl stores it in whole microseconds."""
MAX_INTERVAL: Final = 1.0
"""The longest switch interval, in seconds: a longer one would seldom expire, so few forced
switches would be checked."""


class AsyncPoke(Exception):
    """The asynchronous exception the load posts (numbered, to match deliveries)."""


class CallbackFailure(Exception):
    """A pending call that fails on purpose."""


class HandlerFailure(Exception):
    """A signal handler that fails on purpose."""


EXPECTED: Final = (AsyncPoke, CallbackFailure, HandlerFailure)
"""The exceptions the load raises on purpose: a thread counts them and goes on."""


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """What to run: ``threads`` ThreadStates (main included) for ``steps`` each or ``seconds``."""

    threads: int = 4
    steps: int | None = 300
    """Random steps per thread; ``None`` to run for ``seconds``."""
    seconds: float | None = None
    seed: int = 0
    interval: float = 0.0002
    """impl's switch interval, in seconds."""
    signals: bool = True
    backlog: int = 20_000
    """Unchecked events at which the gate closes (the load pauses until checked)."""
    stall: float = 10.0
    """Seconds with no event (the checker's pauses aside) after which impl is stuck."""


@dataclass(slots=True)
class LoadCounts:
    """What the load did, counted by the load itself (the checker counts what it saw)."""

    steps: int = 0
    signals_sent: int = 0
    exceptions: Counter[str] = field(default_factory=Counter)
    pauses: int = 0
