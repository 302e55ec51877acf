"""Every catalogue property is refuted by the prover on a model broken on purpose.

A property no mutation can break checks nothing. For each catalogue entry this
runs ``gilcheck verify``'s pipeline (engines/verify.py) on a mutant from
tests/model/mutants.py and asserts the entry is violated, with the exit class
of its kind (12 safety, 13 liveness), by a trace the mutant has and the faithful
model does not. The entries CPython itself breaks (``expected = "violated"``)
are refuted on the faithful model, and candidate fixes make them disappear.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from engines.prove import violates
from engines.verdicts import EXIT_DEADLOCK, EXIT_INCONCLUSIVE, EXIT_LIVENESS, EXIT_SAFETY, Report
from engines.verify import verify
from model.catalogue import load
from model.config import Config
from model.properties import PROPERTIES
from model.properties.gil import DEADLOCK
from model.protocol import Cpython313
from model.variants import DEFAULT, concrete_model, model_class, register
from tests.model import mutants
from tests.model.blame import assert_faithful_model_not_at_fault

ONE = Config(threads=1, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=0)
TWO = dataclasses.replace(ONE, threads=2)
TWO_SIG = dataclasses.replace(TWO, signals=1)
TWO_SIGS = dataclasses.replace(TWO, signals=2)

MUTANTS: list[tuple[type[Cpython313[Any, Any]], str, Config]] = [
    (mutants.PhaseOutOfRange, "INV-TYPE-OK", TWO),
    (mutants.TakeIgnoresLocked, "INV-GIL-SINGLE-HOLDER", TWO),
    (mutants.AcquireKeepsLastHolder, "INV-GIL-HOLDER-IS-LAST-HOLDER", TWO),
    (mutants.SwitchOnEveryAcquire, "STEP-GIL-SWITCH-NUMBER", TWO),
    (mutants.NoDropResetOnExit, "INV-DROP-REQUEST-HAS-REQUESTER", TWO),
    (mutants.DropRequestOnWaiter, "STEP-DROP-REQUEST-FROM-WAITER", TWO),
    (mutants.KeepDropOnAcquire, "STEP-NEW-HOLDER-DROP-CLEAR", TWO),
    (mutants.WaitKeepsDropBit, "INV-SWITCH-WAIT-DROP-CLEAR", TWO),
    (mutants.NoMustExit, "STEP-NO-TAKE-AFTER-FINALIZE", TWO),
    (mutants.HangAtFinalization, "INV-NO-DEADLOCK", TWO),
    (mutants.AttachKeepsOldVersion, "INV-BREAKER-VERSION", TWO),
    (mutants.GcSetsMergeBit, "INV-BREAKER-NO-FREE-THREADED-BITS", ONE),
    (mutants.SignalOnHolder, "INV-SIGNALS-BIT-MAIN-ONLY", TWO_SIG),
    (mutants.LiveBreakerPass, "INV-PASS-SNAPSHOT", TWO),
    (mutants.AcceptWhenFull, "INV-QUEUE-BOUNDS", ONE),
    (mutants.PushAtHead, "INV-QUEUE-FIFO", ONE),
    (mutants.DropRemainderOnError, "INV-CALL-NO-LOSS", ONE),
    (mutants.PeekInsteadOfPop, "STEP-CALL-AT-MOST-ONCE", ONE),
    (mutants.RefuseOneEarly, "STEP-REFUSED-ADD-CHANGES-NOTHING", ONE),
    (mutants.NoSignalActiveThread, "INV-NO-LOST-WAKEUP", TWO),
    (mutants.NoHandlingGuard, "INV-SINGLE-DRAINER", TWO),
    (mutants.OffByOneMaxloop, "INV-PER-PASS-BOUND", ONE),
    (mutants.AnyThreadDrainsMain, "INV-MAIN-QUEUE-MAIN-THREAD", TWO),
    (mutants.HolderHandlesSignals, "INV-HANDLERS-MAIN-THREAD", TWO_SIG),
    (mutants.ClearIsTrippedAfterScan, "INV-SIGNAL-NOT-LOST", TWO_SIG),
    (mutants.AsyncExcWithoutBit, "INV-ASYNC-EXC-SIGNALLED", ONE),
    (mutants.AsyncExcNotExchanged, "STEP-ASYNC-AT-MOST-ONCE", ONE),
    (mutants.DropStageKeepsGil, "LIVE-DROP-REQUEST-HONOURED", TWO),
    (mutants.NoResignalOnLeftovers, "LIVE-PENDING-CALL-RUNS", ONE),
    (mutants.ScanStopsAtFirstHandler, "LIVE-SIGNAL-HANDLED", TWO_SIGS),
    (mutants.NoForcedSwitch, "LIVE-FORCED-SWITCH", TWO),
    (mutants.GcReleasesGil, "LEMMA-PASS-HOLDS-GIL", TWO),
    (mutants.DropStageKeepsGil, "LEMMA-DROP-DUE", TWO),
    (mutants.NoSignalActiveThread, "LEMMA-CALLS-DUE", TWO),
    (mutants.ScanStopsAtFirstHandler, "LEMMA-SIGNALS-DUE", TWO_SIGS),
    (mutants.NoForcedSwitch, "LEMMA-MUST-YIELD", TWO),
    (mutants.NoSignalActiveThread, "LEMMA-DRAIN-SIGNALLED", TWO),
]

CHECKED = {pid: e for pid, e in load().items() if e.kind != "temporal"}
"""The entries of PROPERTIES (the temporal ones and their mutants: tests/model/test_fair.py)."""
EXPECTED_VIOLATIONS = [pid for pid, e in CHECKED.items() if e.expected == "violated"]


def _check(variant: str, cfg: Config, pid: str, depth: int = 14, **kwargs: Any) -> Report:
    return verify(
        model_class(variant),
        cfg,
        {pid: load()[pid]},
        depth=depth,
        max_k=1,
        parallel=False,
        check_vacuity=False,
        **kwargs,
    )


def _register(cls: type[Cpython313[Any, Any]]) -> str:
    name = f"mutant:{cls.__name__}"
    register(name, cls)
    return name


def test_every_property_has_a_mutant() -> None:
    """The table covers the catalogue: each entry expected to hold is broken by a mutant."""
    covered = {pid for _, pid, _ in MUTANTS}
    missing = sorted(set(CHECKED) - covered - set(EXPECTED_VIOLATIONS))
    assert not missing, f"no mutant breaks {missing}"
    assert set(PROPERTIES) == covered | set(EXPECTED_VIOLATIONS)


@pytest.mark.parametrize(
    ("cls", "pid", "cfg"), MUTANTS, ids=[f"{pid}-{cls.__name__}" for cls, pid, _ in MUTANTS]
)
def test_mutant_is_refuted(cls: type[Cpython313[Any, Any]], pid: str, cfg: Config) -> None:
    report = _check(_register(cls), cfg, pid)
    (verdict,) = report.verdicts
    assert verdict.status == "violated", f"{cls.__name__} does not break {pid}: {verdict}"
    expected = EXIT_SAFETY if PROPERTIES[pid].kind == "safety" else EXIT_LIVENESS
    assert report.exit_code == (EXIT_DEADLOCK if pid == DEADLOCK else expected)
    trace = verdict.trace
    assert trace is not None
    assert violates(concrete_model(f"mutant:{cls.__name__}", cfg), PROPERTIES[pid], trace)
    assert_faithful_model_not_at_fault(pid, cfg, trace)


@pytest.mark.parametrize("pid", EXPECTED_VIOLATIONS)
def test_expected_counterexample_is_found_on_the_faithful_model(pid: str) -> None:
    """The CPython behaviours kept as documented counterexamples are found again."""
    entry = load()[pid]
    report = _check(DEFAULT, TWO, pid)
    (verdict,) = report.verdicts
    assert verdict.status == "violated", verdict
    assert verdict.as_expected, verdict
    assert report.exit_code == 0
    assert verdict.trace is not None
    assert violates(concrete_model(DEFAULT, TWO), PROPERTIES[pid], verdict.trace)
    assert entry.note, f"{pid}: an expected counterexample must say what it shows"


def test_stranded_call_trace_is_the_self_hand_off() -> None:
    """The lost wake-up found is the one the catalogue documents: a check point inside a
    callback hands CALLS_TO_DO to its own drain (handling_thread == tstate)."""
    report = _check(DEFAULT, ONE, "INV-NO-LOST-WAKEUP-STRICT")
    (verdict,) = report.verdicts
    assert verdict.trace is not None
    labels = [step.label for step in verdict.trace.steps]
    assert "make_pending_calls_hand_off(t=0, level=1)" in labels
    hand_off = labels.index("make_pending_calls_hand_off(t=0, level=1)")
    before, after = verdict.trace.states[hand_off], verdict.trace.states[hand_off + 1]
    assert before.handling_thread == 0
    assert before.threads[0].breaker & 0x4
    assert not after.threads[0].breaker & 0x4


@pytest.mark.parametrize(
    ("cls", "pid", "cfg", "depth"),
    [
        (mutants.FixedSelfHandOff, "INV-NO-LOST-WAKEUP-STRICT", ONE, 14),
        (mutants.LoopedSwitchWait, "LIVE-FORCED-SWITCH-STRICT", TWO, 10),
    ],
)
def test_candidate_fix_removes_the_counterexample(
    cls: type[Cpython313[Any, Any]], pid: str, cfg: Config, depth: int
) -> None:
    """A reviewer's fix for a documented finding: the counterexample the faithful model has
    within the bound is gone. Not proved (the STRICT entries are not inductive without
    lemmas the catalogue lacks), so the verdict is bounded and the exit inconclusive."""
    faithful = _check(DEFAULT, cfg, pid, depth).verdicts[0]
    assert faithful.status == "violated"
    assert faithful.depth is not None
    report = _check(_register(cls), cfg, pid, depth)
    (verdict,) = report.verdicts
    assert verdict.status == "bounded", verdict
    assert verdict.depth is not None
    assert verdict.depth > faithful.depth
    assert report.exit_code == EXIT_INCONCLUSIVE
    assert "not found" in verdict.note
