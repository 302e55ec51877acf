"""``gilcheck show TRACE.itf.json [--out DIR]``: a counterexample's pictures, for a reviewer.

The trace is read as ``gilcheck replay`` reads it (:func:`gilcheck.itf.read_itf`
against its own variant's concrete model, so it must be one of its
behaviours), turned into a per-thread timeline (:mod:`gilcheck.timeline`), and
written as ``TRACE.html`` (inline SVG lanes and a step table, no network:
:mod:`gilcheck.pictures`) and ``TRACE.md`` (a Mermaid sequence diagram that a
GitHub pull request renders, and the step table: :mod:`gilcheck.mermaid`),
where TRACE is the file's name without ``.itf.json``. They go next to the
trace, or into ``--out DIR``; their paths are printed on stdout, one a line.
``--load MODULE`` (repeatable) imports a module that registers the trace's
variant first, as ``gilcheck replay --load`` does.

Exit status, in the scheme every command uses: 0 written; 150 a bad option, a
``--load`` module that cannot be imported, an unknown variant, an ``--out``
that cannot be written; 151 the file cannot be read or is not an ITF trace; 152
the trace is not a behaviour of its own model; 153 an internal error. Every
failure is one line on stderr (``gilcheck: show: read: ...``), and nothing is
written.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

from engines.verdicts import EXIT_BAD_CONFIG, EXIT_INTERNAL
from gilcheck.load import LoadError, load_module, resolve_variant
from gilcheck.pictures import write_pictures
from gilcheck.replay import Parser, UsageError, add_load_option, read_trace
from gilcheck.timeline import describe
from model.config import Config
from model.domain import CONCRETE
from model.protocol import Cpython313


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="gilcheck show",
        description="Draw an ITF counterexample: TRACE.html (per-thread lanes) and TRACE.md "
        "(a Mermaid sequence diagram).",
    )
    parser.add_argument("trace", type=Path, help="an ITF trace written by gilcheck verify")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where TRACE.html and TRACE.md go (default: next to the trace)",
    )
    add_load_option(parser)
    return parser


def stem(trace_path: Path) -> str:
    """``X`` for ``X.itf.json`` (or ``X.json``, or ``X``): the name the pictures share."""
    name = trace_path.name
    for suffix in (".itf.json", ".json"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name.removesuffix(suffix)
    return name


def _fail(code: int, message: str) -> int:
    print(f"gilcheck: show: {message}", file=sys.stderr)
    return code


def _model_for(variant: str, cfg: Config) -> Cpython313[bool, int]:
    return resolve_variant(variant)(cfg, CONCRETE)


def main(argv: Sequence[str] | None = None) -> int:
    """``gilcheck show TRACE.itf.json [--out DIR] [--load MODULE]...``; the exit status."""
    try:
        return _main(argv)
    except Exception:
        traceback.print_exc()
        return _fail(EXIT_INTERNAL, "internal error (a bug in gilcheck, not a verdict)")


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = _parser().parse_args(argv)
    except UsageError as exc:
        return _fail(EXIT_BAD_CONFIG, f"option: {exc}")
    for spec in args.load:
        try:
            load_module(spec)
        except LoadError as exc:
            return _fail(EXIT_BAD_CONFIG, f"load: {exc}")
    itf = read_trace(args.trace, _model_for)
    if isinstance(itf, tuple):
        code, message = itf
        return _fail(code, f"read: {message}")
    out_dir: Path = args.out if args.out is not None else args.trace.parent
    description = itf.meta.get("description")
    title = description if isinstance(description, str) and description else None
    tl = describe(
        itf.trace,
        title=title or f"{itf.property or 'trace'}: {len(itf.trace)} steps",
        variant=itf.variant,
        config=itf.config,
    )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_dir, prefix=".gilcheck-write-test-"):
            pass
        paths = write_pictures(tl, out_dir / stem(args.trace))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return _fail(EXIT_BAD_CONFIG, f"write: --out {out_dir}: cannot write there ({reason})")
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
