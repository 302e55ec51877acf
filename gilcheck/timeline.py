"""What a counterexample does, thread by thread: the timeline its pictures draw.

A trace is states ``0..n`` and steps ``1..n`` (step ``k`` leads from state
``k - 1`` to state ``k``, as in the step table of :mod:`gilcheck.report`).
:func:`derive` reads it into one :class:`Cell` per thread and state (where the
thread stands with respect to the GIL, and since when it waits) and one
:class:`Step` per step: the acting thread, what happened as :class:`Event`
values (the GIL taken or released, a drop request, a forced switch, a check
point or a stage of the eval-breaker pass, a pending call added, run or
refused, a signal, an asynchronous exception, an exit), and the variables that
changed, real ones apart from ghosts (:func:`gilcheck.changes.changes`).

Events come from the states, not from the action's name alone, so a variant
that overrides an action is drawn by what it does. The pictures
(:mod:`gilcheck.pictures`, :mod:`gilcheck.mermaid`) only lay this out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from engines.reachable import options
from gilcheck.changes import changes
from model.base import MAIN
from model.bits import Bit, bit_names
from model.config import Config
from model.phases import Phase, Stage
from model.state import live_calls
from model.trace import ConcreteState, Trace

GIL: Final = "gil"
WAIT: Final = "wait"
DROP_REQUEST: Final = "drop-request"
SWITCH: Final = "switch"
CHECK: Final = "check"
PENDING_ADD: Final = "pending-add"
PENDING_RUN: Final = "pending-run"
PENDING_REFUSED: Final = "pending-refused"
SIGNAL: Final = "signal"
ASYNC_EXC: Final = "async-exc"
LIFECYCLE: Final = "lifecycle"
OTHER: Final = "other"

KINDS: Final = {
    GIL: "GIL taken or released",
    WAIT: "waits in take_gil",
    DROP_REQUEST: "drop request (GIL_DROP_REQUEST set or cleared)",
    SWITCH: "forced switch (switch_cond wait)",
    CHECK: "check point / eval-breaker pass",
    PENDING_ADD: "pending call added",
    PENDING_RUN: "pending call run",
    PENDING_REFUSED: "pending call refused (queue full)",
    SIGNAL: "signal",
    ASYNC_EXC: "asynchronous exception",
    LIFECYCLE: "exit or finalization",
    OTHER: "other step",
}
"""Event kind -> what the legend says about it."""

QUEUES: Final = ("interp_q", "main_q")
QUEUE_NAMES: Final = {"interp_q": "per-interpreter queue", "main_q": "main-thread queue"}

_CHECK_ACTIONS: Final = {
    "execute": "check point",
    "body_check_point": "check point in a handler or callback",
    "handle_signals": "pass: signals stage",
    "scan_done": "pass: signal scan done",
    "handler_return": "pass: signal handler returns",
    "make_pending_calls": "pass: make_pending_calls",
    "make_pending_calls_hand_off": "pass: CALLS_TO_DO handed to the handling thread",
    "drain_done": "pass: drain done",
    "callback_return": "pass: callback returns",
    "handle_gc": "pass: GC stage",
    "handle_drop_request": "pass: drop stage (honours the drop request)",
    "handle_async_exc": "pass: async exception stage",
}
"""Actions of the eval-breaker pass and their check points -> what the event says."""


def thread_name(t: int) -> str:
    """``thread 0 (main)``, ``thread 1``: how a lane is labelled."""
    return f"thread {t} (main)" if t == MAIN else f"thread {t}"


@dataclass(frozen=True, slots=True)
class Event:
    """One thing a step did, drawn on the lane of ``thread`` (None: the environment)."""

    kind: str
    thread: int | None
    text: str
    target: int | None = None
    """The thread it is aimed at (a drop request's holder, an exception's target)."""


@dataclass(frozen=True, slots=True)
class Cell:
    """A thread in one state."""

    phase: Phase
    c_code: bool
    since: int | None
    """For a wait (TAKE_WAIT, SWITCH_WAIT): the state (= step) at which it began."""
    breaker: tuple[str, ...]
    stage: Stage
    """The stage of the innermost pass in progress (NONE when there is none)."""

    @property
    def holds(self) -> bool:
        return self.phase == Phase.HOLDING

    @property
    def text(self) -> str:
        """One short line for the cell: ``holds``, ``waits since 2``, ``switch wait``..."""
        if self.phase == Phase.TAKE_WAIT:
            return f"waits since {self.since}"
        if self.phase == Phase.SWITCH_WAIT:
            return f"switch wait since {self.since}"
        if self.phase == Phase.DETACHED and self.c_code:
            return "C code"
        return {
            Phase.HOLDING: "holds GIL",
            Phase.RELEASING: "releasing",
            Phase.DETACHED: "detached",
            Phase.EXITED: "exited",
        }[self.phase]


@dataclass(frozen=True, slots=True)
class Step:
    """Step ``index`` (1-based): from state ``index - 1`` to state ``index``."""

    index: int
    label: str
    action: str
    actor: int | None
    events: tuple[Event, ...]
    changed: tuple[str, ...]
    ghosts: tuple[str, ...]
    """Ghost variables that changed (ones CPython does not have), formatted."""

    @property
    def kind(self) -> str:
        """The kind of its first event: the colour a step is drawn in."""
        return self.events[0].kind if self.events else OTHER

    @property
    def who(self) -> str:
        return "env" if self.actor is None else f"T{self.actor}"


@dataclass(frozen=True, slots=True)
class Timeline:
    """A whole trace, per thread: ``lanes[t][k]`` is thread ``t`` in state ``k``."""

    title: str
    about: str
    """One line under the title: the variant and configuration, say."""
    threads: int
    signals: int
    lanes: tuple[tuple[Cell, ...], ...]
    holders: tuple[tuple[int, ...], ...]
    """Per state: the threads that hold the GIL (one, or none; two only in a broken variant)."""
    queues: tuple[dict[str, tuple[int, ...]], ...]
    """Per state: each queue's live calls, oldest first."""
    tripped: tuple[tuple[int, ...], ...]
    """Per state: the signals whose ``Handlers[sig].tripped`` is set."""
    steps: tuple[Step, ...]
    loop: int | None
    """A lasso's loop: the state (= step) where the repeating part starts."""

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    def loop_text(self) -> str:
        """``loop starts at step N ...``, or "" for a trace that is no lasso."""
        if self.loop is None:
            return ""
        n = self.n_steps
        if self.loop == n:
            return f"loop at step {n}: state {n} stays for ever (nothing owed is enabled)"
        return (
            f"loop starts at step {self.loop}: steps {self.loop + 1}..{n} repeat for ever "
            f"(state {n} is state {self.loop} again)"
        )


