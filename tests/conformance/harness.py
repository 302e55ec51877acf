"""The lock-step harness: the model and ``impl`` take the same steps, then compare.

A *harness step* is one operation on ``impl`` by one thread (or by the
environment, for a signal), chosen as one enabled *user* action of the model:
starting or ending a ``take_gil``, a waiter's wake-up, an instruction, a check
point inside a pending call or signal handler, its return, releasing the GIL
around C code, adding pending calls, posting an asynchronous exception,
scheduling GC, a new instrumentation version, a thread's exit, finalization,
a signal. ``impl`` runs coarser steps than the model: one ``impl`` call (an
instruction whose check point runs a whole ``_Py_HandlePending`` pass) is many
model steps. So a harness step

1. fires the chosen model instance, then the acting thread's *continuation*:
   the one enabled action of that thread, again and again, until the thread
   reaches a *sync point* (:meth:`Lockstep.model_where`): running Python code
   at the top level or in a parked body, detached in C code, blocked in one of
   the two condition waits, or exited. The model's guards decide everything:
   which user actions the test may choose (:meth:`Lockstep.enabled`) and, as a
   check on the harness, that the continuation is unique;
2. sends the matching operation to the thread's worker (or wakes it in the
   ControlledWaiter) and waits for *that* worker's next event (see
   :mod:`tests.conformance.workers` for the handshakes);
3. compares once (:meth:`Lockstep.difference`): where every thread stopped,
   the abstraction of an ``impl`` snapshot against the model state
   (:mod:`tests.conformance.abstraction`), the two logs of what Python code
   saw, and the condition-variable signals.

Pending calls and signal handlers get a *behaviour* chosen by the test:
``return`` and ``raise`` run to completion inside the pass (so that a drain
of 100 calls is one harness step), ``park`` stops the worker inside the call
(a sync point) until the test returns from it, after it may have reached check
points, released the GIL, added calls, and so on.

Nothing here sleeps or reads a clock: a step completes, parks, or fails after
:data:`tests.support.SHORT_TIMEOUT` with a sentence saying what did not happen.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal, cast

from impl import (
    Bit,
    BlockPoint,
    Code,
    ControlledWaiter,
    Instr,
    Interpreter,
    Observer,
    PendingFull,
    ThreadState,
    run,
)
from impl.interpreter import MAIN_MAX, PER_INTERP_MAX, PER_INTERP_MAXLOOP
from model.actions import Instance
from model.base import MAINQ
from model.config import Config
from model.domain import CONCRETE, Domain
from model.phases import BODY_STAGES, Phase
from model.protocol import Cpython313
from tests.conformance.abstraction import (
    QUEUE_NAMES,
    SIGNUMS,
    AsyncError,
    CallbackError,
    HandlerError,
    ModelState,
    ProtocolException,
    async_label,
    callback_label,
    first_difference,
    handler_label,
    observe_impl,
    observe_model,
    show,
    signals_owed,
)
from tests.conformance.workers import Command, Event, LogEntry, ThreadGone, Worker, current_worker
from tests.support import LONG_TIMEOUT, SHORT_TIMEOUT

Behaviour = Literal["return", "raise", "park"]
BEHAVIOURS: Final[tuple[Behaviour, ...]] = ("return", "raise", "park")

ImplFactory = Callable[[ControlledWaiter, Observer, Callable[[ThreadState], object]], Interpreter]
"""Builds the ``Interpreter`` under test from the harness's waiter, observer and GC hook."""

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

LEAKED: list[str] = []
"""Workers that teardown could not join (checked by the tests, never raised in teardown)."""


def cpython_impl(
    waiter: ControlledWaiter, observer: Observer, gc_hook: Callable[[ThreadState], object]
) -> Interpreter:
    """The implementation as it is."""
    return Interpreter(waiter=waiter, observer=observer, gc_hook=gc_hook)


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


class Divergence(AssertionError):
    """``impl`` did something the model does not do (or did not do what it does)."""


class ModelError(RuntimeError):
    """The model cannot take the step the harness asks for (a harness or model bug)."""


class ConfigMismatch(ValueError):
    """A model configuration ``impl`` cannot play (its queues are CPython's)."""


@dataclass(frozen=True, slots=True)
class Body:
    """A pending call or signal handler the model started on a thread at a level."""

    label: str
    behaviour: Behaviour
    error: str
    """The label of the exception it raises when it fails."""
    returns: tuple[str, tuple[int, ...]]
    """The model action and leading arguments that end it (``ok`` comes last)."""


