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
   :mod:`conformance.workers` for the handshakes);
3. compares once (:meth:`Lockstep.difference`): where every thread stopped,
   the abstraction of an ``impl`` snapshot against the model state
   (:mod:`conformance.abstraction`), the two logs of what Python code
   saw, and the condition-variable signals.

Pending calls and signal handlers get a *behaviour* chosen by the test:
``return`` and ``raise`` run to completion inside the pass (so that a drain
of 100 calls is one harness step), ``park`` stops the worker inside the call
(a sync point) until the test returns from it, after it may have reached check
points, released the GIL, added calls, and so on.

Nothing here sleeps or reads a clock: a step completes, parks, or fails after
:data:`conformance.support.SHORT_TIMEOUT` with a sentence saying what did not happen.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable

from conformance.abstraction import (
    SIGNUMS,
    ModelState,
    first_difference,
    observe_impl,
    observe_model,
    show,
)
from conformance.impl_side import (
    ConfigMismatch,
    ImplFactory,
    ImplSide,
    check_config,
    cpython_impl,
)
from conformance.locks import HELD, ImplLocks
from conformance.model_side import (
    BEHAVIOURS,
    USER_ACTIONS,
    Behaviour,
    Model,
    ModelError,
    ModelSide,
    concrete_model,
)
from conformance.support import SHORT_TIMEOUT
from conformance.teardown import stop_workers
from conformance.workers import Command, Event, Worker
from impl import BlockPoint
from model.actions import Instance

__all__ = [
    "BEHAVIOURS",
    "LEAKED",
    "USER_ACTIONS",
    "Behaviour",
    "ConfigMismatch",
    "Divergence",
    "ImplFactory",
    "Lockstep",
    "Model",
    "ModelError",
    "check_config",
    "concrete_model",
    "cpython_impl",
]

LEAKED: list[str] = []
"""Workers that teardown could not end (checked by the tests, never raised in teardown)."""


class Divergence(AssertionError):
    """``impl`` did something the model does not do (or did not do what it does)."""


