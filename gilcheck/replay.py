"""``gilcheck replay TRACE.json``: does ``impl`` follow a model trace, step by step?

The trace is an ITF file (:mod:`gilcheck.itf`), typically a counterexample that
``gilcheck verify`` wrote. It is read and checked against its own model
variant, then played on ``impl`` through the lock-step harness
(:class:`conformance.harness.Lockstep`), and a table says for each
trace step whether ``impl`` followed it.

How a trace is scheduled on impl, and what counts as a divergence, is in
:mod:`conformance.replay`.

``--load MODULE`` (repeatable) imports a module before the trace is read, as
``gilcheck verify --load`` does (:func:`gilcheck.load.load_module`), so that a
trace of a variant the module registers can be replayed. ``--variant SPEC``
reads the trace against that variant instead of the one the trace names: a
registered name or ``path/to/file.py:ClassName`` (:func:`gilcheck.load.resolve_variant`);
a trace whose recorded variant is such a path is resolved the same way.

Exit status, in the scheme ``gilcheck verify`` uses for its own errors
(engines/verify.py): 0 ``impl`` follows the trace; 1 it diverges (the
row names the first observable that differs); 3 the harness cannot schedule
the trace on ``impl``. The rest print one line on stderr: 150 a bad option, a
``--load`` module that cannot be imported, no implementation or model variant
with the name given, or a configuration ``impl`` cannot play; 151 the file is
unreadable or not an ITF trace; 152 the trace is not a behaviour of its own
model (the model refuses a step or reaches another state); 153 an internal
error (a bug in gilcheck, not a verdict).

``--format json`` prints one JSON document on stdout instead of the table:
the trace, variant, property, impl, number of steps, ``status`` (``follows``,
``diverges`` or ``unschedulable``), ``exit``, one object per step (``step``,
``thread``, ``action``, ``outcome``) and the notes; the header line goes to
stderr. Errors are the same one line on stderr.

A lasso (a liveness counterexample, with ITF's ``loop``) is played as its
stem and then its loop :data:`LOOP_ROUNDS` times; a scoped trace (``#meta``
``without``: a temporal entry's program) is read against the variant without
those actions.

A trace of the initial state alone is a behaviour too: impl follows it (exit 0)
and the table says the trace has no steps. A reader that goes away
(``| head -1``) ends the output, not the replay: stdout goes to devnull (the
recipe of the ``signal`` module's "Note on SIGPIPE") and the exit code is the
replay's.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, NoReturn, TextIO

from conformance.broken_impls import BROKEN, CORRECT, DESIGNS, IMPLS
from conformance.harness import ConfigMismatch, Model, check_config, concrete_model
from conformance.replay import DIVERGES, FOLLOWS, UNSCHEDULABLE, Replay, replay_on_impl
from engines.verdicts import EXIT_BAD_CONFIG, EXIT_BAD_INPUT, EXIT_INTERNAL
from gilcheck.itf import ItfError, ItfTrace, read_itf
from gilcheck.load import LoadError, load_module, resolve_variant
from model.config import Config
from model.domain import CONCRETE
from model.trace import ReplayError, unrolled
from model.variants import UnknownVariant, without

BAD_OPTION: Final = EXIT_BAD_CONFIG
"""150: a bad option or ``--load``, no impl or variant of that name, a config impl cannot play."""
UNREADABLE: Final = EXIT_BAD_INPUT
"""151: the file cannot be read or is not an ITF trace."""
LOOP_ROUNDS: Final = 3
"""How many times a lasso's loop is played on impl."""
NOT_A_BEHAVIOUR: Final = 152
"""The trace is not a behaviour of its own model: replay's own code, unused by verify."""
INTERNAL: Final = EXIT_INTERNAL
"""153: a bug in gilcheck."""


def _model_for(variant: str, cfg: Config) -> Model:
    return concrete_model(resolve_variant(variant), cfg)


STATUS: Final = {FOLLOWS: "follows", DIVERGES: "diverges", UNSCHEDULABLE: "unschedulable"}


def _document(result: Replay) -> dict[str, Any]:
    """The replay for tools: its status, exit code, one object per step, the notes."""
    return {
        "status": STATUS[result.status],
        "exit": result.status,
        "rows": [dataclasses.asdict(r) for r in result.rows],
        "notes": list(result.notes),
    }


def print_table(result: Replay, out: TextIO) -> None:
    if not result.rows:
        print("the trace has no steps: only its initial state, where impl starts", file=out)
    else:
        _print_rows(result, out)
    for note in result.notes:
        print(f"note: {note}", file=out)
    verdict = {
        FOLLOWS: "impl follows the trace",
        DIVERGES: "impl diverges from the trace",
        UNSCHEDULABLE: "the harness cannot schedule this trace on impl",
    }[result.status]
    print(verdict, file=out)


