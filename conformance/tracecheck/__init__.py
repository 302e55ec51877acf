"""Trace validation: is an event log of ``impl`` a behaviour of the model?

``impl`` under free-running load (no controlled stepping) records one
:class:`impl.TraceEvent` per protocol step. A traced interpreter makes the log
order a linearization of its steps (see "Linearization" in :mod:`impl.trace`),
so the log can be replayed on :class:`model.protocol.Cpython313`, one event at
a time, from the model's initial state (main holds the GIL, the other threads
are about to attach), which is the state right after the harness's
``gil.acquire(main_thread)``.

Design
------
*Event to model step.* Each event names its acting thread (``event.thread``,
or for a push, a signal of a push and an asynchronous exception posted by a
running thread, the thread bound to the host thread that logged it; a signal's
trip has no actor: it is the environment's). :data:`_RULES` maps the event name
to the model actions it may be, and to the checks its fields impose on the step
(``bits`` is the pass's snapshot, ``npending`` the queue's count, ``call`` the
popped call's id, ``switch_number`` the count after the acquisition, and so
on). A few events are *confirmations*: they follow a step already taken in the
same critical section (``make_pending_calls.end`` after the last
``loop_end``; ``take_gil.wait`` after a drop request) and only check fields.

*Silent steps.* The model splits some of impl's code paths finer than impl
logs them. Before an event of thread ``t``, the checker may take up to
:attr:`TraceChecker.silent_depth` of ``t``'s unlogged steps, each of which
changes nothing another thread reads: the FORCE_SWITCHING check that finds no
request pending or the GIL already switched (``drop_gil_switch`` ending
DETACHED; a wait would have logged ``drop_gil.switch_wait``), and a signal
handler's normal return (``handler_return(ok=True)``). It tries the event
directly first and deepens only when that fails.

*Nondeterminism.* The environment's choices are read off the event:
``timed_out`` from ``take_gil.wake`` (buffered until the step that ends the
critical section: the drop request, the next wait or the acquisition), a
callback's success or failure from ``callback.return``/``.raise``, a handler's
from ``signal.handler_raise``, the signal from ``signum`` through the signal
map, the queue from ``queue``. Nesting levels come from the state (a pass at
the innermost level). Any ambiguity left is kept as a set of candidate model
states (bounded by :attr:`TraceChecker.max_states`); the log is accepted while
the set is not empty.

*Verdict.* :meth:`TraceChecker.feed` raises :class:`Unmatched` at the first
event no candidate state explains, with the last events, each candidate state
and why every tried step was refused.
"""

from __future__ import annotations

import threading
import typing
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from impl import Snapshot, TraceEvent
from model.actions import Instance
from model.base import INTERP, MAIN, MAINQ
from model.bits import EVENTS_MASK, Bit, bit_names
from model.config import Config
from model.domain import CONCRETE, Domain
from model.phases import Phase, Stage
from model.protocol import Cpython313
from model.state import NULL, State, live_calls

ConcreteState = State[bool, int]

QUEUES: Final = {"interp": INTERP, "main": MAINQ}
"""impl's queue names to the model's queue parameter."""


class _LenientStores:
    """:data:`model.domain.CONCRETE`, except that a store outside the array is a no-op.

    ``add_pending_call`` computes the accepted queue (``d.store(calls, npending,
    ...)``) before ``d.ite(full, refused, accepted)`` picks the refusal, so on a
    full queue the concrete domain's store raises IndexError (a model bug,
    reported; ``Cpython313(Config(threads=1, main_capacity=1), CONCRETE)`` fails
    on its second add). The checker needs full queues, and the value of that
    store is always discarded, so here it leaves the array as it is.
    """

    def __init__(self) -> None:
        # Bound methods copied once: a __getattr__ per operation costs a tenth of the check.
        for name in dir(CONCRETE):
            if not name.startswith("_") and name != "store":
                setattr(self, name, getattr(CONCRETE, name))

    def store(self, arr: tuple[int, ...], index: int, value: int) -> tuple[int, ...]:
        if not 0 <= index < len(arr):
            return arr
        return CONCRETE.store(arr, index, value)


_DOMAIN: Final = typing.cast("Domain[bool, int]", _LenientStores())


# -- recording ------------------------------------------------------------------------------


