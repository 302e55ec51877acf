"""Worker threads of the lock-step harness: one host thread per model thread.

Each model thread ``t`` is played by one :class:`Worker`, a host thread that
runs the operations of ``impl``'s ``ThreadState`` ``t`` and nothing else (rule
4 of style guide B7). The test thread drives the workers through commands and
learns where each one stopped through :class:`Event`\\ s on one queue.

Handshakes, and what each one guarantees:

* **Command.** The test thread puts a :class:`Command` with a fresh sequence
  number on the worker's queue. The worker records the number before it runs
  the command, so every event it posts afterwards carries it: an event with an
  older number cannot be mistaken for the answer to this command (rule 3).
* **Idle.** A worker posts ``idle`` when it waits for its next command: the
  command returned (or raised, which it logs), or a pending call or signal
  handler with the ``park`` behaviour started (a *body*: a nested command loop
  on the same host thread, see :meth:`Worker.serve`). The event says where the
  worker is (``top level / callback interp#3 in C code``). After ``idle`` the
  worker touches no protocol state until its next command.
* **Blocked.** The harness's observer posts ``blocked`` from ``impl``'s
  ``on_block``, which runs with the blocking point's mutex held just before
  the wait; the test thread then waits (bounded) for the ControlledWaiter to
  show the thread parked, so the thread really waits before anything else
  happens.
* **Exited.** ``MustExit`` or the end of the thread stops the worker where it
  is: it posts ``exited`` and then waits, without unwinding ``impl``'s stack
  (CPython's ``PyThread_exit_thread`` does not unwind either), until
  teardown releases it.
* **Ended.** The host thread's last act is to post ``ended`` (teardown waits
  for it, see :meth:`conformance.harness.Lockstep.close`).

Because every worker but the one the test thread just drove waits in one of
those points, at most one worker runs at any time: the test thread always
knows whose event comes next. Exceptions other than the protocol's own end a
worker with a ``crashed`` event, so they fail the step instead of vanishing.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from conformance.abstraction import exception_label
from conformance.support import LONG_TIMEOUT
from impl import MustExit, ThreadState

EventKind = Literal["idle", "blocked", "exited", "crashed", "ended"]
LogEntry = tuple[str, int | None, str]
"""``(what, thread, detail)``: an entry of the log of what Python code saw."""


class Stop(BaseException):
    """Teardown: unwind whatever the worker is doing (not an ``Exception``, so
    no executor logs it as something the protocol raised)."""


class ThreadGone(BaseException):
    """The thread deleted itself (``PyThreadState_DeleteCurrent``)."""


class Hang(BaseException):
    """A worker waited for a command for :data:`LONG_TIMEOUT` seconds."""


@dataclass(frozen=True, slots=True)
class Event:
    """What a worker reports when it stops: see the module docstring."""

    t: int
    seq: int
    """The number of the last command this worker received."""
    kind: EventKind
    where: str


@dataclass(frozen=True, slots=True)
class Command:
    """One operation for a worker, or (``fn`` None) the return of its current body."""

    seq: int
    name: str
    fn: Callable[[], None] | None
    ok: bool = True
    """For a body return: return normally (True) or raise the body's error."""


_current = threading.local()


def current_worker() -> Worker | None:
    """The worker running on this host thread, if any."""
    worker: Worker | None = getattr(_current, "worker", None)
    return worker


class Worker:
    """The host thread of model thread ``t``.

    ``contexts``, ``c_code`` and ``started`` are written by the worker's own
    host thread only, before it posts an event, and read by the test thread
    only after it took that event: the event queue orders them.
    """

    def __init__(
        self,
        t: int,
        ts: ThreadState,
        events: queue.SimpleQueue[Event],
        log: list[LogEntry],
        stopping: threading.Event,
    ) -> None:
        self.t = t
        self.ts = ts
        self.seq = 0
        self.contexts = ["top level"]
        self.c_code = False
        self.started = False
        self._events = events
        self._log = log
        self._stopping = stopping
        self._commands: queue.SimpleQueue[Command | None] = queue.SimpleQueue()
        self._released = threading.Event()
        self.crash: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name=f"T{t}", daemon=True)

    def where(self) -> str:
        """Where this worker waits, in the words :meth:`Lockstep.model_where` uses."""
        if not self.started:
            return "not started"
        where = " / ".join(self.contexts)
        return f"{where} in C code" if self.c_code else where

    def post(self, kind: EventKind, where: str | None = None) -> None:
        self._events.put(Event(self.t, self.seq, kind, self.where() if where is None else where))

    # -- test thread side --------------------------------------------------------------------

    def start(self) -> None:
        self.thread.start()

    def send(self, command: Command) -> None:
        self._commands.put(command)

    def stop(self) -> None:
        """Teardown: the next command this worker waits for is a :class:`Stop`;
        an exited worker unwinds now."""
        self._commands.put(None)
        self._released.set()

    # -- worker side -------------------------------------------------------------------------

    def _main(self) -> None:
        _current.worker = self
        try:
            self.serve(None, None)
        except (Stop, MustExit, ThreadGone):
            pass
        except BaseException as exc:
            self.crash = exc
            self.post("crashed", f"crashed: {type(exc).__name__}: {exc}")
        finally:
            ts = self.ts
            if ts.holds_gil:  # teardown: this thread still holds the GIL; drop it here
                try:
                    ts.interp.gil.release(ts)
                except Exception as exc:  # the teardown must not raise
                    self.crash = exc
            self.post("ended", "ended")

    def _next(self) -> Command:
        try:
            command = self._commands.get(timeout=LONG_TIMEOUT)
        except queue.Empty:
            raise Hang(f"T{self.t}: no command within {LONG_TIMEOUT:.1f} s") from None
        if command is None:
            raise Stop
        self.seq = command.seq
        return command

    def serve(self, label: str | None, error: BaseException | None) -> None:
        """Run commands until one returns from this body (``label``; None: the top level).

        A body return with ``ok`` false raises ``error`` into ``impl``, as a
        pending call or signal handler that fails does.
        """
        if self._stopping.is_set():
            raise Stop
        if label is not None:
            self.contexts.append(label)
        try:
            self.post("idle")
            while True:
                command = self._next()
                if command.fn is None:
                    if error is None:
                        raise RuntimeError(f"T{self.t}: {command.name} sent to the top level")
                    if command.ok:
                        return
                    raise error
                self._execute(command.fn)
                self.post("idle")
        finally:
            if label is not None:
                self.contexts.pop()

    def _execute(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except (MustExit, ThreadGone):
            self.post("exited", "exited")
            self._released.wait(LONG_TIMEOUT)
            raise
        except Exception as exc:  # the protocol raised it into this thread's Python code
            self._log.append(("raised", self.t, exception_label(exc)))
