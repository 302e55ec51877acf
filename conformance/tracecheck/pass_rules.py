"""The rules of a check point's pass: snapshot, signals, pending-call drain, async exceptions.

Every event of a pass belongs to the actor's innermost pass
(:func:`~conformance.tracecheck.rulebase.level_of`): the model's level 0 at an
eval-loop check point, level 1 at a check point nested in a pending call.
"""

from __future__ import annotations

from conformance.tracecheck.rulebase import (
    ConcreteState,
    Ctx,
    Rule,
    actor_of,
    int_field,
    level_of,
    need,
    one,
    pass_step,
    queue_of,
    signal_of,
)
from model.base import INTERP
from model.bits import EVENTS_MASK, Bit, bit_names
from model.phases import Stage
from model.state import NULL, live_calls


def r_handle_pending(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    me = s.threads[t]
    bits = int_field(c, "bits") & EVENTS_MASK
    if me.depth == 0:
        post = c.checker.fire("execute", t, "CALL", s=s)
        label = f"execute(t={t}, op='CALL')"
    else:
        post = c.checker.fire("body_check_point", t, s=s)
        label = f"body_check_point(t={t})"
    snap = me.breaker & EVENTS_MASK
    need(
        snap == bits,
        f"{label}: the model's snapshot is {bit_names(snap)}, the log's {bit_names(bits)}",
    )
    return one(label, post)


def r_handle_signals(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    ((label, post),) = pass_step("handle_signals")(c, s)
    t = actor_of(c)
    scanning = post.threads[t].depth == s.threads[t].depth and _stage(post, t) == Stage.SCAN
    need(scanning == bool(c.f("scan")), f"{label}: model scans={scanning}, log {c.f('scan')}")
    return one(label, post)


def _stage(s: ConcreteState, t: int) -> Stage:
    me = s.threads[t]
    f = me.f0 if me.depth == 1 else me.f1
    return Stage(f.stage)


def r_signal_handler(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    return pass_step("call_signal_handler", signal_of(c))(c, s)


def r_handler_raise(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    level = level_of(s, t)
    return one("handler_return(ok=False)", c.checker.fire("handler_return", t, level, False, s=s))


def r_busy(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    handling = int_field(c, "handling_thread")
    need(
        s.handling_thread == handling,
        f"model handling_thread {s.handling_thread}, log {handling}",
    )
    return pass_step("make_pending_calls_hand_off")(c, s)


def r_pop(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    q = queue_of(c)
    level = level_of(s, t)
    pq = s.interp_q if q == INTERP else s.main_q
    call = int_field(c, "call") - 1
    need(pq.npending > 0, f"the model's {c.f('queue')} queue is empty")
    head = live_calls(pq)[0]
    need(head == call, f"the model's head call is {head}, the log pops {call}")
    post = c.checker.fire("pop_pending_call", t, level, q, s=s)
    npending = int_field(c, "npending")
    after = post.interp_q if q == INTERP else post.main_q
    need(after.npending == npending, f"model npending {after.npending}, log {npending}")
    return one(f"pop_pending_call(t={t}, level={level}, q={q})", post)


def r_callback(ok: bool) -> Rule:
    def rule(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
        return pass_step("callback_return", queue_of(c), ok)(c, s)

    return rule


def r_loop_end(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    q = queue_of(c)
    level = level_of(s, t)
    reason = c.f("reason")
    me = s.threads[t]
    f = me.f0 if level == 0 else me.f1
    limit = c.checker.model.maxloop(q)
    need((reason == "maxloop") == (f.idx >= limit), f"model loop counter {f.idx}, log {reason!r}")
    if reason == "empty":
        pq = s.interp_q if q == INTERP else s.main_q
        need(
            pq.npending == 0,
            f"the log's pop found the {c.f('queue')} queue empty; the model's holds "
            f"{pq.npending} call(s): {list(live_calls(pq))}",
        )
    if reason == "maxloop":
        npending = int_field(c, "npending")
        need(
            s.drain_npending == npending,
            f"model's npending at the last pop {s.drain_npending}, log {npending}",
        )
    post = c.checker.fire("drain_done", t, level, q, s=s)
    return one(f"drain_done(t={t}, level={level}, q={q})", post)


def r_resignal(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    need(bool(s.threads[t].breaker & Bit.CALLS_TO_DO), f"thread {t} has no CALLS_TO_DO")
    return one("(re-signal confirmed)", s)


def r_end(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    need(s.handling_thread == NULL, f"model handling_thread is {s.handling_thread}")
    return one("(drain end confirmed)", s)


def r_async_raise(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    exc_id = s.threads[t].async_exc
    need(exc_id != 0, "the model has no asynchronous exception pending")
    posted = c.checker.posted.get((t, exc_id))
    need(
        posted is c.f("exc"),
        f"the model delivers exception #{exc_id} ({posted!r}), the log {c.f('exc')!r}",
    )
    return pass_step("handle_async_exc")(c, s)


def r_async_none(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    need(s.threads[actor_of(c)].async_exc == 0, "the model has an exception to deliver")
    return pass_step("handle_async_exc")(c, s)
