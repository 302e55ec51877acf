"""One load: the host's side of a run, its threads let loose in bursts and its log checked.

While the load runs, the host's main thread only watches; when
:attr:`LoadSpec.backlog` events wait (or the time is up) the gate closes, each
thread parks, detached, at its next step, and the checker checks every event
recorded; then the gate opens again. At the end every thread detaches and the
model's final state is compared with impl's snapshot.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence

from conformance.soak.gate import Gate
from conformance.soak.spec import MAX_THREADS, LoadCounts, LoadSpec
from conformance.soak.traffic import Traffic
from conformance.support import LONG_TIMEOUT, join_thread
from conformance.tracecheck import Recorder, Stats, TraceChecker
from impl import Interpreter


class Stalled(AssertionError):
    """The load stopped making progress: impl hangs (a deadlock the model does not have)."""


class Load:
    """One free-running run of ``impl`` with its log checked against the model.

    Call :meth:`run` from the host's main thread (it installs real signal
    handlers). ``on_progress(load)`` is called from the checking loop.
    :meth:`interrupt` (safe to call from a signal handler) ends the run early:
    the threads stop at their next step, and what they logged is checked as if
    the time were up. ``mutate`` breaks the fresh ``Interpreter`` first (one of
    :data:`conformance.broken_impls.MUTATIONS`), to show the check catches it.
    """

    def __init__(
        self,
        spec: LoadSpec,
        *,
        on_progress: Callable[[Load], None] | None = None,
        checker: TraceChecker | None = None,
        mutate: Callable[[Interpreter], None] | None = None,
    ) -> None:
        if not 1 <= spec.threads <= MAX_THREADS:
            raise ValueError(f"soak: --threads must be from 1 to {MAX_THREADS}, not {spec.threads}")
        self.spec = spec
        self.recorder = Recorder()
        self.interp = Interpreter(spec.interval, trace=self.recorder)
        if mutate is not None:  # a deliberately broken impl (conformance.broken_impls)
            mutate(self.interp)
        self.counts = LoadCounts()
        self.gate = Gate()
        self.stop = threading.Event()
        self.traffic = Traffic(
            spec, self.interp, self.recorder, counts=self.counts, gate=self.gate, stop=self.stop
        )
        self.threads = self.traffic.threads
        self.signals = self.traffic.signals
        self.checker = checker or TraceChecker(
            spec.threads,
            {num: k for k, num in enumerate(self.signals)},
            switch_base=1,
        )
        self.on_progress = on_progress
        self.started: float | None = None
        """``time.perf_counter()`` when the load started; None before."""
        self.ended: float | None = None
        self.check_seconds = 0.0
        self.stalled = False
        """Whether the run ended because no thread made progress (:class:`Stalled`)."""
        self.interrupted: int | None = None
        """The number of the signal that ended the run early (:meth:`interrupt`), if one did."""

    @property
    def stats(self) -> Stats:
        return self.checker.stats

    @property
    def elapsed(self) -> float:
        """Seconds since the load started, up to its end once it ended; 0 before it starts
        (the first live frame is drawn then)."""
        if self.started is None:
            return 0.0
        end = time.perf_counter() if self.ended is None else self.ended
        return end - self.started

    @property
    def backlog(self) -> int:
        return len(self.recorder)

    def interrupt(self, signum: int) -> None:
        """Stop the run early, as if its time were up (``signum`` says why).

        Only stores a number, which the checking loop polls: a signal handler
        may call it at any point of the host's main thread, even while that
        thread holds one of the locks the load's events use.
        """
        self.interrupted = signum

    def run(self) -> Stats:
        """Run the load, checking its log in batches; raise :class:`Unmatched` on a miss."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("soak: the load must be run from the host's main thread")
        interp = self.interp
        interp.gil.acquire(interp.main_thread)  # _PyEval_InitGIL attaches main
        self.recorder.drain()  # the model starts after that acquisition
        for num in self.signals:
            interp.install_signal_handler(num, self.traffic.handler)
        workers = [
            threading.Thread(target=self.traffic.thread, args=(ts,), name=f"T{ts.id}", daemon=True)
            for ts in self.threads
        ]
        self.started = time.perf_counter()
        # The host's own GIL hands over every 5 ms by default, which would stretch
        # impl's switch interval to that; 0.1 ms lets impl's waiters time out and ask.
        host_interval = sys.getswitchinterval()
        sys.setswitchinterval(1e-4)
        try:
            for w in workers:
                w.start()
            self._bursts(workers)
            for w in workers:
                join_thread(w, LONG_TIMEOUT)
            _flush_host_signal_handlers()
            self._check_all()
        finally:
            self.stop.set()
            self.gate.open()
            # One bound for all; a stalled load's threads are stuck and are left (daemons).
            until = time.perf_counter() + (0.0 if self.stalled else LONG_TIMEOUT)
            for w in workers:
                w.join(max(0.0, until - time.perf_counter()))
            sys.setswitchinterval(host_interval)
            self._restore_signals()
            self.ended = time.perf_counter()
        if self.traffic.errors:
            ts_id, exc = self.traffic.errors[0]
            raise AssertionError(f"thread T{ts_id} of the load failed: {exc!r}") from exc
        self.checker.compare_final(interp.snapshot())
        return self.stats

    def _bursts(self, workers: Sequence[threading.Thread]) -> None:
        """Let the load run until ``backlog`` events wait, park it, check them; repeat.

        The host's main thread only watches the load run (a poll every 10 ms,
        during which it also runs the host signal handlers), so the load has the
        host to itself; the checker runs while every thread is parked.
        """
        assert self.started is not None, "the load bursts only once it has started"
        deadline = None if self.spec.seconds is None else self.started + self.spec.seconds
        seen, since = self.recorder.recorded, time.perf_counter()
        while any(w.is_alive() for w in workers):
            if self.recorder.recorded != seen:
                seen, since = self.recorder.recorded, time.perf_counter()
            elif time.perf_counter() - since > self.spec.stall:
                # No thread logged anything for that long, and some have not finished:
                # impl is stuck where the model always has a step to take.
                alive = ", ".join(w.name for w in workers if w.is_alive())
                self.stalled = True
                raise Stalled(
                    f"no event for {self.spec.stall:g} s while threads {alive} "
                    "had not finished: impl is stuck"
                )
            if self.interrupted is not None or (
                deadline is not None and time.perf_counter() >= deadline
            ):
                self.stop.set()
            if self.stop.is_set() or self.backlog >= self.spec.backlog:
                self._park_all()
                self._check_all()
                self.gate.open()
                since = time.perf_counter()  # the threads were parked for the check
            else:
                self.stop.wait(0.01)
            if self.on_progress is not None:
                self.on_progress(self)

    def _park_all(self) -> None:
        """Close the gate and wait until every thread is parked (detached) or finished."""
        self.gate.close()
        self.counts.pauses += 1
        self.gate.wait_parked(len(self.threads))

    def _check_all(self, batch: int = 2000) -> None:
        """Check every event recorded so far."""
        while True:
            events = self.recorder.drain(batch)
            if not events:
                return
            t0 = time.perf_counter()
            try:
                self.checker.feed_all(events)
            finally:
                self.check_seconds += time.perf_counter() - t0
            if self.on_progress is not None:
                self.on_progress(self)

    def _restore_signals(self) -> None:
        """Ignore the load's signals before restoring the old handlers (drops stragglers)."""
        _flush_host_signal_handlers()
        for num in self.signals:
            signal.signal(num, signal.SIG_IGN)
        self.interp.uninstall_signal_handlers()


def _flush_host_signal_handlers() -> None:
    """A Python-level call: the host runs any tripped signal handler before it returns."""