@typing.final
class Recorder:
    """A ``trace=`` callable that keeps ``(event, actor)`` pairs in order, cheaply.

    ``actor`` is ``event.thread`` when impl names it; otherwise the
    ``ThreadState`` id bound (:meth:`bind`) to the host thread that logged the
    event, or ``None`` (the environment: a signal handler on the host's main
    thread). Appending is one deque append (atomic), so the recorder is safe
    inside impl's critical sections and in a signal handler; :meth:`drain` takes
    what was recorded so far, oldest first, from any thread.
    """

    def __init__(self) -> None:
        self._events: deque[tuple[TraceEvent, int | None]] = deque()
        self._actors: dict[int, int] = {}
        self.recorded = 0
        """Events handed out by :meth:`drain` so far."""

    def __call__(self, event: TraceEvent) -> None:
        thread = event.thread
        if thread is None:
            thread = self._actors.get(threading.get_ident())
        self._events.append((event, thread))

    def bind(self, ts_id: int) -> None:
        """The calling host thread acts as ``ThreadState`` ``ts_id`` from now on."""
        self._actors[threading.get_ident()] = ts_id

    def __len__(self) -> int:
        """Events recorded and not yet drained."""
        return len(self._events)

    def drain(self, limit: int | None = None) -> list[tuple[TraceEvent, int | None]]:
        """Remove and return up to ``limit`` of the oldest events."""
        events = self._events
        n = len(events) if limit is None else min(limit, len(events))
        out = [events.popleft() for _ in range(n)]
        self.recorded += n
        return out


# -- the checker ----------------------------------------------------------------------------


class Unmatched(AssertionError):
    """An event that no model transition explains; the message says which and why."""

    def __init__(self, index: int, event: TraceEvent, actor: int | None, report: str) -> None:
        super().__init__(report)
        self.index = index
        self.event = event
        self.actor = actor


@dataclass(slots=True)
class Stats:
    """What the checked part of the log did."""

    events: int = 0
    hand_offs: int = 0
    """Acquisitions by a thread other than ``last_holder`` (``switch_number`` bumps)."""
    drop_requests: int = 0
    calls_run: int = 0
    calls_failed: int = 0
    adds: int = 0
    refused_adds: int = 0
    busy_hand_offs: int = 0
    signals_tripped: int = 0
    signals_handled: int = 0
    handler_errors: int = 0
    async_posted: int = 0
    async_delivered: int = 0
    forced_switch_waits: int = 0
    max_states: int = 1
    """Largest candidate set seen."""
    names: Counter[str] = field(default_factory=Counter)

    def as_rows(self) -> list[tuple[str, int]]:
        return [
            ("events checked", self.events),
            ("hand-offs (switch_number bumps)", self.hand_offs),
            ("drop requests", self.drop_requests),
            ("forced-switch waits", self.forced_switch_waits),
            ("pending calls run", self.calls_run),
            ("  of which failed", self.calls_failed),
            ("adds accepted", self.adds),
            ("adds refused (queue full)", self.refused_adds),
            ("drains handed off (busy)", self.busy_hand_offs),
            ("signals tripped", self.signals_tripped),
            ("signals handled", self.signals_handled),
            ("  handler errors", self.handler_errors),
            ("async exceptions posted", self.async_posted),
            ("async exceptions delivered", self.async_delivered),
            ("largest candidate set", self.max_states),
        ]


_COUNTED: Final[dict[str, tuple[str, ...]]] = {
    "drop_request.set": ("drop_requests",),
    "drop_gil.switch_wait": ("forced_switch_waits",),
    "callback.return": ("calls_run",),
    "callback.raise": ("calls_run", "calls_failed"),
    "make_pending_calls.busy": ("busy_hand_offs",),
    "signal.tripped": ("signals_tripped",),
    "signal.handler": ("signals_handled",),
    "signal.handler_raise": ("handler_errors",),
    "async_exc.set": ("async_posted",),
    "async_exc.raise": ("async_delivered",),
}
"""The :class:`Stats` counters an event adds one to (acquisitions and pushes aside)."""


class _Refused(Exception):
    """One tried step does not explain the event (the reason is the message)."""


@dataclass(frozen=True, slots=True)
class _Ctx:
    """What a rule sees: the event, its actor, and the checker."""

    event: TraceEvent
    t: int | None
    checker: TraceChecker

    def f(self, key: str) -> object:
        try:
            return self.event.fields[key]
        except KeyError:
            raise _Refused(f"the event has no field {key!r}") from None


# A rule turns (ctx, state) into the candidate successors: (label, state) pairs. It
# raises _Refused (or returns nothing) when the event does not fit the state.
Rule = Callable[[_Ctx, ConcreteState], list[tuple[str, ConcreteState]]]


