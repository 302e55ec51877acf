"""Test helpers for ``impl``: actor threads and bounded waits on their results.

An :class:`Actor` is one host thread that runs the calls submitted to it, in
order, standing for one ``ThreadState``: every protocol operation of a
``ThreadState`` runs on its own actor, so a test thread never blocks inside the
protocol itself.

:func:`recorder` and :func:`failing` make pending-call callbacks that log
their runs.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import TypeVar

from conformance.support import LONG_TIMEOUT, SHORT_TIMEOUT, join_thread
from impl import BlockPoint, ControlledWaiter, ThreadState

T = TypeVar("T")


class Actor:
    """A host thread that runs submitted calls one at a time.

    Exceptions (``MustExit`` included) are stored in the call's future, so the
    thread itself never dies of one and pytest sees no unhandled thread error.
    """

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[Callable[[], object], Future[object]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def name(self) -> str:
        return self._thread.name

    def _loop(self) -> None:
        while True:
            item = self._calls.get()
            if item is None:
                return
            fn, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # MustExit is a SystemExit
                future.set_exception(exc)

    def submit(self, fn: Callable[[], object]) -> Future[object]:
        """Queue ``fn``; its future completes when it returns or raises."""
        future: Future[object] = Future()
        self._calls.put((fn, future))
        return future

    def call(self, fn: Callable[[], object], what: str = "the call") -> object:
        """Run ``fn`` on this actor and wait for it (bounded)."""
        return result(self.submit(fn), f"{self.name}: {what}")

    def close(self) -> None:
        self._calls.put(None)
        join_thread(self._thread, LONG_TIMEOUT)


def result(future: Future[T], what: str, timeout: float = SHORT_TIMEOUT) -> T:
    """``future.result()`` bounded by ``timeout``, failing with ``what``."""
    try:
        return future.result(timeout)
    except FutureTimeout:
        raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}") from None


def exception(future: Future[object], what: str, timeout: float = SHORT_TIMEOUT) -> BaseException:
    """The exception ``future`` ended with (bounded); fail if it returned."""
    try:
        exc = future.exception(timeout)
    except FutureTimeout:
        raise AssertionError(f"timed out after {timeout:.1f} s waiting for {what}") from None
    if exc is None:
        raise AssertionError(f"{what} returned instead of raising")
    return exc


@contextmanager
def actors(*names: str) -> Iterator[list[Actor]]:
    """Start one actor per name; join them all at the end (fail loudly on a hang)."""
    started = [Actor(name) for name in names]
    try:
        yield started
    finally:
        for actor in started:
            actor.close()


def start_waiting(actor: Actor, ts: ThreadState, waiter: ControlledWaiter) -> Future[object]:
    """Run ``take_gil`` for ``ts`` on ``actor``; return once it is parked at TAKE_GIL."""
    future = actor.submit(lambda: ts.interp.gil.acquire(ts))
    waiter.wait_blocked(ts.id, BlockPoint.TAKE_GIL, SHORT_TIMEOUT)
    return future


def time_out_once(waiter: ControlledWaiter, ts: ThreadState) -> None:
    """The interval expires for parked ``ts``; wait until it parks again.

    With the GIL still held and no switch meanwhile, ``ts`` has then set
    GIL_DROP_REQUEST on the holder.
    """
    waiter.wake(ts.id, timed_out=True)
    waiter.wait_blocked(ts.id, BlockPoint.TAKE_GIL, SHORT_TIMEOUT)


def recorder(log: list[object]) -> Callable[[object], Callable[[], None]]:
    """``make(tag)`` is a callback that appends ``tag`` to ``log``."""

    def make(tag: object) -> Callable[[], None]:
        def cb() -> None:
            log.append(tag)

        return cb

    return make


def failing(log: list[object], tag: object) -> Callable[[], None]:
    """A callback that appends ``tag`` to ``log``, then raises RuntimeError."""

    def cb() -> None:
        log.append(tag)
        raise RuntimeError(f"callback {tag} failed")

    return cb
