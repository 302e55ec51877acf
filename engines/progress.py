"""What a verify run is doing, as it does it: phases, and each verdict as it is settled.

The engines call :func:`phase` and :func:`settled`; whoever runs them (the
command, a test) listens with :func:`listening`. In a worker process
(:mod:`engines.workers`) the listener forwards the events to the parent, so
the same calls report from either side. With no listener the calls cost a
test of ``None``.

A settled entry is final: a violation is a replayed trace, a proof holds
unless the vacuity guard later finds its trigger unreachable (the report then
says *vacuous*).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from model.trace import Trace


@dataclass(frozen=True)
class Phase:
    """A step of the run began or advanced: ``"z3 BMC: depth 3 of 13"``."""

    text: str


@dataclass(frozen=True)
class Settled:
    """An entry's verdict, known before the run ends."""

    id: str
    status: Literal["proved", "violated"]
    engine: str
    seconds: float
    k: int | None = None
    depth: int | None = None
    trace: Trace | None = None
    note: str = ""
    shared: bool = False
    """``seconds`` are the time into a search for several entries at once, not this one's."""


Event = Phase | Settled


class Interrupted(BaseException):
    """The run was asked to end by a signal (SIGTERM; SIGINT is KeyboardInterrupt).

    A BaseException, like KeyboardInterrupt, so that no ``except Exception``
    between the signal handler and :func:`engines.verify.verify` swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


Listener = Callable[[Event], None]

_listener: Listener | None = None


def phase(text: str) -> None:
    if _listener is not None:
        _listener(Phase(text))


def settled(event: Settled) -> None:
    if _listener is not None:
        _listener(event)


@contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Send the events of the code run inside to ``listener`` (None: drop them)."""
    global _listener
    before, _listener = _listener, listener
    try:
        yield
    finally:
        _listener = before