class TraceChecker:
    """Replays a log of ``impl`` events on the model; raises :class:`Unmatched` at the first miss.

    Args:
        threads: the number of ``ThreadState``s (main included) of the run.
        signals: impl's signal numbers with a handler installed, to the model's
            signal indices (ascending numbers to ascending indices keeps the scan
            order).
        switch_base: impl's ``switch_number`` in the model's initial state (1
            after the harness's initial ``acquire``: impl starts from
            ``create_gil``, the model from main holding the GIL).
        context: how many earlier events a failure report shows.
    """

    silent_depth: int = 3
    max_states: int = 64

    def __init__(
        self,
        threads: int,
        signals: Mapping[int, int],
        *,
        switch_base: int = 1,
        context: int = 12,
    ) -> None:
        self.cfg = Config(threads=threads, signals=len(signals))
        self.model: Cpython313[bool, int] = Cpython313(self.cfg, _DOMAIN)
        self.signals = dict(signals)
        if sorted(self.signals.values()) != list(range(len(self.signals))):
            raise ValueError("TraceChecker: signal indices must be 0..n-1")
        self.switch_base = switch_base
        self._by_key: dict[tuple[str, tuple[object, ...]], Instance] = {
            (i.action, i.args): i for i in self.model.instances
        }
        self.states: list[ConcreteState] = [self.model.initial()]
        self.stats = Stats()
        self._recent: deque[tuple[int, TraceEvent, int | None]] = deque(maxlen=context)
        self._woke: dict[int, bool] = {}
        """Per thread: a take_gil.wake whose step is not taken yet (its ``timed_out``)."""
        self._async: dict[tuple[int, int], object] = {}
        """(target, model exception id) -> the exception impl posted."""
        self._tried: list[str] = []

    # -- the public interface -----------------------------------------------------------------

    @property
    def checked(self) -> int:
        return self.stats.events

    def feed_all(self, events: Iterable[tuple[TraceEvent, int | None]]) -> None:
        for event, actor in events:
            self.feed(event, actor)

    def feed(self, event: TraceEvent, actor: int | None) -> None:
        """Check one event; raise :class:`Unmatched` if no candidate state explains it."""
        index = self.stats.events
        rule = _RULES.get(event.name)
        if rule is None:
            self._fail(index, event, actor, f"the checker has no rule for {event.name!r}")
        ctx = _Ctx(event, actor, self)
        self._tried = []
        if event.name in _ENVIRONMENT:
            if actor is not None:
                self._fail(index, event, actor, "an environment event with an acting thread")
        elif actor is None:
            self._fail(
                index,
                event,
                actor,
                "no acting thread: the host thread that logged it is not bound to a "
                "ThreadState (Recorder.bind)",
            )
        elif not 0 <= actor < self.cfg.threads:
            self._fail(index, event, actor, f"thread {actor} is not one of the model's threads")
        new: list[ConcreteState] = []
        for s in self.states:
            new.extend(self._explain(ctx, s))
        if not new:
            self._fail(index, event, actor, "no model transition explains it")
        self.states = new if len(new) == 1 else _unique(new, self.max_states)
        self.stats.max_states = max(self.stats.max_states, len(self.states))
        if event.name == "take_gil.wake":
            self._woke[typing.cast(int, actor)] = bool(event.fields.get("timed_out"))
        elif event.name in _WAKE_CLOSERS:
            self._woke.pop(typing.cast(int, actor), None)
        self._account(event)
        self._recent.append((index, event, actor))
        self.stats.events += 1

    def settle(self) -> None:
        """Take every thread's pending silent steps (at the end of a log).

        Silent steps of different threads commute (each changes only its own
        thread), so each thread is settled on its own, taking every choice.
        """
        states = self.states
        for t in range(self.cfg.threads):
            for _ in range(self.silent_depth):
                nxt: list[ConcreteState] = []
                for s in states:
                    moves = [post for _, post in self._silent(t, s)]
                    nxt += moves or [s]
                states = _unique(nxt, self.max_states)
        self.states = states

    def compare_final(self, snap: Snapshot) -> None:
        """Fail unless a candidate state agrees with impl's final ``snap`` (after :meth:`settle`).

        Compared: ``locked``, ``last_holder``, ``switch_number``, ``handling_thread``,
        both queues' lengths, ``is_tripped`` and the tripped signals, and per thread
        the phase, the event bits and whether an asynchronous exception is pending.
        """
        self.settle()
        mismatches = []
        for n, s in enumerate(self.states):
            diff = _final_diff(s, snap, self.signals, self.switch_base)
            if not diff:
                return
            mismatches.append(f"candidate state {n + 1}: " + "; ".join(diff))
        raise AssertionError(
            "the model's state at the end of the log differs from impl's snapshot:\n  "
            + "\n  ".join(mismatches)
        )

    # -- search -------------------------------------------------------------------------------

    def _explain(self, ctx: _Ctx, s: ConcreteState) -> list[ConcreteState]:
        """Successors of ``s`` that explain the event, after the fewest silent steps."""
        rule = _RULES[ctx.event.name]
        frontier = [(s, "")]
        for depth in range(self.silent_depth + 1):
            found: list[ConcreteState] = []
            for state, path in frontier:
                try:
                    found += [post for _, post in rule(ctx, state)]
                except _Refused as why:
                    self._tried.append(f"{path or '(no silent step)'}: {why}")
            if found or ctx.t is None or depth == self.silent_depth:
                return found
            frontier = [
                (post, f"{path}{label}; ")
                for state, path in frontier
                for label, post in self._silent(ctx.t, state)
            ]
            if not frontier:
                return []
        return []

    def _silent(self, t: int, s: ConcreteState) -> Iterator[tuple[str, ConcreteState]]:
        """Thread ``t``'s unlogged steps from ``s`` (see the module docstring)."""
        post = self._fire_or_none(("drop_gil_switch", (t,)), s)
        if post is not None:
            if post.threads[t].phase == Phase.DETACHED:
                yield f"drop_gil_switch(t={t})", post
            else:
                self._tried.append(
                    f"drop_gil_switch(t={t}) waits on switch_cond in the model (a drop "
                    "request is pending and nobody took the GIL), but no "
                    "drop_gil.switch_wait was logged"
                )
        level = s.threads[t].depth - 1
        if level >= 0:
            post = self._fire_or_none(("handler_return", (t, level, True)), s)
            if post is not None:
                yield f"handler_return(t={t}, level={level}, ok=True)", post

    def _fire_or_none(
        self, key: tuple[str, tuple[object, ...]], s: ConcreteState
    ) -> ConcreteState | None:
        inst = self._by_key.get(key)
        if inst is None:
            return None
        _, post = self.model.fire(inst, s)
        return post

    def fire(self, action: str, *args: object, s: ConcreteState) -> ConcreteState:
        """Fire one model step; :class:`_Refused` if it is not enabled."""
        inst = self._by_key.get((action, args))
        if inst is None:
            raise _Refused(f"{action}{args} is not a step of this model")
        _, post = self.model.fire(inst, s)
        if post is None:
            raise _Refused(f"{inst.label} is not enabled")
        return post

    # -- bookkeeping ----------------------------------------------------------------------------

    def _account(self, event: TraceEvent) -> None:
        st = self.stats
        name = event.name
        st.names[name] += 1
        counted = _COUNTED.get(name, ())
        if name == "take_gil.acquire":
            counted = ("hand_offs",) if event.fields.get("switched") else ()
        elif name == "add_pending_call.push":
            counted = ("refused_adds",) if event.fields.get("full") else ("adds",)
        for attr in counted:
            setattr(st, attr, getattr(st, attr) + 1)

    def _fail(self, index: int, event: TraceEvent, actor: int | None, why: str) -> typing.NoReturn:
        lines = [
            f"event #{index} is not a step of the model: {why}",
            f"  event: {show_event(event, actor)}",
            "  the events before it:",
        ]
        lines += [f"    #{k} {show_event(e, a)}" for k, e, a in self._recent] or ["    (none)"]
        threads = sorted({actor} if actor is not None else set(range(self.cfg.threads)))
        for n, s in enumerate(self.states):
            lines.append(f"  candidate state {n + 1} of {len(self.states)}:")
            lines += ["    " + line for line in describe(s, threads, self.switch_base)]
        if self._tried:
            lines.append("  tried:")
            lines += [f"    {t}" for t in self._tried]
        raise Unmatched(index, event, actor, "\n".join(lines))


