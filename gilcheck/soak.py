"""``gilcheck soak``: run impl under free-running load and check its event log against the model.

``gilcheck soak --threads 16 --seconds N [--seed S] [--interval SECONDS]
[--no-signals] [--quiet]`` runs one :class:`conformance.soak.Load` (the load
and how its log is checked are described in :mod:`conformance.soak`), with a
live progress table on a terminal, then prints a summary table.

Before the load starts, one line on stderr says so (``gilcheck soak: started:
...``). SIGINT (Ctrl-C) or SIGTERM stops the threads at their next step; what
they logged is checked as at the end of the time, the summary is printed with a
last line saying the run was interrupted, and the exit code is 128 + the
signal's number (130, 143). A second such signal exits at once, with its code
and no summary. One that soak was started with ignored (a shell's background
job) stays ignored. impl's own signals (SIGUSR1, SIGUSR2) are left to impl.

Exit: 0 if every event was matched, 1 at the first unmatched event (printed;
also when it is found in an interrupted run), 130/143 interrupted, 150 on a bad
option (one line, on stdout). A reader that goes away (``| head -1``) ends the
output, not the run: the command exits as it would have.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import time
import typing
from collections.abc import Sequence
from types import FrameType
from typing import Final

from rich.console import Console

from conformance.soak import MAX_INTERVAL, MAX_SECONDS, MAX_THREADS, MIN_INTERVAL, Load, LoadSpec
from conformance.tracecheck import Unmatched
from engines.verdicts import EXIT_BAD_CONFIG, EXIT_INTERRUPTED

EXIT_USAGE: Final = EXIT_BAD_CONFIG
"""150: a bad option."""
INTERRUPTS: Final = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop a run early."""


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        raise _UsageError(message)


def _parser() -> _Parser:
    p = _Parser(
        prog="gilcheck soak",
        description="Run impl under free-running load and check its event log against the model.",
        epilog="SIGINT (Ctrl-C) or SIGTERM stops the run: the events logged so far are checked "
        "and summarised, and the exit code is 130 or 143.",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=16,
        help=f"ThreadStates, main included: 1 to {MAX_THREADS} (default 16)",
    )
    p.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help=f"how long to run the load: more than 0, at most {MAX_SECONDS:g} (default 10)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the threads' random steps")
    p.add_argument(
        "--interval",
        type=float,
        default=0.0002,
        help=f"impl's switch interval in seconds: {MIN_INTERVAL:.6f} to {MAX_INTERVAL:g} "
        "(default 0.0002)",
    )
    p.add_argument("--no-signals", action="store_true", help="send no real signals")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (a summary table) or json (one document on stdout, no progress display)",
    )
    return p


def _check(args: argparse.Namespace) -> None:
    """Refuse what the load cannot run; NaN fails every comparison, so it is refused too."""
    if not 1 <= args.threads <= MAX_THREADS:
        raise _UsageError(f"--threads must be from 1 to {MAX_THREADS}, not {args.threads}")
    if not 0 < args.seconds <= MAX_SECONDS:
        raise _UsageError(
            f"--seconds must be more than 0 and at most {MAX_SECONDS:g}, not {args.seconds:g}"
        )
    if not MIN_INTERVAL <= args.interval <= MAX_INTERVAL:
        raise _UsageError(
            f"--interval must be from {MIN_INTERVAL:.6f} to {MAX_INTERVAL:g} seconds, "
            f"not {args.interval:g}"
        )


class _Console(Console):
    """A console whose reader may go away (``| head -1``): the rest of its output is dropped.

    rich's own answer to a broken pipe is ``SystemExit(1)``, which would end the
    run with a code that says nothing about it. This follows the recipe of the
    ``signal`` module's "Note on SIGPIPE" and lets the command go on.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        _stdout_to_devnull()


def _stdout_to_devnull() -> None:
    """Point stdout at devnull, so that nothing written or flushed later fails."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class _Interrupts:
    """While in use, SIGINT and SIGTERM stop ``load`` early; the previous handlers come back after.

    The handler only records the signal in the load (:meth:`Load.interrupt`), so
    it is safe wherever the host's main thread is. A second interrupt exits at
    once, for a user who does not want to wait for the check of the backlog.
    """

    def __init__(self, load: Load) -> None:
        self.load = load
        self._previous: dict[int, typing.Any] = {}

    def __enter__(self) -> _Interrupts:
        for num in INTERRUPTS:
            # An ignored signal stays ignored (a background job's SIGINT, nohup's...).
            if signal.getsignal(num) is not signal.SIG_IGN:
                self._previous[num] = signal.signal(num, self._handler)
        return self

    @property
    def handled(self) -> tuple[int, ...]:
        """The interrupts handled (those not ignored when soak started)."""
        return tuple(self._previous)

    def __exit__(self, *_: object) -> None:
        for num, previous in self._previous.items():
            # None: a handler not set from Python; the default is the best that can be restored.
            signal.signal(num, signal.SIG_DFL if previous is None else previous)

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.load.interrupted is None:
            self.load.interrupt(signum)
            return
        # os.write: a print here could re-enter a write the main thread was in.
        os.write(
            2, f"gilcheck soak: {_signal_name(signum)} while stopping: exiting at once\n".encode()
        )
        os._exit(EXIT_INTERRUPTED + signum)


