"""``gilcheck verify``: options checked before any work, progress while it runs, the report.

Every user mistake is found before the engines start and is one line on
stderr with exit 150: an option out of its range (:data:`LIMITS`, also in
``--help`` and the README), an unknown variant or id, a ``--load`` module
that cannot be imported, an ``--out`` or ``--junit`` that cannot be written. SIGINT and
SIGTERM end the run with the verdicts settled so far, a line saying so, the
partial report written, and exit 130 or 143. A closed stdout (``| head``) ends
the output quietly.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Final

from rich.console import Console

from engines.progress import Interrupted
from engines.verdicts import EXIT_BAD_CONFIG, Report
from engines.verify import verify
from gilcheck.junit import unwritable, write_junit
from gilcheck.live import Progress
from gilcheck.load import LoadError, load_module, resolve_variant
from gilcheck.report import (
    render_header,
    render_text,
    report_json,
    write_outputs,
    written_index,
)
from model.catalogue import CatalogueError, Entry, load
from model.config import Config, ConfigError
from model.protocol import Cpython313
from model.variants import UnknownVariant

LIMITS: Final = {
    "interp_capacity": (1, 1000),
    "main_capacity": (1, 1000),
    "liveness_bound": (1, 16),
    "depth": (0, 500),
    "max_k": (1, 20),
    "max_states": (1, 100_000_000),
    "max_memory": (1, 1 << 20),
    "time_limit": (1, 86_400),
    "z3_timeout": (0.001, 86_400),
    "seed": (0, 2**32 - 1),
}
"""Option -> (least, most) the command accepts; threads and signals are the model's own
(model/config.py). A queue is a ring of one slot per call in every engine, so a
capacity beyond 1000 is no configuration any engine finishes."""


class _Refused(Exception):
    """A user's mistake: the message is the one line to print."""


def limits_help(name: str) -> str:
    lo, hi = LIMITS[name]
    return f"{lo}..{hi}"


def _check(
    args: argparse.Namespace,
) -> tuple[type[Cpython313[Any, Any]], Config, dict[str, Entry], dict[str, Entry]]:
    """The model class, the configuration, the entries to check and the whole catalogue;
    or _Refused (or UnknownVariant)."""
    for name, (lo, hi) in LIMITS.items():
        value = getattr(args, name)
        if value is not None and not lo <= value <= hi:
            flag = "--" + name.replace("_", "-")
            raise _Refused(f"verify: {flag} must be in {lo}..{hi}, got {value}")
    try:
        for spec in args.load:
            load_module(spec)
        model = resolve_variant(args.variant)
        cfg = Config(**{f.name: getattr(args, f.name) for f in dataclasses.fields(Config)})
        catalogue = load()
    except LoadError as exc:
        raise _Refused(f"verify: {exc}") from exc
    except (ConfigError, CatalogueError) as exc:
        raise _Refused(str(exc)) from exc
    entries = catalogue
    if args.only is not None:
        wanted = [x.strip() for x in args.only.split(",") if x.strip()]
        unknown = [x for x in wanted if x not in catalogue]
        if unknown:
            raise _Refused(f"verify: unknown catalogue ids {unknown}")
        if not wanted:
            raise _Refused(f"verify: --only {args.only!r} names no catalogue id")
        entries = {k: catalogue[k] for k in wanted}
    _check_writable(args.out)
    if args.junit is not None:
        _check_junit(args.junit)
    return model, cfg, entries, catalogue


def _check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".gilcheck-write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _Refused(f"verify: --out {out}: cannot write there ({reason})") from exc


def _check_junit(path: Path) -> None:
    reason = unwritable(path)
    if reason is not None:
        raise _Refused(f"verify: --junit {path}: cannot write there ({reason})")


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM ends the run as Ctrl-C does (the engines stop their workers); SIGINT is
    Python's KeyboardInterrupt even if the parent process ignored it."""
    try:
        before = signal.signal(signal.SIGTERM, _on_sigterm)
        before_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: leave the signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
        signal.signal(signal.SIGINT, before_int)


def run(args: argparse.Namespace) -> int:
    try:
        # The one place a variant's name is looked up: the class flows down from here.
        model, cfg, entries, catalogue = _check(args)
    except UnknownVariant as exc:
        print(f"gilcheck: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except _Refused as exc:
        print(f"gilcheck: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    text = args.format == "text"
    report: Report | None = None
    console = Console(
        file=sys.stdout if text else sys.stderr,
        highlight=False,
        soft_wrap=False,
        width=max(120, Console().width),
    )
    try:
        if text:
            render_header(args.variant, cfg, args.engine, args.depth, args.max_k, console)
        with _sigterm_interrupts(), Progress(console) as listener:
            report = verify(
                model,
                cfg,
                entries,
                assume=catalogue,
                engine=args.engine,
                depth=args.depth,
                max_k=args.max_k,
                seed=args.seed,
                parallel=not args.no_parallel,
                check_vacuity=not args.no_vacuity,
                name=args.variant,
                stop_on_violation=args.stop_on_violation,
                listener=listener,
                max_states=args.max_states,
                time_limit=args.time_limit,
                max_memory=args.max_memory << 20,
                z3_timeout=args.z3_timeout,
            )
        return _output(report, args, console)
    except BrokenPipeError:
        # The reader went away (``| head``): say nothing more (Python's recipe in the
        # signal module's "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BAD_CONFIG if report is None else report.exit_code


def _output(report: Report, args: argparse.Namespace, console: Console) -> int:
    try:
        written = write_outputs(report, args.out)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        print(
            f"gilcheck: verify: --out {args.out}: cannot write the report ({reason})",
            file=sys.stderr,
        )
        written = []
    if args.junit is not None:
        try:
            write_junit(report, args.junit)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            print(
                f"gilcheck: verify: --junit {args.junit}: cannot write the report ({reason})",
                file=sys.stderr,
            )
    traces, pictures = written_index(written)
    if args.format == "json":
        print(json.dumps(report_json(report, traces, pictures), indent=1), flush=True)
    else:
        render_text(report, console, show_expected_traces=args.show_expected, header=False)
        if traces:
            console.print(f"ITF traces: {', '.join(traces.values())}")
        if pictures:
            shown = (p for pid in pictures for p in pictures[pid].values())
            console.print(f"pictures: {', '.join(shown)}")
        sys.stdout.flush()
    if report.ended:
        print(f"gilcheck: verify: {report.ended}", file=sys.stderr)
    return report.exit_code
