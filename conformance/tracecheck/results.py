"""What a check yields: :class:`Stats` of the checked log, or :class:`Unmatched` at a miss."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from impl import TraceEvent


class Unmatched(AssertionError):
    """An event that no model transition explains; the message says which and why."""

    def __init__(self, index: int, event: TraceEvent, actor: int | None, report: str) -> None:
        super().__init__(report)
        self.index = index
        self.event = event
        self.actor = actor


@dataclass(slots=True)
class Stats:
    """What the checked part of the log did."""

    events: int = 0
    hand_offs: int = 0
    """Acquisitions by a thread other than ``last_holder`` (``switch_number`` bumps)."""
    drop_requests: int = 0
    calls_run: int = 0
    calls_failed: int = 0
    adds: int = 0
    refused_adds: int = 0
    busy_hand_offs: int = 0
    signals_tripped: int = 0
    signals_handled: int = 0
    handler_errors: int = 0
    async_posted: int = 0
    async_delivered: int = 0
    forced_switch_waits: int = 0
    max_states: int = 1
    """Largest candidate set seen."""
    names: Counter[str] = field(default_factory=Counter)

    def as_rows(self) -> list[tuple[str, int]]:
        return [
            ("events checked", self.events),
            ("hand-offs (switch_number bumps)", self.hand_offs),
            ("drop requests", self.drop_requests),
            ("forced-switch waits", self.forced_switch_waits),
            ("pending calls run", self.calls_run),
            ("  of which failed", self.calls_failed),
            ("adds accepted", self.adds),
            ("adds refused (queue full)", self.refused_adds),
            ("drains handed off (busy)", self.busy_hand_offs),
            ("signals tripped", self.signals_tripped),
            ("signals handled", self.signals_handled),
            ("  handler errors", self.handler_errors),
            ("async exceptions posted", self.async_posted),
            ("async exceptions delivered", self.async_delivered),
            ("largest candidate set", self.max_states),
        ]


COUNTED: Final[dict[str, tuple[str, ...]]] = {
    "drop_request.set": ("drop_requests",),
    "drop_gil.switch_wait": ("forced_switch_waits",),
    "callback.return": ("calls_run",),
    "callback.raise": ("calls_run", "calls_failed"),
    "make_pending_calls.busy": ("busy_hand_offs",),
    "signal.tripped": ("signals_tripped",),
    "signal.handler": ("signals_handled",),
    "signal.handler_raise": ("handler_errors",),
    "async_exc.set": ("async_posted",),
    "async_exc.raise": ("async_delivered",),
}
"""The :class:`Stats` counters an event adds one to (acquisitions and pushes aside)."""