class Call:
    """A pending call added by the harness; ``ident`` is the model's id of it."""

    __slots__ = ("behaviour", "harness", "ident", "q")

    def __init__(self, harness: Lockstep, q: int, ident: int, behaviour: Behaviour) -> None:
        self.harness = harness
        self.q = q
        self.ident = ident
        self.behaviour = behaviour

    def __call__(self) -> None:
        label = callback_label(self.q, self.ident)
        self.harness.run_body("call", label, self.behaviour, CallbackError(f"{label} raised"))

    def __repr__(self) -> str:
        return f"<{callback_label(self.q, self.ident)} {self.behaviour}>"


class _Once:
    """A loop predicate that is true once: a backward jump taken exactly once."""

    def __init__(self) -> None:
        self.left = 1

    def __call__(self) -> bool:
        self.left -= 1
        return self.left >= 0


def _noop() -> None:
    pass


_CALLEE = Code("callee", [Instr.ret()])
_INSTRUCTIONS: Final[dict[str, Callable[[], Instr]]] = {
    "RESUME": lambda: Instr.resume(0),
    "RESUME_AFTER_YIELD": lambda: Instr.resume(1),
    "RESUME_AFTER_YIELD_FROM": lambda: Instr.resume(2),
    "RESUME_AFTER_AWAIT": lambda: Instr.resume(3),
    "JUMP_BACKWARD": lambda: Instr.jump_backward(0, _Once()),
    "JUMP_BACKWARD_NO_INTERRUPT": lambda: Instr.jump_backward_no_interrupt(0, _Once()),
    "CALL": lambda: Instr.call_c(_noop),
    "CALL_PY_EXACT_ARGS": lambda: Instr.call_py(_CALLEE),
}
"""The model's instruction kinds as ``impl`` instructions (each ran once, then RETURN)."""


def instruction_code(op: str) -> Code:
    return Code(op, [_INSTRUCTIONS[op](), Instr.ret()])


class _Observer:
    """Posts a ``blocked`` event for the worker that is about to wait."""

    def __init__(self, harness: Lockstep) -> None:
        self._harness = harness

    def on_block(self, ts: ThreadState, point: BlockPoint) -> None:
        worker = self._harness.workers[ts.id]
        self._harness.events.put(Event(ts.id, worker.seq, "blocked", f"blocked in {point}"))

    def on_wake(self, ts: ThreadState, point: BlockPoint, timed_out: bool) -> None:
        pass


def check_config(model: Model) -> None:
    """Raise :class:`ConfigMismatch` unless ``impl`` can play ``model``'s configuration."""
    cfg = model.cfg
    want = (PER_INTERP_MAX, PER_INTERP_MAXLOOP, MAIN_MAX, MAIN_MAX)
    got = (cfg.interp_capacity, cfg.interp_loop, cfg.main_capacity, cfg.main_loop)
    if got != want:
        raise ConfigMismatch(
            f"config: impl's queues are CPython's (capacity/maxloop {want[0]}/{want[1]} and "
            f"{want[2]}/{want[3]}), the model has {got[0]}/{got[1]} and {got[2]}/{got[3]}"
        )
    if cfg.signals > len(SIGNUMS):
        raise ConfigMismatch(f"config: at most {len(SIGNUMS)} signals, got {cfg.signals}")


