"""A fair GIL: ``take_gil`` hands the GIL to the longest waiter (FIFO).

Not a CPython GIL. CPython 3.13 has no order among the threads waiting in
``take_gil`` (Python/ceval_gil.c): ``drop_gil``'s ``COND_SIGNAL(gil->cond)``
wakes one waiter that the OS picks, and any waiter that finds ``locked`` 0
takes the GIL (see the reference's section 9.6, "no per-thread fairness").
:class:`FairGIL` is the counterpart of the model variant in which "a waiter
may take the GIL only when it is the longest waiter, i.e. first in arrival
order among threads waiting in take_gil; a release with waiters hands it to
that one". Make one with ``Interpreter(fair=True)``.

It is :class:`impl.GIL` with the hooks of ``take_gil``'s wait loop replaced;
``drop_gil``, forced switching, the drop request and finalization are
CPython's. The queue is protected by ``mutex``, as ``locked`` is. Invariants
(with ``mutex`` held)::

    a thread is queued  <=>  it is in take_gil's wait loop (phase TAKE_WAIT)
    a queued thread is inside its COND_TIMED_WAIT (it has released mutex)
    the GIL is free and the queue is not empty  =>  the head was signalled
"""

from __future__ import annotations

import threading
import typing

from impl.gil import GIL
from impl.thread import ThreadState
from impl.waiters import BlockPoint

__all__ = ["FairGIL"]


@typing.final
class FairGIL(GIL):
    """A :class:`~impl.GIL` that serves the threads waiting in ``take_gil`` in arrival order.

    Not a CPython function or structure: it replaces the ``while (locked)``
    loop of ``take_gil()`` and the ``COND_SIGNAL(gil->cond)`` of
    ``drop_gil()`` in Python/ceval_gil.c (CPython 3.13).

    Deviates from CPython:

    * a thread that finds the GIL locked, or finds other threads waiting
      (even with the GIL free), joins the back of a queue; it leaves the loop
      only when it is the head of the queue and ``locked`` is 0; a waiter that
      wakes while it is not the head waits again, whether it was signalled,
      timed out or woke spuriously;
    * each waiter waits on a condition of its own (sharing ``mutex``); a
      release signals the head's, so the GIL is handed to the longest waiter;
    * :meth:`acquire` has no fast path: a thread that just released the GIL
      queues behind the waiters instead of taking it back.

    As in CPython: every waiter, the head included, sets GIL_DROP_REQUEST on
    the holder when its interval expires with no switch; a thread that must
    exit at finalization leaves the queue and resets the drop request it made
    (gh-96387); the trace events are those of :mod:`impl.trace` (a queued
    thread also waits, ``take_gil.wait``, while the GIL is free).
    """

    __slots__ = ("_conds", "_queue")

    def __init__(self, *args: typing.Any, **kwargs: typing.Any) -> None:
        """``create_gil()``; the arguments are :class:`~impl.GIL`'s."""
        super().__init__(*args, **kwargs)
        # Waiters by id, in arrival order (a dict keeps insertion order).
        self._queue: dict[int, ThreadState] = {}
        # One condition per thread that has ever waited, on the shared mutex.
        self._conds: dict[int, threading.Condition] = {}

    @property
    def queue(self) -> tuple[int, ...]:
        """The ids of the threads waiting in ``take_gil``, longest waiter first."""
        with self._mutex:
            return tuple(self._queue)

    def acquire(self, ts: ThreadState) -> None:
        """Take the GIL for ``ts`` after every thread that waits already.

        ``take_gil()`` of Python/ceval_gil.c (CPython 3.13) with a FIFO wait
        loop (see :class:`FairGIL`); raises what :meth:`impl.GIL.acquire`
        raises. No fast path: the general path checks the queue.
        """
        self._take_gil(ts)

    # -- the hooks of GIL._take_gil and drop_gil (mutex held) -------------------------------
    def _must_wait(self, ts: ThreadState) -> bool:
        """Wait unless ``ts`` heads the queue (or nobody waits) and the GIL is free.

        Replaces ``while (locked)``: on ``ts``'s first call this is its
        arrival (it joins the back of the queue if it must wait); when it may
        go on, it leaves the queue.
        """
        queue = self._queue
        if not queue:
            if not self._locked:
                return False
        elif not self._locked and next(iter(queue)) == ts.id:
            del queue[ts.id]
            return False
        queue.setdefault(ts.id, ts)
        return True

    def _leave_queue(self, ts: ThreadState) -> None:
        """``ts`` leaves the wait loop without the GIL (it must exit, or its wait failed).

        If the GIL is free, the new head is signalled, so that it does not
        wait for its interval to expire.
        """
        queue = self._queue
        if queue.pop(ts.id, None) is not None and queue and not self._locked:
            self._notify_take_gil()

    def _notify_take_gil(self) -> None:
        """``COND_SIGNAL`` to the head of the queue only: hand the GIL to the longest waiter."""
        queue = self._queue
        if queue:
            self._waiter.notify(self._conds[next(iter(queue))], BlockPoint.TAKE_GIL)

    def _take_cond(self, ts: ThreadState) -> threading.Condition:
        """``ts``'s own condition on ``mutex``, made at its first wait."""
        cond = self._conds.get(ts.id)
        if cond is None:
            cond = self._conds[ts.id] = threading.Condition(self._mutex)
        return cond
