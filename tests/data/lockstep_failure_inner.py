"""A failing conformance test, run by tests/conformance/test_failure_exit.py in a subprocess.

Not collected by the main suite (the name does not start with ``test_``): the
outer test copies it into a temporary directory as ``test_inner.py``. The
state machine drives ``release-keeps-mutex`` (conformance/broken_impls.py),
whose ``drop_gil`` leaves ``gil->mutex`` locked: the run must fail with the
lock-step report, stop every worker, and let pytest exit.
"""

from __future__ import annotations

from hypothesis import Phase, Verbosity, settings
from hypothesis.stateful import run_state_machine_as_test

from conformance.kill import FIND
from conformance.machine import GilConformance


class KeepsMutex(GilConformance):
    impl_name = "release-keeps-mutex"


def test_release_keeps_mutex() -> None:
    run_state_machine_as_test(
        KeepsMutex,
        settings=settings(
            FIND,
            max_examples=100,
            stateful_step_count=20,
            verbosity=Verbosity.normal,
            phases=[Phase.generate],
        ),
    )
