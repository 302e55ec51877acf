"""Free-running load on ``impl``, its event log checked against the model: ``gilcheck soak``.

K host threads each play one ``ThreadState`` (thread 0 is impl's main thread;
the host's main thread plays none: it only receives the real signals, whose
host handler trips impl's, and checks the log). Each runs a real eval-loop
program (:func:`impl.run`) whose check points are a ``RESUME``, a C ``CALL``
and a ``JUMP_BACKWARD``; the C call takes one random step:

* nothing (the check point after it still acts on whatever bits are set);
* an allow-threads section (``Py_BEGIN_ALLOW_THREADS``), in which the thread
  may add pending calls from C and send a signal;
* add pending calls to either queue, one or two, or a burst that can fill a
  queue (refused adds);
* post an asynchronous exception to any thread;
* send SIGUSR1 or SIGUSR2 with ``os.kill`` or ``signal.pthread_kill``;
* some host work, so that waiters time out and ask for the GIL.

The pending calls record themselves, and some fail, add another call, release
the GIL, post an asynchronous exception, or run a small program of their own
(a check point nested in the drain: the model's level-1 pass). Signal handlers
record and sometimes raise; they never reach a check point of their own, as the
model requires of handlers that may run in a nested pass.

The log (a :class:`tracecheck.Recorder`) is checked in batches by the host's
main thread. While the load runs, the host's main thread only watches; when
:attr:`LoadSpec.backlog` events wait (or the time is up) a gate closes, each
thread parks, detached, in an allow-threads section at its next step, and the
checker checks every event recorded; then the gate opens again. So the run is
a sequence of free-running bursts, each with the host to itself, and the log
of all of them is one behaviour. At the end every thread detaches and the
model's final state is compared with impl's snapshot.

``main(argv)`` is ``gilcheck soak --threads 16 --seconds N [--seed S]
[--interval SECONDS]``: exit 0 if every event was matched, 1 at the first
unmatched event (printed), 150 on a bad option.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import signal
import sys
import threading
import time
import typing
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Final

from conformance.support import LONG_TIMEOUT, join_thread
from conformance.tracecheck import Recorder, Stats, TraceChecker, Unmatched
from impl import Code, Instr, Interpreter, ThreadState, run

SIGNALS: Final = tuple(
    s for s in (getattr(signal, "SIGUSR1", None), getattr(signal, "SIGUSR2", None)) if s
)
"""The real signals used, ascending (so model signal k is ``SIGNALS[k]``)."""

EXIT_USAGE: Final = 150


class AsyncPoke(Exception):
    """The asynchronous exception the load posts (numbered, to match deliveries)."""


class CallbackFailure(Exception):
    """A pending call that fails on purpose."""


class HandlerFailure(Exception):
    """A signal handler that fails on purpose."""


_EXPECTED: Final = (AsyncPoke, CallbackFailure, HandlerFailure)


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """What to run: ``threads`` ThreadStates (main included) for ``steps`` each or ``seconds``."""

    threads: int = 4
    steps: int | None = 300
    """Random steps per thread; ``None`` to run for ``seconds``."""
    seconds: float | None = None
    seed: int = 0
    interval: float = 0.0002
    """impl's switch interval, in seconds."""
    signals: bool = True
    backlog: int = 20_000
    """Unchecked events at which the gate closes (the load pauses until checked)."""


@dataclass(slots=True)
class LoadCounts:
    """What the load did, counted by the load itself (the checker counts what it saw)."""

    steps: int = 0
    signals_sent: int = 0
    exceptions: Counter[str] = field(default_factory=Counter)
    pauses: int = 0


