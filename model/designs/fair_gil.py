"""A fair GIL: the longest waiter takes the GIL next (FIFO), nobody barges in.

The worked example of design review in README.md. CPython's ``take_gil``
lets whichever waiter the OS wakes take a free GIL, and a thread that
detaches with no drop request may take it straight back: with three threads
a waiter can starve (LIVE-FAIR-WAITER-ACQUIRES). This design queues the
waiters in arrival order (``ThreadState.ticket``, 1 for the longest waiter)
and lets only the first of them take a free GIL; a thread arriving while
others wait queues behind them. Everything else is CPython's: the timed
wait, the drop request, FORCE_SWITCHING, the exit at finalization.
impl's counterpart is ``impl.fair_gil``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from model.actions import Effect
from model.phases import Phase
from model.protocol import Cpython313
from model.state import State
from model.variants import register

S = State[Any, Any]


class FairGil(Cpython313[Any, Any]):
    """Design: waiters take the GIL in arrival order (a FIFO hand-off), no barging."""

    def take_gil(self, s: S, t: int) -> Effect:
        """``take_gil``: a newcomer queues behind the waiters, even when the GIL is free."""
        post = yield from super().take_gil(s, t)
        d = self.d
        ahead = self.waiters(s)
        queued = self.update_thread(s, t, lambda th: dataclasses.replace(
            th, phase=d.int_(Phase.TAKE_WAIT), c_code=d.bool_(False),
            saved_switchnum=s.switch_number, drop_requested=d.bool_(False),
            ticket=d.add(ahead, 1),
        ))  # fmt: skip
        waits = d.all(d.not_(self.must_exit(s, t)), d.lt(0, ahead))
        return self.left_queue(s, d.ite(waits, queued, self.joined(post, t, ahead)), t)

    def take_gil_wake(self, s: S, t: int, timed_out: bool) -> Effect:
        """A waiter that is not first waits on when the GIL is free."""
        post = yield from super().take_gil_wake(s, t, timed_out)
        d = self.d
        again = self.update_thread(
            s, t, lambda th: dataclasses.replace(th, saved_switchnum=s.switch_number)
        )
        first = d.eq(s.threads[t].ticket, 1)
        return self.left_queue(s, d.ite(d.any(s.locked, first), post, again), t)

    # -- the queue ------------------------------------------------------------------------

    def waiters(self, s: S) -> Any:
        d = self.d
        out: Any = d.int_(0)
        for th in s.threads:
            out = d.add(out, d.ite(d.eq(th.phase, Phase.TAKE_WAIT), d.int_(1), d.int_(0)))
        return out

    def joined(self, post: S, t: int, ahead: Any) -> S:
        """``t`` has a ticket while it waits in ``post``."""
        d = self.d
        waiting = d.eq(post.threads[t].phase, Phase.TAKE_WAIT)
        ticket = d.ite(waiting, d.add(ahead, 1), d.int_(0))
        return self.update_thread(post, t, lambda th: dataclasses.replace(th, ticket=ticket))

    def left_queue(self, pre: S, post: S, t: int) -> S:
        """If ``t`` stopped waiting, it gives its ticket up and those behind move up."""
        d = self.d
        mine = pre.threads[t].ticket
        left = d.all(d.eq(pre.threads[t].phase, Phase.TAKE_WAIT),
                     d.ne(post.threads[t].phase, Phase.TAKE_WAIT))  # fmt: skip

        def ticket(k: int, th: Any) -> Any:
            behind = d.all(left, d.lt(mine, th.ticket))
            gone = d.all(left, d.bool_(k == t))
            return d.ite(behind, d.sub(th.ticket, 1), d.ite(gone, d.int_(0), th.ticket))

        threads = tuple(
            dataclasses.replace(th, ticket=ticket(k, th)) for k, th in enumerate(post.threads)
        )
        return dataclasses.replace(post, threads=threads)


register("fair-gil", FairGil)
