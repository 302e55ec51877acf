"""Teardown of the lock-step harness: stop the workers one at a time, in lock-step.

:meth:`conformance.harness.Lockstep.close` sets finalization and then hands
the workers to :func:`stop_workers`. Teardown keeps the discipline of a
harness step: at most one worker runs at any time, and the test thread waits
(bounded) for *that* worker's events until it posts ``ended``.

* The workers that are not parked in the ControlledWaiter go first, the holder
  of the GIL among them: it drops the GIL on its own host thread before any
  waiter is woken. A parked thread woken while the GIL is still held would ask
  for a drop and park again, or (with a broken ``impl``) find a lock that the
  holder's ``drop_gil`` left locked meanwhile.
* Then each parked worker in turn is woken with ``timed_out=True``; a
  non-main thread exits at the wake-up (the interpreter is finalizing), the
  main thread takes the free GIL and unwinds. (The waiter is not simply
  closed first: a closed waiter returns at once, and the main thread would
  then spin in ``take_gil`` holding the GIL's mutex that the holder needs.)
* A woken worker may park again: with a FIFO GIL (:class:`impl.FairGIL`,
  the ``fair-gil`` design) a waiter that is not the head of the queue waits
  again when it wakes to a free GIL, whether or not the interpreter is
  finalizing (a thread checks that it must exit only on a timeout with the
  GIL held, or once it took the GIL, as in CPython). It is left parked, and
  woken again in the next round, after the threads ahead of it: each round
  ends at least the head of the queue, so the rounds are bounded. (Before,
  teardown woke such a worker again at once, for ever: the hang of the first
  fair-gil lock-step run.) The finalizing thread, which does not exit, goes
  last among the parked ones.

Once a worker posted ``ended`` no thread runs: every other worker waits for a
command, waits in a condition wait (which released its mutex), or waits to be
released after it exited. So a lock of ``impl`` held at that moment has no
owner that will release it: ``release-keeps-mutex``
(:mod:`conformance.broken_impls`) leaves ``gil->mutex`` locked when its
holder drops the GIL with waiters parked. Such a lock is released by force
there and then (:meth:`conformance.locks.ImplLocks.break_held`), so that the
next worker's wake-up, which takes the condition's lock, does not block on it.
(Before, every worker was told to stop at once and the parked ones woken
meanwhile: whether a woken waiter reacquired ``gil->mutex`` before or after
the holder's ``drop_gil`` kept it was a race, lost under load, and the loser
stayed blocked until the second round of teardown, recorded as a leak.)

A worker that posts nothing for :data:`SHORT_TIMEOUT` is stuck on a lock (every
lock still held is stuck, since no other thread runs): teardown releases them,
records it, and waits one bound more. What teardown could not do is returned
as sentences for :data:`conformance.harness.LEAKED`; it never raises.
"""

from __future__ import annotations

import queue
from typing import Literal

from conformance.locks import ImplLocks, where_blocked
from conformance.support import LONG_TIMEOUT, SHORT_TIMEOUT
from conformance.workers import Event, Worker
from impl import BlockPoint, ControlledWaiter


def stop_workers(
    workers: list[Worker],
    waiter: ControlledWaiter,
    events: queue.SimpleQueue[Event],
    locks: ImplLocks,
) -> list[str]:
    """Stop every started worker, one at a time, and join it; what went wrong, if anything.

    The caller has set finalization and the workers' stopping flag.
    """
    return _Teardown(waiter, events, locks).run(workers)


