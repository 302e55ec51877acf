"""``gilcheck soak``: run impl under free-running load and check its event log against the model.

``gilcheck soak --threads 16 --seconds N [--seed S] [--interval SECONDS]
[--no-signals] [--quiet]`` runs one :class:`conformance.soak.Load` (the load
and how its log is checked are described in :mod:`conformance.soak`), with a
live progress table on a terminal, then prints a summary table: exit 0 if
every event was matched, 1 at the first unmatched event (printed), 150 on a bad
option (one line, on stdout).
"""

from __future__ import annotations

import argparse
import sys
import time
import typing
from collections.abc import Sequence
from typing import Final

from conformance.soak import Load, LoadSpec
from conformance.tracecheck import Unmatched
from engines.verdicts import EXIT_BAD_CONFIG

EXIT_USAGE: Final = EXIT_BAD_CONFIG
"""150: a bad option."""


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
