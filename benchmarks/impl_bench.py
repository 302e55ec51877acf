"""Benchmarks for ``impl``: the GIL protocol in Python next to what it stands for.

Run from the repository root (``impl`` must be importable: either this, or
``python benchmarks/impl_bench.py`` after ``pip install -e .``)::

    python -m benchmarks.impl_bench [--quick]

The figures depend on the machine being otherwise idle: row 3's slices stretch
(for the host threads as much as for ``impl``) when another process competes
for the CPUs.

Prints one table. Each row puts an ``impl`` figure beside its reference,
measured in the same run:

1. uncontended ``acquire`` + ``release`` of the GIL against a
   ``threading.Lock`` acquire + release (target: at most 3x);
2. polling an unset breaker at a check point (the eval loop's own test,
   ``breaker._events``, the word's event bits kept beside it; see
   ``impl.breaker``) against a plain attribute read (target: at most 1.5x),
   both net of the empty loop; the public ``Breaker.load() & EVENTS_MASK`` is
   shown too;
3. two CPU-bound threads running eval loops at a 5 ms switch interval: the
   median time slice, beside two CPU-bound Python threads on the host at
   ``sys.setswitchinterval(0.005)`` (target: within 20%);
4. the hand-off latency from a drop request (``drop_request.set``) to the
   waiter running (its ``take_gil.acquire``): median and 95th percentile.

The host interpreter has a GIL of its own. While ``impl`` threads run, the host
switch interval is set to 0.1 ms so that the host lock does not add up to
another 5 ms to each of ``impl``'s hand-offs (a waiter that times out needs the
host GIL to set its request); row 3 is also given at the host's default 5 ms.
Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import threading
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from impl import EVENTS_MASK, Code, Instr, Interpreter, ThreadState, TraceEvent, run

INTERVAL = 0.005
HOST_FAST_INTERVAL = 1e-4


@dataclass
class Row:
    what: str
    impl: str
    reference: str
    ratio: str
    target: str


@contextmanager
def host_switch_interval(seconds: float) -> Iterator[None]:
    old = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def best_per_call(stmt: Callable[[], object], number: int, repeat: int = 7) -> float:
    """Seconds per iteration of ``stmt`` (the minimum over ``repeat`` runs)."""
    return min(timeit.repeat(stmt, number=1, repeat=repeat)) / number


# -- 1. uncontended acquire + release --------------------------------------------------
def bench_acquire_release(n: int) -> Row:
    interp = Interpreter(INTERVAL)
    ts = interp.main_thread
    acquire, release = interp.gil.acquire, interp.gil.release
    lock = threading.Lock()
    lock_acquire, lock_release = lock.acquire, lock.release

    def gil_loop() -> None:
        for _ in range(n):
            acquire(ts)
            release(ts)

    def lock_loop() -> None:
        for _ in range(n):
            lock_acquire()
            lock_release()

    gil = best_per_call(gil_loop, n)
    ref = best_per_call(lock_loop, n)
    return Row(
        "uncontended acquire+release",
        f"{gil * 1e9:,.0f} ns",
        f"{ref * 1e9:,.0f} ns (threading.Lock)",
        f"{gil / ref:.1f}x",
        "<= 3x",
    )


# -- 2. polling an unset breaker ---------------------------------------------------------
class _Plain:
    __slots__ = ("flag",)

    def __init__(self) -> None:
        self.flag = 0


def bench_poll(n: int) -> list[Row]:
    breaker = Interpreter().main_thread.breaker
    plain = _Plain()
    hits = 0

    def empty() -> None:
        for _ in range(n):
            pass

    def poll() -> None:
        nonlocal hits
        for _ in range(n):
            if breaker._events:  # the eval loop's check point, verbatim
                hits += 1

    def attribute() -> None:
        nonlocal hits
        for _ in range(n):
            if plain.flag:
                hits += 1

    def public() -> None:
        nonlocal hits
        for _ in range(n):
            if load() & mask:
                hits += 1

    load, mask = breaker.load, EVENTS_MASK
    base = best_per_call(empty, n)
    ours = best_per_call(poll, n) - base
    ref = best_per_call(attribute, n) - base
    api = best_per_call(public, n) - base
    return [
        Row(
            "poll unset breaker (net of loop)",
            f"{ours * 1e9:.1f} ns",
            f"{ref * 1e9:.1f} ns (attribute read)",
            f"{ours / ref:.2f}x",
            "<= 1.5x",
        ),
        Row(
            "  same through Breaker.load() & MASK",
            f"{api * 1e9:.1f} ns",
            f"{ref * 1e9:.1f} ns (attribute read)",
            f"{api / ref:.2f}x",
            "(info)",
        ),
    ]


# -- 3. time slices of two CPU-bound threads ---------------------------------------------
def median_slice(changes: list[float]) -> tuple[float, int]:
    """Median gap between owner changes (the first and last slices are partial)."""
    gaps = [b - a for a, b in itertools.pairwise(changes)]
    return statistics.median(gaps), len(gaps)


def impl_slices(
    duration: float, host_interval: float, trace: Callable[[TraceEvent], None] | None = None
) -> tuple[float, int]:
    interp = Interpreter(INTERVAL, trace=trace)
    threads = [interp.main_thread, interp.new_thread()]
    stop = threading.Event()
    owner: list[int] = [-1]
    changes: list[float] = []
    start = threading.Barrier(2)
    clock = time.perf_counter

    def body_for(ts: ThreadState) -> Callable[[], None]:
        me = ts.id

        def body() -> None:
            if owner[0] != me:
                owner[0] = me
                changes.append(clock())

        return body

    def worker(ts: ThreadState) -> None:
        code = Code(
            "cpu",
            [
                Instr.resume(0),
                Instr.work(body_for(ts)),
                Instr.jump_backward(1, lambda: not stop.is_set()),
                Instr.ret(),
            ],
        )
        start.wait()
        interp.gil.acquire(ts)
        try:
            run(ts, code)
        finally:
            interp.gil.release(ts)

    with host_switch_interval(host_interval):
        workers = [threading.Thread(target=worker, args=(ts,)) for ts in threads]
        for w in workers:
            w.start()
        time.sleep(duration)  # the measurement window, not synchronisation
        stop.set()
        for w in workers:
            w.join()
    return median_slice(changes[1:])


def cpython_slices(duration: float) -> tuple[float, int]:
    stop = threading.Event()
    owner: list[int] = [-1]
    changes: list[float] = []
    start = threading.Barrier(2)
    clock = time.perf_counter

    def worker(me: int) -> None:
        start.wait()
        while not stop.is_set():
            if owner[0] != me:
                owner[0] = me
                changes.append(clock())

    with host_switch_interval(INTERVAL):
        workers = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for w in workers:
            w.start()
        time.sleep(duration)
        stop.set()
        for w in workers:
            w.join()
    return median_slice(changes[1:])


def bench_slices(duration: float) -> list[Row]:
    ref, ref_n = cpython_slices(duration)
    rows = []
    for host in (HOST_FAST_INTERVAL, INTERVAL):
        ours, n = impl_slices(duration, host)
        rows.append(
            Row(
                f"median time slice @5 ms (host {host * 1e3:g} ms)",
                f"{ours * 1e3:.2f} ms ({n} slices)",
                f"{ref * 1e3:.2f} ms ({ref_n} slices, host threads)",
                f"{ours / ref:.2f}x",
                "within 20%",
            )
        )
    return rows


# -- 4. hand-off latency -------------------------------------------------------------------
def bench_handoff(duration: float) -> Row:
    stamps: list[tuple[int, str, int | None, object]] = []
    clock = time.perf_counter_ns
    wanted = {"drop_request.set", "take_gil.acquire"}

    def trace(event: TraceEvent) -> None:
        if event.name in wanted:
            stamps.append((clock(), event.name, event.thread, event.fields.get("holder")))

    impl_slices(duration, HOST_FAST_INTERVAL, trace)
    latencies = []
    pending: dict[int, int] = {}  # waiter id -> time its request was set
    for t, name, thread, _holder in stamps:
        if thread is None:
            continue
        if name == "drop_request.set":
            pending.setdefault(thread, t)
        elif thread in pending:
            latencies.append(t - pending.pop(thread))
    latencies.sort()
    median = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    return Row(
        "hand-off: drop request -> waiter runs",
        f"median {median / 1e3:.0f} us, p95 {p95 / 1e3:.0f} us",
        f"{len(latencies)} hand-offs",
        "-",
        "report",
    )


def print_table(rows: list[Row]) -> None:
    headers = Row("measurement", "impl", "reference (same run)", "ratio", "target")
    cols = [
        max(len(getattr(r, f)) for r in [headers, *rows])
        for f in ("what", "impl", "reference", "ratio", "target")
    ]

    def line(r: Row) -> str:
        cells = (r.what, r.impl, r.reference, r.ratio, r.target)
        return "  ".join(c.ljust(w) for c, w in zip(cells, cols, strict=True))

    print(line(headers))
    print("  ".join("-" * w for w in cols))
    for r in rows:
        print(line(r))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="shorter runs (noisier)")
    args = parser.parse_args(argv)
    n = 20_000 if args.quick else 200_000
    duration = 0.3 if args.quick else 1.0
    print(f"Python {sys.version.split()[0]}, {threading.active_count()} thread(s) at start")
    rows = [bench_acquire_release(n), *bench_poll(n * 5)]
    rows += bench_slices(duration)
    rows.append(bench_handoff(duration))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