class _Teardown:
    def __init__(
        self, waiter: ControlledWaiter, events: queue.SimpleQueue[Event], locks: ImplLocks
    ) -> None:
        self.waiter = waiter
        self.events = events
        self.locks = locks
        self.ended: set[int] = set()
        self.leaked: list[str] = []

    def run(self, workers: list[Worker]) -> list[str]:
        self.locks.break_stuck()  # found held at a sync point: no thread will release them
        started = [w for w in workers if w.thread.ident is not None]
        parked = self.waiter.blocked()

        def turn(w: Worker) -> tuple[bool, bool]:  # stable: by t within each
            waits = w.t in parked
            return waits, waits and w.ts is w.ts.interp.finalizing  # it does not exit: last

        # A round stops every worker left; a worker that waits again is left for the next.
        # A FIFO queue's head ends in every round, and a dropper woken from switch_cond
        # waits at most once more (in take_gil), so 2n + 1 rounds end every worker.
        left = sorted(started, key=turn)
        rounds = 2 * len(left) + 1
        for _ in range(rounds):
            left = [worker for worker in left if not self._stop(worker)]
            if not left:
                break
        for worker in left:
            self.leaked.append(
                f"teardown: T[{worker.t}] waited again after each of {rounds} wake-ups"
            )
        self.waiter.close()
        for worker in started:
            if worker.t not in self.ended:  # recorded by _stop, after two bounds
                self.leaked.append(
                    f"teardown: the worker {worker.thread.name} never posted 'ended'; "
                    f"it is at {where_blocked(worker.thread)}"
                )
                continue
            worker.thread.join(LONG_TIMEOUT)  # it posted 'ended': only its return is left
            if worker.thread.is_alive():
                self.leaked.append(
                    f"teardown: the worker {worker.thread.name} posted 'ended' but did not "
                    f"return within {LONG_TIMEOUT:.1f} s; it is at {where_blocked(worker.thread)}"
                )
        return self.leaked

    def _stop(self, worker: Worker) -> bool:
        """Stop ``worker`` (waking it if it is parked) and wait until it ended (True), or
        until it parks again (False: it waits behind another waiter; the next round)."""
        t = worker.t
        self._drain()
        point = self.waiter.blocked().get(t)  # read before the worker may run again
        worker.stop()
        if point is not None:
            self._wake(t, point)
        outcome = self._collect(t)
        if outcome == "silent":  # a bound with no event: every lock still held is stuck
            broken = ", ".join(self.locks.break_held()) or "none"
            self.leaked.append(f"teardown: T[{t}] did not end; locks released: {broken}")
            point = self.waiter.blocked().get(t)
            if point is not None:
                self._wake(t, point)
            outcome = self._collect(t)
        # No thread runs now (see the module docstring): a lock held now stays held, and
        # the next worker's wake-up takes its condition's lock without a timeout.
        self.locks.break_held()
        return outcome != "parked"

    def _drain(self) -> None:
        """Drop the events posted before this turn, noting who ended: they are stale (a
        parked worker is woken from the waiter's record, not from its 'blocked' event)."""
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            if event.kind == "ended":
                self.ended.add(event.t)

    def _collect(self, t: int) -> Literal["ended", "parked", "silent"]:
        """Take events until worker ``t`` ended, parked again in the waiter (it is not
        woken here: it may wait behind a waiter not woken yet), or none came for a bound."""
        while t not in self.ended:
            try:
                event = self.events.get(timeout=SHORT_TIMEOUT)
            except queue.Empty:
                return "silent"
            if event.kind == "ended":
                self.ended.add(event.t)
            elif event.kind == "blocked" and event.t == t:  # another's: not its turn
                point = BlockPoint(event.where.removeprefix("blocked in "))
                try:
                    self.waiter.wait_blocked(t, point, SHORT_TIMEOUT)
                except AssertionError as exc:
                    self.leaked.append(f"teardown: T{t} posted 'blocked' but {exc}")
                return "parked"
        return "ended"

    def _wake(self, t: int, point: BlockPoint) -> None:
        lock = ImplLocks.of(point)
        if not self.locks.wait_free(lock, SHORT_TIMEOUT):  # wake() takes it, unbounded
            self.locks.break_stuck()  # every other worker waits: nobody will release it
        try:
            self.waiter.wait_blocked(t, point, SHORT_TIMEOUT)
            self.waiter.wake(t, timed_out=True)
        except (AssertionError, ValueError) as exc:
            self.leaked.append(f"teardown: could not wake T{t}: {exc}")