def holder_text(holders: tuple[int, ...]) -> str:
    """``T0``, ``none`` or ``T0,T1``: who holds the GIL in a state."""
    return ",".join(f"T{t}" for t in holders) or "none"


def derive(trace: Trace, title: str = "", about: str = "") -> Timeline:
    """The timeline of ``trace`` (a replayed, concrete trace)."""
    states = trace.states
    threads = len(states[0].threads)
    lanes = tuple(tuple(_cells(states, t)) for t in range(threads))
    steps = tuple(
        _step(k + 1, inst.label, inst.action, inst.actor, states[k], states[k + 1])
        for k, inst in enumerate(trace.steps)
    )
    return Timeline(
        title=title,
        about=about,
        threads=threads,
        signals=len(states[0].tripped),
        lanes=lanes,
        holders=tuple(
            tuple(t for t, th in enumerate(s.threads) if th.phase == Phase.HOLDING) for s in states
        ),
        queues=tuple({q: live_calls(getattr(s, q)) for q in QUEUES} for s in states),
        tripped=tuple(tuple(i for i, x in enumerate(s.tripped) if x) for s in states),
        steps=steps,
        loop=trace.loop,
    )


def describe(trace: Trace, *, title: str, variant: str, config: Config) -> Timeline:
    """The timeline of a counterexample, headed by ``title`` and what it was checked on."""
    return derive(trace, title=title, about=f"variant {variant}, {options(config)}")


def _cells(states: tuple[ConcreteState, ...], t: int) -> Iterator[Cell]:
    since: int | None = None
    before: Phase | None = None
    for k, s in enumerate(states):
        th = s.threads[t]
        phase = Phase(th.phase)
        if phase in (Phase.TAKE_WAIT, Phase.SWITCH_WAIT):
            since = k if phase != before else since
        else:
            since = None
        before = phase
        frame = th.f1 if th.depth >= 2 else th.f0
        yield Cell(
            phase=phase,
            c_code=bool(th.c_code),
            since=since,
            breaker=tuple(bit_names(th.breaker)),
            stage=Stage(frame.stage) if th.depth else Stage.NONE,
        )


def _step(
    index: int, label: str, action: str, actor: int | None, a: ConcreteState, b: ConcreteState
) -> Step:
    real, ghost = changes(a, b)
    events = [*_gil_events(a, b), *_request_events(actor, a, b)]
    events += _pass_events(action, actor, label)
    events += _queue_events(actor, a, b)
    events += _signal_events(action, actor, label, a, b)
    events += _async_events(actor, a, b)
    events += _bit_events(actor, a, b)
    if bool(b.finalizing) and not bool(a.finalizing):
        events.append(Event(LIFECYCLE, actor, "finalization starts"))
    if not events:
        events.append(Event(OTHER, actor, label))
    return Step(index, label, action, actor, tuple(events), tuple(real), tuple(ghost))


