"""The ``gilcheck`` command.

``gilcheck verify`` proves or refutes every catalogue entry (see
engines/verify.py); ``gilcheck catalogue`` lists the entries.
``--load MODULE`` (repeatable) imports a module by dotted name, or a ``.py``
file by path, before ``--variant`` is looked up, so that the module can call
:func:`model.variants.register` for a protocol variant of its own.
``--only ID,...`` checks some entries; ``--no-vacuity`` skips the vacuity guard
(for a quick check of one entry: the report then says the guard was skipped).

``gilcheck replay TRACE.itf.json [--variant-impl NAME] [--load MODULE]`` plays an
ITF trace (typically a counterexample ``verify`` wrote into ``--out``) on impl
through the lock-step harness and says, step by step, whether impl followed it
(gilcheck/replay.py over conformance/replay.py); its ``--load`` is
:func:`gilcheck.load.load_module`, as verify's, so a trace of a user's variant
replays. ``gilcheck soak [--threads N] [--seconds S] [--seed S]`` runs impl under
free-running load and checks its event log against the model (gilcheck/soak.py
over conformance/soak/). ``gilcheck show TRACE.itf.json [--out DIR]`` draws a
trace as TRACE.html (a lane per thread) and TRACE.md (a Mermaid sequence
diagram) (gilcheck/show.py).

Every command shares one scheme of exit codes. A verdict is below 150: ``verify``
follows TLC (0 every entry as expected; 12 a safety property violated; 13 a
liveness property violated; 14 inconclusive: a property neither proved nor
refuted within the bounds, an expected counterexample not found, or a vacuous
proof); ``replay`` has 0 impl follows the trace, 1 it diverges, 3 the harness
cannot schedule it; ``soak`` 0 every event matched, 1 an unmatched event. From
150 on, no verdict was reached, and one line says why (on stderr; ``soak``
prints it on stdout): 150 a bad option or configuration (for ``verify`` and
``catalogue`` also an unreadable or malformed catalogue; for ``replay`` also an
unknown implementation or variant, or a configuration impl cannot play), or a
``--load`` module that cannot be imported; 151 an unreadable input file
(``replay``: the file is not an ITF trace); 152 (``replay`` only) the trace is
not a behaviour of its own model; 153 an internal error (a bug in gilcheck, not
a verdict).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import platform
import signal
import sys
import traceback
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import NoReturn

from rich.console import Console

# Registers the historical bugs, so every command knows their names.
import model.bugs
import model.designs  # noqa: F401
from engines.explicit_verify import MAX_STATES
from engines.fair_verify import scope_text
from engines.progress import Interrupted
from engines.search_verify import MAX_MEMORY
from engines.verdicts import EXIT_BAD_CONFIG, EXIT_INTERNAL, EXIT_INTERRUPTED
from engines.verify import Z3_QUERY_SECONDS
from gilcheck.verify import LIMITS, limits_help
from gilcheck.verify import run as run_verify
from model.catalogue import CatalogueError, load
from model.config import MAX_SIGNALS, MAX_THREADS, Config
from model.variants import DEFAULT, VARIANTS


class _Parser(argparse.ArgumentParser):
    """argparse that exits with 150 and one line on a bad option."""

    def error(self, message: str) -> NoReturn:
        print(f"gilcheck: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_CONFIG)


_MODEL_LIMITS = {
    "threads": f"1..{MAX_THREADS}",
    "signals": f"0..{MAX_SIGNALS}",
    "interp_maxloop": "0..the capacity",
    "main_maxloop": "0..the capacity",
}


def _config_args(p: argparse.ArgumentParser) -> None:
    defaults = Config()
    for name in (
        "threads",
        "interp_capacity",
        "interp_maxloop",
        "main_capacity",
        "main_maxloop",
        "signals",
        "liveness_bound",
    ):
        flag = "--" + name.replace("_", "-")
        bounds = _MODEL_LIMITS.get(name) or (limits_help(name) if name in LIMITS else "")
        p.add_argument(
            flag,
            type=int,
            default=getattr(defaults, name),
            help=f"default {getattr(defaults, name)}" + (f"; {bounds}" if bounds else ""),
        )


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gilcheck", description="Check CPython 3.13's GIL protocol, by machine.")
    p.add_argument("--version", action="version", version=version_text())
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    v = sub.add_parser("verify", help="prove or refute every catalogue entry")
    v.add_argument(
        "--variant",
        default=DEFAULT,
        help="model variant: a registered name "
        f"(known: {', '.join(sorted(VARIANTS))}) or path/to/file.py:ClassName",
    )
    v.add_argument(
        "--load",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE (a dotted name or a path to a .py file) before the variant is "
        "looked up, e.g. one that calls model.variants.register(name, cls); repeatable",
    )
    _config_args(v)
    v.add_argument(
        "--depth",
        type=int,
        default=13,
        help=f"BMC bound for what induction does not prove ({limits_help('depth')})",
    )
    v.add_argument(
        "--max-k", type=int, default=2, help=f"largest k for k-induction ({limits_help('max_k')})"
    )
    v.add_argument(
        "--max-states",
        type=int,
        default=None,
        help="where a search stops: the explicit search (default "
        f"{MAX_STATES}) and the exhaustive search (default: no bound but time and memory) "
        f"({limits_help('max_states')})",
    )
    v.add_argument(
        "--max-memory",
        type=int,
        default=MAX_MEMORY >> 20,
        metavar="MIB",
        help="bound on the exhaustive search's visited set, in MiB "
        f"(default {MAX_MEMORY >> 20}; {limits_help('max_memory')})",
    )
    v.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="bound on the whole run: what is not settled then is reported as it stands "
        f"(exit 14) ({limits_help('time_limit')})",
    )
    v.add_argument(
        "--z3-timeout",
        type=float,
        default=Z3_QUERY_SECONDS,
        metavar="SECONDS",
        help="bound on each z3 query: one that reaches it is given up and what it would "
        "decide is reported undecided, never proved "
        f"(default {Z3_QUERY_SECONDS:g}; {limits_help('z3_timeout')})",
    )
    v.add_argument(
        "--stop-on-violation",
        action="store_true",
        help="end at the first violation of an entry expected to hold (TLC's default)",
    )
    v.add_argument(
        "--engine",
        choices=("z3", "explicit", "both", "search"),
        default="z3",
        help="z3: the search first, then BMC and k-induction (default); search: the "
        "exhaustive search alone; explicit: the old bounded search; both: z3 and explicit",
    )
    v.add_argument("--format", choices=("text", "json"), default="text")
    v.add_argument(
        "--out",
        type=Path,
        default=Path("gilcheck-out"),
        help="where ITF counterexamples and report.json go",
    )
    v.add_argument(
        "--junit",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the verdicts as JUnit XML, one test case per entry checked",
    )
    v.add_argument(
        "--only",
        default=None,
        metavar="ID,...",
        help="comma-separated catalogue ids to check (default: all); the other entries "
        "still serve as induction lemmas",
    )
    v.add_argument(
        "--show-expected",
        action="store_true",
        help="print the traces of expected counterexamples too",
    )
    v.add_argument("--no-parallel", action="store_true", help="run in one process")
    v.add_argument(
        "--no-vacuity",
        action="store_true",
        help="skip the vacuity guard, for a quick check of one entry (no coverage is reported)",
    )
    v.add_argument(
        "--seed", type=int, default=0, help=f"the vacuity guard's seed ({limits_help('seed')})"
    )
    c = sub.add_parser("catalogue", help="list the catalogue entries")
    c.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (one line an entry) or json (every field of every entry, as a list)",
    )
    sub.add_parser("replay", help="replay an ITF counterexample on impl", add_help=False)
    sub.add_parser(
        "show",
        help="draw an ITF counterexample: TRACE.html (thread lanes) and TRACE.md (Mermaid)",
        add_help=False,
    )
    sub.add_parser(
        "mutants", help="the kill matrix: every broken variant by every engine", add_help=False
    )
    sub.add_parser(
        "soak",
        help="free-running impl under load, its event log checked against the model",
        add_help=False,
    )
    return p


def version_text() -> str:
    """gilcheck's version, and those of the engines it runs on."""

    def of(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    return (
        f"gilcheck {of('gilcheck')} (z3-solver {of('z3-solver')}, hypothesis "
        f"{of('hypothesis')}, Python {platform.python_version()})"
    )


def _catalogue(fmt: str) -> int:
    try:
        entries = load()
    except CatalogueError as exc:
        print(f"gilcheck: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    if fmt == "json":
        rows = [
            {**dataclasses.asdict(e), "witness": dict(e.witness), "triggers": list(e.triggers)}
            for e in entries.values()
        ]
        print(json.dumps(rows, indent=2))
        return 0
    console = Console(highlight=False)
    for e in entries.values():
        tag = "lemma" if e.lemma else e.kind
        exp = "  [yellow](expected violated)[/]" if e.expected == "violated" else ""
        console.print(f"[bold]{e.id}[/] ({tag}){exp}: {e.statement}")
        if e.kind == "temporal":
            console.print(f"    under {', '.join(e.fairness)}; in the scope {scope_text(e)}")
    return 0


def _delegate(module: str, argv: Sequence[str]) -> int:
    """Run a subcommand that parses its own options (gilcheck/replay.py, gilcheck/soak.py)."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        print(f"gilcheck: {module} is not importable ({exc})", file=sys.stderr)
        return EXIT_INTERNAL
    try:
        code: int = mod.main(list(argv))
    except SystemExit as exc:  # the command's own argparse: --help, or a bad option
        return 0 if exc.code in (0, None) else EXIT_BAD_CONFIG
    return code


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        # A crash in replay or soak is an internal error too: left to escape, it
        # would exit 1, which both commands use for "impl diverged".
        if argv and argv[0] == "replay":
            return _delegate("gilcheck.replay", argv[1:])
        if argv and argv[0] == "soak":
            return _delegate("gilcheck.soak", argv[1:])
        if argv and argv[0] == "show":
            return _delegate("gilcheck.show", argv[1:])
        if argv and argv[0] == "mutants":
            return _delegate("gilcheck.mutants", argv[1:])
        args = _parser().parse_args(argv)
        if args.command == "verify":
            return run_verify(args)
        return _catalogue(args.format)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_BAD_CONFIG
    except KeyboardInterrupt:
        print("gilcheck: interrupted by SIGINT", file=sys.stderr)
        return EXIT_INTERRUPTED + signal.SIGINT
    except Interrupted as exc:
        print(f"gilcheck: interrupted by {signal.Signals(exc.signum).name}", file=sys.stderr)
        return EXIT_INTERRUPTED + exc.signum
    except Exception:
        traceback.print_exc()
        print("gilcheck: internal error (a bug in gilcheck, not a verdict)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