class Lockstep:
    """The model and an ``impl`` interpreter side by side, with one worker per thread.

    Args:
        model: a concrete model (any variant); its configuration must be one
            ``impl`` can play (:func:`check_config`).
        impl: builds the interpreter under test (:func:`cpython_impl`, or a
            broken one from :mod:`tests.conformance.broken_impls`).
        real_signals: deliver ``trip_signal`` as a real ``pthread_kill`` to the
            host's main thread (the test thread must be it) instead of calling
            ``Interpreter.trip_signal``.

    The constructor attaches the main thread (CPython's ``_PyEval_InitGIL``) on
    its worker and compares the start; :meth:`close` cleans up and never raises.
    """

    def __init__(
        self, model: Model, impl: ImplFactory = cpython_impl, *, real_signals: bool = False
    ) -> None:
        check_config(model)
        self.model = model
        self.s: ModelState = model.initial()
        self.real_signals = real_signals
        self.waiter = ControlledWaiter(wake_on_notify=False, hang_timeout=LONG_TIMEOUT)
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.model_log: list[LogEntry] = []
        self.impl_log: list[LogEntry] = []
        self.owed: Counter[BlockPoint] = Counter()
        self.running: dict[tuple[int, int], Body] = {}
        self.call_behaviour: dict[tuple[int, int], Behaviour] = {}
        self.handler_behaviour: list[Behaviour] = ["park"] * model.cfg.signals
        self.history: list[str] = []
        self.started = {0}
        """Threads that took a step in the model (the main thread starts attached)."""
        self._seq = 0
        self._sent = [0] * model.cfg.threads
        self._closed = False
        self._stopping = threading.Event()
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

        self.interp = impl(self.waiter, _Observer(self), self._gc_hook)
        states = [self.interp.main_thread] + [self.interp.new_thread() for _ in model.threads[1:]]
        self.workers = [
            Worker(t, ts, self.events, self.impl_log, self._stopping) for t, ts in enumerate(states)
        ]
        self.where_impl = ["not started" for _ in states]
        self._installed = False
        try:
            for k in range(model.cfg.signals):
                self.interp.install_signal_handler(SIGNUMS[k], self._signal_handler(k))
            self._installed = True
            for worker in self.workers:
                worker.start()
                self._await(worker.t, f"starting the worker of T{worker.t}")
            main = self.workers[0]
            self._command(0, "_PyEval_InitGIL", self._attach(main, restore=False), "start")
            snap = self.interp.snapshot()
            self.switch_origin = snap.switch_number - self.s.switch_number
            self.check("start")
        except BaseException:
            self.close()
            raise

    # -- the model side ------------------------------------------------------------------------

    def _guard(self, inst: Instance, s: ModelState) -> bool:
        gen = getattr(self.model, inst.action)(s, *inst.args)
        try:
            return bool(next(gen))
        finally:
            gen.close()

    def enabled(self, action: str) -> list[Instance]:
        """The enabled instances of user action ``action`` in the current model state."""
        if self._enabled is None:
            table: dict[str, list[Instance]] = {}
            for inst in self._user:
                if self._guard(inst, self.s):
                    table.setdefault(inst.action, []).append(inst)
            self._enabled = table
        return self._enabled.get(action, [])

    def instance(self, action: str, *args: int | bool | str) -> Instance:
        return self._by_key[(action, tuple(args))]

    def body_return(self, t: int, ok: bool) -> Instance:
        """The model instance that returns from ``t``'s innermost running body."""
        body = self.running[(t, self.s.threads[t].depth - 1)]
        action, args = body.returns
        return self.instance(action, *args, ok)

    def model_where(self, t: int) -> str | None:
        """Where thread ``t`` stands in the model if that is a sync point, else None."""
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

    def _fire(self, inst: Instance, fired: list[Instance]) -> None:
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
        action, t, args = inst.action, inst.actor, inst.args
        if t is not None:
            self.started.add(t)
        if action == "pop_pending_call":
            _, level, q = (int(a) for a in args)
            ident = (pre.interp_q if q != MAINQ else pre.main_q).calls[0]
            label = callback_label(q, ident)
            behaviour = self.call_behaviour.get((q, ident), "park")
            self.running[(int(args[0]), level)] = Body(
                label, behaviour, f"{label} raised", ("callback_return", (int(args[0]), level, q))
            )
            self.model_log.append(("call", t, label))
        elif action == "call_signal_handler":
            th, level, sig = (int(a) for a in args)
            label = handler_label(sig)
            self.running[(th, level)] = Body(
                label,
                self.handler_behaviour[sig],
                f"{label} raised",
                ("handler_return", (th, level)),
            )
            self.model_log.append(("handler", t, label))
        elif action in ("callback_return", "handler_return") and args[-1] is False:
            self.model_log.append(("raised", t, self.running[(int(args[0]), int(args[1]))].error))
        elif action == "handle_async_exc" and t is not None and pre.threads[t].async_exc:
            self.model_log.append(("raised", t, async_label(t, pre.threads[t].async_exc)))
        elif action == "handle_gc":
            self.model_log.append(("gc", t, ""))
        elif action == "add_pending_call":
            q = int(args[1])
            pq = pre.interp_q if q != MAINQ else pre.main_q
            if pq.npending >= self.model.capacity(q):
                self.model_log.append(("refused", t, QUEUE_NAMES[q]))
        for point in signals_owed(pre, inst, post):
            self.owed[point] += 1

    def _continue(self, t: int | None, inst: Instance, fired: list[Instance]) -> None:
        """Fire the continuation of ``inst``'s actor (or of a signal's delivery)."""
        if t is None:
            sig = inst.args
            while more := [i for i in self._env if i.args == sig and self._guard(i, self.s)]:
                self._fire(more[0], fired)
            return
        while True:
            where = self.model_where(t)
            th = self.s.threads[t]
            if where is not None:
                if th.phase != Phase.HOLDING or th.depth == 0:
                    return
                behaviour = self.running[(t, th.depth - 1)].behaviour
                if behaviour == "park":
                    return
                self._fire(self.body_return(t, behaviour == "return"), fired)
                continue
            nexts = [i for i in self._internal[t] if self._guard(i, self.s)]
            if len(nexts) != 1:
                raise ModelError(
                    f"model: thread {t} is at no sync point and has {len(nexts)} enabled "
                    f"continuations ({', '.join(i.label for i in nexts) or 'none'}) after "
                    f"{', '.join(i.label for i in fired)}"
                )
            self._fire(nexts[0], fired)

    def advance(self, inst: Instance) -> list[Instance]:
        """Fire ``inst`` and its continuation on the model only; the fine steps taken."""
        fired: list[Instance] = []
        self._fire(inst, fired)
        self._continue(inst.actor, inst, fired)
        return fired

    # -- the impl side -------------------------------------------------------------------------

    def run_body(
        self, what: str, label: str, behaviour: Behaviour, error: ProtocolException
    ) -> None:
        """A pending call or handler made by ``impl``: log it, then behave (on a worker)."""
        worker = current_worker()
        self.impl_log.append((what, None if worker is None else worker.t, label))
        if behaviour == "return":
            return
        if behaviour == "raise" or worker is None:
            raise error
        worker.serve(label, error)

    def _signal_handler(self, sig: int) -> Callable[[int, Any], None]:
        def handler(signum: int, frame: Any) -> None:
            label = handler_label(sig)
            self.run_body(
                "handler", label, self.handler_behaviour[sig], HandlerError(f"{label} raised")
            )

        return handler

    def _gc_hook(self, ts: ThreadState) -> None:
        worker = current_worker()
        self.impl_log.append(("gc", None if worker is None else worker.t, ""))

    def _attach(self, worker: Worker, *, restore: bool) -> Callable[[], None]:
        ts = worker.ts

        def attach() -> None:
            if restore:
                self.interp.restore_thread(ts)
            else:
                self.interp.gil.acquire(ts)
            worker.started = True
            worker.c_code = False

        return attach

    def _operation(self, inst: Instance, post: ModelState) -> Callable[[], None]:
        """The ``impl`` operation of user step ``inst`` (run on the actor's worker)."""
        action, args = inst.action, inst.args
        worker = self.workers[int(args[0])]
        ts, interp = worker.ts, self.interp
        if action == "take_gil":
            return self._attach(worker, restore=worker.c_code)
        if action in ("execute", "body_check_point"):
            code = instruction_code(str(args[1]) if action == "execute" else "RESUME")

            def evaluate() -> None:
                run(ts, code)

            return evaluate
        if action == "allow_threads":

            def save() -> None:
                interp.save_thread(ts)
                worker.c_code = True

            return save
        if action == "set_async_exc":
            target = int(args[1])
            exc = AsyncError(target, post.threads[target].async_exc)
            return lambda: interp.set_async_exc(interp.threads[target], exc)
        if action == "schedule_gc":
            return lambda: ts.breaker.set(Bit.GC_SCHEDULED)
        if action == "set_global_version":
            version = post.instrumentation_version
            return lambda: interp.set_instrumentation_version(ts, version)
        if action == "thread_exit":

            def delete() -> None:
                interp.delete_current_thread(ts)
                raise ThreadGone

            return delete
        if action == "finalize":
            return interp.finalize
        raise ModelError(f"harness: no impl operation for {inst.label}")

    def _add_calls(self, worker: Worker, q: int, calls: list[Call]) -> Callable[[], None]:
        def add() -> None:
            for call in calls:
                try:
                    self.interp.add_pending_call(call, main_only=q == MAINQ)
                except PendingFull:
                    self.impl_log.append(("refused", worker.t, QUEUE_NAMES[q]))

        return add

    def _command(
        self, t: int, name: str, fn: Callable[[], None] | None, label: str, ok: bool = True
    ) -> None:
        self._seq += 1
        self._sent[t] = self._seq
        self.workers[t].send(Command(self._seq, name, fn, ok))
        self._await(t, label)

    def _await(self, t: int, label: str) -> None:
        """Wait for thread ``t``'s event after the command it was sent last."""
        seq = self._sent[t]
        try:
            event = self.events.get(timeout=SHORT_TIMEOUT)
        except queue.Empty:
            raise Divergence(
                f"{label}: T{t} (command {seq}) neither returned nor parked within "
                f"{SHORT_TIMEOUT:.1f} s (model: {self.model_where(t)})"
            ) from None
        if event.t != t or event.seq != seq:
            raise Divergence(f"{label}: expected an event of T{t} after command {seq}, got {event}")
        if event.kind == "crashed":
            raise Divergence(f"{label}: the worker of T{t} {event.where}") from self.workers[
                t
            ].crash
        if event.kind == "blocked":
            self.waiter.wait_blocked(
                t, BlockPoint(event.where.removeprefix("blocked in ")), SHORT_TIMEOUT
            )
        self.where_impl[t] = event.where

    def _quiet(self, label: str) -> None:
        try:
            event = self.events.get_nowait()
        except queue.Empty:
            return
        raise Divergence(f"before {label}: an event nobody asked for: {event}")

    def _trip(self, sig: int) -> None:
        signum = SIGNUMS[sig]
        if not self.real_signals:
            self.interp.trip_signal(signum)
            return
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("real signals: the test must run on the host's main thread")
        # pthread_kill() runs the Python-level handlers (PyErr_CheckSignals) before it
        # returns when the signal is for the calling thread, so the trip is done here.
        signal.pthread_kill(threading.main_thread().ident or 0, signum)

    # -- a harness step ----------------------------------------------------------------------

    def step(
        self,
        inst: Instance,
        *,
        behaviour: Behaviour = "park",
        repeat: int = 1,
        check: bool = True,
    ) -> list[Instance]:
        """Take user step ``inst`` on both sides, then compare; the model's fine steps.

        ``behaviour`` is that of the calls ``add_pending_call`` adds, or of the
        handler of the signal ``trip_signal`` trips; ``repeat`` adds that many
        calls in one ``impl`` operation. With ``check`` false the caller
        compares (:meth:`difference`) itself.

        Raises:
            Divergence: ``impl`` stopped elsewhere or shows another state.
            ModelError: ``inst`` is not enabled, or the continuation is not unique.
        """
        label = inst.label if repeat == 1 else f"{inst.label} x{repeat}"
        self.history.append(label)
        label = f"step {len(self.history)} {label}"
        self._quiet(label)
        if inst.action not in USER_ACTIONS:
            raise ModelError(f"{label}: {inst.action} is not a user action")
        t = inst.actor
        fired: list[Instance] = []
        if inst.action == "add_pending_call":
            assert t is not None
            q = int(inst.args[1])
            calls = []
            signal = self.instance("signal_pending_call", *inst.args)
            for _ in range(repeat):
                before = (self.s.interp_q if q != MAINQ else self.s.main_q).npending
                # The push, then the signalling half: always next for this thread
                # (add_pending_call's docstring), so no search for the continuation.
                self._fire(inst, fired)
                self._fire(signal, fired)
                if self.model_where(t) is None:
                    raise ModelError(
                        f"model: {label}: T{t} is at no sync point after {signal.label}"
                    )
                after = self.s.interp_q if q != MAINQ else self.s.main_q
                ident = after.calls[before] if before < self.model.capacity(q) else -1
                self.call_behaviour[(q, ident)] = behaviour
                calls.append(Call(self, q, ident, behaviour))
            self._command(t, inst.action, self._add_calls(self.workers[t], q, calls), label)
        elif inst.action == "trip_signal":
            self.handler_behaviour[int(inst.args[0])] = behaviour
            fired = self.advance(inst)
            self._trip(int(inst.args[0]))
        else:
            fired = self.advance(inst)
            assert t is not None
            if inst.action in ("take_gil_wake", "switch_wake"):
                timed_out = bool(inst.args[1]) if inst.action == "take_gil_wake" else False
                try:
                    self.waiter.wake(t, timed_out=timed_out)
                except ValueError as exc:
                    raise Divergence(f"{label}: {exc}") from None
                self._await(t, label)
            elif inst.action in ("callback_return", "handler_return"):
                self._command(t, inst.action, None, label, ok=bool(inst.args[-1]))
            else:
                self._command(t, inst.action, self._operation(inst, self.s), label)
        if check:
            self.check(label, fired)
        return fired

    # -- comparison ------------------------------------------------------------------------

    def difference(self) -> tuple[str, str, str] | None:
        """``(field, model value, impl value)`` of the first observable that differs."""
        for t in self.model.threads:
            want = self.model_where(t)
            if want != self.where_impl[t]:
                return f"T{t} sync point", repr(want), repr(self.where_impl[t])
        diff = first_difference(
            observe_model(self.s), observe_impl(self.interp.snapshot(), self.switch_origin)
        )
        if diff is not None:
            path, a, b = diff
            return path, show(path, a), show(path, b)
        if self.model_log != self.impl_log:
            k = next(
                (
                    k
                    for k, (a, b) in enumerate(zip(self.model_log, self.impl_log, strict=False))
                    if a != b
                ),
                min(len(self.model_log), len(self.impl_log)),
            )
            return (
                f"log[{k}] (what Python code saw)",
                repr(self.model_log[k:]),
                repr(self.impl_log[k:]),
            )
        for point in BlockPoint:
            got = self.waiter.notifications(point)
            if got != self.owed[point]:
                return f"COND_SIGNAL({point} condition) count", str(self.owed[point]), str(got)
        return None

    def check(self, label: str, fired: list[Instance] | None = None) -> None:
        """Raise :class:`Divergence` naming the first observable that differs."""
        diff = self.difference()
        if diff is None:
            return
        field, model_value, impl_value = diff
        steps = f"\n  model steps: {', '.join(i.label for i in fired)}" if fired else ""
        raise Divergence(
            f"impl diverged from the model after {label}: {field}\n"
            f"  model: {model_value}\n  impl:  {impl_value}{steps}"
        )

    # -- teardown ----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every worker and restore the signal handlers; never raises.

        Finalization is set directly (``interp.finalize()`` needs the main
        thread at the top level holding the GIL, which it may not be), so that
        every other thread exits at its next ``take_gil`` step. Every worker
        is told to stop: a worker waiting for a command unwinds and drops the
        GIL if it holds it, on its own host thread. Every thread that parks
        meanwhile is woken with ``timed_out=True`` until all workers ended.
        (The waiter is not simply closed first: a closed waiter returns at
        once, and the main thread would then spin in ``take_gil`` holding the
        GIL's mutex that the holder needs to release.) A worker that does not
        end is recorded in :data:`LEAKED` for the test to report.
        """
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        interp = self.interp
        if interp.finalizing is None:
            interp._finalizing = interp.main_thread
        alive = {w.t for w in self.workers if w.thread.ident is not None}
        for worker in self.workers:
            worker.stop()
        for t, point in self.waiter.blocked().items():
            self._wake_for_teardown(t, point)
        while alive:
            try:
                event = self.events.get(timeout=SHORT_TIMEOUT)
            except queue.Empty:
                LEAKED.append(
                    f"teardown: T{sorted(alive)} did not end within {SHORT_TIMEOUT:.1f} s"
                )
                break
            if event.kind == "ended":
                alive.discard(event.t)
            elif event.kind == "blocked":
                self._wake_for_teardown(
                    event.t, BlockPoint(event.where.removeprefix("blocked in "))
                )
        self.waiter.close()
        for worker in self.workers:
            if worker.thread.ident is not None:
                worker.thread.join(SHORT_TIMEOUT)
                if worker.thread.is_alive():
                    LEAKED.append(
                        f"failed to join the worker {worker.thread.name} in {SHORT_TIMEOUT:.1f} s"
                    )
        if self._installed:
            interp.uninstall_signal_handlers()

    def _wake_for_teardown(self, t: int, point: BlockPoint) -> None:
        try:
            self.waiter.wait_blocked(t, point, SHORT_TIMEOUT)
            self.waiter.wake(t, timed_out=True)
        except (AssertionError, ValueError) as exc:
            LEAKED.append(f"teardown: could not wake T{t}: {exc}")
