"""Benchmark of the two liveness-under-fairness engines on the catalogue's temporal entries.

Run from the repository root::

    python -m benchmarks.lasso_bench [--max-length 12] [--only ID ...] [--incremental]

For each temporal entry at its scope: the explicit fair-cycle engine
(:mod:`engines.fair_verify`: its status, time, states and lasso length) and
the z3 lasso BMC (:mod:`engines.lasso_verdicts`: the time to the shortest
lasso, or to "none up to length L"). Each entry is run on its own, so the
explicit time includes building its scope's graph (the verdicts command
shares one graph per scope).

Not a test: nothing here asserts. The figures depend on the machine being idle.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from engines.fair_verify import temporal_verdicts
from engines.lasso_verdicts import z3_temporal_verdicts
from model.catalogue import load
from model.protocol import Cpython313


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-length", type=int, default=12)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--incremental", action="store_true")
    ap.add_argument("--query-seconds", type=float, default=120.0)
    args = ap.parse_args(argv)
    entries = {p: e for p, e in load().items() if e.kind == "temporal"}
    if args.only:
        entries = {p: e for p, e in entries.items() if p in args.only}
    print("| entry | explicit | states | explicit s | lasso | z3 | z3 s |")
    print("|---|---|---|---|---|---|---|")
    for pid, e in entries.items():
        t = time.perf_counter()
        (ev,) = temporal_verdicts(Cpython313, {pid: e})
        te = time.perf_counter() - t
        t = time.perf_counter()
        (zv,) = z3_temporal_verdicts(
            Cpython313,
            {pid: e},
            max_length=args.max_length,
            incremental=args.incremental,
            query_seconds=args.query_seconds,
        )
        tz = time.perf_counter() - t
        lasso = str(len(ev.trace)) if ev.trace is not None else "-"
        z3_text = f"lasso {zv.depth}" if zv.status == "violated" else f"none <= {zv.depth}"
        if "stopped" in zv.note:
            z3_text += " (" + zv.note.rsplit("stopped: ", 1)[1] + ")"
        print(
            f"| {pid} | {ev.status} | {ev.states:,} | {te:.1f} | {lasso} | {z3_text} | {tz:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
