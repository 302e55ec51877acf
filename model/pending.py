"""Pending calls: the two bounded FIFO queues and their drain (Python/ceval_gil.c, 3.13).

``_PyEval_AddPendingCall`` is two critical sections, the push under
``pending->mutex`` and the signalling under ``gil->mutex``, so it is two
actions here; ``make_pending_calls`` and its ``_make_pending_calls`` loop are
stages of a pass (see :mod:`model.passes`): start or hand off, pop-and-call,
the callback's return, and the loop's end with its re-signal.
"""

from __future__ import annotations

import dataclasses

from model.actions import Effect, action
from model.base import (
    INTERP,
    MAIN,
    MAINQ,
    each_level,
    each_queue,
    each_thread,
    outcomes,
    param_space,
)
from model.bits import Bit
from model.domain import B, I
from model.passes import PassActions
from model.phases import Phase, Stage
from model.state import NULL, Frame, PendingQueue, State

_DRAIN = {INTERP: Stage.DRAIN_INTERP, MAINQ: Stage.DRAIN_MAIN}
_CALLBACK = {INTERP: Stage.CALLBACK_INTERP, MAINQ: Stage.CALLBACK_MAIN}


class PendingActions(PassActions[B, I]):
    """Adding, draining and running pending calls."""

    def wrap(self, q: int, x: I) -> I:
        """``x % size`` for ``0 <= x < 2 * size``, the ring's size being the configured
        capacity (CPython's ``(i + 1) % PENDINGCALLSARRAYSIZE``). A variant that
        overrides :meth:`capacity` changes the full test, not the ring."""
        d = self.d
        size = self.cfg.interp_capacity if q == INTERP else self.cfg.main_capacity
        return d.ite(d.le(size, x), d.sub(x, size), x)

    def queue(self, s: State[B, I], q: int) -> PendingQueue[B, I]:
        return s.interp_q if q == INTERP else s.main_q

    def with_queue(self, s: State[B, I], q: int, pq: PendingQueue[B, I]) -> State[B, I]:
        if q == INTERP:
            return dataclasses.replace(s, interp_q=pq)
        return dataclasses.replace(s, main_q=pq)

    def _clear_calls_due(self, s: State[B, I], q: int) -> State[B, I]:
        """The head call of ``q`` ran: no pass is due to run it any more (liveness ghost)."""
        d = self.d
        no = d.bool_(False)

        def clear(f: Frame[B, I]) -> Frame[B, I]:
            if q == INTERP:
                return dataclasses.replace(f, calls_due_interp=no)
            return dataclasses.replace(f, calls_due_main=no)

        threads = tuple(
            dataclasses.replace(th, f0=clear(th.f0), f1=clear(th.f1)) for th in s.threads
        )
        return dataclasses.replace(s, threads=threads)

    @action(param_space(each_thread, each_queue))
    def add_pending_call(self, s: State[B, I], t: int, q: int) -> Effect:
        """Push a call (``q``: 0 the interpreter's queue, 1 the main thread's).

        Mirrors ``_PyEval_AddPendingCall()`` up to ``PyMutex_Unlock(&pending->
        mutex)``, i.e. ``_push_pending_call()`` (CPython 3.13): a full queue
        (``npending == max``) refuses and changes nothing; otherwise the call goes
        to the tail. Callable by a thread running Python code or by a detached
        thread in C code (``Py_AddPendingCall`` needs no GIL). The signalling half
        is :meth:`signal_pending_call`, always next for this thread.
        """
        d = self.d
        me = s.threads[t]
        yield d.all(
            d.eq(me.adding, 0),
            d.any(self.runs_python(me), d.all(d.eq(me.phase, Phase.DETACHED), me.c_code)),
        )
        pq = self.queue(s, q)
        full = d.le(self.capacity(q), pq.npending)
        accepted = dataclasses.replace(
            pq,
            calls=d.store(pq.calls, self.wrap(q, d.add(pq.first, pq.npending)), pq.added),
            npending=d.add(pq.npending, 1),
            added=d.add(pq.added, 1),
        )
        refused = dataclasses.replace(pq, refused=d.add(pq.refused, 1))
        out = self.with_queue(s, q, d.ite(full, refused, accepted))
        return self.update_thread(out, t, lambda th: dataclasses.replace(th, adding=d.int_(q + 1)))

    @action(param_space(each_thread, each_queue))
    def signal_pending_call(self, s: State[B, I], t: int, q: int) -> Effect:
        """The second half of ``_PyEval_AddPendingCall()``: signal, even if the queue was full.

        Mirrors CPython 3.13: a main-thread call sets ``_PY_CALLS_TO_DO_BIT`` on
        the main thread; an interpreter call goes through
        ``signal_active_thread()``, which under ``gil->mutex`` sets the bit on the
        GIL holder if the GIL is locked (and on nobody otherwise: the next thread
        to attach sees ``npending`` in ``update_eval_breaker_for_thread``).
        """
        d = self.d
        me = s.threads[t]
        yield d.eq(me.adding, q + 1)
        if q == MAINQ:
            out = self.update_thread(s, MAIN, lambda th: self.set_bits(th, Bit.CALLS_TO_DO))
        else:
            out = self.update_thread_at(
                s, s.last_holder, lambda th: self.set_bits(th, Bit.CALLS_TO_DO, when=s.locked)
            )
        return self.update_thread(out, t, lambda th: dataclasses.replace(th, adding=d.int_(0)))

    @action(param_space(each_thread, each_level))
    def make_pending_calls(self, s: State[B, I], t: int, level: int) -> Effect:
        """Become the handling thread and start draining.

        Mirrors ``make_pending_calls()`` when ``pending->handling_thread == NULL``
        (CPython 3.13): ``handling_thread = tstate``, then
        ``unsignal_pending_calls`` ("so that any callback added in-between
        re-signals"), then the ``_make_pending_calls`` loop on the interpreter's
        queue. Deviates: CPython sets ``handling_thread`` under the pending mutex
        and unsignals after releasing it; the model does both in one step. An add
        landing in between only has its bit cleared by the unsignal, and its call
        is then drained by the loop that follows, so no behaviour is lost.
        """
        d = self.d
        me = s.threads[t]
        yield d.all(self.at_stage(me, level, Stage.CALLS), d.eq(s.handling_thread, NULL))
        out = dataclasses.replace(s, handling_thread=d.int_(t))
        out = self.update_thread(out, t, lambda th: self.clear_bits(th, Bit.CALLS_TO_DO))
        return self.set_stage(out, t, level, Stage.DRAIN_INTERP, d.int_(0))

    @action(param_space(each_thread, each_level))
    def make_pending_calls_hand_off(self, s: State[B, I], t: int, level: int) -> Effect:
        """Another drain is in progress: hand the bit to it.

        Mirrors ``make_pending_calls()`` when ``pending->handling_thread != NULL``
        (CPython 3.13): set ``_PY_CALLS_TO_DO_BIT`` on the handling thread, unset
        it on ``tstate``, return 0. When the handling thread is ``tstate`` itself
        (a check point inside one of its own callbacks) the net effect is that its
        bit is cleared.
        """
        d = self.d
        me = s.threads[t]
        yield d.all(self.at_stage(me, level, Stage.CALLS), d.ne(s.handling_thread, NULL))
        # Ghost: the bit now sits where it may not serve a queue. A hand-off to the
        # thread's own drain clears it for good; the main thread's hand-off gives the
        # main-thread queue's wake-up to a drain that cannot serve that queue.
        own = d.eq(s.handling_thread, t)
        out = dataclasses.replace(
            s, interp_q=dataclasses.replace(s.interp_q, swallowed=d.any(s.interp_q.swallowed, own))
        )
        if t == MAIN:
            out = dataclasses.replace(
                out, main_q=dataclasses.replace(s.main_q, swallowed=d.bool_(True))
            )
        out = self.update_thread_at(
            out, s.handling_thread, lambda th: self.set_bits(th, Bit.CALLS_TO_DO)
        )
        out = self.update_thread(out, t, lambda th: self.clear_bits(th, Bit.CALLS_TO_DO))
        return self.advance(out, t, level, Stage.CALLS)

    @action(param_space(each_thread, each_level, each_queue))
    def pop_pending_call(self, s: State[B, I], t: int, level: int, q: int) -> Effect:
        """Pop the oldest call and start it.

        Mirrors one iteration of ``_make_pending_calls()`` (CPython 3.13): while
        ``i < maxloop``, ``_pop_pending_call()`` under the mutex, remember
        ``npending``, release the mutex and call ``func(arg)``. Pop, then call:
        the call is consumed whatever it returns.
        """
        d = self.d
        me = s.threads[t]
        pq = self.queue(s, q)
        f = self.frame(me, level)
        yield d.all(
            self.at_stage(me, level, _DRAIN[q]),
            d.lt(f.idx, self.maxloop(q)),
            d.lt(0, pq.npending),
        )
        head = d.select(pq.calls, pq.first)
        left = d.sub(pq.npending, 1)
        popped = dataclasses.replace(
            pq,
            calls=d.store(pq.calls, pq.first, d.int_(0)),
            first=self.wrap(q, d.add(pq.first, 1)),
            npending=left,
            ran=d.ite(d.le(pq.ran, head), d.add(head, 1), pq.ran),
            started=d.add(pq.started, 1),
            last_started=head,
            missed=d.int_(0),
            swallowed=d.bool_(False),
        )
        out = dataclasses.replace(self.with_queue(s, q, popped), drain_npending=left)
        out = self._clear_calls_due(out, q)
        return self.set_stage(out, t, level, _CALLBACK[q], f.idx)

    @action(param_space(each_thread, each_level, each_queue, outcomes))
    def callback_return(self, s: State[B, I], t: int, level: int, q: int, ok: bool) -> Effect:
        """The running pending call returns 0 (``ok``) or -1 with an exception.

        Mirrors the rest of the ``_make_pending_calls()`` iteration and
        ``make_pending_calls()``'s error path (CPython 3.13): on success the loop
        goes on with ``i + 1``; on failure the call stays consumed, the loop
        stops, ``handling_thread`` is cleared, the bit is re-set on ``tstate``
        ("we play it safe") and the pass returns -1.
        """
        d = self.d
        me = s.threads[t]
        yield self.at_stage(me, level, _CALLBACK[q])
        if ok:
            return self.set_stage(s, t, level, _DRAIN[q], d.add(self.frame(me, level).idx, 1))
        out = dataclasses.replace(s, handling_thread=d.int_(NULL))
        out = self.update_thread(out, t, lambda th: self.set_bits(th, Bit.CALLS_TO_DO))
        return self.end_pass(out, t, level, d.bool_(True))

    @action(param_space(each_thread, each_level, each_queue))
    def drain_done(self, s: State[B, I], t: int, level: int, q: int) -> Effect:
        """The ``_make_pending_calls`` loop ends: ``maxloop`` reached, or the queue was empty.

        Mirrors the end of the loop and what ``make_pending_calls()`` does next
        (CPython 3.13): if the ``npending`` read at the last pop is positive
        ("We hit pending->maxloop"), re-set the bit on ``tstate``. The count is
        the one read under the mutex at that pop, not a fresh one. Then the main
        thread goes on to the main-thread queue; otherwise ``handling_thread`` is
        cleared and the pass goes on.
        """
        d = self.d
        me = s.threads[t]
        pq = self.queue(s, q)
        f = self.frame(me, level)
        limit = d.le(self.maxloop(q), f.idx)
        yield d.all(self.at_stage(me, level, _DRAIN[q]), d.any(limit, d.eq(pq.npending, 0)))
        npending = d.ite(limit, s.drain_npending, d.int_(0))
        out = self.update_thread(
            s, t, lambda th: self.set_bits(th, Bit.CALLS_TO_DO, when=d.lt(0, npending))
        )
        if q == INTERP and t == MAIN:
            return self.set_stage(out, t, level, Stage.DRAIN_MAIN, d.int_(0))
        out = dataclasses.replace(out, handling_thread=d.int_(NULL))
        return self.advance(out, t, level, Stage.CALLS)