def _signal_name(signum: int) -> str:
    return signal.Signals(signum).name


def main(argv: Sequence[str] | None = None) -> int:
    """``gilcheck soak``: 0 if every event matched, 1 at the first unmatched one, 130/143
    interrupted, 150 on usage."""
    try:
        args = _parser().parse_args(argv)
        _check(args)
    except _UsageError as exc:
        print(f"gilcheck soak: error: {exc}")
        return _flushed(EXIT_USAGE)
    except SystemExit as exc:  # --help
        return _flushed(0 if exc.code in (0, None) else EXIT_USAGE)
    spec = LoadSpec(
        threads=args.threads,
        steps=None,
        seconds=args.seconds,
        seed=args.seed,
        interval=args.interval,
        signals=not args.no_signals,
    )
    return _soak(spec, quiet=args.quiet or args.format == "json", as_json=args.format == "json")


def _soak(spec: LoadSpec, *, quiet: bool, as_json: bool = False) -> int:
    from rich.live import Live
    from rich.table import Table

    console = _Console()

    def live_table(load: Load) -> Table:
        st = load.stats
        table = Table(
            title=f"gilcheck soak: {spec.threads} threads, seed {spec.seed}", show_header=False
        )
        table.add_column("")
        table.add_column("", justify="right")
        table.add_row("elapsed", f"{load.elapsed:6.1f} s of {spec.seconds:g} s")
        table.add_row("events checked", f"{st.events:,}")
        table.add_row("backlog", f"{load.backlog:,}{' (paused)' if load.gate.closed else ''}")
        table.add_row("hand-offs", f"{st.hand_offs:,}")
        table.add_row("calls run", f"{st.calls_run:,}")
        table.add_row("signals handled", f"{st.signals_handled:,}")
        return table

    live: Live | None = None
    last = [0.0]

    def progress(ld: Load) -> None:
        now = time.perf_counter()
        if live is not None and now - last[0] > 0.25:
            last[0] = now
            live.update(live_table(ld))

    load = Load(spec, on_progress=progress)
    failure: str | None = None
    with _Interrupts(load) as interrupts:
        stops = " (Ctrl-C stops it)" if signal.SIGINT in interrupts.handled else ""
        print(
            f"gilcheck soak: started: {spec.threads} threads, seed {spec.seed}, "
            f"for {spec.seconds:g} s{stops}",
            file=sys.stderr,
            flush=True,
        )
        try:
            if quiet or not console.is_terminal:
                load.run()
            else:
                with Live(live_table(load), console=console, transient=True) as live:
                    load.run()
        except Unmatched as exc:
            failure = str(exc)
        except AssertionError as exc:
            failure = f"gilcheck soak: {exc}"
    code = 0 if failure is None else 1
    if load.interrupted is not None:
        code = code or EXIT_INTERRUPTED + load.interrupted
    if as_json:
        doc = _document(load, failure, code)
        try:
            print(json.dumps(doc, indent=2))
        except BrokenPipeError:
            _stdout_to_devnull()
        return _flushed(code)
    if failure is not None:
        console.print(failure, highlight=False, markup=False)
    console.print(_summary(load, failed=failure is not None))
    if load.interrupted is not None:
        console.print(
            f"gilcheck soak: interrupted by {_signal_name(load.interrupted)} after "
            f"{load.elapsed:.1f} s of {spec.seconds:g} s: the summary covers the events up to then",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    return _flushed(code)


def _document(load: Load, failure: str | None, code: int) -> dict[str, object]:
    """The run for tools: what was run, how it ended, and what the checked log did."""
    spec = load.spec
    stats = dataclasses.asdict(load.stats)
    stats["names"] = dict(sorted(load.stats.names.items()))
    return {
        "threads": spec.threads,
        "seed": spec.seed,
        "seconds": spec.seconds,
        "interval": spec.interval,
        "signals": spec.signals,
        "status": "matched" if failure is None else "unmatched",
        "exit": code,
        "failure": failure,
        "interrupted": None if load.interrupted is None else _signal_name(load.interrupted),
        "wall_seconds": round(load.elapsed, 3),
        "check_seconds": round(load.check_seconds, 3),
        "stats": stats,
        "signals_sent": load.counts.signals_sent,
        "exceptions": dict(sorted(load.counts.exceptions.items())),
        "pauses": load.counts.pauses,
    }


def _flushed(code: int) -> int:
    """Flush stdout and return ``code``; a reader that went away does not change it."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_to_devnull()
    return code


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

    if failed:
        title = "FAILED"
    elif load.interrupted is not None:
        title = "interrupted; every event logged so far matched"
    else:
        title = "every event matched"
    title = f"gilcheck soak: {title}"
    # As wide as its title, which would otherwise wrap over a table of small numbers.
    table = Table(title=title, show_header=False, min_width=len(title) + 4)
    table.add_column("")
    table.add_column("", justify="right")
    for label, value in summary_rows(load):
        table.add_row(label, value)
    return table


if __name__ == "__main__":
    sys.exit(main())
