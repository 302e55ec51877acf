"""``gilcheck mutants``: the kill matrix, every broken variant by every model engine.

Rows are the faithful model (the control) and every registered variant that
names the entry it must be refuted by (``refuted_by``: the bugs of model/bugs/
and the model twins of broken impls), or the variants given by ``--variant``.
Columns are the engines (:mod:`engines.kill`). A row passes when some engine
kills it by the entry it names (by any entry, if it names none). The control
passes when no engine gets it wrong and at least one leaves it clean (an engine
that stops short of an expected counterexample is *incomplete*, not wrong).

Each cell is printed on stderr as it is settled; the table and a note for
every cell that is not a plain kill (or, with ``--format json``, one JSON
document) follow on stdout. Exit 0 when every row passes; 1 when a broken
variant survives every engine or an engine gets the control wrong; 14 when no
engine finished the control (raise ``--time-limit``); 150 for a bad option.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from typing import Any, Final

from rich.console import Console
from rich.markup import escape
from rich.table import Table

import conformance.broken_impls  # noqa: F401  (registers the model twins of broken impls)
import model.bugs  # noqa: F401  (registers the historical bugs)
from engines.kill import MODEL_ENGINES, Cell, ModelEngine, run_cell
from engines.verdicts import EXIT_BAD_CONFIG, EXIT_INCONCLUSIVE
from gilcheck.load import LoadError, load_module, resolve_variant
from model.catalogue import CatalogueError, load
from model.config import Config, ConfigError
from model.protocol import Cpython313
from model.variants import DEFAULT, VARIANTS, UnknownVariant

EXIT_SURVIVOR: Final = 1
SMALL: Final = Config(threads=2, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=0)
"""Where the matrix runs by default: every shipped bug shows within 10 steps here."""
SIZES: Final = ("threads", "interp_capacity", "interp_maxloop", "main_capacity", "signals")

Variant = type[Cpython313[Any, Any]]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        print(f"gilcheck mutants: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_CONFIG)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gilcheck mutants", description=(__doc__ or "").splitlines()[0])
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="SPEC",
        help="a row: a registered name or path/to/file.py:ClassName; repeatable "
        "(default: every registered variant that names refuted_by)",
    )
    p.add_argument(
        "--load",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (it may register variants); repeatable",
    )
    p.add_argument(
        "--engines",
        default=",".join(MODEL_ENGINES),
        help=f"the columns, comma-separated (default {','.join(MODEL_ENGINES)})",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="per cell, 1 to 3600 (default 20)",
    )
    p.add_argument(
        "--depth",
        type=int,
        default=13,
        help="BMC and explicit bound, 1 to 500 "
        "(default 13: the faithful model's expected counterexamples need 13)",
    )
    for name in SIZES:
        p.add_argument(
            "--" + name.replace("_", "-"),
            type=int,
            default=getattr(SMALL, name),
            help=f"default {getattr(SMALL, name)}",
        )
    p.add_argument("--format", choices=("text", "json"), default="text")
    return p  # fmt: skip


def _engines(spec: str) -> list[ModelEngine]:
    picked = [e.strip() for e in spec.split(",")]
    unknown = [e for e in picked if e not in MODEL_ENGINES]
    if unknown or not picked:
        raise ValueError(
            f"--engines: no engine {unknown[0]!r} (known: {', '.join(MODEL_ENGINES)})"
            if unknown
            else "--engines: none given"
        )
    return [e for e in MODEL_ENGINES if e in picked]


def _rows(args: argparse.Namespace) -> list[tuple[str, Variant]]:
    for module in args.load:
        load_module(module)
    if args.variant:
        picked = [(spec, resolve_variant(spec)) for spec in args.variant]
    else:
        picked = [(n, c) for n, c in sorted(VARIANTS.items()) if c.refuted_by]
    return [(DEFAULT, Cpython313), *((n, c) for n, c in picked if c is not Cpython313)]


def verdict(control: bool, cls: Variant, cells: Sequence[Cell]) -> str:
    """``ok``, ``FAIL`` (a survivor, or a control an engine got wrong) or ``incomplete``
    (a control no engine finished: every expected counterexample unreached somewhere)."""
    if control:
        outcomes = {c.outcome for c in cells}
        if "unclean" in outcomes:
            return "FAIL"
        return "ok" if "clean" in outcomes else "incomplete"
    if cls.refuted_by is None:
        return "ok" if any(c.outcome == "killed" for c in cells) else "FAIL"
    return "ok" if any(c.killed_by(cls.refuted_by) for c in cells) else "FAIL"


def cell_text(cell: Cell, expect: str | None, *, short: bool = False) -> str:
    """One cell in a sentence: the kill that counts (the named entry's), or why none.

    ``short`` leaves out the entry a kill was expected by and why a cell is not a
    kill (the table's notes give that)."""
    if cell.outcome != "killed":
        note = f": {cell.note}" if cell.note and not short else ""
        return f"{cell.outcome} ({cell.seconds:.1f} s){note}"
    named = cell.killed_by(expect) if expect else None
    kill = named or cell.kills[0]
    more = f" (+{len(cell.kills) - 1} more)" if len(cell.kills) > 1 else ""
    if short and named:
        return f"killed, {kill.steps} steps, {kill.seconds:.1f} s"
    return f"killed by {kill.id}{more}, {kill.kind}, {kill.steps} steps, {kill.seconds:.1f} s"


EXIT_CODES: Final = {"FAIL": EXIT_SURVIVOR, "incomplete": EXIT_INCONCLUSIVE, "ok": 0}


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        engines = _engines(args.engines)
        if not 1 <= args.time_limit <= 3600:
            raise ValueError(f"--time-limit must be from 1 to 3600 seconds, not {args.time_limit}")
        if not 1 <= args.depth <= 500:
            raise ValueError(f"--depth must be from 1 to 500, not {args.depth}")
        cfg = dataclasses.replace(SMALL, **{n: getattr(args, n) for n in SIZES})
        rows = _rows(args)
        entries = load()
    except (ValueError, ConfigError, LoadError, UnknownVariant, CatalogueError) as exc:
        print(f"gilcheck mutants: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    err.print(f"gilcheck mutants: {len(rows)} rows x {len(engines)} engines, "
              f"at most {args.time_limit:g} s a cell")  # fmt: skip
    results: list[tuple[str, Variant, str, list[Cell]]] = []
    for name, cls in rows:
        control = name == DEFAULT
        cells = []
        for engine in engines:
            cell = run_cell(cls, cfg, entries, engine, control=control, depth=args.depth,
                            max_k=1, time_limit=args.time_limit, name=name)  # fmt: skip
            err.print(escape(f"  {name} x {engine}: {cell_text(cell, cls.refuted_by)}"))
            cells.append(cell)
        results.append((name, cls, verdict(control, cls, cells), cells))
    verdicts = {v for *_, v, _ in results}
    # A wrong answer outweighs an unfinished control.
    code = next((EXIT_CODES[v] for v in ("FAIL", "incomplete") if v in verdicts), 0)
    if args.format == "json":
        rows_out = [{"variant": n, "expected": _expected(n, c), "verdict": v,
                     "cells": [dataclasses.asdict(x) for x in cells]}
                    for n, c, v, cells in results]  # fmt: skip
        doc = {"config": dataclasses.asdict(cfg), "depth": args.depth,
               "time_limit": args.time_limit, "exit": code, "rows": rows_out}  # fmt: skip
        print(json.dumps(doc, indent=2))
    else:
        _print_table(cfg, engines, results)
    return code


def _expected(name: str, cls: Variant) -> str:
    return "clean" if name == DEFAULT else (cls.refuted_by or "any kill")


def _print_table(
    cfg: Config, engines: Sequence[str], results: Sequence[tuple[str, Variant, str, list[Cell]]]
) -> None:
    out = Console(highlight=False, width=max(150, Console().width))
    sizes = ", ".join(f"{n} {getattr(cfg, n)}" for n in SIZES)
    table = Table("variant", "expected", *engines, "", title=f"kill matrix ({sizes})")
    notes = []  # the cells' sentences, too long for the table
    for name, cls, v, cells in results:
        shown = [escape(cell_text(c, cls.refuted_by, short=True)) for c in cells]
        mark = {"ok": "ok", "FAIL": "[red]FAIL[/]", "incomplete": "[yellow]incomplete[/]"}[v]
        table.add_row(escape(name), escape(_expected(name, cls)), *shown, mark)
        expect = cls.refuted_by
        notes += [
            f"{name} x {c.engine}: {cell_text(c, expect)}"
            for c in cells
            if c.note or (c.outcome == "killed" and not (expect and c.killed_by(expect)))
        ]
    out.print(table)
    for line in notes:
        out.print(escape(line))