class Lockstep:
    """The model and an ``impl`` interpreter side by side, with one worker per thread.

    Args:
        model: a concrete model (any variant, from :func:`concrete_model`); its
            configuration must be one ``impl`` can play (:func:`check_config`).
        impl: builds the interpreter under test (:func:`cpython_impl`, or a
            broken one from :mod:`conformance.broken_impls`).
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
        self.m = ModelSide(model)
        self.real_signals = real_signals
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.workers: list[Worker] = []
        self.impl = ImplSide(impl, self.events, self.workers, self.m.handler_behaviour)
        self.interp = self.impl.interp
        self.waiter = self.impl.waiter
        self.history: list[str] = []
        self._seq = 0
        self._sent = [0] * model.cfg.threads
        self._closed = False
        self._stopping = threading.Event()
        self._installed = False
        states = [self.interp.main_thread] + [self.interp.new_thread() for _ in model.threads[1:]]
        self.workers.extend(
            Worker(t, ts, self.events, self.impl.log, self._stopping) for t, ts in enumerate(states)
        )
        self.where_impl = ["not started" for _ in states]
        self.locks = ImplLocks(self.interp)
        try:
            for k in range(model.cfg.signals):
                self.interp.install_signal_handler(SIGNUMS[k], self.impl.signal_handler(k))
            self._installed = True
            for worker in self.workers:
                worker.start()
                self._await(worker.t, f"starting the worker of T{worker.t}")
            self._command(0, "_PyEval_InitGIL", self.impl.attach(self.workers[0]), "start")
            held = self.locks.first_held(SHORT_TIMEOUT)
            if held is not None:
                raise Divergence(f"start: {held} {HELD}")
            self.switch_origin = self.interp.snapshot().switch_number - self.s.switch_number
            self.check("start")
        except BaseException:
            self.close()
            raise

    # -- the model side, for the test ------------------------------------------------------

    @property
    def model(self) -> Model:
        return self.m.model

    @property
    def s(self) -> ModelState:
        """The model state."""
        return self.m.s

    def enabled(self, action: str) -> list[Instance]:
        """The enabled instances of user action ``action`` (model state only)."""
        return self.m.enabled(action)

    def instance(self, action: str, *args: int | bool | str) -> Instance:
        return self.m.instance(action, *args)

    def body_return(self, t: int, ok: bool) -> Instance:
        return self.m.body_return(t, ok)

    def model_where(self, t: int) -> str | None:
        return self.m.where(t)

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
        t, action = inst.actor, inst.action
        if t is None:  # trip_signal: the test thread plays the OS
            self.m.handler_behaviour[int(inst.args[0])] = behaviour
            fired = self.m.advance(inst)
            self._trip(int(inst.args[0]))
        elif action == "add_pending_call":
            fired, idents = self.m.add(inst, repeat, behaviour)
            add = self.impl.add_calls(self.workers[t], int(inst.args[1]), idents, behaviour)
            self._command(t, action, add, label)
        elif action in ("take_gil_wake", "switch_wake"):
            fired = self.m.advance(inst)
            lock = ImplLocks.of(self.waiter.blocked().get(t, BlockPoint.TAKE_GIL))
            if not self.locks.wait_free(lock, SHORT_TIMEOUT):  # wake() takes it, unbounded
                raise Divergence(f"{label}: cannot wake T{t}: {lock} {HELD}")
            try:
                self.waiter.wake(t, timed_out=action == "take_gil_wake" and bool(inst.args[1]))
            except ValueError as exc:
                raise Divergence(f"{label}: {exc}") from None
            self._await(t, label)
        elif action in ("callback_return", "handler_return"):
            fired = self.m.advance(inst)
            self._command(t, action, None, label, ok=bool(inst.args[-1]))
        else:
            fired = self.m.advance(inst)
            self._command(t, action, self.impl.operation(inst, self.workers[t], self.s), label)
        if check:
            self.check(label, fired)
        return fired

    def _command(
        self, t: int, name: str, fn: Callable[[], None] | None, label: str, ok: bool = True
    ) -> None:
        self._seq += 1
        self._sent[t] = self._seq
        self.workers[t].send(Command(self._seq, name, fn, ok))
        self._await(t, label)

    def _await(self, t: int, label: str) -> None:
        """Wait for thread ``t``'s next event, which must answer the command it was sent last."""
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
            point = BlockPoint(event.where.removeprefix("blocked in "))
            self.waiter.wait_blocked(t, point, SHORT_TIMEOUT)
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

    # -- comparison ------------------------------------------------------------------------

    def difference(self) -> tuple[str, str, str] | None:
        """``(field, model value, impl value)`` of the first observable that differs."""
        for t in self.model.threads:
            want = self.model_where(t)
            if want != self.where_impl[t]:
                return f"T{t} sync point", repr(want), repr(self.where_impl[t])
        held = self.locks.first_held(SHORT_TIMEOUT)  # snapshot() takes them, unbounded
        if held is not None:
            return f"{held} at a sync point", "'free'", repr(HELD)
        diff = first_difference(
            observe_model(self.s), observe_impl(self.interp.snapshot(), self.switch_origin)
        )
        if diff is not None:
            path, a, b = diff
            return path, show(path, a), show(path, b)
        model_log, impl_log = self.m.log, self.impl.log
        if model_log != impl_log:
            pairs = zip(model_log, impl_log, strict=False)
            k = next(
                (k for k, (a, b) in enumerate(pairs) if a != b), min(len(model_log), len(impl_log))
            )
            return f"log[{k}] (what Python code saw)", repr(model_log[k:]), repr(impl_log[k:])
        for point in BlockPoint:
            got = self.waiter.notifications(point)
            if got != self.m.owed[point]:
                return f"COND_SIGNAL({point} condition) count", str(self.m.owed[point]), str(got)
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
        """Stop every worker within a bound and restore the signal handlers; never raises.

        Finalization is set directly (``interp.finalize()`` needs the main
        thread at the top level holding the GIL, which it may not be), so that
        every other thread exits at its next ``take_gil`` step. Then the
        workers are stopped one at a time, the GIL's holder before any parked
        thread, and a lock left held with no thread running is released by
        force (:mod:`conformance.teardown`). A worker that does not end is
        recorded in :data:`LEAKED` with where it is (a daemon thread).
        """
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        interp = self.interp
        if interp.finalizing is None:
            interp._finalizing = interp.main_thread
        LEAKED.extend(stop_workers(self.workers, self.waiter, self.events, self.locks))
        if self._installed:
            interp.uninstall_signal_handlers()
