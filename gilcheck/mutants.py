"""``gilcheck mutants``: the kill matrix, every deliberate bug by every engine.

Rows (:mod:`gilcheck.matrix`) are the control (the faithful model and impl as
it is), every registered model variant that names the entry it must be refuted
by (``refuted_by``: the bugs of model/bugs/), and every broken impl of
conformance/broken_impls.py (with its model twin where it has one); or the
rows given by ``--variant``. Columns are the model engines (search, z3,
explicit) and impl's checks (lock-step, trace validation). A row passes when
some engine kills it: a model engine by the entry it names (by any entry, if
it names none), an impl check by a divergence. The control passes when no
engine gets it wrong and at least one model engine leaves it clean (one that
stops short of an expected counterexample is *incomplete*, not wrong).

Each cell is printed on stderr as it is settled; the table and a note for
every cell the table abbreviates (or, with ``--format json``, one JSON
document) follow on stdout. Exit 0 when every row passes; 1 when a bug
survives every engine or an engine gets the control wrong; 14 when no model
engine finished the control (raise ``--time-limit``); 150 for a bad option.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.markup import escape
from rich.table import Table

import model.bugs  # noqa: F401  (registers the historical bugs)
from conformance.broken_impls import CORRECT, IMPLS
from engines.kill import Cell
from engines.verdicts import EXIT_BAD_CONFIG, EXIT_INCONCLUSIVE
from gilcheck.junit import matrix_tree, unwritable, write_tree
from gilcheck.load import LoadError, load_module, resolve_variant
from gilcheck.matrix import (
    ENGINES,
    Budget,
    Row,
    RowVerdict,
    cell_text,
    control_row,
    row,
    run,
    verdict,
    worth_a_note,
)
from model.catalogue import CatalogueError, load
from model.config import Config, ConfigError
from model.variants import DEFAULT, VARIANTS, UnknownVariant

EXIT_SURVIVOR: Final = 1
SMALL: Final = Config(threads=2, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=0)
"""Where the matrix runs by default: every shipped bug shows within 10 steps here."""
SIZES: Final = ("threads", "interp_capacity", "interp_maxloop", "main_capacity", "signals")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        print(f"gilcheck mutants: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_CONFIG)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gilcheck mutants", description=(__doc__ or "").splitlines()[0])
    add = p.add_argument
    add(
        "--variant",
        action="append",
        default=[],
        metavar="SPEC",
        help="a row: a registered variant, a broken impl (conformance/broken_impls.py) or "
        "path/to/file.py:ClassName; repeatable (default: every bug)",
    )
    add(
        "--load",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (it may register variants); repeatable",
    )
    add(
        "--engines",
        default=",".join(ENGINES),
        help=f"the columns, comma-separated (default {','.join(ENGINES)})",
    )
    add(
        "--time-limit",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="per model cell, 1 to 3600 (default 20)",
    )
    add(
        "--depth",
        type=int,
        default=13,
        help="BMC and explicit bound, 1 to 500 "
        "(default 13: the faithful model's expected counterexamples need 13)",
    )
    for name in SIZES:
        add(
            "--" + name.replace("_", "-"),
            type=int,
            default=getattr(SMALL, name),
            help=f"model configuration (default {getattr(SMALL, name)})",
        )
    add(
        "--examples",
        type=int,
        default=300,
        help="lock-step: programs Hypothesis runs, 1 to 100000 (default 300)",
    )
    add(
        "--load-seeds",
        type=int,
        default=3,
        help="trace validation: free-running loads, seeds 0.. (default 3)",
    )
    add("--format", choices=("text", "json"), default="text")
    add(
        "--junit",
        type=Path,
        metavar="FILE",
        help="also write the matrix as JUnit XML, one test case per row",
    )
    return p  # fmt: skip


def _engines(spec: str) -> list[str]:
    picked = [e.strip() for e in spec.split(",")]
    unknown = [e for e in picked if e not in ENGINES]
    if unknown:
        raise ValueError(f"--engines: no engine {unknown[0]!r} (known: {', '.join(ENGINES)})")
    return [e for e in ENGINES if e in picked]


def _rows(args: argparse.Namespace) -> list[Row]:
    for module in args.load:
        load_module(module)
    rows = [control_row()]
    if args.variant:
        for spec in args.variant:
            if spec in IMPLS and spec not in VARIANTS:
                rows.append(row(spec, None))  # a broken impl with no model twin
            elif spec != DEFAULT:
                rows.append(row(spec, resolve_variant(spec)))
        return rows
    names = {n for n, c in VARIANTS.items() if c.refuted_by} | (set(IMPLS) - {CORRECT})
    return rows + [row(n, VARIANTS.get(n)) for n in sorted(names)]


EXIT_CODES: Final = {"FAIL": EXIT_SURVIVOR, "incomplete": EXIT_INCONCLUSIVE, "ok": 0}
Result = tuple[Row, RowVerdict, list[Cell]]


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        engines = _engines(args.engines)
        if not 1 <= args.time_limit <= 3600:
            raise ValueError(f"--time-limit must be from 1 to 3600 seconds, not {args.time_limit}")
        if not 1 <= args.depth <= 500:
            raise ValueError(f"--depth must be from 1 to 500, not {args.depth}")
        if not 1 <= args.examples <= 100_000:
            raise ValueError(f"--examples must be from 1 to 100000, not {args.examples}")
        if not 1 <= args.load_seeds <= 1000:
            raise ValueError(f"--load-seeds must be from 1 to 1000, not {args.load_seeds}")
        if args.junit is not None and (why := unwritable(args.junit)) is not None:
            raise ValueError(f"--junit {args.junit}: cannot write there ({why})")
        cfg = dataclasses.replace(SMALL, **{n: getattr(args, n) for n in SIZES})
        rows = _rows(args)
        # The model columns run the search, z3 and the explicit search; the temporal
        # entries' own engine and its mutants are tests/model/test_fair.py's.
        entries = {pid: e for pid, e in load().items() if e.kind != "temporal"}
    except (ValueError, ConfigError, LoadError, UnknownVariant, CatalogueError) as exc:
        print(f"gilcheck mutants: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    budget = Budget(cfg, args.depth, args.time_limit, args.examples, args.load_seeds)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    err.print(f"gilcheck mutants: {len(rows)} rows x {len(engines)} engines, "
              f"at most {args.time_limit:g} s a model cell")  # fmt: skip
    results: list[Result] = []
    for r in rows:
        cells = []
        for engine in engines:
            if r.sees(engine):
                cell = run(r, engine, entries, budget)
                err.print(escape(f"  {r.name} x {engine}: {cell_text(cell, r.refuted_by)}"))
                cells.append(cell)
        results.append((r, verdict(r, cells), cells))
    verdicts = {v for _, v, _ in results}
    # A wrong answer outweighs an unfinished control.
    code = next((EXIT_CODES[v] for v in ("FAIL", "incomplete") if v in verdicts), 0)
    if args.junit is not None:
        write_tree(matrix_tree(results), args.junit)
    if args.format == "json":
        print(json.dumps(_document(budget, results, code), indent=2))
    else:
        _print_table(cfg, engines, results)
    return code


def _document(budget: Budget, results: Sequence[Result], code: int) -> dict[str, Any]:
    rows = [
        {"variant": r.name, "model": r.model is not None, "impl": r.impl, "expected": r.expected,
         "verdict": v, "cells": [dataclasses.asdict(c) for c in cells]}
        for r, v, cells in results
    ]  # fmt: skip
    return {
        "config": dataclasses.asdict(budget.cfg),
        "depth": budget.depth,
        "time_limit": budget.time_limit,
        "examples": budget.examples,
        "load_seeds": budget.load_seeds,
        "exit": code,
        "rows": rows,
    }


def _print_table(cfg: Config, engines: Sequence[str], results: Sequence[Result]) -> None:
    out = Console(highlight=False, width=max(150, Console().width))
    sizes = ", ".join(f"{n} {getattr(cfg, n)}" for n in SIZES)
    table = Table("variant", "expected", *engines, "", title=f"kill matrix ({sizes})")
    notes = []  # the cells' sentences, too long for the table
    for r, v, cells in results:
        by_engine = {c.engine: c for c in cells}
        shown = [
            escape(cell_text(by_engine[e], r.refuted_by, short=True)) if e in by_engine else "-"
            for e in engines
        ]
        mark = {"ok": "ok", "FAIL": "[red]FAIL[/]", "incomplete": "[yellow]incomplete[/]"}[v]
        table.add_row(escape(r.name), escape(r.expected), *shown, mark)
        notes += [
            f"{r.name} x {c.engine}: {cell_text(c, r.refuted_by)}"
            for c in cells
            if worth_a_note(c, r.refuted_by)
        ]
    out.print(table)
    for line in notes:
        out.print(escape(line))
