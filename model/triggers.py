"""The vacuity triggers: the states a proof must reach for it to mean something.

A property proved over a model in which its trigger never happens is a defect
(a drop-request property is worthless if no drop request is ever made). Each
catalogue entry names its triggers; each trigger here is a state predicate,
written against the domain like the properties, so that every engine can look
for it. The guard (:mod:`engines.vacuity`) also wants every transition class of
the model enabled in some reachable state, except the instances that are dead
by design (listed in :data:`DEAD_BY_DESIGN` with the reason).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from model.actions import Instance
from model.base import INTERP, MAIN, MAINQ
from model.bits import Bit
from model.config import Config
from model.phases import Phase, Stage
from model.state import NULL, State

M = Any
S = State[Any, Any]


@dataclass(frozen=True)
class Trigger:
    name: str
    description: str
    holds: Callable[[M, S], Any]
    """The trigger as a term of the model's domain."""
    needs: tuple[tuple[str, int], ...] = ()
    """(Config field, least value) without which no state can satisfy it: a signal
    needs a signal, a hand-off or a wait needs a second thread."""


TRIGGERS: dict[str, Trigger] = {}

SIGNAL = (("signals", 1),)
TWO_THREADS = (("threads", 2),)


def _trigger(
    name: str, description: str, needs: tuple[tuple[str, int], ...] = ()
) -> Callable[[Callable[[M, S], Any]], Callable[[M, S], Any]]:
    def deco(fn: Callable[[M, S], Any]) -> Callable[[M, S], Any]:
        TRIGGERS[name] = Trigger(name, description, fn, needs)
        return fn

    return deco


def option(name: str, value: int) -> str:
    """A Config field's value as ``gilcheck verify``'s option: ``--signals 1``."""
    return f"--{name.replace('_', '-')} {value}"


def not_applicable(needs: Iterable[tuple[str, int]], cfg: Config) -> str | None:
    """Why a configuration cannot have what ``needs`` asks for, as the options of the
    smallest configuration that can ("needs --signals 1"), or None."""
    short = [option(name, least) for name, least in needs if getattr(cfg, name) < least]
    return f"needs {' '.join(short)}" if short else None


def _any_thread(m: M, s: S, f: Callable[[Any], Any]) -> Any:
    return m.d.any(*(f(th) for th in s.threads))


def _any_frame(m: M, s: S, *stages: Stage, threads: Iterable[int] | None = None) -> Any:
    d = m.d
    ts = range(len(s.threads)) if threads is None else threads
    return d.any(
        *(
            d.eq(getattr(s.threads[t], f).stage, st)
            for t in ts
            for f in ("f0", "f1")
            for st in stages
        )
    )


@_trigger("nested-check-point", "a check point inside a handler or callback starts a nested pass")
def _nested(m: M, s: S) -> Any:
    return _any_thread(m, s, lambda th: m.d.eq(th.depth, 2))


@_trigger("gil-handoff", "the GIL passes to another thread", TWO_THREADS)
def _handoff(m: M, s: S) -> Any:
    return m.d.le(1, s.switch_number)


@_trigger("take-gil-wait", "a thread waits in take_gil", TWO_THREADS)
def _take_wait(m: M, s: S) -> Any:
    return _any_thread(m, s, lambda th: m.d.eq(th.phase, Phase.TAKE_WAIT))


@_trigger("gil-retake", "the last holder is about to take the free GIL again (no switch)")
def _retake(m: M, s: S) -> Any:
    d = m.d
    return d.all(
        d.not_(s.locked),
        d.any(
            *(
                d.all(d.eq(s.last_holder, t), d.eq(th.phase, Phase.DETACHED))
                for t, th in enumerate(s.threads)
            )
        ),
    )


@_trigger("drop-request", "the GIL holder has a drop request", TWO_THREADS)
def _drop_request(m: M, s: S) -> Any:
    d = m.d
    return _any_thread(
        m,
        s,
        lambda th: d.all(d.eq(th.phase, Phase.HOLDING), d.bhas(th.breaker, Bit.GIL_DROP_REQUEST)),
    )


@_trigger(
    "stale-drop-request",
    "a thread that does not hold the GIL still has a drop request",
    TWO_THREADS,
)
def _stale_drop(m: M, s: S) -> Any:
    d = m.d
    return _any_thread(
        m,
        s,
        lambda th: d.all(d.eq(th.phase, Phase.DETACHED), d.bhas(th.breaker, Bit.GIL_DROP_REQUEST)),
    )


@_trigger(
    "waiter-exits-after-request",
    "a waiter that requested a drop exits during finalization",
    TWO_THREADS,
)
def _waiter_exits(m: M, s: S) -> Any:
    d = m.d
    return d.all(
        s.finalizing,
        _any_thread(m, s, lambda th: d.all(d.eq(th.phase, Phase.EXITED), th.drop_requested)),
    )


