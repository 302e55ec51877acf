"""Parameters of a model instance: how many threads, queue capacities, signals.

The defaults are CPython 3.13's constants (``Include/internal/pycore_ceval_state.h``:
``MAXPENDINGCALLS`` 300, ``MAXPENDINGCALLSLOOP`` 100, ``MAXPENDINGCALLS_MAIN``
32, ``MAXPENDINGCALLSLOOP_MAIN`` 0 meaning "the capacity").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MAX_THREADS: Final = 16
MAX_SIGNALS: Final = 8


class ConfigError(ValueError):
    """A configuration no model can be built for."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """One model instance's parameters. Thread 0 is the main thread."""

    threads: int = 3
    """Number of Python threads of the one interpreter, main included."""
    interp_capacity: int = 300
    """``interp->ceval.pending.max``."""
    interp_maxloop: int = 100
    """``interp->ceval.pending.maxloop``: calls per ``_make_pending_calls`` pass."""
    main_capacity: int = 32
    """``_PyRuntime.ceval.pending_mainthread.max``."""
    main_maxloop: int = 0
    """``pending_mainthread.maxloop``; 0 means the capacity, as in CPython."""
    signals: int = 2
    """Number of distinct signals with a Python handler installed."""
    liveness_bound: int = 1
    """K of the bounded-liveness properties: served within K eligible check points."""

    def __post_init__(self) -> None:
        if not 1 <= self.threads <= MAX_THREADS:
            raise ConfigError(f"config: threads must be in 1..{MAX_THREADS}, got {self.threads}")
        for name in ("interp_capacity", "main_capacity"):
            if getattr(self, name) < 1:
                raise ConfigError(f"config: {name} must be at least 1, got {getattr(self, name)}")
        for name, cap in (
            ("interp_maxloop", self.interp_capacity),
            ("main_maxloop", self.main_capacity),
        ):
            value = getattr(self, name)
            if not 0 <= value <= cap:
                raise ConfigError(f"config: {name} must be in 0..{cap} (the capacity), got {value}")
        if not 0 <= self.signals <= MAX_SIGNALS:
            raise ConfigError(f"config: signals must be in 0..{MAX_SIGNALS}, got {self.signals}")
        if self.liveness_bound < 1:
            raise ConfigError(
                f"config: liveness_bound must be at least 1, got {self.liveness_bound}"
            )

    @property
    def interp_loop(self) -> int:
        """Effective per-pass limit of the per-interpreter queue."""
        return self.interp_maxloop or self.interp_capacity

    @property
    def main_loop(self) -> int:
        """Effective per-pass limit of the main-thread queue (0 means the capacity)."""
        return self.main_maxloop or self.main_capacity


CPYTHON: Final = Config()
"""CPython 3.13's capacities with three threads."""