def _final_diff(
    s: ConcreteState, snap: Snapshot, signals: Mapping[int, int], base: int
) -> list[str]:
    out = []

    def same(what: str, model: object, impl: object) -> None:
        if model != impl:
            out.append(f"{what}: model {model!r}, impl {impl!r}")

    same("locked", s.locked, snap.locked)
    same("last_holder", s.last_holder, snap.last_holder)
    same("switch_number", s.switch_number + base, snap.switch_number)
    same(
        "handling_thread",
        None if s.handling_thread == NULL else s.handling_thread,
        snap.handling_thread,
    )
    same("interp npending", s.interp_q.npending, len(snap.pending))
    same("main npending", s.main_q.npending, len(snap.pending_main))
    same("is_tripped", s.is_tripped, snap.is_tripped)
    tripped = sorted(signals[n] for n in snap.tripped if n in signals)
    same("tripped", [k for k, v in enumerate(s.tripped) if v], tripped)
    for th, ith in zip(s.threads, snap.threads, strict=True):
        same(f"T{ith.id} phase", Phase(th.phase).name, ith.phase.name)
        same(
            f"T{ith.id} bits",
            bit_names(th.breaker & EVENTS_MASK),
            bit_names(ith.breaker & EVENTS_MASK),
        )
        same(f"T{ith.id} async_exc pending", th.async_exc != 0, ith.async_exc is not None)
    return out


