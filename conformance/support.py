"""Shared test constants and helpers: bounded waits that fail with a sentence.

Every blocking wait in the suite takes its timeout from here, in the manner of
CPython's ``Lib/test/support`` (``SHORT_TIMEOUT`` / ``LONG_TIMEOUT``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final

# Timeout in seconds to mark a test as failed when a handshake that should
# complete at once (a thread reaching a blocking point, an event being set)
# takes "too long". If a test using SHORT_TIMEOUT starts to fail randomly on a
# slow machine, use LONG_TIMEOUT instead; never add a retry.
SHORT_TIMEOUT: Final = 10.0

# Timeout in seconds for a hang guard: joining threads at teardown, a whole
# scenario that involves many hand-offs.
LONG_TIMEOUT: Final = 60.0


def wait_for_event(event: threading.Event, what: str, timeout: float = SHORT_TIMEOUT) -> None:
    """Wait for ``event``; fail with ``what`` (a sentence fragment) if it never comes."""
    if not event.wait(timeout):
        raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")


def wait_until(
    cond: threading.Condition,
    predicate: Callable[[], bool],
    what: str,
    timeout: float = SHORT_TIMEOUT,
) -> None:
    """Wait on ``cond`` (which the caller must hold) until ``predicate()``; fail loudly."""
    if not cond.wait_for(predicate, timeout):
        raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}")


def join_thread(thread: threading.Thread, timeout: float = LONG_TIMEOUT) -> None:
    """Join ``thread`` or fail the way CPython's ``threading_helper.join_thread`` does."""
    thread.join(timeout)
    if thread.is_alive():
        raise AssertionError(f"failed to join the thread {thread.name} in {timeout:.1f} seconds")
