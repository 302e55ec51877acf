"""How fast the trace checker replays impl's free-running log on the model.

Run from the repository root::

    python -m benchmarks.soak_bench [--steps N] [--threads 4 8 16]

For each thread count, one load (:class:`conformance.soak.Load`) runs to
completion with a checker that only records; then a fresh
:class:`conformance.tracecheck.TraceChecker` checks the whole log, timed.
Prints the events impl logged per second of load and the events checked per
second. The checker's cost per event grows with the number of threads (the
model's steps rebuild every thread's state), so the figure is given per size.
Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable

from conformance.soak import SIGNALS, Load, LoadSpec
from conformance.tracecheck import TraceChecker
from impl import Snapshot, TraceEvent


class _Keep(TraceChecker):
    """Records the log instead of checking it (the final comparison is skipped)."""

    def __init__(self, threads: int) -> None:
        super().__init__(threads, {num: k for k, num in enumerate(SIGNALS)})
        self.log: list[tuple[TraceEvent, int | None]] = []

    def feed_all(self, events: Iterable[tuple[TraceEvent, int | None]]) -> None:
        self.log.extend(events)

    def compare_final(self, snap: Snapshot) -> None:
        pass


def measure(threads: int, steps: int, seed: int) -> tuple[int, float, float]:
    keep = _Keep(threads)
    load = Load(LoadSpec(threads=threads, steps=steps, seed=seed, backlog=10**9), checker=keep)
    load.run()
    checker = TraceChecker(threads, {num: k for k, num in enumerate(SIGNALS)})
    t0 = time.perf_counter()
    checker.feed_all(keep.log)
    check = time.perf_counter() - t0
    return len(keep.log), load.elapsed, check


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=600, help="random steps per thread")
    p.add_argument("--threads", type=int, nargs="+", default=[4, 8, 16])
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    head = ("threads", "events", "load s", "logged/s", "check s", "checked/s")
    print("  ".join(f"{h:>9}" for h in head))
    for k in args.threads:
        events, load_s, check_s = measure(k, args.steps, args.seed)
        row = [f"{k}", f"{events:,}", f"{load_s:.2f}", f"{events / load_s:,.0f}"]
        row += [f"{check_s:.2f}", f"{events / check_s:,.0f}"]
        print("  ".join(f"{c:>9}" for c in row))


if __name__ == "__main__":
    main()
