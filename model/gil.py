"""The GIL proper: ``take_gil`` and ``drop_gil`` (Python/ceval_gil.c, CPython 3.13).

``take_gil`` is three actions here, because other threads act while it waits:
entering it (:meth:`GilActions.take_gil`), each return from its timed wait
(:meth:`GilActions.take_gil_wake`), and the acquisition, which both of them
may end with (:meth:`GilActions.acquired`). ``drop_gil`` is two: the release
done by whoever drops (:meth:`GilActions.released`), then the FORCE_SWITCHING
check under ``switch_mutex`` (:meth:`GilActions.drop_gil_switch`); its single
wait on ``switch_cond`` ends with :meth:`GilActions.switch_wake`.
"""

from __future__ import annotations

import dataclasses

from model.actions import Effect, action
from model.base import MAIN, ModelBase, each_thread, outcomes, param_space
from model.bits import EVENTS_MASK, Bit
from model.domain import B, I
from model.phases import Phase
from model.state import State, ThreadState


class GilActions(ModelBase[B, I]):
    """``take_gil`` / ``drop_gil`` and the helpers other actions release and acquire with."""

    def must_exit(self, s: State[B, I], t: int) -> B:
        """``_PyThreadState_MustExit(tstate)``: finalization has started and ``t``
        is not the finalizing thread (the main thread, in this model)."""
        return self.d.all(s.finalizing, self.d.bool_(t != MAIN))

    def update_eval_breaker_for_thread(self, s: State[B, I], t: int) -> ThreadState[B, I]:
        """Thread ``t``'s breaker as ``take_gil`` leaves it after acquiring.

        Mirrors the end of ``take_gil()``: ``_Py_unset_eval_breaker_bit(tstate,
        _PY_GIL_DROP_REQUEST_BIT)`` then ``update_eval_breaker_for_thread()``
        (CPython 3.13): CALLS_TO_DO if the interpreter's queue is not empty, or
        if ``t`` is the main thread and the main-thread queue is not empty; then
        the instrumentation version is copied into the bits above the mask.
        """
        d = self.d
        th = self.clear_bits(s.threads[t], Bit.GIL_DROP_REQUEST)
        calls = d.lt(0, s.interp_q.npending)
        if t == MAIN:
            calls = d.any(calls, d.lt(0, s.main_q.npending))
        th = self.set_bits(th, Bit.CALLS_TO_DO, when=calls)
        breaker = d.bor(d.band(th.breaker, EVENTS_MASK), s.instrumentation_version)
        return dataclasses.replace(th, breaker=breaker)

    def acquired(self, s: State[B, I], t: int) -> State[B, I]:
        """Thread ``t`` leaves ``take_gil``'s wait loop with the GIL free and takes it.

        Mirrors ``take_gil()`` from ``MUTEX_LOCK(gil->switch_mutex)`` on (CPython
        3.13): ``locked = 1``; ``last_holder`` and ``++switch_number`` only if
        ``t`` is not ``last_holder``; ``COND_SIGNAL(switch_cond)`` (modelled by
        :meth:`switch_wake` being enabled); then the bpo-36475 check: a thread
        that must exit releases the GIL for the last time
        (``drop_gil(interp, NULL, 1)``) and exits. Deviates: the take and that
        final release are one step; CPython unlocks ``gil->mutex`` between them,
        so another thread can briefly see the GIL locked by a thread that does
        nothing but release it (no property depends on that window).
        """
        d = self.d
        switched = d.ne(s.last_holder, t)
        threads = tuple(
            th if k == t else dataclasses.replace(th, must_yield=d.bool_(False))
            for k, th in enumerate(s.threads)
        )
        taken = dataclasses.replace(
            s,
            locked=d.bool_(True),
            last_holder=d.int_(t),
            switch_number=d.ite(switched, d.add(s.switch_number, 1), s.switch_number),
            threads=threads,
        )
        me = self.update_eval_breaker_for_thread(taken, t)
        holding = self.with_thread(
            taken,
            t,
            dataclasses.replace(
                me,
                phase=d.int_(Phase.HOLDING),
                c_code=d.bool_(False),
                must_yield=d.bool_(False),
                spurious_wake=d.bool_(False),
            ),
        )
        exiting = self.update_thread(
            dataclasses.replace(taken, locked=d.bool_(False)),
            t,
            lambda th: dataclasses.replace(th, phase=d.int_(Phase.EXITED), c_code=d.bool_(False)),
        )
        return d.ite(self.must_exit(s, t), exiting, holding)

    def released(self, s: State[B, I], t: int, *, c_code: bool = False) -> State[B, I]:
        """The holder ``t`` releases the GIL; the FORCE_SWITCHING check comes next.

        Mirrors ``drop_gil(interp, tstate, 0)`` up to ``drop_gil_impl()`` (CPython
        3.13): ``last_holder = tstate``, then under ``gil->mutex``: ``locked = 0``,
        ``holds_gil = 0``, ``COND_SIGNAL(gil->cond)`` (waiters may wake, see
        :meth:`take_gil_wake`). ``c_code`` says the caller detaches into C code
        (``Py_BEGIN_ALLOW_THREADS``) rather than re-taking the GIL at once.

        Deviates: CPython's fatal error for an unlocked GIL cannot happen here;
        every caller is the holder (INV-GIL-SINGLE-HOLDER).
        """
        d = self.d
        me = s.threads[t]
        me = dataclasses.replace(
            me,
            phase=d.int_(Phase.RELEASING),
            c_code=d.bool_(c_code),
            must_yield=self.has_bit(me, Bit.GIL_DROP_REQUEST),
            # Releasing honours every drop request pending on t (liveness ghost).
            f0=dataclasses.replace(me.f0, drop_due=d.bool_(False)),
            f1=dataclasses.replace(me.f1, drop_due=d.bool_(False)),
        )
        out = dataclasses.replace(s, locked=d.bool_(False), last_holder=d.int_(t))
        return self.with_thread(out, t, me)

    def final_release(self, s: State[B, I], t: int) -> State[B, I]:
        """Mirrors ``drop_gil(interp, tstate, final_release=1)``: no ``last_holder``
        update and no FORCE_SWITCHING (gh-104341); the thread is gone afterwards."""
        d = self.d
        out = dataclasses.replace(s, locked=d.bool_(False))
        return self.update_thread(
            out, t, lambda th: dataclasses.replace(th, phase=d.int_(Phase.EXITED))
        )

    # -- actions ------------------------------------------------------------------------------

    @action(param_space(each_thread))
    def take_gil(self, s: State[B, I], t: int) -> Effect:
        """A detached thread calls ``take_gil`` (``_PyThreadState_Attach``,
        ``PyEval_RestoreThread``, or a new thread's first attach).

        Mirrors ``take_gil()`` up to the first ``COND_TIMED_WAIT`` (CPython 3.13):
        a thread that must exit exits at once (bpo-39877); if the GIL is free it
        is taken; otherwise the thread enters the ``while (locked)`` loop with
        ``drop_requested = 0`` and ``saved_switchnum = switch_number``.
        """
        d = self.d
        me = s.threads[t]
        yield d.all(d.eq(me.phase, Phase.DETACHED), d.eq(me.adding, 0))
        exited = self.with_thread(
            s, t, dataclasses.replace(me, phase=d.int_(Phase.EXITED), c_code=d.bool_(False))
        )
        waiting = self.with_thread(
            s,
            t,
            dataclasses.replace(
                me,
                phase=d.int_(Phase.TAKE_WAIT),
                c_code=d.bool_(False),
                saved_switchnum=s.switch_number,
                drop_requested=d.bool_(False),
            ),
        )
        return d.ite(self.must_exit(s, t), exited, d.ite(s.locked, waiting, self.acquired(s, t)))

    @action(param_space(each_thread, outcomes))
    def take_gil_wake(self, s: State[B, I], t: int, timed_out: bool) -> Effect:
        """A waiter's ``COND_TIMED_WAIT(gil->cond, ...)`` returns.

        Mirrors one iteration of ``take_gil()``'s ``while (locked)`` loop (CPython
        3.13). The wait may end by a timeout, a ``COND_SIGNAL`` or spuriously;
        which one is the environment's choice (``timed_out``). If it timed out,
        the GIL is still locked and ``switch_number`` did not change, the waiter
        sets ``_PY_GIL_DROP_REQUEST_BIT`` on ``last_holder`` and remembers that it
        did; if it must exit instead, it first unsets that bit again if it had
        requested a drop (gh-96387), then exits. The loop then re-tests
        ``locked``: still locked means another wait with a fresh
        ``saved_switchnum``, free means the GIL is taken.
        """
        d = self.d
        me = s.threads[t]
        yield d.eq(me.phase, Phase.TAKE_WAIT)
        no_switch = d.eq(s.switch_number, me.saved_switchnum)
        request = d.all(d.bool_(timed_out), s.locked, no_switch)

        # gh-96387: reset the drop request before exiting.
        reset = self.update_thread_at(
            s,
            s.last_holder,
            lambda th: self.clear_bits(th, Bit.GIL_DROP_REQUEST, when=me.drop_requested),
        )
        exit_ = self.update_thread(
            reset, t, lambda th: dataclasses.replace(th, phase=d.int_(Phase.EXITED))
        )
        asked = self.update_thread_at(
            s, s.last_holder, lambda th: self.set_bits(th, Bit.GIL_DROP_REQUEST)
        )
        asked = self.update_thread(
            asked, t, lambda th: dataclasses.replace(th, drop_requested=d.bool_(True))
        )
        after_request = d.ite(self.must_exit(s, t), exit_, asked)

        again = self.update_thread(
            s, t, lambda th: dataclasses.replace(th, saved_switchnum=s.switch_number)
        )
        loop = d.ite(s.locked, again, self.acquired(s, t))
        return d.ite(request, after_request, loop)

    @action(param_space(each_thread))
    def drop_gil_switch(self, s: State[B, I], t: int) -> Effect:
        """The FORCE_SWITCHING part of ``drop_gil`` after the release.

        Mirrors the ``#ifdef FORCE_SWITCHING`` block of ``drop_gil()`` (CPython
        3.13): if ``_PY_GIL_DROP_REQUEST_BIT`` is set on the dropper, take
        ``switch_mutex``; if nobody took the GIL yet (``last_holder == tstate``),
        unset the bit and start the single ``COND_WAIT(switch_cond)``. If someone
        already took it the bit stays set, and the next ``take_gil`` by this
        thread clears it.
        """
        d = self.d
        me = s.threads[t]
        yield d.eq(me.phase, Phase.RELEASING)
        wait = d.all(self.has_bit(me, Bit.GIL_DROP_REQUEST), d.eq(s.last_holder, t))
        waiting = dataclasses.replace(
            self.clear_bits(me, Bit.GIL_DROP_REQUEST),
            phase=d.int_(Phase.SWITCH_WAIT),
            spurious_wake=d.bool_(False),
        )
        detached = dataclasses.replace(me, phase=d.int_(Phase.DETACHED))
        return self.with_thread(s, t, d.ite(wait, waiting, detached))

    @action(param_space(each_thread))
    def switch_wake(self, s: State[B, I], t: int) -> Effect:
        """The dropper's ``COND_WAIT(gil->switch_cond, ...)`` returns.

        Mirrors the end of ``drop_gil()`` (CPython 3.13). The wait is a single
        call, not a loop: it ends when a ``take_gil`` signals ``switch_cond``
        after a switch, or spuriously, which is always possible; the ghost
        ``spurious_wake`` records the second case (nobody took the GIL yet).
        """
        d = self.d
        me = s.threads[t]
        yield d.eq(me.phase, Phase.SWITCH_WAIT)
        return self.with_thread(
            s,
            t,
            dataclasses.replace(
                me, phase=d.int_(Phase.DETACHED), spurious_wake=d.eq(s.last_holder, t)
            ),
        )
