"""Deliberately broken protocol variants: one per way a catalogue property can fail.

Each mutant changes one behaviour of :class:`~model.protocol.Cpython313` in a
few lines, most of them by wrapping an action (``yield from super()...``
keeps the original guard and hands back the original successor, which the
mutant then alters). tests/model/test_mutants.py checks that ``gilcheck
verify`` refutes the property each one is meant to break, with the right exit
class. Several mutants are historical CPython bugs brought back (their
docstrings say which).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from model.actions import Effect
from model.base import INTERP, MAIN, MAINQ
from model.bits import EVENTS_MASK, VERSION_MASK, Bit
from model.bugs import finalization as _shipped
from model.phases import Phase, Stage
from model.protocol import Cpython313
from model.state import State, ThreadState

S = State[Any, Any]
TS = ThreadState[Any, Any]


class PhaseOutOfRange(Cpython313[Any, Any]):
    """A switch_cond wake-up leaves the thread in a phase that does not exist."""

    def switch_wake(self, s: S, t: int) -> Effect:
        post = yield from super().switch_wake(s, t)
        return self.update_thread(post, t, lambda th: dataclasses.replace(th, phase=self.d.int_(9)))


class TakeIgnoresLocked(Cpython313[Any, Any]):
    """take_gil takes the GIL without looking at ``locked``."""

    def take_gil(self, s: S, t: int) -> Effect:
        yield from super().take_gil(s, t)
        return self.acquired(s, t)


class AcquireKeepsLastHolder(Cpython313[Any, Any]):
    """take_gil does not record the new holder in ``last_holder``."""

    def acquired(self, s: S, t: int) -> S:
        post = super().acquired(s, t)
        return dataclasses.replace(post, last_holder=s.last_holder, switch_number=s.switch_number)


class SwitchOnEveryAcquire(Cpython313[Any, Any]):
    """``++switch_number`` even when the same thread takes the GIL again."""

    def acquired(self, s: S, t: int) -> S:
        post = super().acquired(s, t)
        return dataclasses.replace(post, switch_number=self.d.add(s.switch_number, 1))


NoDropResetOnExit = _shipped.ExitKeepsDropRequest
"""gh-96387 brought back: a waiter that must exit leaves its drop request set (shipped
as the ``gh-96387`` variant)."""


class DropRequestOnWaiter(Cpython313[Any, Any]):
    """A timed-out waiter also sets the drop request on itself (not the holder)."""

    def take_gil_wake(self, s: S, t: int, timed_out: bool) -> Effect:
        post = yield from super().take_gil_wake(s, t, timed_out)
        d = self.d
        asked = d.all(
            d.bool_(timed_out), s.locked, d.eq(s.switch_number, s.threads[t].saved_switchnum)
        )
        return self.update_thread(
            post, t, lambda th: self.set_bits(th, Bit.GIL_DROP_REQUEST, when=asked)
        )


class KeepDropOnAcquire(Cpython313[Any, Any]):
    """take_gil does not clear the new holder's own stale drop request."""

    def update_eval_breaker_for_thread(self, s: S, t: int) -> TS:
        th = super().update_eval_breaker_for_thread(s, t)
        return self.set_bits(
            th, Bit.GIL_DROP_REQUEST, when=self.has_bit(s.threads[t], Bit.GIL_DROP_REQUEST)
        )


class WaitKeepsDropBit(Cpython313[Any, Any]):
    """The forced dropper waits on switch_cond without clearing its drop bit."""

    def drop_gil_switch(self, s: S, t: int) -> Effect:
        post = yield from super().drop_gil_switch(s, t)
        return self.update_thread(
            post, t, lambda th: dataclasses.replace(th, breaker=s.threads[t].breaker)
        )


class NoMustExit(Cpython313[Any, Any]):
    """bpo-39877 / bpo-36475 brought back: take_gil never checks for finalization."""

    def must_exit(self, s: S, t: int) -> Any:
        return self.d.bool_(False)


class AttachKeepsOldVersion(Cpython313[Any, Any]):
    """take_gil does not copy the instrumentation version into the new holder's breaker."""

    def update_eval_breaker_for_thread(self, s: S, t: int) -> TS:
        th = super().update_eval_breaker_for_thread(s, t)
        d = self.d
        old = d.band(s.threads[t].breaker, VERSION_MASK)
        return dataclasses.replace(th, breaker=d.bor(d.band(th.breaker, EVENTS_MASK), old))