@_trigger("forced-switch-wait", "a dropper waits on switch_cond", TWO_THREADS)
def _switch_wait(m: M, s: S) -> Any:
    return _any_thread(m, s, lambda th: m.d.eq(th.phase, Phase.SWITCH_WAIT))


@_trigger("spurious-switch-wake", "a switch_cond wait ends before any switch", TWO_THREADS)
def _spurious(m: M, s: S) -> Any:
    return _any_thread(m, s, lambda th: th.spurious_wake)


@_trigger("finalizing-waiter", "a thread waits in take_gil while finalization runs", TWO_THREADS)
def _fin_waiter(m: M, s: S) -> Any:
    d = m.d
    return d.all(
        s.finalizing,
        d.any(*(d.eq(th.phase, Phase.TAKE_WAIT) for t, th in enumerate(s.threads) if t != MAIN)),
    )


@_trigger(
    "finalizing-acquirer-exits",
    "a thread takes the GIL during finalization and exits (bpo-36475)",
    TWO_THREADS,
)
def _fin_acquirer(m: M, s: S) -> Any:
    d = m.d
    return d.all(
        s.finalizing,
        d.any(
            *(
                d.all(d.eq(th.phase, Phase.EXITED), d.eq(s.last_holder, t))
                for t, th in enumerate(s.threads)
                if t != MAIN
            )
        ),
    )


@_trigger("version-bump", "sys.monitoring sets a new instrumentation version")
def _version(m: M, s: S) -> Any:
    return m.d.ne(s.instrumentation_version, 0)


@_trigger("gc-scheduled", "a thread has a GC scheduled")
def _gc(m: M, s: S) -> Any:
    return _any_thread(m, s, lambda th: m.d.bhas(th.breaker, Bit.GC_SCHEDULED))


@_trigger("signal-tripped", "a signal is tripped", SIGNAL)
def _tripped(m: M, s: S) -> Any:
    return m.d.any(*s.tripped)


@_trigger("drop-honoured", "a pass is about to honour a drop request", TWO_THREADS)
def _drop_stage(m: M, s: S) -> Any:
    return _any_frame(m, s, Stage.DROP)


@_trigger("pending-call-runs", "a pending call runs")
def _call_runs(m: M, s: S) -> Any:
    return _any_frame(m, s, Stage.CALLBACK_INTERP, Stage.CALLBACK_MAIN)


@_trigger(
    "callback-fails", "a pending call runs (it may then fail: callback_return(ok=False) is enabled)"
)
def _callback(m: M, s: S) -> Any:
    return _any_frame(m, s, Stage.CALLBACK_INTERP, Stage.CALLBACK_MAIN)


@_trigger("signal-handler-runs", "a Python signal handler runs", SIGNAL)
def _handler(m: M, s: S) -> Any:
    return _any_frame(m, s, Stage.HANDLER)


@_trigger("signal-handler-fails", "a Python signal handler runs (it may then raise)", SIGNAL)
def _handler_fails(m: M, s: S) -> Any:
    return _any_frame(m, s, Stage.HANDLER)


@_trigger("async-posted", "an asynchronous exception is pending")
def _async_posted(m: M, s: S) -> Any:
    return _any_thread(m, s, lambda th: m.d.ne(th.async_exc, 0))


@_trigger("async-delivered", "an asynchronous exception has been delivered")
def _async_delivered(m: M, s: S) -> Any:
    return _any_thread(m, s, lambda th: m.d.lt(0, th.async_deliveries))


def _queue_full(q: int) -> Callable[[M, S], Any]:
    def full(m: M, s: S) -> Any:
        pq = s.interp_q if q == INTERP else s.main_q
        return m.d.eq(pq.npending, m.capacity(q))

    return full


TRIGGERS["interp-queue-full"] = Trigger(
    "interp-queue-full", "the per-interpreter queue holds its capacity", _queue_full(INTERP)
)
TRIGGERS["main-queue-full"] = Trigger(
    "main-queue-full", "the main-thread queue holds its capacity", _queue_full(MAINQ)
)


@_trigger("two-calls-queued", "a queue holds two calls")
def _two(m: M, s: S) -> Any:
    d = m.d
    return d.any(d.le(2, s.interp_q.npending), d.le(2, s.main_q.npending))


@_trigger("add-refused", "an add is refused because the queue is full")
def _refused(m: M, s: S) -> Any:
    d = m.d
    return d.any(d.lt(0, s.interp_q.refused), d.lt(0, s.main_q.refused))