def _gil_events(a: ConcreteState, b: ConcreteState) -> Iterator[Event]:
    for t, (x, y) in enumerate(zip(a.threads, b.threads, strict=True)):
        old, new = Phase(x.phase), Phase(y.phase)
        if old == new:
            continue
        if new == Phase.HOLDING:
            yield Event(GIL, t, "takes the GIL")
        elif new == Phase.TAKE_WAIT:
            yield Event(WAIT, t, "waits for the GIL (take_gil)")
        elif new == Phase.SWITCH_WAIT:
            yield Event(SWITCH, t, "forced switch: waits on switch_cond")
        elif old == Phase.SWITCH_WAIT:
            how = "spuriously, before any switch" if y.spurious_wake else "after a switch"
            yield Event(SWITCH, t, f"switch wait ends {how}")
        elif new == Phase.EXITED:
            yield Event(LIFECYCLE, t, "exits")
        elif old == Phase.HOLDING:
            yield Event(GIL, t, "releases the GIL (drop_gil)")
        elif new == Phase.DETACHED and old == Phase.RELEASING:
            yield Event(GIL, t, "leaves drop_gil")


def _request_events(actor: int | None, a: ConcreteState, b: ConcreteState) -> Iterator[Event]:
    for t, (x, y) in enumerate(zip(a.threads, b.threads, strict=True)):
        was, now = x.breaker & Bit.GIL_DROP_REQUEST, y.breaker & Bit.GIL_DROP_REQUEST
        if now and not was:
            yield Event(DROP_REQUEST, actor, f"drop request on T{t}", target=t)
        elif was and not now:
            yield Event(DROP_REQUEST, actor, f"drop request on T{t} cleared", target=t)


_BIT_KINDS: Final = {
    Bit.CALLS_TO_DO: PENDING_ADD,
    Bit.SIGNALS_PENDING: SIGNAL,
    Bit.ASYNC_EXCEPTION: ASYNC_EXC,
    Bit.GC_SCHEDULED: OTHER,
}
"""Eval-breaker bits other than the drop request, and the kind of event their change is."""


def _bit_events(actor: int | None, a: ConcreteState, b: ConcreteState) -> Iterator[Event]:
    for t, (x, y) in enumerate(zip(a.threads, b.threads, strict=True)):
        for bit, kind in _BIT_KINDS.items():
            was, now = x.breaker & bit, y.breaker & bit
            if now and not was:
                yield Event(kind, actor, f"eval breaker: {bit.name} set on T{t}", target=t)
            elif was and not now:
                yield Event(kind, actor, f"eval breaker: {bit.name} cleared on T{t}", target=t)


def _pass_events(action: str, actor: int | None, label: str) -> list[Event]:
    what = _CHECK_ACTIONS.get(action)
    if what is None:
        return []
    if action == "execute":
        return [Event(CHECK, actor, f"{what}: {label}")]
    return [Event(CHECK, actor, what)]


def _queue_events(actor: int | None, a: ConcreteState, b: ConcreteState) -> Iterator[Event]:
    for q in QUEUES:
        x, y = getattr(a, q), getattr(b, q)
        where = QUEUE_NAMES[q]
        for call in range(x.added, y.added):
            yield Event(PENDING_ADD, actor, f"pending call {call} added to the {where}")
        if y.refused > x.refused:
            yield Event(PENDING_REFUSED, actor, f"pending call refused: the {where} is full")
        if y.started > x.started:
            yield Event(PENDING_RUN, actor, f"pending call {y.last_started} of the {where} runs")


def _signal_events(
    action: str, actor: int | None, label: str, a: ConcreteState, b: ConcreteState
) -> Iterator[Event]:
    for sig, (x, y) in enumerate(zip(a.tripped, b.tripped, strict=True)):
        if y and not x:
            yield Event(SIGNAL, actor, f"signal {sig} tripped")
        elif x and not y:
            yield Event(SIGNAL, actor, f"signal {sig} taken for its handler")
    if action in ("trip_signal_is_tripped", "signal_received", "call_signal_handler") or (
        a.is_tripped != b.is_tripped
    ):
        yield Event(SIGNAL, actor, label)


def _async_events(actor: int | None, a: ConcreteState, b: ConcreteState) -> Iterator[Event]:
    for t, (x, y) in enumerate(zip(a.threads, b.threads, strict=True)):
        if y.async_posted > x.async_posted:
            yield Event(ASYNC_EXC, actor, f"async exception {y.async_posted} posted to T{t}", t)
        if y.async_deliveries > x.async_deliveries:
            yield Event(ASYNC_EXC, t, f"async exception {y.async_delivered} raised in T{t}")
