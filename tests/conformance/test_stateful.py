"""Model-based stateful tests: ``impl`` on real threads against the model, step by step.

The machine is :class:`conformance.machine.GilConformance`; the number
of examples and steps comes from the Hypothesis profile (tests/conftest.py:
``ci`` runs 200 examples of up to 50 steps).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from conformance.harness import LEAKED
from conformance.machine import GilConformance


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
