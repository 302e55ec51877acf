"""Throughput of the lock-step conformance harness: harness steps per second.

Run from the repository root::

    python -m benchmarks.conformance_bench [--quick] [--seed N]

A *harness step* is one user action of the model taken on both sides (one
``impl`` operation on a real worker thread, the model's fine steps up to the
acting thread's next sync point) followed by one comparison. Prints:

1. a seeded random walk over the enabled user actions, without Hypothesis:
   harness steps per second, model transitions per second, and the time spent
   building and tearing down a harness (three worker threads, two signal
   handlers) per example;
2. the Hypothesis state machine (:class:`conformance.machine.GilConformance`)
   with the ``ci`` profile's shape (50 steps per example), derandomized:
   harness steps per second including Hypothesis's own drawing.

The issue's target is at least 300 steps/s with real threads. Not a test:
nothing here asserts.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import ClassVar

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from conformance.harness import BEHAVIOURS, USER_ACTIONS, Lockstep, concrete_model
from conformance.machine import GilConformance
from model.config import Config
from model.protocol import Cpython313

STEPS_PER_EXAMPLE = 50
BATCHES = [1] * 12 + [2, 3, 33, 301]


def random_walk(examples: int, seed: int) -> tuple[int, int, float, float]:
    """``(harness steps, model transitions, stepping seconds, set-up and teardown seconds)``."""
    model = concrete_model(Cpython313, Config())
    rng = random.Random(seed)
    steps = transitions = 0
    stepping = overhead = 0.0
    for _ in range(examples):
        start = time.perf_counter()
        h = Lockstep(model)
        begun = time.perf_counter()
        try:
            for _ in range(STEPS_PER_EXAMPLE):
                action = rng.choice(sorted(a for a in USER_ACTIONS if h.enabled(a)))
                inst = rng.choice(h.enabled(action))
                repeat = rng.choice(BATCHES) if action == "add_pending_call" else 1
                transitions += len(h.step(inst, behaviour=rng.choice(BEHAVIOURS), repeat=repeat))
                steps += 1
        finally:
            ended = time.perf_counter()
            h.close()
        stepping += ended - begun
        overhead += time.perf_counter() - ended + begun - start
    return steps, transitions, stepping, overhead


class _Counting(GilConformance):
    steps: ClassVar[int] = 0

    def teardown(self) -> None:
        _Counting.steps += len(self.h.history)
        super().teardown()


def hypothesis_run(examples: int) -> tuple[int, float]:
    """``(harness steps, seconds)`` of one derandomized run of the state machine."""
    _Counting.steps = 0
    shape = settings(
        max_examples=examples,
        stateful_step_count=STEPS_PER_EXAMPLE,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    start = time.perf_counter()
    run_state_machine_as_test(_Counting, settings=shape)
    return _Counting.steps, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer examples")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    examples = 20 if args.quick else 200

    steps, transitions, stepping, overhead = random_walk(examples, args.seed)
    print(f"random walk, {examples} examples of {STEPS_PER_EXAMPLE} steps (seed {args.seed}):")
    print(f"  {steps / stepping:8.0f} harness steps/s   ({steps} steps in {stepping:.2f} s)")
    print(
        f"  {transitions / stepping:8.0f} model transitions/s ({transitions / steps:.1f} per step)"
    )
    print(f"  {overhead / examples * 1e3:8.1f} ms per example to build and tear down the harness")
    print(f"  {steps / (stepping + overhead):8.0f} harness steps/s all included")

    steps, seconds = hypothesis_run(examples)
    print(f"Hypothesis state machine, {examples} examples, derandomized, generation only:")
    print(f"  {steps / seconds:8.0f} harness steps/s   ({steps} steps in {seconds:.2f} s)")


if __name__ == "__main__":
    main()