def _unique(states: Sequence[ConcreteState], bound: int) -> list[ConcreteState]:
    seen: dict[ConcreteState, None] = {}
    for s in states:
        seen.setdefault(s, None)
    out = list(seen)
    if len(out) > bound:
        raise AssertionError(
            f"trace check: {len(out)} candidate model states (bound {bound}); "
            "the log leaves too much unresolved"
        )
    return out


# -- rules ------------------------------------------------------------------------------------


def _level(s: ConcreteState, t: int) -> int:
    """The innermost pass of ``t`` (the one a pass event belongs to)."""
    depth = s.threads[t].depth
    if depth < 1:
        raise _Refused(f"thread {t} has no pass in progress")
    return depth - 1


def _need(cond: bool, why: str) -> None:
    if not cond:
        raise _Refused(why)


def _one(label: str, post: ConcreteState) -> list[tuple[str, ConcreteState]]:
    return [(label, post)]


def _actor(c: _Ctx) -> int:
    assert c.t is not None  # feed() refuses a thread event without an actor
    return c.t


def _int(c: _Ctx, key: str) -> int:
    value = c.f(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Refused(f"field {key!r} is {value!r}, not an int")
    return value


def _queue(c: _Ctx) -> int:
    name = c.f("queue")
    if name not in QUEUES:
        raise _Refused(f"unknown queue {name!r}")
    return QUEUES[str(name)]


def _woke(c: _Ctx, s: ConcreteState) -> ConcreteState:
    """Take the step of the actor's buffered ``take_gil.wake``."""
    t = _actor(c)
    timed_out = c.checker._woke[t]
    return c.checker.fire("take_gil_wake", t, timed_out, s=s)


def r_take_gil_wait(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    saved = _int(c, "saved_switch_number") - c.checker.switch_base
    me = s.threads[t]
    if t in c.checker._woke:
        post = _woke(c, s)
        label = "take_gil_wake (still locked)"
    elif me.phase == Phase.DETACHED:
        post = c.checker.fire("take_gil", t, s=s)
        label = f"take_gil(t={t})"
    elif me.phase == Phase.TAKE_WAIT and me.drop_requested:
        post, label = s, "(the wait after a drop request)"
    else:
        raise _Refused(f"thread {t} is {Phase(me.phase).name}, not about to wait in take_gil")
    after = post.threads[t]
    _need(after.phase == Phase.TAKE_WAIT, f"{label} leaves thread {t} {Phase(after.phase).name}")
    _need(
        after.saved_switchnum == saved,
        f"{label}: model saved_switchnum {after.saved_switchnum}, log {saved}",
    )
    return _one(label, post)


def r_take_gil_wake(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    _need(s.threads[t].phase == Phase.TAKE_WAIT, f"thread {t} is not waiting in take_gil")
    timed_out = c.f("timed_out")
    _need(isinstance(timed_out, bool), "timed_out is not a bool")
    return _one("(wake-up noted)", s)


def r_drop_request_set(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    _need(t in c.checker._woke, f"no take_gil.wake of thread {t} precedes the request")
    holder = _int(c, "holder")
    _need(s.last_holder == holder, f"the model's last_holder is {s.last_holder}, log {holder}")
    post = _woke(c, s)
    _need(post.threads[t].drop_requested, "take_gil_wake did not request a drop")
    _need(
        bool(post.threads[holder].breaker & Bit.GIL_DROP_REQUEST),
        f"thread {holder} has no GIL_DROP_REQUEST after the request",
    )
    return _one(f"take_gil_wake(t={t}, timed_out=True) -> request", post)


def r_take_gil_acquire(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    if t in c.checker._woke:
        post = _woke(c, s)
        label = f"take_gil_wake(t={t}) -> acquired"
    else:
        post = c.checker.fire("take_gil", t, s=s)
        label = f"take_gil(t={t}) -> acquired"
    _need(post.threads[t].phase == Phase.HOLDING, f"{label} leaves thread {t} not holding")
    number = _int(c, "switch_number") - c.checker.switch_base
    _need(
        post.switch_number == number,
        f"{label}: model switch_number {post.switch_number}, log {number}",
    )
    switched = c.f("switched")
    _need(
        switched == (s.last_holder != t),
        f"{label}: model last_holder was {s.last_holder}, log says switched={switched}",
    )
    return _one(label, post)


def r_must_exit(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    post = _woke(c, s) if t in c.checker._woke else c.checker.fire("take_gil", t, s=s)
    _need(post.threads[t].phase == Phase.EXITED, f"thread {t} does not exit in the model")
    return _one("must exit", post)


def r_confirm(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    return _one("(confirmation)", s)


def r_drop_gil(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    if c.f("final_release"):
        _need(s.threads[t].phase == Phase.EXITED, "a final release by a thread that is not exiting")
        return _one("(final release of an exiting thread)", s)
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
        except _Refused as why:
            reasons.append(str(why))
    try:
        out.append((f"allow_threads(t={t})", c.checker.fire("allow_threads", t, s=s)))
    except _Refused as why:
        reasons.append(str(why))
    if not out:
        raise _Refused("; ".join(reasons))
    return out


def r_switch_wait(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    post = c.checker.fire("drop_gil_switch", t, s=s)
    _need(post.threads[t].phase == Phase.SWITCH_WAIT, "the model does not wait on switch_cond")
    return _one(f"drop_gil_switch(t={t}) -> wait", post)


def r_switch_wake(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    post = c.checker.fire("switch_wake", t, s=s)
    switched = c.f("switched")
    _need(
        switched == (s.last_holder != t),
        f"model last_holder {s.last_holder}, log says switched={switched}",
    )
    return _one(f"switch_wake(t={t})", post)


def r_handle_pending(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    me = s.threads[t]
    bits = _int(c, "bits") & EVENTS_MASK
    if me.depth == 0:
        post = c.checker.fire("execute", t, "CALL", s=s)
        label = f"execute(t={t}, op='CALL')"
    else:
        post = c.checker.fire("body_check_point", t, s=s)
        label = f"body_check_point(t={t})"
    snap = me.breaker & EVENTS_MASK
    _need(
        snap == bits,
        f"{label}: the model's snapshot is {bit_names(snap)}, the log's {bit_names(bits)}",
    )
    return _one(label, post)


def _pass_step(action: str, *extra: object) -> Rule:
    def rule(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
        t = _actor(c)
        level = _level(s, t)
        post = c.checker.fire(action, t, level, *extra, s=s)
        return _one(f"{action}(t={t}, level={level}{''.join(f', {x!r}' for x in extra)})", post)

    return rule


def r_handle_signals(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    ((label, post),) = _pass_step("handle_signals")(c, s)
    t = _actor(c)
    scanning = post.threads[t].depth == s.threads[t].depth and _stage(post, t) == Stage.SCAN
    _need(scanning == bool(c.f("scan")), f"{label}: model scans={scanning}, log {c.f('scan')}")
    return _one(label, post)


def _stage(s: ConcreteState, t: int) -> Stage:
    me = s.threads[t]
    f = me.f0 if me.depth == 1 else me.f1
    return Stage(f.stage)


def _sig(c: _Ctx) -> int:
    signum = _int(c, "signum")
    if signum not in c.checker.signals:
        raise _Refused(f"signal {signum} is not one of the model's signals")
    return c.checker.signals[signum]


def r_signal_handler(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    return _pass_step("call_signal_handler", _sig(c))(c, s)


def r_handler_raise(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    level = _level(s, t)
    return _one("handler_return(ok=False)", c.checker.fire("handler_return", t, level, False, s=s))


def r_tripped(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    sig = _sig(c)
    post = c.checker.fire("trip_signal", sig, s=s)
    post = c.checker.fire("trip_signal_is_tripped", sig, s=post)
    post = c.checker.fire("signal_received", sig, s=post)
    return _one(f"trip_signal({sig}) and its two stores", post)


def r_busy(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    handling = _int(c, "handling_thread")
    _need(
        s.handling_thread == handling,
        f"model handling_thread {s.handling_thread}, log {handling}",
    )
    return _pass_step("make_pending_calls_hand_off")(c, s)


def r_pop(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    q = _queue(c)
    level = _level(s, t)
    pq = s.interp_q if q == INTERP else s.main_q
    call = _int(c, "call") - 1
    _need(pq.npending > 0, f"the model's {c.f('queue')} queue is empty")
    head = live_calls(pq)[0]
    _need(head == call, f"the model's head call is {head}, the log pops {call}")
    post = c.checker.fire("pop_pending_call", t, level, q, s=s)
    npending = _int(c, "npending")
    after = post.interp_q if q == INTERP else post.main_q
    _need(after.npending == npending, f"model npending {after.npending}, log {npending}")
    return _one(f"pop_pending_call(t={t}, level={level}, q={q})", post)


def r_callback(ok: bool) -> Rule:
    def rule(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
        return _pass_step("callback_return", _queue(c), ok)(c, s)

    return rule


def r_loop_end(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    q = _queue(c)
    level = _level(s, t)
    reason = c.f("reason")
    me = s.threads[t]
    f = me.f0 if level == 0 else me.f1
    limit = c.checker.model.maxloop(q)
    _need((reason == "maxloop") == (f.idx >= limit), f"model loop counter {f.idx}, log {reason!r}")
    if reason == "empty":
        pq = s.interp_q if q == INTERP else s.main_q
        _need(
            pq.npending == 0,
            f"the log's pop found the {c.f('queue')} queue empty; the model's holds "
            f"{pq.npending} call(s): {list(live_calls(pq))}",
        )
    if reason == "maxloop":
        npending = _int(c, "npending")
        _need(
            s.drain_npending == npending,
            f"model's npending at the last pop {s.drain_npending}, log {npending}",
        )
    post = c.checker.fire("drain_done", t, level, q, s=s)
    return _one(f"drain_done(t={t}, level={level}, q={q})", post)


def r_resignal(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    _need(bool(s.threads[t].breaker & Bit.CALLS_TO_DO), f"thread {t} has no CALLS_TO_DO")
    return _one("(re-signal confirmed)", s)


def r_end(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    _need(s.handling_thread == NULL, f"model handling_thread is {s.handling_thread}")
    return _one("(drain end confirmed)", s)


def r_push(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    q = _queue(c)
    post = c.checker.fire("add_pending_call", t, q, s=s)
    before = s.interp_q if q == INTERP else s.main_q
    after = post.interp_q if q == INTERP else post.main_q
    full = bool(c.f("full"))
    _need(
        full == (after.refused > before.refused),
        f"model {'refuses' if after.refused > before.refused else 'accepts'}, log full={full}",
    )
    npending = _int(c, "npending")
    _need(after.npending == npending, f"model npending {after.npending}, log {npending}")
    if not full:
        call = _int(c, "call") - 1
        _need(before.added == call, f"model call id {before.added}, log {call}")
    return _one(f"add_pending_call(t={t}, q={q})", post)


def r_signal(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    q = s.threads[t].adding - 1
    _need(q in (INTERP, MAINQ), f"thread {t} has not pushed a call")
    post = c.checker.fire("signal_pending_call", t, q, s=s)
    target = c.f("target")
    if q == MAINQ:
        expected: int | None = MAIN
    else:
        expected = s.last_holder if s.locked else None
    _need(target == expected, f"model signals thread {expected}, log {target}")
    return _one(f"signal_pending_call(t={t}, q={q})", post)


def r_async_set(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    target = _int(c, "target")
    post = c.checker.fire("set_async_exc", t, target, s=s)
    c.checker._async[(target, post.threads[target].async_exc)] = c.f("exc")
    return _one(f"set_async_exc(t={t}, target={target})", post)


def r_async_raise(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    t = _actor(c)
    exc_id = s.threads[t].async_exc
    _need(exc_id != 0, "the model has no asynchronous exception pending")
    posted = c.checker._async.get((t, exc_id))
    _need(
        posted is c.f("exc"),
        f"the model delivers exception #{exc_id} ({posted!r}), the log {c.f('exc')!r}",
    )
    return _pass_step("handle_async_exc")(c, s)


def r_async_none(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    _need(s.threads[_actor(c)].async_exc == 0, "the model has an exception to deliver")
    return _pass_step("handle_async_exc")(c, s)


def r_finalize(c: _Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    return _one("finalize(t=0)", c.checker.fire("finalize", MAIN, s=s))


_ENVIRONMENT: Final = frozenset({"signal.tripped"})

_WAKE_CLOSERS: Final = frozenset(
    {"take_gil.wait", "take_gil.acquire", "take_gil.must_exit", "drop_request.set"}
)
"""Events that take the step of a buffered ``take_gil.wake`` (see :func:`_woke`)."""

_RULES: Final[dict[str, Rule]] = {
    "take_gil.wait": r_take_gil_wait,
    "take_gil.wake": r_take_gil_wake,
    "take_gil.acquire": r_take_gil_acquire,
    "take_gil.must_exit": r_must_exit,
    "drop_request.set": r_drop_request_set,
    "drop_request.reset": r_confirm,
    "drop_gil": r_drop_gil,
    "drop_gil.switch_wait": r_switch_wait,
    "drop_gil.switch_wake": r_switch_wake,
    "eval.check_point": r_confirm,
    "handle_pending": r_handle_pending,
    "handle_signals": r_handle_signals,
    "signal.handler": r_signal_handler,
    "signal.scan_done": _pass_step("scan_done"),
    "signal.handler_raise": r_handler_raise,
    "signal.tripped": r_tripped,
    "make_pending_calls.start": _pass_step("make_pending_calls"),
    "make_pending_calls.busy": r_busy,
    "make_pending_calls.pop": r_pop,
    "callback.return": r_callback(True),
    "callback.raise": r_callback(False),
    "make_pending_calls.loop_end": r_loop_end,
    "make_pending_calls.resignal": r_resignal,
    "make_pending_calls.end": r_end,
    "add_pending_call.push": r_push,
    "add_pending_call.signal": r_signal,
    "async_exc.set": r_async_set,
    "async_exc.raise": r_async_raise,
    "async_exc.none": r_async_none,
    "gc.run": _pass_step("handle_gc"),
    "finalize": r_finalize,
}


# -- reports ----------------------------------------------------------------------------------


def show_event(event: TraceEvent, actor: int | None) -> str:
    """``name [thread t] k=v ...`` with callables and exceptions shortened."""
    who = "env" if actor is None else f"T{actor}"
    parts = []
    for k, v in event.fields.items():
        if callable(v) and not isinstance(v, type | BaseException):
            v = getattr(v, "__name__", "fn")
        elif k == "bits" and isinstance(v, int):
            v = "|".join(bit_names(v & EVENTS_MASK)) or "0"
        parts.append(f"{k}={v!r}" if not isinstance(v, str) else f"{k}={v}")
    return f"{event.name} [{who}] {' '.join(parts)}".rstrip()


def describe(s: ConcreteState, threads: Sequence[int], switch_base: int = 0) -> list[str]:
    """A few lines with the state's protocol variables and the named threads in detail."""
    lines = [
        f"locked={s.locked} last_holder={s.last_holder} "
        f"switch_number={s.switch_number} (impl {s.switch_number + switch_base}) "
        f"handling_thread={s.handling_thread} drain_npending={s.drain_npending}",
        f"interp queue: npending={s.interp_q.npending} head={list(live_calls(s.interp_q)[:3])} "
        f"added={s.interp_q.added}; main queue: npending={s.main_q.npending} "
        f"head={list(live_calls(s.main_q)[:3])} added={s.main_q.added}",
        f"signals: is_tripped={s.is_tripped} tripped={list(s.tripped)}",
        "phases: " + " ".join(f"T{k}={Phase(th.phase).name}" for k, th in enumerate(s.threads)),
    ]
    for t in threads:
        th = s.threads[t]
        frames = []
        for level, f in enumerate((th.f0, th.f1)[: th.depth]):
            frames.append(f"L{level}:{Stage(f.stage).name} snap={bit_names(f.snap)} idx={f.idx}")
        lines.append(
            f"T{t}: {Phase(th.phase).name} bits={bit_names(th.breaker & EVENTS_MASK)} "
            f"depth={th.depth} frames=[{', '.join(frames)}] adding={th.adding} "
            f"async_exc={th.async_exc} c_code={th.c_code} saved_switchnum={th.saved_switchnum} "
            f"drop_requested={th.drop_requested}"
        )
    return lines


def check_log(
    events: Iterable[tuple[TraceEvent, int | None]],
    threads: int,
    signals: Mapping[int, int],
    *,
    switch_base: int = 1,
) -> TraceChecker:
    """Check a whole log; return the checker (its ``stats``) or raise :class:`Unmatched`."""
    checker = TraceChecker(threads, signals, switch_base=switch_base)
    checker.feed_all(events)
    return checker
