"""The model's half of a harness step: user actions, continuations, sync points.

A *user* action (:data:`USER_ACTIONS`) starts a harness step: it is what the
test chooses. Every other action is a *continuation*: once a user action
fired, :meth:`ModelSide.advance` fires the acting thread's one enabled action
again and again until the thread reaches a *sync point*
(:meth:`ModelSide.where`), the places where ``impl``'s worker stops too. The
model's guards decide everything; the harness only checks that a continuation
is unique, which is what lets one ``impl`` call stand for many model steps.

:class:`ModelSide` also keeps the model's half of the two extra observables
(:mod:`conformance.abstraction`): the log of what Python code saw, and
the condition-variable signals the steps owe.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from conformance.abstraction import (
    QUEUE_NAMES,
    ModelState,
    async_label,
    callback_label,
    handler_label,
    signals_owed,
)
from conformance.workers import LogEntry
from impl import BlockPoint
from model.actions import Instance
from model.base import MAINQ
from model.config import Config
from model.domain import CONCRETE, Domain
from model.phases import BODY_STAGES, Phase
from model.protocol import Cpython313
from model.state import PendingQueue, live_calls

Behaviour = Literal["return", "raise", "park"]
BEHAVIOURS: Final[tuple[Behaviour, ...]] = ("return", "raise", "park")
"""What a pending call or signal handler does when made: return at once, raise at
once, or *park* its thread (a sync point) until the test returns from it."""

Model = Cpython313[bool, int]

USER_ACTIONS: Final = frozenset(
    {
        "take_gil",
        "take_gil_wake",
        "switch_wake",
        "execute",
        "body_check_point",
        "callback_return",
        "handler_return",
        "allow_threads",
        "add_pending_call",
        "set_async_exc",
        "schedule_gc",
        "set_global_version",
        "thread_exit",
        "finalize",
        "trip_signal",
    }
)
"""Model actions a harness step starts with; every other action is a continuation."""


class ModelError(RuntimeError):
    """The model cannot take the step the harness asks for (a harness or model bug)."""


class _FullQueueTolerantDomain:
    """The concrete domain, except for a ``store`` one past the end of an array.

    Works around a model bug: ``PendingActions.add_pending_call`` builds the
    accepted queue (``d.store(calls, npending, ...)``) before ``d.ite`` picks
    the refused one, and the concrete ``store`` raises IndexError when the
    queue is full (npending == capacity). Here that store returns the array
    unchanged; the ``ite`` discards it anyway. Any other index still raises.
    """

    def __init__(self) -> None:
        for name in dir(CONCRETE):  # bound once: the model calls these in every guard
            if not name.startswith("__"):
                setattr(self, name, getattr(CONCRETE, name))
        self.store = self._store

    def _store(self, arr: tuple[int, ...], index: int, value: int) -> tuple[int, ...]:
        if index == len(arr):
            return arr
        return CONCRETE.store(arr, index, value)


def concrete_model(cls: type[Cpython313[Any, Any]], cfg: Config) -> Model:
    """``cls`` over Python values, for the harness (see :class:`_FullQueueTolerantDomain`)."""
    return cls(cfg, cast("Domain[bool, int]", _FullQueueTolerantDomain()))


@dataclass(frozen=True, slots=True)
class Body:
    """A pending call or signal handler the model started on a thread at a level."""

    label: str
    behaviour: Behaviour
    error: str
    """The label of the exception it raises when it fails."""
    returns: tuple[str, tuple[int, ...]]
    """The model action and leading arguments that end it (``ok`` comes last)."""


class ModelSide:
    """The model state of a harness, and how it advances."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.s: ModelState = model.initial()
        self.log: list[LogEntry] = []
        self.owed: Counter[BlockPoint] = Counter()
        self.running: dict[tuple[int, int], Body] = {}
        self.call_behaviour: dict[tuple[int, int], Behaviour] = {}
        self.handler_behaviour: list[Behaviour] = ["park"] * model.cfg.signals
        self.started = {0}
        """Threads that took a step (the main thread starts attached)."""
        self._by_key = {(i.action, i.args): i for i in model.instances}
        self._user = [i for i in model.instances if i.action in USER_ACTIONS]
        self._internal = [
            [
                i
                for i in model.instances
                if i.actor == t
                and (i.action not in USER_ACTIONS or i.action == "take_gil")
                and i.action not in ("callback_return", "handler_return")
            ]
            for t in model.threads
        ]
        self._env = [i for i in model.instances if i.actor is None and i.action != "trip_signal"]
        self._enabled: dict[str, list[Instance]] | None = None

    def _guard(self, inst: Instance) -> bool:
        gen = getattr(self.model, inst.action)(self.s, *inst.args)
        try:
            return bool(next(gen))
        finally:
            gen.close()

    def enabled(self, action: str) -> list[Instance]:
        """The enabled instances of user action ``action`` in the current state."""
        if self._enabled is None:
            table: dict[str, list[Instance]] = {}
            for inst in self._user:
                if self._guard(inst):
                    table.setdefault(inst.action, []).append(inst)
            self._enabled = table
        return self._enabled.get(action, [])

    def instance(self, action: str, *args: int | bool | str) -> Instance:
        return self._by_key[(action, tuple(args))]

    def body_return(self, t: int, ok: bool) -> Instance:
        """The instance that returns from ``t``'s innermost running body."""
        action, args = self.running[(t, self.s.threads[t].depth - 1)].returns
        return self.instance(action, *args, ok)

    def where(self, t: int) -> str | None:
        """Where thread ``t`` stands if that is a sync point, else None."""
        th = self.s.threads[t]
        if th.adding:
            return None
        if th.phase == Phase.EXITED:
            return "exited"
        if th.phase == Phase.TAKE_WAIT:
            return "blocked in take_gil"
        if th.phase == Phase.SWITCH_WAIT:
            return "blocked in switch_cond"
        if th.phase == Phase.RELEASING:
            return None
        if th.phase == Phase.DETACHED and not th.c_code:
            # Detached outside C code: a new thread, or one that dropped the GIL in
            # a pass and takes it back at once (the model may have ended the pass
            # already: handle_drop_request releases before the pass advances).
            return None if t in self.started else "not started"
        labels = ["top level"]
        for level in range(th.depth):
            frame = th.f0 if level == 0 else th.f1
            if frame.stage not in BODY_STAGES:
                return None
            labels.append(self.running[(t, level)].label)
        where = " / ".join(labels)
        return f"{where} in C code" if th.phase == Phase.DETACHED else where

    def fire(self, inst: Instance, fired: list[Instance]) -> None:
        """Fire one enabled instance; record it in ``fired``."""
        pre = self.s
        _, post = self.model.fire(inst, pre)
        if post is None:
            raise ModelError(f"model: {inst.label} is not enabled")
        self._note(pre, inst, post)
        self.s = post
        self._enabled = None
        fired.append(inst)

    def _note(self, pre: ModelState, inst: Instance, post: ModelState) -> None:
        """Keep the model's side of the log and of the owed signals."""
        action, t, args = (
            inst.action,
            inst.actor,
            tuple(int(a) for a in inst.args if not isinstance(a, str)),
        )
        if t is not None:
            self.started.add(t)
        if action == "pop_pending_call":
            th, level, q = args
            ident = live_calls(pre.interp_q if q != MAINQ else pre.main_q)[0]
            label = callback_label(q, ident)
            behaviour = self.call_behaviour.get((q, ident), "park")
            self.running[(th, level)] = Body(
                label, behaviour, f"{label} raised", ("callback_return", (th, level, q))
            )
            self.log.append(("call", t, label))
        elif action == "call_signal_handler":
            th, level, sig = args
            label = handler_label(sig)
            body = Body(
                label,
                self.handler_behaviour[sig],
                f"{label} raised",
                ("handler_return", (th, level)),
            )
            self.running[(th, level)] = body
            self.log.append(("handler", t, label))
        elif action in ("callback_return", "handler_return") and inst.args[-1] is False:
            self.log.append(("raised", t, self.running[(args[0], args[1])].error))
        elif action == "handle_async_exc" and t is not None and pre.threads[t].async_exc:
            self.log.append(("raised", t, async_label(t, pre.threads[t].async_exc)))
        elif action == "handle_gc":
            self.log.append(("gc", t, ""))
        elif action == "add_pending_call":
            q = args[1]
            if (pre.interp_q if q != MAINQ else pre.main_q).npending >= self.model.capacity(q):
                self.log.append(("refused", t, QUEUE_NAMES[q]))
        for point in signals_owed(pre, inst, post):
            self.owed[point] += 1

    def advance(self, inst: Instance) -> list[Instance]:
        """Fire user step ``inst`` and its continuation; the fine steps taken."""
        fired: list[Instance] = []
        self.fire(inst, fired)
        t = inst.actor
        if t is None:  # a signal: the rest of trip_signal's stores
            while more := [i for i in self._env if i.args == inst.args and self._guard(i)]:
                self.fire(more[0], fired)
            return fired
        while True:
            th = self.s.threads[t]
            if self.where(t) is not None:
                if th.phase != Phase.HOLDING or th.depth == 0:
                    return fired
                behaviour = self.running[(t, th.depth - 1)].behaviour
                if behaviour == "park":
                    return fired
                self.fire(self.body_return(t, behaviour == "return"), fired)
                continue
            nexts = [i for i in self._internal[t] if self._guard(i)]
            if len(nexts) != 1:
                raise ModelError(
                    f"model: thread {t} is at no sync point and has {len(nexts)} enabled "
                    f"continuations ({', '.join(i.label for i in nexts) or 'none'}) after "
                    f"{', '.join(i.label for i in fired)}"
                )
            self.fire(nexts[0], fired)

    def add(
        self, inst: Instance, repeat: int, behaviour: Behaviour
    ) -> tuple[list[Instance], list[int]]:
        """``add_pending_call`` ``repeat`` times; the fine steps and the ids (-1: refused)."""
        t, q = (int(a) for a in inst.args)

        def queue(s: ModelState) -> PendingQueue[bool, int]:
            return s.interp_q if q != MAINQ else s.main_q

        signal = self.instance("signal_pending_call", t, q)
        fired: list[Instance] = []
        idents = []
        for _ in range(repeat):
            before = queue(self.s).npending
            # The push, then the signalling half: always next for this thread
            # (add_pending_call's docstring), so no search for the continuation.
            self.fire(inst, fired)
            self.fire(signal, fired)
            if self.where(t) is None:
                raise ModelError(f"model: T{t} is at no sync point after {signal.label}")
            waiting = live_calls(queue(self.s))
            ident = waiting[before] if before < len(waiting) else -1
            self.call_behaviour[(q, ident)] = behaviour
            idents.append(ident)
        return fired, idents
