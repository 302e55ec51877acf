"""The rules of the GIL's events: ``take_gil``, the drop request, ``drop_gil``, finalization.

A ``take_gil.wake`` only notes its ``timed_out`` (in :attr:`TraceChecker.woke`);
the model's ``take_gil_wake`` step is taken by the event that ends the
critical section: the next wait, the drop request, the acquisition or the exit
(:data:`conformance.tracecheck.rules.WAKE_CLOSERS`).
"""

from __future__ import annotations

from conformance.tracecheck.rulebase import (
    ConcreteState,
    Ctx,
    Refused,
    actor_of,
    int_field,
    need,
    one,
)
from model.base import MAIN
from model.bits import Bit
from model.phases import Phase


def _woke(c: Ctx, s: ConcreteState) -> ConcreteState:
    """Take the step of the actor's buffered ``take_gil.wake``."""
    t = actor_of(c)
    timed_out = c.checker.woke[t]
    return c.checker.fire("take_gil_wake", t, timed_out, s=s)


def r_take_gil_wait(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    saved = int_field(c, "saved_switch_number") - c.checker.switch_base
    me = s.threads[t]
    if t in c.checker.woke:
        post = _woke(c, s)
        label = "take_gil_wake (still locked)"
    elif me.phase == Phase.DETACHED:
        post = c.checker.fire("take_gil", t, s=s)
        label = f"take_gil(t={t})"
    elif me.phase == Phase.TAKE_WAIT and me.drop_requested:
        post, label = s, "(the wait after a drop request)"
    else:
        raise Refused(f"thread {t} is {Phase(me.phase).name}, not about to wait in take_gil")
    after = post.threads[t]
    need(after.phase == Phase.TAKE_WAIT, f"{label} leaves thread {t} {Phase(after.phase).name}")
    need(
        after.saved_switchnum == saved,
        f"{label}: model saved_switchnum {after.saved_switchnum}, log {saved}",
    )
    return one(label, post)


def r_take_gil_wake(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    need(s.threads[t].phase == Phase.TAKE_WAIT, f"thread {t} is not waiting in take_gil")
    timed_out = c.f("timed_out")
    need(isinstance(timed_out, bool), "timed_out is not a bool")
    return one("(wake-up noted)", s)


def r_drop_request_set(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    need(t in c.checker.woke, f"no take_gil.wake of thread {t} precedes the request")
    holder = int_field(c, "holder")
    need(s.last_holder == holder, f"the model's last_holder is {s.last_holder}, log {holder}")
    post = _woke(c, s)
    need(post.threads[t].drop_requested, "take_gil_wake did not request a drop")
    need(
        bool(post.threads[holder].breaker & Bit.GIL_DROP_REQUEST),
        f"thread {holder} has no GIL_DROP_REQUEST after the request",
    )
    return one(f"take_gil_wake(t={t}, timed_out=True) -> request", post)


def r_take_gil_acquire(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    if t in c.checker.woke:
        post = _woke(c, s)
        label = f"take_gil_wake(t={t}) -> acquired"
    else:
        post = c.checker.fire("take_gil", t, s=s)
        label = f"take_gil(t={t}) -> acquired"
    need(post.threads[t].phase == Phase.HOLDING, f"{label} leaves thread {t} not holding")
    number = int_field(c, "switch_number") - c.checker.switch_base
    need(
        post.switch_number == number,
        f"{label}: model switch_number {post.switch_number}, log {number}",
    )
    switched = c.f("switched")
    need(
        switched == (s.last_holder != t),
        f"{label}: model last_holder was {s.last_holder}, log says switched={switched}",
    )
    return one(label, post)


def r_must_exit(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    post = _woke(c, s) if t in c.checker.woke else c.checker.fire("take_gil", t, s=s)
    need(post.threads[t].phase == Phase.EXITED, f"thread {t} does not exit in the model")
    return one("must exit", post)


def r_drop_gil(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    if c.f("final_release"):
        need(s.threads[t].phase == Phase.EXITED, "a final release by a thread that is not exiting")
        return one("(final release of an exiting thread)", s)
    out: list[tuple[str, ConcreteState]] = []
    reasons = []
    me = s.threads[t]
    if me.depth >= 1:
        level = me.depth - 1
        try:
            out.append(
                (
                    f"handle_drop_request(t={t}, level={level})",
                    c.checker.fire("handle_drop_request", t, level, s=s),
                )
            )
        except Refused as why:
            reasons.append(str(why))
    try:
        out.append((f"allow_threads(t={t})", c.checker.fire("allow_threads", t, s=s)))
    except Refused as why:
        reasons.append(str(why))
    if not out:
        raise Refused("; ".join(reasons))
    return out


def r_switch_wait(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    post = c.checker.fire("drop_gil_switch", t, s=s)
    need(post.threads[t].phase == Phase.SWITCH_WAIT, "the model does not wait on switch_cond")
    return one(f"drop_gil_switch(t={t}) -> wait", post)


def r_switch_wake(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = actor_of(c)
    post = c.checker.fire("switch_wake", t, s=s)
    switched = c.f("switched")
    need(
        switched == (s.last_holder != t),
        f"model last_holder {s.last_holder}, log says switched={switched}",
    )
    return one(f"switch_wake(t={t})", post)


def r_finalize(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    return one("finalize(t=0)", c.checker.fire("finalize", MAIN, s=s))
