"""Benchmarks for the model's engines: how long proofs and searches take.

Run from the repository root::

    python -m benchmarks.model_bench [--quick] [--bmc-depths 10,20,40] [--bmc-budget SECONDS]

Prints three tables:

1. k-induction over the whole catalogue (every entry expected to hold, with the
   base case by BMC) at 3, 4, 6 and 8 threads with CPython's queue capacities
   (300/100 and 32). Targets: everything proved at 4 threads in at most 10 s,
   at 8 threads in at most 60 s.
2. BMC from the initial state to depths 10, 20 and 40, for one entry with
   every other entry asserted as a lemma on each step (how ``gilcheck
   verify`` runs BMC for an entry induction did not prove), at 2 and 3
   threads. Target: depth 40 in at most 60 s. A depth not complete within the
   per-row budget is shown as "-".
3. z3 against the explicit search on the largest configuration the explicit
   search finishes in this run: the same depth, the same properties, the
   same verdicts (checked), and each engine's time.

The figures depend on the machine being otherwise idle. Not a test: nothing
here asserts, except that the two engines of table 3 agree.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from engines import bmc
from engines.encoding import Encoding
from engines.explicit import explore
from engines.prove import prove
from model.catalogue import load
from model.config import Config
from model.properties import PROPERTIES
from model.protocol import Cpython313
from model.variants import DEFAULT, concrete_model

HOLDS = [pid for pid, e in load().items() if e.expected == "holds"]
BMC_GOALS = ("INV-GIL-SINGLE-HOLDER", "LIVE-PENDING-CALL-RUNS")
"""A GIL safety entry and a pending-call liveness entry (ghost counters, both queues)."""


def _induction(threads: int) -> tuple[float, int]:
    """(seconds, entries proved): steps 1-2 of ``gilcheck verify`` (BMC base case, then
    k-induction up to k=2) over every entry expected to hold."""
    t0 = time.perf_counter()
    res = prove(Cpython313, Config(threads=threads), HOLDS, depth=0, max_k=2, deep=HOLDS)
    return time.perf_counter() - t0, len(res.proved)


def _bmc(cfg: Config, goal: str, depths: Sequence[int], budget: float) -> dict[int, float | None]:
    """Depth -> seconds until BMC had refuted ``goal`` to that depth (None: not within
    ``budget`` seconds). As ``gilcheck verify`` runs BMC for an entry induction did
    not prove: every other entry is asserted as a lemma on every step."""
    enc = Encoding(Cpython313, cfg, [PROPERTIES[p] for p in HOLDS])
    done: dict[int, float | None] = dict.fromkeys(depths)
    start = time.perf_counter()

    def on_depth(k: int, _seconds: float) -> None:
        if k in done:
            done[k] = time.perf_counter() - start
        if time.perf_counter() - start > budget:
            raise _Budget

    with contextlib.suppress(_Budget, TimeoutError):
        bmc.search(
            enc,
            {goal: bmc.violation_goal(goal)},
            max(depths),
            lemmas=[p for p in HOLDS if p != goal],
            timeout_ms=int(budget * 1000),
            on_depth=on_depth,
        )
    return done


class _Budget(Exception):
    """The BMC run exceeded its time budget."""


def _explicit_vs_z3(cfg: Config, depth: int) -> Table:
    model = concrete_model(DEFAULT, cfg)
    props = [PROPERTIES[p] for p in HOLDS]
    res = explore(model, depth, properties=props)
    enc = Encoding(Cpython313, cfg, props)
    t0 = time.perf_counter()
    z3res = bmc.search(enc, {p: bmc.violation_goal(p) for p in HOLDS}, depth)
    z3_seconds = time.perf_counter() - t0
    explicit_verdicts = {p: f.depth for p, f in res.violations.items()}
    z3_verdicts = {p: r.depth for p, r in z3res.reached.items()}
    if explicit_verdicts != z3_verdicts:
        raise SystemExit(f"model_bench: the engines disagree: {explicit_verdicts} {z3_verdicts}")
    table = Table(title=f"3. z3 BMC against the explicit search, {_cfg(cfg)}, depth {depth}")
    for col in ("engine", "states", "seconds", "states/s", "violations"):
        table.add_column(col, justify="left" if col == "engine" else "right")
    table.add_row(
        "explicit BFS",
        str(res.states),
        f"{res.seconds:.1f}",
        f"{res.states_per_second:,.0f}",
        str(len(explicit_verdicts)),
    )
    table.add_row("z3 BMC", "-", f"{z3_seconds:.1f}", "-", str(len(z3_verdicts)))
    return table


def _cfg(cfg: Config) -> str:
    return (
        f"{cfg.threads} threads, queues {cfg.interp_capacity}/{cfg.interp_loop} and "
        f"{cfg.main_capacity}/{cfg.main_loop}, {cfg.signals} signal(s)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="3 and 4 threads; BMC to 10; depth 5")
    p.add_argument("--bmc-depths", default="10,20,40")
    p.add_argument("--bmc-budget", type=float, default=90.0, help="seconds per row")
    p.add_argument("--explicit-depth", type=int, default=8)
    args = p.parse_args(argv)
    console = Console(highlight=False, width=max(120, Console().width))
    threads = (3, 4) if args.quick else (3, 4, 6, 8)
    targets = {4: 10.0, 8: 60.0}

    t1 = Table(title="1. k-induction over the catalogue, CPython's capacities")
    for col in ("threads", "seconds", "proved", "target"):
        t1.add_column(col, justify="right")
    for n in threads:
        seconds, proved = _induction(n)
        target = targets.get(n)
        met = (
            ""
            if target is None
            else f"<= {target:.0f} s: {'met' if seconds <= target else 'NOT met'}"
        )
        t1.add_row(str(n), f"{seconds:.1f}", f"{proved}/{len(HOLDS)}", met)
    console.print(t1)
    depths = [10] if args.quick else [int(x) for x in args.bmc_depths.split(",")]
    t2 = Table(
        title="2. BMC from the initial state, one entry, the rest as lemmas (CPython's capacities)"
    )
    for col in ("threads", "goal", *(f"depth {k} s" for k in depths), "depth 40 <= 60 s"):
        t2.add_column(col, justify="right")
    for n in (2, 3):
        for goal in BMC_GOALS:
            done = _bmc(Config(threads=n), goal, depths, args.bmc_budget)
            cells = ["-" if done[k] is None else f"{done[k]:.1f}" for k in depths]
            last = done.get(40)
            met = (
                "" if 40 not in done else ("met" if last is not None and last <= 60 else "NOT met")
            )
            t2.add_row(str(n), goal, *cells, met)
    console.print(t2)
    small = Config(threads=2, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=1)
    depth = 5 if args.quick else args.explicit_depth
    console.print(_explicit_vs_z3(small, depth))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