class GcSetsMergeBit(Cpython313[Any, Any]):
    """Scheduling a GC also sets EXPLICIT_MERGE, a free-threaded-only bit."""

    def schedule_gc(self, s: S, t: int) -> Effect:
        post = yield from super().schedule_gc(s, t)
        return self.update_thread(post, t, lambda th: self.set_bits(th, Bit.EXPLICIT_MERGE))


class SignalOnHolder(Cpython313[Any, Any]):
    """The C signal handler sets SIGNALS_PENDING on the GIL holder, not the main thread."""

    def signal_received(self, s: S, sig: int) -> Effect:
        post = yield from super().signal_received(s, sig)
        return self.update_thread_at(
            post, s.last_holder, lambda th: self.set_bits(th, Bit.SIGNALS_PENDING)
        )


class HolderHandlesSignals(SignalOnHolder):
    """As CPython <= 3.8 would have it: any thread with the SIGNALS bit runs the handlers."""

    def handle_signals(self, s: S, t: int, level: int) -> Effect:
        d = self.d
        me = s.threads[t]
        yield self.at_stage(me, level, Stage.SIGNALS)
        out = self.with_thread(s, t, self.clear_bits(me, Bit.SIGNALS_PENDING))
        scan = self.set_stage(
            dataclasses.replace(out, is_tripped=d.bool_(False)), t, level, Stage.SCAN, d.int_(0)
        )
        return d.ite(s.is_tripped, scan, self.advance(out, t, level, Stage.SIGNALS))


class LiveBreakerPass(Cpython313[Any, Any]):
    """The pass picks its next stage from the live breaker, not its snapshot."""

    def advance(self, s: S, t: int, level: int, after: Stage) -> S:
        d = self.d
        me = s.threads[t]
        f = self.frame(me, level)
        nxt = self.next_stage(self.events(me), after)
        moved = self.with_thread(
            s, t, self.with_frame(me, level, dataclasses.replace(f, stage=nxt, idx=d.int_(0)))
        )
        return d.ite(d.eq(nxt, Stage.NONE), self.end_pass(s, t, level, d.bool_(False)), moved)


class AcceptWhenFull(Cpython313[Any, Any]):
    """The full test is off by one: a queue takes one call more than its capacity."""

    def capacity(self, q: int) -> int:
        return super().capacity(q) + 1


class RefuseOneEarly(Cpython313[Any, Any]):
    """CPython <= 3.12's ring (gh-110693): refuses when one slot is still free."""

    def capacity(self, q: int) -> int:
        return super().capacity(q) - 1


class PushAtHead(Cpython313[Any, Any]):
    """A new call overwrites the head of the queue instead of going to the tail."""

    def add_pending_call(self, s: S, t: int, q: int) -> Effect:
        post = yield from super().add_pending_call(s, t, q)
        pre_q, post_q = self.queue(s, q), self.queue(post, q)
        d = self.d
        accepted = d.ne(post_q.added, pre_q.added)
        moved = dataclasses.replace(post_q, calls=d.store(pre_q.calls, pre_q.first, pre_q.added))
        return self.with_queue(post, q, d.ite(accepted, moved, post_q))


class DropRemainderOnError(Cpython313[Any, Any]):
    """A failing callback takes the rest of its queue with it."""

    def callback_return(self, s: S, t: int, level: int, q: int, ok: bool) -> Effect:
        post = yield from super().callback_return(s, t, level, q, ok)
        if ok:
            return post
        return self.with_queue(
            post, q, dataclasses.replace(self.queue(post, q), npending=self.d.int_(0))
        )


class PeekInsteadOfPop(Cpython313[Any, Any]):
    """The drain calls the head of the queue without removing it."""

    def pop_pending_call(self, s: S, t: int, level: int, q: int) -> Effect:
        post = yield from super().pop_pending_call(s, t, level, q)
        pre_q = self.queue(s, q)
        kept = dataclasses.replace(
            self.queue(post, q), calls=pre_q.calls, first=pre_q.first, npending=pre_q.npending
        )
        return self.with_queue(post, q, kept)


