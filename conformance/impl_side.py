"""The implementation's half of a harness step: the ``impl`` operation of each user action.

:class:`ImplSide` builds the interpreter under test with a ControlledWaiter
(no wall-clock time: every wait ends when the test says so), an observer that
reports each thread about to block, and a GC hook; it turns a model user step
into the ``impl`` call the acting thread's worker runs, and it is what
``impl`` calls back: pending calls (:class:`Call`), signal handlers and the GC
hook, each of which logs what Python code saw and then *behaves* (returns,
raises, or parks its worker in a nested command loop, see
:meth:`conformance.workers.Worker.serve`).
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any, Final

from conformance.abstraction import (
    QUEUE_NAMES,
    SIGNUMS,
    AsyncError,
    CallbackError,
    HandlerError,
    ModelState,
    ProtocolException,
    callback_label,
    handler_label,
)
from conformance.model_side import Behaviour, Model, ModelError
from conformance.support import LONG_TIMEOUT
from conformance.workers import Event, LogEntry, ThreadGone, Worker, current_worker
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

ImplFactory = Callable[[ControlledWaiter, Observer, Callable[[ThreadState], object]], Interpreter]
"""Builds the ``Interpreter`` under test from the harness's waiter, observer and GC hook."""


def cpython_impl(
    waiter: ControlledWaiter, observer: Observer, gc_hook: Callable[[ThreadState], object]
) -> Interpreter:
    """The implementation as it is."""
    return Interpreter(waiter=waiter, observer=observer, gc_hook=gc_hook)


def fair_impl(
    waiter: ControlledWaiter, observer: Observer, gc_hook: Callable[[ThreadState], object]
) -> Interpreter:
    """The implementation with a FIFO GIL (:class:`impl.FairGIL`, ``Interpreter(fair=True)``),
    the counterpart of the ``fair-gil`` design (``model.designs.fair_gil``)."""
    return Interpreter(waiter=waiter, observer=observer, gc_hook=gc_hook, fair=True)


class ConfigMismatch(ValueError):
    """A model configuration ``impl`` cannot play (its queues are CPython's)."""


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
"""The model's instruction kinds as ``impl`` instructions (each run once, then RETURN)."""


def instruction_code(op: str) -> Code:
    return Code(op, [_INSTRUCTIONS[op](), Instr.ret()])


class Call:
    """A pending call added by the harness; ``ident`` is the model's id of it."""

    __slots__ = ("behaviour", "ident", "q", "side")

    def __init__(self, side: ImplSide, q: int, ident: int, behaviour: Behaviour) -> None:
        self.side = side
        self.q = q
        self.ident = ident
        self.behaviour = behaviour

    def __call__(self) -> None:
        label = callback_label(self.q, self.ident)
        self.side.run_body("call", label, self.behaviour, CallbackError(f"{label} raised"))

    def __repr__(self) -> str:
        return f"<{callback_label(self.q, self.ident)} {self.behaviour}>"


class _Observer:
    """Posts a ``blocked`` event for the worker that is about to wait."""

    def __init__(self, events: queue.SimpleQueue[Event], workers: list[Worker]) -> None:
        self._events = events
        self._workers = workers

    def on_block(self, ts: ThreadState, point: BlockPoint) -> None:
        worker = self._workers[ts.id]
        self._events.put(Event(ts.id, worker.seq, "blocked", f"blocked in {point}"))

    def on_wake(self, ts: ThreadState, point: BlockPoint, timed_out: bool) -> None:
        pass


class ImplSide:
    """The interpreter under test and the Python code the harness runs in it.

    ``handler_behaviour`` is the model side's list (one entry per signal): the
    test sets a handler's behaviour when it trips the signal, and both sides
    read the same entry when the handler runs.
    """

    def __init__(
        self,
        factory: ImplFactory,
        events: queue.SimpleQueue[Event],
        workers: list[Worker],
        handler_behaviour: list[Behaviour],
    ) -> None:
        self.waiter = ControlledWaiter(wake_on_notify=False, hang_timeout=LONG_TIMEOUT)
        self.log: list[LogEntry] = []
        self._handler_behaviour = handler_behaviour
        self.interp = factory(self.waiter, _Observer(events, workers), self._gc_hook)

    # -- what impl calls -----------------------------------------------------------------------

    def run_body(
        self, what: str, label: str, behaviour: Behaviour, error: ProtocolException
    ) -> None:
        """A pending call or handler made by ``impl``: log it, then behave (on a worker)."""
        worker = current_worker()
        self.log.append((what, None if worker is None else worker.t, label))
        if behaviour == "return":
            return
        if behaviour == "raise" or worker is None:
            raise error
        worker.serve(label, error)

    def signal_handler(self, sig: int) -> Callable[[int, Any], None]:
        """The Python-level handler of model signal ``sig``."""

        def handler(signum: int, frame: Any) -> None:
            label = handler_label(sig)
            error = HandlerError(f"{label} raised")
            self.run_body("handler", label, self._handler_behaviour[sig], error)

        return handler

    def _gc_hook(self, ts: ThreadState) -> None:
        worker = current_worker()
        self.log.append(("gc", None if worker is None else worker.t, ""))

    # -- what the workers run ------------------------------------------------------------------

    def attach(self, worker: Worker) -> Callable[[], None]:
        """``take_gil``: a new thread's first attach, or ``PyEval_RestoreThread``."""
        ts, interp, restore = worker.ts, self.interp, worker.c_code

        def attach() -> None:
            if restore:
                interp.restore_thread(ts)
            else:
                interp.gil.acquire(ts)
            worker.started = True
            worker.c_code = False

        return attach

    def add_calls(
        self, worker: Worker, q: int, idents: list[int], behaviour: Behaviour
    ) -> Callable[[], None]:
        """``add_pending_call`` once per id (-1: a call the model refused)."""
        calls = [Call(self, q, ident, behaviour) for ident in idents]

        def add() -> None:
            for call in calls:
                try:
                    self.interp.add_pending_call(call, main_only=q == MAINQ)
                except PendingFull:
                    self.log.append(("refused", worker.t, QUEUE_NAMES[q]))

        return add

    def operation(self, inst: Instance, worker: Worker, post: ModelState) -> Callable[[], None]:
        """The ``impl`` operation of user step ``inst`` (``post``: the model state after it)."""
        action, args = inst.action, inst.args
        ts, interp = worker.ts, self.interp
        if action == "take_gil":
            return self.attach(worker)
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
