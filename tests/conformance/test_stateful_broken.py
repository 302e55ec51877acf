"""The stateful tests catch deliberately broken implementations.

Each broken implementation (conformance/broken_impls.py) has one bug; the
same state machine that passes on ``impl`` must find a divergence on it, and
shrink it to a short program. The runs are derandomized (the same examples in
the same order every time) and bounded, so this is fast and never flaky.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Final

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from conformance.broken_impls import BROKEN
from conformance.harness import LEAKED, Divergence
from conformance.kill import FIND
from conformance.machine import GilConformance

SHRUNK: Final = "no-notify-on-release"
"""The one broken implementation whose failure is also shrunk (in seconds), to
show the printed program Hypothesis reduces a divergence to."""


CAUGHT_ELSEWHERE: Final = ("release-keeps-mutex",)
"""Caught by the same machine in tests/conformance/test_failure_exit.py, in a
subprocess that also checks the run exits (each failing example there costs a
10 s lock probe, so it is not run twice)."""


def _settings(impl_name: str) -> settings:
    if impl_name != SHRUNK:
        return FIND
    return settings(FIND, phases=[*FIND.phases, Phase.shrink])


@pytest.fixture(autouse=True)
def _no_leaked_workers() -> Iterator[None]:
    LEAKED.clear()
    yield
    assert not LEAKED, f"teardown left workers behind: {LEAKED}"


@pytest.mark.parametrize("impl_name", [n for n in BROKEN if n not in CAUGHT_ELSEWHERE])
def test_broken_impl_is_caught(impl_name: str) -> None:
    machine = type(
        f"GilConformance_{impl_name.replace('-', '_')}", (GilConformance,), {"impl_name": impl_name}
    )
    start = time.perf_counter()
    with pytest.raises(Divergence, match=r"^impl diverged from the model after step \d+ ") as info:
        run_state_machine_as_test(machine, settings=_settings(impl_name))
    elapsed = time.perf_counter() - start
    # The report names the step and the first field that differs, with both values.
    message = str(info.value)
    assert re.search(r"\n  model: .*\n  impl:  ", message), message
    print(f"{impl_name}: caught in {elapsed:.1f} s: {message.splitlines()[0]}")
    if impl_name == SHRUNK:
        # Shrunk to a few steps: a thread waits in take_gil, the holder releases.
        step = int(message.split()[7])
        assert step <= 3, message