class Gate:
    """Open: the load runs. Closed: threads park (detached) at their next step."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()

    @property
    def closed(self) -> bool:
        return not self._open.is_set()

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    def wait_open(self) -> None:
        if not self._open.wait(LONG_TIMEOUT):
            raise AssertionError(
                f"timed out after {LONG_TIMEOUT:.1f} s waiting for the checker to reopen the gate"
            )


class Load:
    """One free-running run of ``impl`` with its log checked against the model.

    Call :meth:`run` from the host's main thread (it installs real signal
    handlers). ``on_progress(load)`` is called from the checking loop.
    """

    def __init__(
        self,
        spec: LoadSpec,
        *,
        on_progress: Callable[[Load], None] | None = None,
        checker: TraceChecker | None = None,
    ) -> None:
        if not 1 <= spec.threads <= 16:
            raise ValueError(f"soak: --threads must be from 1 to 16, not {spec.threads}")
        self.spec = spec
        self.recorder = Recorder()
        self.interp = Interpreter(spec.interval, trace=self.recorder)
        self.threads = [self.interp.main_thread] + [
            self.interp.new_thread() for _ in range(spec.threads - 1)
        ]
        self.signals = SIGNALS if spec.signals else ()
        self.checker = checker or TraceChecker(
            spec.threads,
            {num: k for k, num in enumerate(self.signals)},
            switch_base=1,
        )
        self.counts = LoadCounts()
        self.gate = Gate()
        self.stop = threading.Event()
        self.on_progress = on_progress
        self.started = 0.0
        self.ended: float | None = None
        self.check_seconds = 0.0
        self._tls = threading.local()
        self._serial = itertools.count(1)
        self._handled = 0
        self._errors: list[tuple[int, BaseException]] = []
        self._quiet = threading.Condition()
        self._parked = 0
        self._finished = 0
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

    # -- the run -------------------------------------------------------------------------------

    @property
    def stats(self) -> Stats:
        return self.checker.stats

    @property
    def elapsed(self) -> float:
        """Seconds since the load started, up to its end once it ended."""
        end = time.perf_counter() if self.ended is None else self.ended
        return end - self.started

    @property
    def backlog(self) -> int:
        return len(self.recorder)

    def run(self) -> Stats:
        """Run the load, checking its log in batches; raise :class:`Unmatched` on a miss."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("soak: the load must be run from the host's main thread")
        interp = self.interp
        interp.gil.acquire(interp.main_thread)  # _PyEval_InitGIL attaches main
        self.recorder.drain()  # the model starts after that acquisition
        for num in self.signals:
            interp.install_signal_handler(num, self._handler)
        workers = [
            threading.Thread(target=self._thread, args=(ts,), name=f"T{ts.id}", daemon=True)
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
            for w in workers:
                w.join(LONG_TIMEOUT)
            sys.setswitchinterval(host_interval)
            self._restore_signals()
            self.ended = time.perf_counter()
        if self._errors:
            ts_id, exc = self._errors[0]
            raise AssertionError(f"thread T{ts_id} of the load failed: {exc!r}") from exc
        self.checker.compare_final(interp.snapshot())
        return self.stats

    def _bursts(self, workers: Sequence[threading.Thread]) -> None:
        """Let the load run until ``backlog`` events wait, park it, check them; repeat.

        The host's main thread only watches the load run (a poll every 10 ms,
        during which it also runs the host signal handlers), so the load has the
        host to itself; the checker runs while every thread is parked.
        """
        deadline = None if self.spec.seconds is None else self.started + self.spec.seconds
        while any(w.is_alive() for w in workers):
            if deadline is not None and time.perf_counter() >= deadline:
                self.stop.set()
            if self.stop.is_set() or self.backlog >= self.spec.backlog:
                self._park_all()
                self._check_all()
                self.gate.open()
            else:
                self.stop.wait(0.01)
            if self.on_progress is not None:
                self.on_progress(self)

    def _park_all(self) -> None:
        """Close the gate and wait until every thread is parked (detached) or finished."""
        self.gate.close()
        self.counts.pauses += 1
        k = len(self.threads)
        with self._quiet:
            if not self._quiet.wait_for(lambda: self._parked + self._finished >= k, LONG_TIMEOUT):
                raise AssertionError(
                    f"timed out after {LONG_TIMEOUT:.1f} s waiting for the {k} threads to park "
                    f"for the checker (parked {self._parked}, finished {self._finished})"
                )

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

    # -- one thread ------------------------------------------------------------------------------

    def _thread(self, ts: ThreadState) -> None:
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
                except _EXPECTED as exc:
                    self.counts.exceptions[type(exc).__name__] += 1
        except BaseException as exc:
            self._errors.append((ts.id, exc))
            self.stop.set()
        finally:
            if ts.holds_gil:
                interp.save_thread(ts)
            with self._quiet:
                self._finished += 1
                self._quiet.notify_all()

    def _park(self) -> None:
        with self._quiet:
            self._parked += 1
            self._quiet.notify_all()
        try:
            self.gate.wait_open()
        finally:
            with self._quiet:
                self._parked -= 1

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
                self._park()
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

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        # Runs on impl's main thread at a check point: no check point of its own.
        self._handled += 1
        if self._handled % 5 == 0:
            raise HandlerFailure(signum)

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


def _flush_host_signal_handlers() -> None:
    """A Python-level call: the host runs any tripped signal handler before it returns."""


# -- the command -------------------------------------------------------------------------------


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        raise _UsageError(message)


def _parser() -> _Parser:
    p = _Parser(
        prog="gilcheck soak",
        description="Run impl under free-running load and check its event log against the model.",
    )
    p.add_argument("--threads", type=int, default=16, help="ThreadStates, main included (1-16)")
    p.add_argument("--seconds", type=float, default=10.0, help="how long to run the load")
    p.add_argument("--seed", type=int, default=0, help="seed of the threads' random steps")
    p.add_argument(
        "--interval", type=float, default=0.0002, help="impl's switch interval in seconds"
    )
    p.add_argument("--no-signals", action="store_true", help="send no real signals")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``gilcheck soak``: 0 if every event matched, 1 at the first unmatched one, 150 on usage."""
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    console = Console()
    try:
        args = _parser().parse_args(argv)
        if not 1 <= args.threads <= 16:
            raise _UsageError(f"--threads must be from 1 to 16, not {args.threads}")
        if not args.seconds > 0:
            raise _UsageError(f"--seconds must be positive, not {args.seconds}")
        if not args.interval > 0:
            raise _UsageError(f"--interval must be positive, not {args.interval}")
    except _UsageError as exc:
        console.print(f"gilcheck soak: error: {exc}", style="red", highlight=False)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return 0 if exc.code in (0, None) else EXIT_USAGE

    spec = LoadSpec(
        threads=args.threads,
        steps=None,
        seconds=args.seconds,
        seed=args.seed,
        interval=args.interval,
        signals=not args.no_signals,
    )

    def live_table(load: Load) -> Table:
        st = load.stats
        table = Table(
            title=f"gilcheck soak: {spec.threads} threads, seed {spec.seed}", show_header=False
        )
        table.add_column("")
        table.add_column("", justify="right")
        table.add_row("elapsed", f"{load.elapsed:6.1f} s of {args.seconds:g} s")
        table.add_row("events checked", f"{st.events:,}")
        table.add_row("backlog", f"{load.backlog:,}{' (paused)' if load.gate.closed else ''}")
        table.add_row("hand-offs", f"{st.hand_offs:,}")
        table.add_row("calls run", f"{st.calls_run:,}")
        table.add_row("signals handled", f"{st.signals_handled:,}")
        return table

    load: Load
    live: Live | None = None
    last = [0.0]

    def progress(ld: Load) -> None:
        now = time.perf_counter()
        if live is not None and now - last[0] > 0.25:
            last[0] = now
            live.update(live_table(ld))

    load = Load(spec, on_progress=progress)
    try:
        if args.quiet or not console.is_terminal:
            load.run()
        else:
            with Live(live_table(load), console=console, transient=True) as live:
                load.run()
    except Unmatched as exc:
        console.print(str(exc), highlight=False, markup=False)
        console.print(_summary(load, failed=True))
        return 1
    except AssertionError as exc:
        console.print(f"gilcheck soak: {exc}", highlight=False, markup=False)
        console.print(_summary(load, failed=True))
        return 1
    console.print(_summary(load, failed=False))
    return 0


def summary_rows(load: Load) -> list[tuple[str, str]]:
    """The summary of a run, as (label, value) rows."""
    st = load.stats
    wall = max(load.elapsed, 1e-9)
    rows = [(label, f"{value:,}") for label, value in st.as_rows()]
    rows += [
        ("signals sent (os.kill / pthread_kill)", f"{load.counts.signals_sent:,}"),
        (
            "exceptions caught by the threads",
            ", ".join(f"{k} {v}" for k, v in sorted(load.counts.exceptions.items())) or "none",
        ),
        ("pauses for the checker", f"{load.counts.pauses:,}"),
        ("wall time", f"{wall:.1f} s"),
        ("events checked per second (wall)", f"{st.events / wall:,.0f}"),
        (
            "events checked per second (checker)",
            f"{st.events / max(load.check_seconds, 1e-9):,.0f}",
        ),
    ]
    return rows


def _summary(load: Load, *, failed: bool) -> object:
    from rich.table import Table

    table = Table(
        title="gilcheck soak: " + ("FAILED" if failed else "every event matched"),
        show_header=False,
    )
    table.add_column("")
    table.add_column("", justify="right")
    for label, value in summary_rows(load):
        table.add_row(label, value)
    return table


if __name__ == "__main__":
    sys.exit(main())