class NoSignalActiveThread(Cpython313[Any, Any]):
    """gh-95820-like: adding a per-interpreter call signals no thread."""

    def signal_pending_call(self, s: S, t: int, q: int) -> Effect:
        post = yield from super().signal_pending_call(s, t, q)
        if q == MAINQ:
            return post
        threads = tuple(
            dataclasses.replace(after, breaker=before.breaker) if k != t else after
            for k, (before, after) in enumerate(zip(s.threads, post.threads, strict=True))
        )
        return dataclasses.replace(post, threads=threads)


class NoHandlingGuard(Cpython313[Any, Any]):
    """make_pending_calls ignores ``handling_thread``: every caller drains."""

    make_pending_calls_hand_off = None  # type: ignore[assignment]

    def make_pending_calls(self, s: S, t: int, level: int) -> Effect:
        d = self.d
        me = s.threads[t]
        yield self.at_stage(me, level, Stage.CALLS)
        out = dataclasses.replace(s, handling_thread=d.int_(t))
        out = self.update_thread(out, t, lambda th: self.clear_bits(th, Bit.CALLS_TO_DO))
        return self.set_stage(out, t, level, Stage.DRAIN_INTERP, d.int_(0))


class OffByOneMaxloop(Cpython313[Any, Any]):
    """``i <= maxloop``: one call more per pass than the limit."""

    def maxloop(self, q: int) -> int:
        return super().maxloop(q) + 1


class AnyThreadDrainsMain(Cpython313[Any, Any]):
    """Every drainer goes on to the main-thread queue, main thread or not."""

    def drain_done(self, s: S, t: int, level: int, q: int) -> Effect:
        post = yield from super().drain_done(s, t, level, q)
        if q != INTERP or t == MAIN:
            return post
        d = self.d
        me = post.threads[t]
        f = dataclasses.replace(
            self.frame(s.threads[t], level), stage=d.int_(Stage.DRAIN_MAIN), idx=d.int_(0)
        )
        out = dataclasses.replace(post, handling_thread=d.int_(t))
        return self.with_thread(
            out, t, dataclasses.replace(self.with_frame(me, level, f), depth=d.int_(level + 1))
        )


class ClearIsTrippedAfterScan(Cpython313[Any, Any]):
    """``is_tripped`` is cleared when the scan ends instead of before it starts."""

    def handle_signals(self, s: S, t: int, level: int) -> Effect:
        post = yield from super().handle_signals(s, t, level)
        return dataclasses.replace(post, is_tripped=s.is_tripped)

    def scan_done(self, s: S, t: int, level: int) -> Effect:
        post = yield from super().scan_done(s, t, level)
        return dataclasses.replace(post, is_tripped=self.d.bool_(False))


class AsyncExcWithoutBit(Cpython313[Any, Any]):
    """PyThreadState_SetAsyncExc stores the exception but forgets the breaker bit."""

    def set_async_exc(self, s: S, t: int, target: int) -> Effect:
        post = yield from super().set_async_exc(s, t, target)
        breaker = s.threads[target].breaker
        return self.update_thread(post, target, lambda th: dataclasses.replace(th, breaker=breaker))


class AsyncExcNotExchanged(Cpython313[Any, Any]):
    """The check point raises the pending exception but leaves it, and its bit, in place."""

    def handle_async_exc(self, s: S, t: int, level: int) -> Effect:
        post = yield from super().handle_async_exc(s, t, level)
        before = s.threads[t]
        return self.update_thread(
            post,
            t,
            lambda th: dataclasses.replace(
                th, async_exc=before.async_exc, breaker=self.d.bor(th.breaker, Bit.ASYNC_EXCEPTION)
            ),
        )


class DropStageKeepsGil(Cpython313[Any, Any]):
    """The drop stage of a pass goes on without releasing the GIL."""

    def handle_drop_request(self, s: S, t: int, level: int) -> Effect:
        yield from super().handle_drop_request(s, t, level)
        return self.advance(s, t, level, Stage.DROP)


class NoResignalOnLeftovers(Cpython313[Any, Any]):
    """A drain cut off at maxloop does not re-set CALLS_TO_DO for the calls left."""

    def drain_done(self, s: S, t: int, level: int, q: int) -> Effect:
        post = yield from super().drain_done(s, t, level, q)
        calls_before = self.has_bit(s.threads[t], Bit.CALLS_TO_DO)
        return self.update_thread(
            post, t, lambda th: self.clear_bits(th, Bit.CALLS_TO_DO, when=self.d.not_(calls_before))
        )


