"""The rules of what a pass serves: pending calls added, async exceptions posted, signals tripped.

A push and a post are logged by the thread that makes them (their actor is
the ``ThreadState`` bound to the host thread); a signal's trip has no actor:
it is the environment's.
"""

from __future__ import annotations

from conformance.tracecheck.rulebase import (
    ConcreteState,
    Ctx,
    actor_of,
    int_field,
    need,
    one,
    queue_of,
    signal_of,
)
from model.base import INTERP, MAIN, MAINQ


def r_push(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    q = queue_of(c)
    post = c.checker.fire("add_pending_call", t, q, s=s)
    before = s.interp_q if q == INTERP else s.main_q
    after = post.interp_q if q == INTERP else post.main_q
    full = bool(c.f("full"))
    need(
        full == (after.refused > before.refused),
        f"model {'refuses' if after.refused > before.refused else 'accepts'}, log full={full}",
    )
    npending = int_field(c, "npending")
    need(after.npending == npending, f"model npending {after.npending}, log {npending}")
    if not full:
        call = int_field(c, "call") - 1
        need(before.added == call, f"model call id {before.added}, log {call}")
    return one(f"add_pending_call(t={t}, q={q})", post)


def r_signal(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    q = s.threads[t].adding - 1
    need(q in (INTERP, MAINQ), f"thread {t} has not pushed a call")
    post = c.checker.fire("signal_pending_call", t, q, s=s)
    target = c.f("target")
    if q == MAINQ:
        expected: int | None = MAIN
    else:
        expected = s.last_holder if s.locked else None
    need(target == expected, f"model signals thread {expected}, log {target}")
    return one(f"signal_pending_call(t={t}, q={q})", post)


def r_async_set(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    target = int_field(c, "target")
    post = c.checker.fire("set_async_exc", t, target, s=s)
    c.checker.posted[(target, post.threads[target].async_exc)] = c.f("exc")
    return one(f"set_async_exc(t={t}, target={target})", post)


def r_tripped(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    sig = signal_of(c)
    post = c.checker.fire("trip_signal", sig, s=s)
    post = c.checker.fire("trip_signal_is_tripped", sig, s=post)
    post = c.checker.fire("signal_received", sig, s=post)
    return one(f"trip_signal({sig}) and its two stores", post)