@_trigger("maxloop-cutoff", "a drain stops at maxloop with calls left")
def _maxloop(m: M, s: S) -> Any:
    d = m.d
    parts = []
    for th in s.threads:
        for f in (th.f0, th.f1):
            parts.append(
                d.all(
                    d.eq(f.stage, Stage.DRAIN_INTERP),
                    d.eq(f.idx, m.maxloop(INTERP)),
                    d.lt(0, s.interp_q.npending),
                )
            )
            parts.append(
                d.all(
                    d.eq(f.stage, Stage.DRAIN_MAIN),
                    d.eq(f.idx, m.maxloop(MAINQ)),
                    d.lt(0, s.main_q.npending),
                )
            )
    return d.any(*parts)


@_trigger(
    "drain-hand-off", "a thread reaches make_pending_calls while another drain is in progress"
)
def _hand_off(m: M, s: S) -> Any:
    d = m.d
    return d.all(d.ne(s.handling_thread, NULL), _any_frame(m, s, Stage.CALLS))


@_trigger("main-queue-drained", "the main thread pops from the main-thread queue")
def _main_drained(m: M, s: S) -> Any:
    d = m.d
    return d.all(d.lt(0, s.main_q.npending), _any_frame(m, s, Stage.DRAIN_MAIN, threads=[MAIN]))


@_trigger("signal-during-scan", "a signal arrives while the main thread scans the handlers", SIGNAL)
def _sig_scan(m: M, s: S) -> Any:
    d = m.d
    return d.all(
        d.any(*(d.ne(st, 0) for st in s.trip_stage)),
        _any_frame(m, s, Stage.SCAN, Stage.HANDLER, threads=[MAIN]),
    )


@_trigger("signal-during-drain", "a signal arrives while pending calls are drained", SIGNAL)
def _sig_drain(m: M, s: S) -> Any:
    d = m.d
    return d.all(d.any(*(d.ne(st, 0) for st in s.trip_stage)), d.ne(s.handling_thread, NULL))


# -- instances that are never enabled, by design ---------------------------------------------


@dataclass(frozen=True)
class Dead:
    """Instances of ``action`` that no state of CPython 3.13 enables, and why.

    With ``below``, only in a configuration whose field is below the value.
    """

    action: str
    when: Callable[[Instance], bool]
    reason: str
    below: tuple[str, int] | None = None


DEAD_BY_DESIGN: tuple[Dead, ...] = (
    *(
        Dead(
            a,
            lambda i: i.args[0] != MAIN,
            "only the main thread gets SIGNALS_PENDING (INV-SIGNALS-BIT-MAIN-ONLY)",
        )
        for a in ("handle_signals", "call_signal_handler", "scan_done", "handler_return")
    ),
    *(
        Dead(
            a,
            lambda i: i.args[0] != MAIN and i.args[2] == MAINQ,
            "only the main thread drains the main-thread queue",
        )
        for a in ("pop_pending_call", "drain_done", "callback_return")
    ),
    *(
        Dead(
            a,
            lambda i: i.args[0] != MAIN and i.args[1] == 1,
            "a thread other than main nests a pass only inside its own callback, "
            "where handling_thread is itself",
        )
        for a in ("make_pending_calls", "pop_pending_call", "drain_done", "callback_return")
    ),
    *(
        Dead(a, lambda i: True, "with one thread nobody waits for the GIL", ("threads", 2))
        for a in ("take_gil_wake", "switch_wake", "handle_drop_request")
    ),
    Dead(
        "make_pending_calls_hand_off",
        lambda i: i.args[1] == 0,
        "with one thread an outer pass has no other thread to hand the calls to "
        "(a nested one can hand them to itself: INV-NO-LOST-WAKEUP-STRICT)",
        ("threads", 2),
    ),
    *(
        Dead(a, lambda i: True, "with no signal no handler runs", ("signals", 1))
        for a in ("handle_signals", "scan_done", "handler_return")
    ),
    *(
        Dead(
            a,
            lambda i: i.args[0] == MAIN and i.args[1] == 1,
            "with no signal the main thread too nests a pass only inside its own callback, "
            "where handling_thread is itself",
            ("signals", 1),
        )
        for a in ("make_pending_calls", "pop_pending_call", "drain_done", "callback_return")
    ),
)


def dead_reason(inst: Instance, cfg: Config | None = None) -> str | None:
    """Why ``inst`` is never enabled (in ``cfg``, if given), or None if it must be."""
    for dead in DEAD_BY_DESIGN:
        if dead.below is not None:
            field, least = dead.below
            if cfg is None or getattr(cfg, field) >= least:
                continue
        if dead.action == inst.action and dead.when(inst):
            return dead.reason
    return None
