"""The gate: how the load pauses, every thread parked and detached, while the checker runs."""

from __future__ import annotations

import threading

from conformance.support import LONG_TIMEOUT


class Gate:
    """Open: the load runs. Closed: threads park (detached) at their next step.

    A thread parks with :meth:`park` (detached: inside an allow-threads
    section) and says :meth:`finish` when it ends; the checker closes the gate
    and waits (:meth:`wait_parked`) until every thread has done one or the other.
    """

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self._quiet = threading.Condition()
        self._parked = 0
        self._finished = 0

    @property
    def closed(self) -> bool:
        return not self._open.is_set()

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    def wait_open(self) -> None:
        if not self._open.wait(LONG_TIMEOUT):
            raise AssertionError(
                f"timed out after {LONG_TIMEOUT:.1f} s waiting for the checker to reopen the gate"
            )

    def park(self) -> None:
        """Wait, counted as parked, until the gate opens (call it detached)."""
        with self._quiet:
            self._parked += 1
            self._quiet.notify_all()
        try:
            self.wait_open()
        finally:
            with self._quiet:
                self._parked -= 1

    def finish(self) -> None:
        """The calling thread is done: it will not park again."""
        with self._quiet:
            self._finished += 1
            self._quiet.notify_all()

    def wait_parked(self, k: int) -> None:
        """Wait until all ``k`` threads are parked or finished."""
        with self._quiet:
            if not self._quiet.wait_for(lambda: self._parked + self._finished >= k, LONG_TIMEOUT):
                raise AssertionError(
                    f"timed out after {LONG_TIMEOUT:.1f} s waiting for the {k} threads to park "
                    f"for the checker (parked {self._parked}, finished {self._finished})"
                )
