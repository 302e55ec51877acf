"""Recording impl's event log: the ``trace=`` callable a run is given."""

from __future__ import annotations

import threading
import typing
from collections import deque

from impl import TraceEvent


@typing.final
class Recorder:
    """A ``trace=`` callable that keeps ``(event, actor)`` pairs in order, cheaply.

    ``actor`` is ``event.thread`` when impl names it; otherwise the
    ``ThreadState`` id bound (:meth:`bind`) to the host thread that logged the
    event, or ``None`` (the environment: a signal handler on the host's main
    thread). Appending is one deque append (atomic), so the recorder is safe
    inside impl's critical sections and in a signal handler; :meth:`drain` takes
    what was recorded so far, oldest first, from any thread.
    """

    def __init__(self) -> None:
        self._events: deque[tuple[TraceEvent, int | None]] = deque()
        self._actors: dict[int, int] = {}
        self.recorded = 0
        """Events handed out by :meth:`drain` so far."""

    def __call__(self, event: TraceEvent) -> None:
        thread = event.thread
        if thread is None:
            thread = self._actors.get(threading.get_ident())
        self._events.append((event, thread))

    def bind(self, ts_id: int) -> None:
        """The calling host thread acts as ``ThreadState`` ``ts_id`` from now on."""
        self._actors[threading.get_ident()] = ts_id

    def __len__(self) -> int:
        """Events recorded and not yet drained."""
        return len(self._events)

    def drain(self, limit: int | None = None) -> list[tuple[TraceEvent, int | None]]:
        """Remove and return up to ``limit`` of the oldest events."""
        events = self._events
        n = len(events) if limit is None else min(limit, len(events))
        out = [events.popleft() for _ in range(n)]
        self.recorded += n
        return out