def _print_rows(result: Replay, out: TextIO) -> None:
    widths = [
        max(len(str(getattr(r, name))) for r in result.rows)
        for name in ("step", "thread", "action")
    ]
    head = ("step", "thread", "action")
    widths = [max(w, len(h)) for w, h in zip(widths, head, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + "  impl", file=out)
    for r in result.rows:
        cells = (str(r.step), r.thread, r.action)
        print(
            "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + f"  {r.outcome}",
            file=out,
        )


def _to_stdout(write: Callable[[TextIO], None]) -> None:
    """``write(sys.stdout)`` and flush; if the reader has gone, stdout goes to devnull."""
    try:
        write(sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _fail(code: int, message: str) -> int:
    print(f"gilcheck replay: {message}", file=sys.stderr)
    return code


class UsageError(Exception):
    """A bad option: argparse's message, for one line on stderr and exit 150."""


class Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` (``replay`` and ``show`` say it in one line)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def add_load_option(parser: argparse.ArgumentParser) -> None:
    """``--load MODULE``, repeatable, as ``replay`` and ``show`` take it."""
    parser.add_argument(
        "--load",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE (a dotted name or a path to a .py file) before the trace is read, "
        "e.g. one that registers the trace's variant; repeatable",
    )


def read_trace(path: Path, model_for: Callable[[str, Config], Any]) -> ItfTrace | tuple[int, str]:
    """The trace at ``path`` (:func:`gilcheck.itf.read_itf`), or why it cannot be read:
    the exit code and one line that starts with the path."""
    try:
        return read_itf(path, model_for)
    except LoadError as exc:
        return BAD_OPTION, f"{path}: {exc}"
    except ReplayError as exc:
        return NOT_A_BEHAVIOUR, f"{path}: not a behaviour of its own model: {exc}"
    except UnknownVariant as exc:
        return BAD_OPTION, f"{path}: {exc}; --load the module that registers the variant"
    except ItfError as exc:
        return UNREADABLE, f"{exc}"


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="gilcheck replay",
        description="Replay an ITF trace of the model on impl, step by step.",
    )
    parser.add_argument("trace", type=Path, help="an ITF trace written by gilcheck verify")
    parser.add_argument(
        "--variant-impl",
        default=CORRECT,
        metavar="NAME",
        help=f"the implementation (default {CORRECT}; broken ones: {', '.join(BROKEN)}; "
        f"designs: {', '.join(DESIGNS)})",
    )
    add_load_option(parser)
    parser.add_argument(
        "--variant",
        default=None,
        metavar="SPEC",
        help="read the trace against this model variant instead of the one it names: "
        "a registered name or path/to/file.py:ClassName",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (a table) or json (one document on stdout; the header goes to stderr)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``gilcheck replay TRACE.json [--variant-impl NAME] [--load MODULE]...``; the exit status
    (module docstring). A crash is an internal error (153), never a verdict."""
    try:
        return _main(argv)
    except Exception:
        traceback.print_exc()
        return _fail(INTERNAL, "internal error (a bug in gilcheck, not a verdict)")


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = _parser().parse_args(argv)
    except UsageError as exc:
        return _fail(BAD_OPTION, str(exc))
    if args.variant_impl not in IMPLS | DESIGNS:
        return _fail(
            BAD_OPTION,
            f"no implementation named {args.variant_impl!r} (known: {', '.join(IMPLS | DESIGNS)})",
        )
    for spec in args.load:
        try:
            load_module(spec)
        except LoadError as exc:
            return _fail(BAD_OPTION, str(exc))

    def model_for(variant: str, cfg: Config) -> Model:
        return _model_for(args.variant or variant, cfg)

    itf = read_trace(args.trace, model_for)
    if isinstance(itf, tuple):
        return _fail(*itf)
    model = model_for(itf.variant, itf.config)
    if itf.without:
        model = without(type(model), itf.without)(itf.config, CONCRETE)
    try:
        check_config(model)
    except ConfigMismatch as exc:
        return _fail(BAD_OPTION, f"{args.trace}: {exc}")
    prop: Any = itf.property
    trace, lasso, loop = itf.trace, "", itf.trace.loop
    if loop is not None and loop < len(trace):
        # A lasso is infinite: its loop is played a few times over.
        try:
            trace = unrolled(model, trace, LOOP_ROUNDS)
        except ReplayError as exc:
            return _fail(NOT_A_BEHAVIOUR, f"{args.trace}: {exc}")
        lasso = f"; a lasso: its {len(itf.trace) - loop}-step loop played {LOOP_ROUNDS} times"
    header = (
        f"replaying {args.trace} ({len(trace)} steps of {args.variant or itf.variant}"
        f"{f', violating {prop}' if prop else ''}{lasso}) on impl {args.variant_impl}"
    )
    if args.format == "json":
        print(header, file=sys.stderr)
    else:
        _to_stdout(lambda out: print(header, file=out))
    result = replay_on_impl(trace, model, args.variant_impl)
    if args.format == "json":
        doc = {
            "trace": str(args.trace),
            "variant": args.variant or itf.variant,
            "property": prop,
            "impl": args.variant_impl,
            "steps": len(trace),
            "loop": itf.trace.loop,
            **_document(result),
        }
        _to_stdout(lambda out: print(json.dumps(doc, indent=2), file=out))
    else:
        _to_stdout(lambda out: print_table(result, out))
    return result.status


if __name__ == "__main__":
    sys.exit(main())
