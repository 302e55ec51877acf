"""Benchmark of the searches: states per second, exhaustion, time to the first violation.

Run from the repository root::

    python -m benchmarks.search_bench [--seconds 20] [--mutants tests/model/mutants.py]

Prints, in one run on one machine:

1. states/s of the old explicit engine (:mod:`engines.explicit`, Python
   values), of the exhaustive search over arrays (:mod:`engines.exhaustive`)
   with the quotient only, and with the quotient and symmetry, on the same
   configurations, each for the same time budget (``--seconds``). The ratio
   column is against the old engine in the same run.
2. The faithful model searched for 60 s at 2 and 3 threads with small
   capacities: exhausted or not, the states reached.
3. Time to the first violation, by the exhaustive search with every catalogue
   entry expected to hold, for every variant class in ``--mutants`` (a file,
   loaded as ``gilcheck verify --load`` loads one), at 2 threads, queues 2/2
   (maxloop 1) and 2 signals; ``-`` when none was found within ``--seconds``.

Not a test: nothing here asserts. The figures depend on the machine being idle.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from engines.exhaustive import exhaust
from engines.explicit import explore
from gilcheck.load import load_module
from model.catalogue import load
from model.config import Config
from model.domain import CONCRETE
from model.properties import PROPERTIES
from model.protocol import Cpython313

RATE_CONFIGS = (
    Config(threads=2, interp_capacity=3, interp_maxloop=2, main_capacity=2, signals=1),
    Config(threads=3, interp_capacity=3, interp_maxloop=2, main_capacity=2, signals=1),
)
EXHAUST_CONFIGS = (
    Config(threads=2, interp_capacity=1, interp_maxloop=1, main_capacity=1, signals=0),
    Config(threads=2, interp_capacity=1, interp_maxloop=1, main_capacity=1, signals=1),
    Config(threads=3, interp_capacity=1, interp_maxloop=1, main_capacity=1, signals=0),
    Config(threads=3, interp_capacity=3, interp_maxloop=2, main_capacity=2, signals=1),
)
MUTANT_CONFIG = Config(threads=2, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=2)


def _cfg(c: Config) -> str:
    return (
        f"{c.threads} threads, queues {c.interp_capacity}/{c.interp_loop} and "
        f"{c.main_capacity}, {c.signals} signal(s)"
    )


def _holds() -> list[Any]:
    return [PROPERTIES[p] for p, e in load().items() if e.expected == "holds"]


def _old_rate(cfg: Config, seconds: float) -> float:
    """States/s of the old engine: deepen until a level takes the budget."""
    start, rate, depth = time.perf_counter(), 0.0, 4
    while time.perf_counter() - start < seconds and depth < 40:
        res = explore(Cpython313(cfg, CONCRETE), depth, properties=PROPERTIES.values())
        rate = res.states_per_second
        if res.seconds > seconds / 3:
            break
        depth += 2
    return rate


def rates(console: Console, seconds: float) -> None:
    table = Table(title=f"1. distinct states per second ({seconds:g} s each)")
    for col in ("configuration", "old explicit", "arrays + quotient", "+ symmetry", "ratio"):
        table.add_column(col, justify="right")
    for cfg in RATE_CONFIGS:
        old = _old_rate(cfg, seconds)
        new = []
        for sym in (False, True):
            deadline = time.monotonic() + seconds
            res = exhaust(
                Cpython313, cfg, properties=PROPERTIES.values(), symmetry=sym, deadline=deadline
            )
            new.append(res.states_per_second)
        table.add_row(
            _cfg(cfg), f"{old:,.0f}", f"{new[0]:,.0f}", f"{new[1]:,.0f}", f"{new[1] / old:.0f}x"
        )
    console.print(table)


def exhaustion(console: Console, seconds: float) -> None:
    table = Table(title=f"2. the faithful model, searched for at most {seconds:g} s")
    for col in ("configuration", "result", "states", "levels", "seconds", "bytes/state"):
        table.add_column(col, justify="right")
    for cfg in EXHAUST_CONFIGS:
        res = exhaust(
            Cpython313,
            cfg,
            properties=_holds(),
            deadline=time.monotonic() + seconds,
            stop_when_all_violated=False,
        )
        result = "exhausted" if res.complete else f"not exhausted ({res.stopped})"
        table.add_row(
            _cfg(cfg),
            result,
            f"{res.states:,}",
            str(res.depth),
            f"{res.seconds:.1f}",
            str(res.bytes_per_state),
        )
    console.print(table)


class _First(Exception):
    """The first violation was seen."""


def mutants(console: Console, path: str, seconds: float) -> None:
    module = load_module(path)
    # Every variant the module names, its own or shipped ones it aliases, once each.
    classes = list(
        dict.fromkeys(
            c
            for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, Cpython313) and c is not Cpython313
        )
    )
    table = Table(title=f"3. time to the first violation, {_cfg(MUTANT_CONFIG)}")
    for col in ("variant", "first violated", "depth", "seconds"):
        table.add_column(col, justify="right")
    holds = _holds()
    for cls in classes:
        first: list[tuple[str, int, float]] = []
        start = time.perf_counter()

        def seen(
            pid: str, found: Any, first: list[tuple[str, int, float]] = first, t0: float = start
        ) -> None:
            first.append((pid, found.depth, time.perf_counter() - t0))
            raise _First

        # One violation is all a reviewer waits for: the search ends at the first.
        with contextlib.suppress(_First):
            res = exhaust(
                cls,
                MUTANT_CONFIG,
                properties=holds,
                deadline=time.monotonic() + seconds,
                on_violation=seen,
                max_states=2_000_000,
            )
        if first:
            pid, depth, took = first[0]
            table.add_row(cls.__name__, pid, str(depth), f"{took:.2f}")
        else:
            table.add_row(cls.__name__, "-", "-", f"{res.seconds:.1f} ({res.states:,} states)")
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.search_bench")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--exhaust-seconds", type=float, default=60.0)
    ap.add_argument("--mutants", default="tests/model/mutants.py")
    ap.add_argument("--only", choices=("rates", "exhaustion", "mutants"))
    args = ap.parse_args(argv)
    console = Console()
    if args.only in (None, "rates"):
        rates(console, args.seconds)
    if args.only in (None, "exhaustion"):
        exhaustion(console, args.exhaust_seconds)
    if args.only in (None, "mutants"):
        mutants(console, args.mutants, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
