"""``impl``'s locks as the test thread sees them: bounded waits, and teardown's last resort.

The test thread takes some of ``impl``'s locks itself: ``Interpreter.snapshot``
takes ``gil->mutex``, ``switch_mutex`` and the queues' mutexes, a
ControlledWaiter ``wake`` takes the condition's lock, ``trip_signal`` a
breaker's lock. Those acquisitions have no timeout. At a sync point no thread
of a correct ``impl`` holds any of them (every worker waits for a command,
parks in a condition wait, which releases its mutex, or has exited), so the
harness first waits for each lock, bounded: a lock that stays held is a
divergence reported in a sentence, not a test process that hangs forever (as
``release-keeps-mutex`` in :mod:`conformance.broken_impls` used to do).

Teardown goes one step further (:meth:`ImplLocks.break_stuck`,
:meth:`ImplLocks.break_held`): a lock that a sync point found held, or that is
held when no thread runs, has no owner that will release it, so it is released
by force (a ``threading.Lock`` has no owner), which lets a worker blocked on it
run on to its end (:mod:`conformance.teardown`).
"""

from __future__ import annotations

import sys
import threading
import traceback
from pathlib import Path

from conformance.support import SHORT_TIMEOUT
from impl import BlockPoint, Interpreter

HELD: str = f"still held after {SHORT_TIMEOUT:.1f} s, with no thread running"
"""What the harness says of a lock that a sync point finds held."""


class ImplLocks:
    """The locks the test thread may need, by name, in ``impl``'s lock order."""

    def __init__(self, interp: Interpreter) -> None:
        gil = interp.gil
        self.locks: dict[str, threading.Lock] = {
            "gil->mutex": gil._mutex,
            "gil->switch_mutex": gil._switch_mutex,
            "the per-interpreter pending-call mutex": interp.pending._mutex,
            "the main thread's pending-call mutex": interp.pending_main._mutex,
            "the thread list lock": interp._threads_lock,
        }
        for ts in interp.threads:
            self.locks[f"T{ts.id}'s eval breaker lock"] = ts.breaker._lock
        self.stuck: list[str] = []
        """Locks found held for a whole bound (by :meth:`first_held` or :meth:`wait_free`)."""

    @staticmethod
    def of(point: BlockPoint) -> str:
        """The name of the lock of the condition a thread parked at ``point`` waits on."""
        return "gil->mutex" if point is BlockPoint.TAKE_GIL else "gil->switch_mutex"

    def wait_free(self, name: str, timeout: float) -> bool:
        """Whether lock ``name`` is free within ``timeout`` s (taken and given back at once)."""
        if name in self.stuck:
            return False
        lock = self.locks[name]
        if lock.acquire(timeout=timeout):
            lock.release()
            return True
        self.stuck.append(name)
        return False

    def first_held(self, timeout: float) -> str | None:
        """The first lock that stays held for ``timeout`` s, if any."""
        return next((name for name in self.locks if not self.wait_free(name, timeout)), None)

    def break_stuck(self) -> list[str]:
        """Teardown only: release by force every lock still held that was found stuck."""
        broken = []
        for name in self.stuck:
            lock = self.locks[name]
            if lock.locked():
                try:
                    lock.release()
                except RuntimeError:  # its holder released it just now
                    continue
                broken.append(name)
        self.stuck.clear()
        return broken

    def break_held(self) -> list[str]:
        """Teardown only, when no thread runs: every held lock is stuck.

        No thread runs once a worker posted ``ended`` and the others wait (see
        :mod:`conformance.teardown`), or after a whole bound with no event.
        """
        self.stuck.extend(
            n for n, lock in self.locks.items() if lock.locked() and n not in self.stuck
        )
        return self.break_stuck()


def where_blocked(thread: threading.Thread) -> str:
    """Where ``thread`` is now: its innermost frames, innermost first."""
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return "nowhere (it has ended)"
    stack = traceback.extract_stack(frame)[-3:]
    return ", called from ".join(
        f"{Path(f.filename).name}:{f.lineno} in {f.name} ({(f.line or '').strip()})"
        for f in reversed(stack)
    )
