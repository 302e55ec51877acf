"""Model-based stateful tests: ``impl`` on real threads against the model, step by step.

The machine is :class:`conformance.machine.GilConformance`; the number
of examples and steps comes from the Hypothesis profile (tests/conftest.py:
``ci`` runs 200 examples of up to 50 steps).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from conformance.harness import LEAKED, Divergence
from conformance.machine import GilConformance
from model.designs.fair_gil import FairGil


@pytest.fixture(autouse=True)
def _no_leaked_workers() -> Iterator[None]:
    """Teardown never raises (it would hide the real failure); leaks fail here instead."""
    LEAKED.clear()
    yield
    assert not LEAKED, f"teardown left workers behind: {LEAKED}"


TestGilConformance = GilConformance.TestCase


class GilConformanceRealSignals(GilConformance):
    """The same machine, with every signal a real one sent to the host's main thread.

    ``pthread_kill`` runs the host's Python-level handler (which trips the
    signal in ``impl``) before it returns, so the step stays deterministic.
    """

    real_signals = True


TestGilConformanceRealSignals = GilConformanceRealSignals.TestCase
TestGilConformanceRealSignals.settings = settings(max_examples=min(settings().max_examples, 25))


class FairGilConformance(GilConformance):
    """impl's FIFO GIL (``Interpreter(fair=True)``) held to the ``fair-gil`` design.

    The design review's proofs (README.md, "Design review: a fair GIL") are
    about the model; this machine checks that the code that runs is that model.
    """

    impl_name = "fair-gil"
    model_class = FairGil


TestFairGilConformance = FairGilConformance.TestCase
TestFairGilConformance.settings = settings(
    max_examples=min(settings().max_examples, 60), deadline=None
)


class FairImplAgainstCpython(GilConformance):
    """impl's FIFO GIL held to CPython's model: not the same protocol."""

    impl_name = "fair-gil"


def test_fair_impl_held_to_cpython_model_diverges() -> None:
    """The check can fail: a FIFO GIL is not CPython's, and lock-step says where.

    No shrinking: that the divergence is found is the point, not its shortest form.
    """
    with pytest.raises(Divergence, match="impl diverged from the model after"):
        run_state_machine_as_test(
            FairImplAgainstCpython,
            settings=settings(
                max_examples=200, deadline=None, database=None, phases=[Phase.generate]
            ),
        )