class ScanStopsAtFirstHandler(Cpython313[Any, Any]):
    """The handler scan ends after the first handler instead of going on."""

    def handler_return(self, s: S, t: int, level: int, ok: bool) -> Effect:
        post = yield from super().handler_return(s, t, level, ok)
        if not ok:
            return post
        return self.advance(s, t, level, Stage.SIGNALS)


class NoForcedSwitch(Cpython313[Any, Any]):
    """FORCE_SWITCHING off: the dropper never waits on switch_cond."""

    def drop_gil_switch(self, s: S, t: int) -> Effect:
        post = yield from super().drop_gil_switch(s, t)
        return self.update_thread(
            post, t, lambda th: dataclasses.replace(th, phase=self.d.int_(Phase.DETACHED))
        )


class GcReleasesGil(Cpython313[Any, Any]):
    """The GC stage releases the GIL (as if the collection detached) and goes on without it."""

    def handle_gc(self, s: S, t: int, level: int) -> Effect:
        post = yield from super().handle_gc(s, t, level)
        return self.released(post, t)


# -- candidate fixes: variants under which an expected counterexample disappears --------------


class FixedSelfHandOff(Cpython313[Any, Any]):
    """A fix for the stranded-call finding: a check point inside a thread's own drain
    leaves its CALLS_TO_DO bit alone (``handling_thread == tstate``: just return)."""

    def make_pending_calls_hand_off(self, s: S, t: int, level: int) -> Effect:
        post = yield from super().make_pending_calls_hand_off(s, t, level)
        d = self.d
        own = d.eq(s.handling_thread, t)
        keep = self.has_bit(s.threads[t], Bit.CALLS_TO_DO)
        return d.ite(
            own,
            self.update_thread(post, t, lambda th: self.set_bits(th, Bit.CALLS_TO_DO, when=keep)),
            post,
        )


LoopedSwitchWait = _shipped.SwitchWaitWithoutSpuriousEnd
"""``while (last_holder == tstate) COND_WAIT(switch_cond)``: no spurious end."""

HangAtFinalization = _shipped.ExitKeepsDropRequestHang
"""gh-96387 as it hung (the ``gh-96387-hang`` variant): both of the above together."""


# -- liveness under fairness: each breaks one temporal entry (tests/model/test_fair.py) -------


class NeverAsksToDrop(Cpython313[Any, Any]):
    """A waiter's timeout never sets a drop request: a holder that does not detach on its own
    keeps the GIL for ever."""

    def take_gil_wake(self, s: S, t: int, timed_out: bool) -> Effect:
        post = yield from super().take_gil_wake(s, t, False)
        return post


class WaitIgnoresFreeGil(Cpython313[Any, Any]):
    """A waiter that wakes to a free GIL waits again instead of taking it."""

    def take_gil_wake(self, s: S, t: int, timed_out: bool) -> Effect:
        post = yield from super().take_gil_wake(s, t, timed_out)
        again = self.update_thread(
            s, t, lambda th: dataclasses.replace(th, saved_switchnum=s.switch_number)
        )
        return self.d.ite(s.locked, post, again)


class AttachForgetsCalls(Cpython313[Any, Any]):
    """Attaching does not re-set CALLS_TO_DO for waiting calls (update_eval_breaker_for_thread
    without its pending-call test): a bit the hand-off cleared stays cleared."""

    def update_eval_breaker_for_thread(self, s: S, t: int) -> TS:
        th = super().update_eval_breaker_for_thread(s, t)
        keep = self.has_bit(s.threads[t], Bit.CALLS_TO_DO)
        return self.clear_bits(th, Bit.CALLS_TO_DO, when=self.d.not_(keep))


class SignalWithoutBit(Cpython313[Any, Any]):
    """trip_signal's last step does not set the main thread's SIGNALS_PENDING bit."""

    def signal_received(self, s: S, sig: int) -> Effect:
        post = yield from super().signal_received(s, sig)
        return self.update_thread(
            post, MAIN, lambda th: dataclasses.replace(th, breaker=s.threads[MAIN].breaker)
        )
