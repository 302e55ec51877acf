"""What the load's threads do: an eval-loop program whose C call takes one random step.

Each thread runs :func:`impl.run` on a program whose check points are a
``RESUME``, a C ``CALL`` and a ``JUMP_BACKWARD``. The C call does nothing, or
enters an allow-threads section (adding pending calls from C, sending a
signal), adds pending calls (a burst can fill a queue), posts an asynchronous
exception, sends a real signal, or spins. The pending calls it adds do nothing,
fail, add another call, run a nested program, release the GIL or post an
asynchronous exception; the signal handler sometimes raises.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import threading
from collections.abc import Callable
from types import FrameType

from conformance.soak.gate import Gate
from conformance.soak.spec import (
    EXPECTED,
    SIGNALS,
    AsyncPoke,
    CallbackFailure,
    HandlerFailure,
    LoadCounts,
    LoadSpec,
)
from conformance.tracecheck import Recorder
from impl import Code, Instr, Interpreter, ThreadState, run


class Traffic:
    """The threads of one load: their ``ThreadState``s, their program and its random steps.

    :meth:`thread` is the body of each host thread; :meth:`handler` is the
    signal handler to install. A thread parks at the (closed) ``gate`` at its
    next step, and stops when ``stop`` is set or its steps are done.
    """

    def __init__(
        self,
        spec: LoadSpec,
        interp: Interpreter,
        recorder: Recorder,
        *,
        counts: LoadCounts,
        gate: Gate,
        stop: threading.Event,
    ) -> None:
        self.spec = spec
        self.interp = interp
        self.recorder = recorder
        self.counts = counts
        self.gate = gate
        self.stop = stop
        self.threads = [interp.main_thread] + [interp.new_thread() for _ in range(spec.threads - 1)]
        self.signals: tuple[int, ...] = SIGNALS if spec.signals else ()
        self.errors: list[tuple[int, BaseException]] = []
        """(ThreadState id, exception) for each thread that failed unexpectedly."""
        self._tls = threading.local()
        self._serial = itertools.count(1)
        self._handled = 0
        self._program = Code(
            "load",
            [
                Instr.resume(0),
                Instr.call_c(self._step),
                Instr.work(),
                Instr.jump_backward(1, while_=self._more),
                Instr.ret(),
            ],
        )
        self._nested = Code("nested", [Instr.resume(0), Instr.call_c(_nothing), Instr.ret()])

    def thread(self, ts: ThreadState) -> None:
        """The body of the host thread that plays ``ts``."""
        self.recorder.bind(ts.id)
        tls = self._tls
        tls.ts = ts
        tls.rng = random.Random(self.spec.seed * 7919 + ts.id)
        tls.steps = 0
        interp = self.interp
        try:
            if not ts.holds_gil:
                interp.restore_thread(ts)
            while self._more():
                try:
                    run(ts, self._program)
                except EXPECTED as exc:
                    self.counts.exceptions[type(exc).__name__] += 1
        except BaseException as exc:
            self.errors.append((ts.id, exc))
            self.stop.set()
        finally:
            if ts.holds_gil:
                interp.save_thread(ts)
            self.gate.finish()

    def handler(self, signum: int, frame: FrameType | None) -> None:
        """impl's handler of the load's signals."""
        # Runs on impl's main thread at a check point: no check point of its own.
        self._handled += 1
        if self._handled % 5 == 0:
            raise HandlerFailure(signum)

    # -- one step ------------------------------------------------------------------------------

    def _more(self) -> bool:
        if self.stop.is_set():
            return False
        steps = self.spec.steps
        return steps is None or self._tls.steps < steps

    def _step(self) -> None:
        tls = self._tls
        ts: ThreadState = tls.ts
        rng: random.Random = tls.rng
        tls.steps += 1
        self.counts.steps += 1
        if self.gate.closed:
            with ts.allow_threads():
                self.gate.park()
            return
        r = rng.random()
        if r < 0.10:
            return
        if r < 0.18:
            self._allow_threads(ts, rng)
        elif r < 0.33:
            for _ in range(rng.randrange(1, 3)):
                self._add(rng)
        elif r < 0.34:
            for _ in range(rng.randrange(20, 80)):
                self._add(rng)
        elif r < 0.40:
            self._post_async(rng)
        elif r < 0.43:
            self._send_signal(rng)
        else:
            _spin(rng.randrange(1000, 6000))

    def _allow_threads(self, ts: ThreadState, rng: random.Random) -> None:
        with ts.allow_threads():
            # C code without the GIL: Py_AddPendingCall needs no thread state.
            if rng.random() < 0.3:
                for _ in range(rng.randrange(1, 4)):
                    self._add(rng)
            if rng.random() < 0.05:
                self._send_signal(rng)
            _spin(rng.randrange(0, 1000))

    def _add(self, rng: random.Random) -> None:
        fn = self._make_call(rng)
        try:
            self.interp.add_pending_call(fn, main_only=rng.random() < 0.3)
        except Exception as exc:  # PendingFull
            self.counts.exceptions[type(exc).__name__] += 1

    def _post_async(self, rng: random.Random) -> None:
        target = rng.choice(self.threads)
        self.interp.set_async_exc(target, AsyncPoke(next(self._serial)))

    def _send_signal(self, rng: random.Random) -> None:
        if not self.signals:
            return
        num = rng.choice(self.signals)
        self.counts.signals_sent += 1
        if rng.random() < 0.5:
            os.kill(os.getpid(), num)
        else:
            main_ident = threading.main_thread().ident
            assert main_ident is not None
            signal.pthread_kill(main_ident, num)

    def _make_call(self, rng: random.Random) -> Callable[[], None]:
        kind = rng.random()
        if kind < 0.55:
            return _nothing
        if kind < 0.67:
            return _fail
        if kind < 0.77:
            return self._call_adds
        if kind < 0.87:
            return self._call_runs_code
        if kind < 0.95:
            return self._call_releases
        return self._call_posts

    # Pending calls run on the draining thread: they find it in the thread-local.
    def _call_adds(self) -> None:
        self._add(self._tls.rng)

    def _call_runs_code(self) -> None:
        run(self._tls.ts, self._nested)

    def _call_releases(self) -> None:
        with self._tls.ts.allow_threads():
            _spin(50)

    def _call_posts(self) -> None:
        self._post_async(self._tls.rng)


def _nothing() -> None:
    pass


def _fail() -> None:
    raise CallbackFailure("a pending call that fails")


def _spin(n: int) -> None:
    for _ in range(n):
        pass
