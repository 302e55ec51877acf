"""The checker: replays a log of impl's events on the model, one candidate set at a time.

:class:`TraceChecker` keeps the model states that explain the log so far. For
each event it looks the rule up (:data:`conformance.tracecheck.rules.RULES`),
tries it on every candidate after the fewest of the actor's silent steps, and
keeps what explains the event; an empty set is :class:`Unmatched`.
"""

from __future__ import annotations

import typing
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Final

from conformance.tracecheck.report import describe, final_diff, show_event
from conformance.tracecheck.results import COUNTED, Stats, Unmatched
from conformance.tracecheck.rulebase import ConcreteState, Ctx, Refused
from conformance.tracecheck.rules import ENVIRONMENT, RULES, WAKE_CLOSERS
from impl import Snapshot, TraceEvent
from model.actions import Instance
from model.config import Config
from model.domain import CONCRETE, Domain
from model.phases import Phase
from model.protocol import Cpython313


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
        self.woke: dict[int, bool] = {}
        """Per thread: a take_gil.wake whose step is not taken yet (its ``timed_out``)."""
        self.posted: dict[tuple[int, int], object] = {}
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
        rule = RULES.get(event.name)
        if rule is None:
            self._fail(index, event, actor, f"the checker has no rule for {event.name!r}")
        ctx = Ctx(event, actor, self)
        self._tried = []
        if event.name in ENVIRONMENT:
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
            self.woke[typing.cast(int, actor)] = bool(event.fields.get("timed_out"))
        elif event.name in WAKE_CLOSERS:
            self.woke.pop(typing.cast(int, actor), None)
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
            diff = final_diff(s, snap, self.signals, self.switch_base)
            if not diff:
                return
            mismatches.append(f"candidate state {n + 1}: " + "; ".join(diff))
        raise AssertionError(
            "the model's state at the end of the log differs from impl's snapshot:\n  "
            + "\n  ".join(mismatches)
        )

    # -- search -------------------------------------------------------------------------------

    def _explain(self, ctx: Ctx, s: ConcreteState) -> list[ConcreteState]:
        """Successors of ``s`` that explain the event, after the fewest silent steps."""
        rule = RULES[ctx.event.name]
        frontier = [(s, "")]
        for depth in range(self.silent_depth + 1):
            found: list[ConcreteState] = []
            for state, path in frontier:
                try:
                    found += [post for _, post in rule(ctx, state)]
                except Refused as why:
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
        """Thread ``t``'s unlogged steps from ``s`` (see the package docstring)."""
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
        """Fire one model step; :class:`Refused` if it is not enabled."""
        inst = self._by_key.get((action, args))
        if inst is None:
            raise Refused(f"{action}{args} is not a step of this model")
        _, post = self.model.fire(inst, s)
        if post is None:
            raise Refused(f"{inst.label} is not enabled")
        return post

    # -- bookkeeping ----------------------------------------------------------------------------

    def _account(self, event: TraceEvent) -> None:
        st = self.stats
        name = event.name
        st.names[name] += 1
        counted = COUNTED.get(name, ())
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
