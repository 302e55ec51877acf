"""Liveness under fairness: the temporal entries, their lassos, their mutants, the engine.

The checks run in the catalogue's scopes (``small`` keeps queues of one slot
when a test changes a scope). tests/test_fair_command.py runs them through
``gilcheck verify`` and ``gilcheck replay``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

import model.designs  # noqa: F401  (registers fair-gil)
from engines.exhaustive import SearchResult
from engines.fair_cycles import find_lasso
from engines.fair_graph import Column, Graph
from engines.fair_verify import Concrete, LassoError, temporal_verdicts
from engines.verdicts import Verdict
from model.catalogue import Entry, load
from model.config import Config
from model.domain import CONCRETE
from model.fairness import Fairness, Unit
from model.phases import Phase
from model.properties.temporal import TEMPORAL
from model.protocol import Cpython313
from model.trace import Trace
from model.variants import model_class, without
from tests.model import mutants

TEMPORAL_ENTRIES = {pid: e for pid, e in load().items() if e.kind == "temporal"}
SMALL_QUEUES = {"interp_capacity": 1, "interp_maxloop": 1, "main_capacity": 1}


def small(entry: Entry, **scope: Any) -> Entry:
    """``entry`` in a scope with one-slot queues (and ``scope``'s other changes)."""
    return dataclasses.replace(entry, scope={**entry.scope, **SMALL_QUEUES, **scope})


def check(cls: type[Cpython313[Any, Any]], pid: str, **scope: Any) -> Verdict:
    (v,) = temporal_verdicts(cls, {pid: small(TEMPORAL_ENTRIES[pid], **scope)})
    return v


@pytest.fixture(scope="module")
def cpython() -> dict[str, Verdict]:
    """Every temporal entry on the faithful model, in its small scope."""
    entries = {pid: small(e) for pid, e in TEMPORAL_ENTRIES.items()}
    return {v.id: v for v in temporal_verdicts(Cpython313, entries)}


# -- CPython 3.13's verdicts -------------------------------------------------------------------


@pytest.mark.parametrize("pid", sorted(TEMPORAL_ENTRIES))
def test_each_temporal_entry_is_as_the_catalogue_says(
    cpython: dict[str, Verdict], pid: str
) -> None:
    v = cpython[pid]
    assert v.as_expected, v
    if v.status == "proved":
        assert v.states
        assert "no fair lasso: exhaustive" in v.note
    else:
        assert v.trace is not None
        assert v.trace.loop is not None
        assert TEMPORAL_ENTRIES[pid].note, "an expected counterexample says what it shows"


def test_the_starvation_lasso_shows_who_keeps_winning(cpython: dict[str, Verdict]) -> None:
    """LIVE-FAIR-WAITER-ACQUIRES: thread 0 waits through the whole loop, the others hold the
    GIL in turn, and every timeout of thread 0 in the loop comes after a switch (so it never
    asks for a drop)."""
    tr = cpython["LIVE-FAIR-WAITER-ACQUIRES"].trace
    assert tr is not None
    assert tr.loop is not None
    looped = tr.states[tr.loop :]
    assert all(s.threads[0].phase == Phase.TAKE_WAIT for s in looped)
    holders = {s.last_holder for s in looped}
    assert holders == {1, 2}
    timeouts = [
        k
        for k, step in enumerate(tr.steps[tr.loop :], start=tr.loop)
        if step.label == "take_gil_wake(t=0, timed_out=True)"
    ]
    assert timeouts, "thread 0 times out in the loop: the timeout fairness is met"
    for k in timeouts:
        before = tr.states[k]
        assert before.switch_number != before.threads[0].saved_switchnum or not before.locked
        assert not tr.states[k + 1].threads[0].drop_requested


def test_the_convoy_lasso_waits_out_no_interval(cpython: dict[str, Verdict]) -> None:
    """LIVE-FAIR-WAITER-ACQUIRES-UNTIMED (bpo-7946): with no timeout owed, the waiter waits
    through the whole loop while the holder keeps running; only a timeout would ask."""
    tr = cpython["LIVE-FAIR-WAITER-ACQUIRES-UNTIMED"].trace
    assert tr is not None
    assert tr.loop is not None
    looped = tr.states[tr.loop :]
    waiter = next(t for t in (0, 1) if all(s.threads[t].phase == Phase.TAKE_WAIT for s in looped))
    assert all(s.locked and s.last_holder == 1 - waiter for s in looped)
    assert all(not s.threads[1 - waiter].breaker & 0x1 for s in looped), "nobody asked to drop"
    assert all("timed_out=True" not in step.label for step in tr.steps[tr.loop :])


def test_the_blocked_main_thread_lasso_stays_in_c(cpython: dict[str, Verdict]) -> None:
    """LIVE-FAIR-SIGNAL-HANDLED-BLOCKED (bpo-41128): the signal stays tripped while the main
    thread sits in C code for ever; the thread fairness does not owe it the return."""
    tr = cpython["LIVE-FAIR-SIGNAL-HANDLED-BLOCKED"].trace
    assert tr is not None
    assert tr.loop is not None
    for s in tr.states[tr.loop :]:
        assert s.tripped[0]
        assert s.threads[0].phase == Phase.DETACHED
        assert s.threads[0].c_code


def test_a_loop_without_a_check_point_keeps_the_gil() -> None:
    """gh-88811: assuming only loops, the bug is refuted; assuming check points, it cannot
    be seen (the assumption rules the loop out), which is why both entries exist."""
    bug = model_class("gh-88811")
    loops = check(bug, "LIVE-FAIR-DROP-REQUEST-HONOURED-IN-LOOPS")
    assert loops.status == "violated", loops
    assert loops.trace is not None
    assert loops.trace.loop is not None
    looped = loops.trace.steps[loops.trace.loop :]
    assert any("JUMP_BACKWARD" in step.label for step in looped)
    assert check(bug, "LIVE-FAIR-DROP-REQUEST-HONOURED").status == "proved"


def test_the_pending_call_lasso_is_the_stranded_call(cpython: dict[str, Verdict]) -> None:
    """LIVE-FAIR-PENDING-CALL-RUNS: the documented hand-off clears the bit, then the main
    thread runs check points for ever with a call waiting and no CALLS_TO_DO."""
    tr = cpython["LIVE-FAIR-PENDING-CALL-RUNS"].trace
    assert tr is not None
    assert tr.loop is not None
    labels = [step.label for step in tr.steps]
    assert "make_pending_calls_hand_off(t=0, level=1)" in labels[: tr.loop]
    for s in tr.states[tr.loop :]:
        assert s.interp_q.npending > 0
        assert not s.threads[0].breaker & 0x4


def test_the_fair_gil_proves_what_cpython_refutes(cpython: dict[str, Verdict]) -> None:
    assert cpython["LIVE-FAIR-WAITER-ACQUIRES"].status == "violated"
    v = check(model_class("fair-gil"), "LIVE-FAIR-WAITER-ACQUIRES")
    assert v.status == "proved", v
    assert v.states is not None
    assert v.states > 0


def test_the_self_hand_off_fix_removes_the_stranded_call() -> None:
    """With callbacks failing only finitely often, the faithful model still strands a call
    (no error needed: the hand-off clears the bit) and the candidate fix does not. Without
    that assumption the fix still starves the main-thread queue behind failing callbacks."""
    pid = "LIVE-FAIR-PENDING-CALL-RUNS"
    entry = small(TEMPORAL_ENTRIES[pid])
    calm = dataclasses.replace(entry, fairness=(*entry.fairness, "finitely-many-errors"))
    (faithful,) = temporal_verdicts(Cpython313, {pid: calm})
    assert faithful.status == "violated", faithful
    (fixed,) = temporal_verdicts(mutants.FixedSelfHandOff, {pid: calm})
    assert fixed.status == "proved", fixed
    (errors,) = temporal_verdicts(mutants.FixedSelfHandOff, {pid: entry})
    assert errors.status == "violated"
    assert errors.trace is not None
    assert errors.trace.loop
    assert "fair lasso for queue 1" in errors.note
    loop = [step.label for step in errors.trace.steps[errors.trace.loop :]]
    assert "callback_return(t=0, level=0, q=0, ok=False)" in loop


# -- each property has a mutant that breaks it --------------------------------------------------

MUTANTS: list[tuple[type[Cpython313[Any, Any]], str]] = [
    (mutants.NeverAsksToDrop, "LIVE-FAIR-WAITER-ACQUIRES-TWO"),
    (mutants.NeverAsksToDrop, "LIVE-FAIR-WAITER-ACQUIRES"),
    (mutants.WaitIgnoresFreeGil, "LIVE-FAIR-GIL-PROGRESS"),
    (mutants.DropStageKeepsGil, "LIVE-FAIR-DROP-REQUEST-HONOURED"),
    (mutants.DropStageKeepsGil, "LIVE-FAIR-DROP-REQUEST-HONOURED-IN-LOOPS"),
    (mutants.AttachForgetsCalls, "LIVE-FAIR-PENDING-CALL-RUNS-DETACHING"),
    (mutants.SignalWithoutBit, "LIVE-FAIR-SIGNAL-HANDLED"),
]


def test_every_temporal_entry_has_a_mutant() -> None:
    covered = {pid for _, pid in MUTANTS}
    broken_by_cpython = {p for p, e in TEMPORAL_ENTRIES.items() if e.expected == "violated"}
    assert covered | broken_by_cpython == set(TEMPORAL_ENTRIES)
    # CPython itself breaks the others (the faithful model above).


@pytest.mark.parametrize(("cls", "pid"), MUTANTS, ids=[f"{p}-{c.__name__}" for c, p in MUTANTS])
def test_mutant_is_refuted_by_a_fair_lasso(cls: type[Cpython313[Any, Any]], pid: str) -> None:
    entry = small(TEMPORAL_ENTRIES[pid])
    v = check(cls, pid, threads=min(2, entry.scope_config()["threads"]))
    assert v.status == "violated", v
    assert v.trace is not None
    assert v.trace.loop is not None
    assert "fair lasso" in v.note


def test_the_fairness_assumed_is_the_fairness_used() -> None:
    """Without its timeout fairness, a waiter may wait for ever: the entry that holds
    with two threads is refuted, by a lasso whose waiter never times out."""
    pid = "LIVE-FAIR-WAITER-ACQUIRES-TWO"
    entry = small(TEMPORAL_ENTRIES[pid])
    fewer = tuple(f for f in entry.fairness if f not in ("timeout", "thread"))
    (v,) = temporal_verdicts(Cpython313, {pid: dataclasses.replace(entry, fairness=fewer)})
    assert v.status == "violated", v
    assert v.trace is not None
    assert v.trace.loop is not None
    assert not any(step.action == "take_gil_wake" for step in v.trace.steps[v.trace.loop :])


# -- the engine on hand-made graphs -------------------------------------------------------------


def _graph(
    edges: list[tuple[int, int, int]], unit_kind: str, enabled_at: set[int], n: int
) -> Graph:
    """States ``0..n-1`` (0 the trigger), steps ``(src, dst, action)``; unit 0 (``u``, of
    ``unit_kind``) has the steps of action 1 and is enabled in ``enabled_at``; unit 1 (``w``,
    weak, like the model's ``thread``) has those of action 0, enabled where one leaves."""
    src, dst, act = (np.array(x, dtype=np.int64) for x in zip(*edges, strict=True))
    res = SearchResult(True, 2, n, len(edges), 0.0, {}, (), 0, parent=[-1] + [0] * (n - 1),
                       action=[-1] + [0] * (n - 1))  # fmt: skip
    u = Unit("u", unit_kind, frozenset({1}), None)  # type: ignore[arg-type]
    w = Unit("w", "weak", frozenset({0}), None)
    trigger = np.zeros((n, 1), dtype=bool)
    trigger[0] = True
    w_on = [any(a == 0 and s == k for s, _, a in edges) for k in range(n)]
    return Graph(
        search=res, units=[u, w], columns=[Column(TEMPORAL["LIVE-FAIR-GIL-PROGRESS"], 0)],
        src=src, dst=dst, act=act, covers=np.stack([act == 1, act == 0], axis=1),
        done=np.zeros((len(edges), 1), bool),
        enabled=np.array([[k in enabled_at, w_on[k]] for k in range(n)]), trigger=trigger,
        goal=np.zeros((n, 1), bool), marks=np.zeros((n, 0), bool),
    )  # fmt: skip


# 0 -a-> 1 -a-> 0 is a loop; 0 -u-> 2 leaves it (2 is a dead end the unit is owed at).
LOOP = [(0, 1, 0), (1, 0, 0), (0, 2, 1), (2, 2, 1)]


def test_weak_fairness_is_met_by_a_state_where_the_unit_is_disabled() -> None:
    assert find_lasso(_graph(LOOP, "weak", {0, 2}, 3), 0, [0, 1]) is not None


def test_strong_fairness_is_not() -> None:
    """u is enabled at 0 on every round of 0-1-0 and never taken there, and staying in 1
    owes w: only 2's own loop, which takes u, is fair (reached by a step of u)."""
    lasso = find_lasso(_graph(LOOP, "strong", {0, 2}, 3), 0, [0, 1])
    assert lasso is not None
    assert lasso.path[lasso.loop] == 2


def test_strong_fairness_with_no_way_out_has_no_lasso() -> None:
    edges = [(0, 1, 0), (1, 0, 0)]
    assert find_lasso(_graph(edges, "strong", {0}, 2), 0, [0, 1]) is None
    assert find_lasso(_graph(edges, "weak", {0}, 2), 0, [0, 1]) is not None


def test_a_finite_step_may_lead_to_the_loop_but_not_be_in_it() -> None:
    edges = [(0, 1, 1), (1, 0, 1), (1, 1, 0)]
    lasso = find_lasso(_graph(edges, "finite", set(), 2), 0, [0, 1])
    assert lasso is not None
    assert 1 not in lasso.acts[lasso.loop :]


def test_a_state_owing_nothing_may_stutter_for_ever() -> None:
    lasso = find_lasso(_graph([(0, 1, 0)], "weak", {0}, 2), 0, [0, 1])
    assert lasso is not None
    assert lasso.path[-1] == 1
    assert lasso.acts[-1] == -1


# -- a lasso is checked again in the concrete model ----------------------------------------------


def test_a_lasso_that_does_not_close_is_refused(cpython: dict[str, Verdict]) -> None:
    v = cpython["LIVE-FAIR-WAITER-ACQUIRES"]
    assert v.trace is not None
    assert v.trace.loop is not None
    assert v.config is not None
    conc = Concrete(without(Cpython313, v.without), v.config)
    prop = TEMPORAL[v.id]
    broken = Trace(v.trace.states[:-1], v.trace.steps[:-1], loop=v.trace.loop)
    with pytest.raises(LassoError, match="the loop does not close"):
        conc.confirm(broken, prop, 0, 0, TEMPORAL_ENTRIES[v.id].fairness)


class FairWakeUps(Cpython313[Any, Any]):
    """CPython with an OS that is fair in COND_SIGNAL: a waiter that could wake to a free
    GIL infinitely often eventually does (strong fairness)."""

    fairness = (
        *Cpython313.fairness,
        Fairness(
            "wake-to-free-gil",
            "strong",
            "a waiter that could wake to a free GIL infinitely often does",
            lambda m, i: i.action == "take_gil_wake",
            per="thread",
            when=lambda m, s, i: m.d.not_(s.locked),
        ),
    )


def test_an_unfair_loop_is_refused(cpython: dict[str, Verdict]) -> None:
    """The starvation lasso judged under a fairness it breaks: thread 0 could take the free
    GIL on every round of the loop and never does."""
    v = cpython["LIVE-FAIR-WAITER-ACQUIRES"]
    assert v.trace is not None
    assert v.config is not None
    assert v.trace.loop is not None
    conc = Concrete(without(FairWakeUps, v.without), v.config)
    conc.confirm(v.trace, TEMPORAL[v.id], 0, v.trace.loop, ("thread",))
    with pytest.raises(LassoError, match=r"the loop is not fair to wake-to-free-gil\[0\]"):
        conc.confirm(v.trace, TEMPORAL[v.id], 0, v.trace.loop, ("wake-to-free-gil",))


def test_with_fair_wake_ups_cpython_does_not_starve_a_waiter() -> None:
    """Which fairness makes starvation freedom hold: an OS fair in whom it wakes."""
    pid = "LIVE-FAIR-WAITER-ACQUIRES"
    entry = small(TEMPORAL_ENTRIES[pid])
    fair = dataclasses.replace(entry, fairness=(*entry.fairness, "wake-to-free-gil"))
    (v,) = temporal_verdicts(FairWakeUps, {pid: fair})
    assert v.status == "proved", v


def test_a_scope_names_real_actions() -> None:
    with pytest.raises(ValueError, match="scope: take_gill is not an action of Cpython313"):
        without(Cpython313, ["take_gill"])
    cfg = Config(threads=1, signals=0, **SMALL_QUEUES)
    scoped = without(Cpython313, ["take_gil"])(cfg, CONCRETE)
    assert "take_gil" not in {i.action for i in scoped.instances}
