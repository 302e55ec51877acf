"""The kill matrix's impl columns: does the conformance layer catch a broken impl?

Two checks, each run on one implementation of :data:`conformance.broken_impls.IMPLS`:

* :func:`lockstep`: the Hypothesis state machine (:class:`conformance.machine.GilConformance`)
  drives impl in lock-step with the model, derandomized, and reports the first
  divergence (the step and the first field that differs);
* :func:`trace_validation`: a free-running load (:class:`conformance.soak.Load`)
  with real threads and signals, its event log checked against the model, and
  the first event no model transition explains.

Both are bounded by work (programs, steps), not by time, so the same run on the
same implementation does the same amount of checking.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Final, Literal

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis.stateful import run_state_machine_as_test

from conformance.broken_impls import CORRECT, MUTATIONS
from conformance.harness import Divergence
from conformance.machine import GilConformance
from conformance.soak import Load, LoadSpec
from conformance.tracecheck import Unmatched

FIND: Final = settings(
    max_examples=300,
    stateful_step_count=50,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    verbosity=Verbosity.quiet,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
"""Find, don't shrink: finding takes about a second, shrinking a minute or two."""


@dataclass(frozen=True, slots=True)
class ImplRun:
    """What one check concluded about one implementation."""

    caught: bool
    seconds: float
    at: int | None
    """The lock-step step, or the log's event index, where impl first diverged."""
    note: str
    """The divergence's first line, or how much was checked without one."""
    kind: Literal["divergence", "deadlock"] = "divergence"
    """A deadlock: impl hung (no thread made progress) where the model has a step."""


def lockstep(impl_name: str, *, examples: int = 100) -> ImplRun:
    """Run the lock-step state machine on ``impl_name`` for ``examples`` programs."""
    machine = type(
        f"GilConformance_{impl_name.replace('-', '_')}", (GilConformance,), {"impl_name": impl_name}
    )
    start = time.perf_counter()
    try:
        run_state_machine_as_test(machine, settings=settings(FIND, max_examples=examples))
    except Divergence as exc:
        first = str(exc).splitlines()[0]
        step = re.search(r"after step (\d+)", first)
        return ImplRun(True, time.perf_counter() - start, int(step[1]) if step else None, first)
    return ImplRun(
        False,
        time.perf_counter() - start,
        None,
        f"no divergence in {examples} programs of up to {FIND.stateful_step_count} steps",
    )


def trace_validation(
    impl_name: str, *, seeds: int = 3, steps: int = 300, stall: float = 10.0
) -> ImplRun:
    """Free-running loads of ``impl_name`` (4 threads, ``steps`` steps each, signals),
    one per seed from 0 until one is caught; each one's log checked against the model.
    A load in which no thread logs anything for ``stall`` seconds has hung."""
    mutate = None if impl_name == CORRECT else MUTATIONS[impl_name]
    start = time.perf_counter()
    events = 0
    for seed in range(seeds):
        load = Load(LoadSpec(threads=4, steps=steps, seed=seed, stall=stall), mutate=mutate)
        try:
            events += load.run().events
        except Unmatched as exc:
            first = f"seed {seed}: " + str(exc).splitlines()[0]
            return ImplRun(True, time.perf_counter() - start, exc.index, first)
        except AssertionError as exc:  # Stalled, or the threads would not park: impl hangs
            first = f"seed {seed}: " + str(exc).splitlines()[0]
            return ImplRun(True, time.perf_counter() - start, None, first, "deadlock")
    return ImplRun(
        False,
        time.perf_counter() - start,
        None,
        f"all {events} events of {seeds} loads matched (4 threads, {steps} steps each)",
    )
