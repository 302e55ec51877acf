"""Real CPython 3.13 against impl: the pending-call scenarios give the same results.

Each scenario runs in a fresh CPython 3.13 process (``_testinternalcapi`` /
``_testcapi``) and on impl (:mod:`conformance.crosscheck`). Without such
a CPython the comparison is skipped, with the reason; impl's own runs of the
scenarios are still checked against the model, which needs no CPython.
"""

from __future__ import annotations

import pytest

from conformance import crosscheck
from conformance.crosscheck import on_impl
from conformance.tracecheck import Recorder, check_log
from model.bits import Bit
from model.state import NULL

FOUND = crosscheck.find_cpython313()

needs_cpython = pytest.mark.skipif(FOUND.python is None, reason=FOUND.reason)

EXPECTED: dict[str, dict[str, object]] = {
    # The reference experiments (shared/reference/cpython-experiments) and the two
    # stranded-call probes, as CPython 3.13.0 answers them.
    "fifo_interp": {"ran_at_first_check_point": list(range(10))},
    "fifo_main": {"ran_at_first_check_point": list(range(10))},
    "capacity_interp": {"added": 300, "ran_at_first_check_point": 100},
    "capacity_main": {"added": 32, "ran_at_first_check_point": 32},
    "maxloop_passes": {"accepted": 300, "ran_after_each_check_point": [100, 200, 300, 300]},
    "failing_interp": {"ran_when_it_surfaced": [0, 1], "ran_at_next_check_point": [0, 1, 2, 3]},
    "failing_main": {"ran_when_it_surfaced": [0, 1], "ran_at_next_check_point": [0, 1, 2, 3]},
    "which_thread": {"after": {"interp_queue": "worker", "main_queue": "main"}},
    "checkpoint_kinds": {"after_call": "CALL", "call_free_loop": "JUMP_BACKWARD"},
    "stranded_main_adds_interp": {
        "after_spinning": 1,
        "after_sleep0": ["main call ran", "interp call ran"],
    },
    "stranded_at_maxloop_100": {
        "ran_at_first_check_point": 100,
        "after_spinning": 100,
        "after_sleep0": 101,
    },
    "stranded_at_maxloop_99": {"ran_at_first_check_point": 100, "after_sleep0": 100},
}


@needs_cpython
@pytest.mark.parametrize("scenario", crosscheck.SCENARIOS)
def test_cpython_and_impl_agree(scenario: str) -> None:
    assert FOUND.python is not None
    outcome = crosscheck.crosscheck(FOUND.python, scenario)
    assert outcome.diffs == (), (
        f"CPython {FOUND.version} and impl differ on {scenario}:\n  " + "\n  ".join(outcome.diffs)
    )
    for key, value in EXPECTED.get(scenario, {}).items():
        assert outcome.cpython[key] == value, f"CPython {FOUND.version}: {scenario}.{key}"


@needs_cpython
def test_switch_interval_truncation_and_errors() -> None:
    assert FOUND.python is not None
    cpython = crosscheck.run_on_cpython(FOUND.python, "switch_interval")
    assert cpython["get_after_set"] == crosscheck.run_on_impl("switch_interval")["get_after_set"]
    errors = cpython["errors"]
    assert isinstance(errors, dict)
    assert errors["0"] == "ValueError: switch interval must be strictly positive"
    assert errors["'0.005'"] == "TypeError: must be real number, not str"


def test_both_sides_run_the_same_scenarios() -> None:
    assert crosscheck.script_scenarios() == crosscheck.SCENARIOS
    assert set(EXPECTED) < set(crosscheck.SCENARIOS)


def test_the_finder_explains_a_missing_cpython() -> None:
    found = crosscheck.find_cpython313(["/nonexistent/python3.13"])
    assert found.python is None
    assert found.reason.startswith("no CPython 3.13 with _testinternalcapi and _testcapi")
    assert "/nonexistent/python3.13" in found.reason


@pytest.mark.parametrize("scenario", [s for s in crosscheck.SCENARIOS if s != "switch_interval"])
def test_impl_runs_of_the_scenarios_are_behaviours_of_the_model(scenario: str) -> None:
    """The model explains impl's runs, the stranded calls included: all three agree."""
    recorder = Recorder()
    _, env = on_impl.run_scenario(scenario, recorder)
    checker = check_log(recorder.drain(), len(env.interp.threads), {})
    checker.compare_final(env.interp.snapshot())


@pytest.mark.parametrize("scenario", ["stranded_main_adds_interp", "stranded_at_maxloop_100"])
def test_the_model_strands_the_call_as_cpython_does(scenario: str) -> None:
    """Before the detach of ``time.sleep(0)``, the model too has a call queued and no
    CALLS_TO_DO on any thread, with no drain in progress: nothing will run it."""
    recorder = Recorder()
    _, env = on_impl.run_scenario(scenario, recorder)
    log = recorder.drain()
    sleep0 = max(k for k, (event, _) in enumerate(log) if event.name == "drop_gil")
    checker = check_log(log[:sleep0], len(env.interp.threads), {})
    (state,) = checker.states
    assert state.interp_q.npending == 1
    assert state.handling_thread == NULL
    assert all(not th.breaker & Bit.CALLS_TO_DO for th in state.threads)
    assert state.interp_q.swallowed, "the model's ghost: the bit was cleared by its own drain"
