"""The explicit search and z3 agree: the same states at every depth, the same verdicts.

Two checks of the two interpretations of the one model (issue 2, section 4):

* *Level sets*: for small configurations, the set of states the explicit
  search reaches in exactly ``k`` steps equals the set z3 enumerates, depth by
  depth (:mod:`engines.count`), state for state, not only in number.
* *Verdicts*: for every catalogue property, BMC and the explicit search find
  the shortest violation at the same depth, or both find none within the
  bound. Deliberately broken variants make sure real violations (of state and
  step properties, quantified or not) are compared too, not only "both clean".
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

import model.bugs  # noqa: F401  (registers gh-96387)
from engines.bmc import Goal, search, state_goal, violation_goal
from engines.count import image_states, unrolled_states
from engines.encoding import Encoding
from engines.explicit import ExplicitResult, ModelError, explore
from model.actions import Effect
from model.config import Config
from model.domain import CONCRETE, B, I
from model.phases import Stage
from model.properties import PROPERTIES
from model.protocol import Cpython313
from model.state import State
from model.trace import ConcreteState, diff_states, replay
from model.variants import VARIANTS

ModelClass = type[Cpython313[Any, Any]]

ONE_THREAD = Config(threads=1, interp_capacity=1, interp_maxloop=1, main_capacity=1, signals=1)
TWO_THREADS = Config(threads=2, interp_capacity=1, interp_maxloop=1, main_capacity=1, signals=0)
TWO_THREADS_CAP2 = Config(
    threads=2, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=1
)


# -- broken variants --------------------------------------------------------------------------


class NoDropReset(Cpython313[B, I]):
    """gh-96387 undone: a waiter that must exit leaves its drop request on the holder.

    Runs the faithful ``take_gil_wake`` with the waiter's ``drop_requested``
    hidden, so that the reset before exiting never happens.
    """

    def take_gil_wake(self, s: State[B, I], t: int, timed_out: bool) -> Effect:
        d = self.d
        me = s.threads[t]
        hidden = self.with_thread(s, t, dataclasses.replace(me, drop_requested=d.bool_(False)))
        post = yield from super().take_gil_wake(hidden, t, timed_out)
        return self.update_thread(
            post,
            t,
            lambda th: dataclasses.replace(
                th, drop_requested=d.any(th.drop_requested, me.drop_requested)
            ),
        )


class KeepsHandlingThread(Cpython313[B, I]):
    """A failing pending call's error path forgets to clear ``handling_thread``."""

    def callback_return(self, s: State[B, I], t: int, level: int, q: int, ok: bool) -> Effect:
        post = yield from super().callback_return(s, t, level, q, ok)
        return post if ok else dataclasses.replace(post, handling_thread=s.handling_thread)


class OverwriteWhenFull(Cpython313[B, I]):
    """An add to a full queue clobbers its newest entry (and still reports a refusal)."""

    def add_pending_call(self, s: State[B, I], t: int, q: int) -> Effect:
        post = yield from super().add_pending_call(s, t, q)
        d = self.d
        pq = self.queue(s, q)
        out = self.queue(post, q)
        newest = self.wrap(q, d.add(pq.first, d.sub(pq.npending, 1)))
        clobbered = dataclasses.replace(out, calls=d.store(pq.calls, newest, pq.added))
        return self.with_queue(post, q, d.ite(d.le(self.capacity(q), pq.npending), clobbered, out))


# -- helpers ----------------------------------------------------------------------------------


_ENCODINGS: dict[tuple[ModelClass, Config], Encoding] = {}
_SEARCHES: dict[tuple[ModelClass, Config, int], ExplicitResult] = {}


def encoding(model_cls: ModelClass, cfg: Config) -> Encoding:
    """The z3 encoding of ``model_cls`` with every property (built once per test session)."""
    key = (model_cls, cfg)
    if key not in _ENCODINGS:
        _ENCODINGS[key] = Encoding(model_cls, cfg, list(PROPERTIES.values()))
    return _ENCODINGS[key]


def explicit(model_cls: ModelClass, cfg: Config, depth: int) -> ExplicitResult:
    """The explicit search of ``model_cls`` checking every property (run once per session)."""
    key = (model_cls, cfg, depth)
    if key not in _SEARCHES:
        _SEARCHES[key] = explore(model_cls(cfg, CONCRETE), depth, properties=PROPERTIES.values())
    return _SEARCHES[key]


def _describe(only: frozenset[ConcreteState], other: frozenset[ConcreteState]) -> str:
    """One state of ``only`` and how it differs from its nearest state of ``other``."""
    state = min(only, key=repr)
    if not other:
        return repr(state)
    nearest = min((diff_states(x, state) for x in other), key=len)
    return ", ".join(f"{path}: {old!r} -> {new!r}" for path, old, new in nearest)


def assert_same_levels(
    explicit_levels: list[frozenset[ConcreteState]], z3_levels: list[frozenset[ConcreteState]]
) -> None:
    for k, (e, z) in enumerate(zip(explicit_levels, z3_levels, strict=True)):
        if e == z:
            continue
        parts = [f"depth {k}: explicit {len(e)} states, z3 {len(z)}"]
        if e - z:
            parts.append(f"{len(e - z)} only explicit, e.g. (vs nearest z3) {_describe(e - z, z)}")
        if z - e:
            parts.append(f"{len(z - e)} only z3, e.g. (vs nearest explicit) {_describe(z - e, e)}")
        pytest.fail("; ".join(parts))


def _on_state(pred: Callable[[ConcreteState], bool]) -> Callable[[Any, Any], bool]:
    """A goal's concrete test, as bmc.state_goal takes it: (model, state) -> bool."""
    return lambda m, s: pred(s)


def bmc_depths(enc: Encoding, goals: Mapping[str, Goal], depth: int) -> dict[str, int]:
    result = search(enc, goals, depth)
    return {name: reached.depth for name, reached in result.reached.items()}


# -- level sets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cfg", "depth"),
    [(ONE_THREAD, 4), (TWO_THREADS, 3), (TWO_THREADS_CAP2, 2)],
    ids=["1-thread", "2-threads", "2-threads-cap2"],
)
def test_levels_equal_z3_image_levels(cfg: Config, depth: int) -> None:
    """Level k of the explicit search is the k-fold image of Init under z3's T."""
    mine = explicit(Cpython313, cfg, depth)
    levels = [mine.level(k) for k in range(depth + 1)]
    assert_same_levels(levels, image_states(encoding(Cpython313, cfg), depth))


def test_levels_equal_bmc_unrolling() -> None:
    """Level k of the explicit search is what BMC's k-step unrolling can end in."""
    depth = 3
    mine = explicit(Cpython313, ONE_THREAD, depth)
    levels = [mine.level(k) for k in range(depth + 1)]
    assert_same_levels(levels, unrolled_states(encoding(Cpython313, ONE_THREAD), depth))


# -- verdicts ---------------------------------------------------------------------------------

VERDICT_CASES = [
    pytest.param(Cpython313, ONE_THREAD, 6, {}, id="faithful-1t-d6"),
    pytest.param(Cpython313, TWO_THREADS, 4, {}, id="faithful-2t-d4"),
    pytest.param(
        NoDropReset, TWO_THREADS, 4, {"INV-DROP-REQUEST-HAS-REQUESTER": 4}, id="no-drop-reset"
    ),
    pytest.param(
        KeepsHandlingThread, ONE_THREAD, 6, {"INV-SINGLE-DRAINER": 6}, id="keeps-handling-thread"
    ),
    pytest.param(
        OverwriteWhenFull,
        ONE_THREAD,
        4,
        {"INV-CALL-NO-LOSS": 3, "STEP-REFUSED-ADD-CHANGES-NOTHING": 3},
        id="overwrite-when-full",
    ),
]


@pytest.mark.parametrize(
    ("model_cls", "cfg", "depth", "expected"),
    VERDICT_CASES,
)
def test_verdicts_agree_with_bmc(
    model_cls: ModelClass, cfg: Config, depth: int, expected: dict[str, int]
) -> None:
    """Every property: the same shortest violation depth in both engines, or none in both."""
    mine = explicit(model_cls, cfg, depth)
    assert mine.depth == depth
    assert mine.stopped is None
    explicit_depths = {pid: found.depth for pid, found in mine.violations.items()}
    enc = encoding(model_cls, cfg)
    z3_depths = bmc_depths(enc, {pid: violation_goal(pid) for pid in PROPERTIES}, depth)
    differ = {
        pid: (explicit_depths.get(pid), z3_depths.get(pid))
        for pid in PROPERTIES
        if explicit_depths.get(pid) != z3_depths.get(pid)
    }
    assert not differ, f"shortest violation depth (explicit, bmc) differs: {differ}"
    # The variants really are broken where they should be (and the real model is not,
    # at these depths), so the comparison covered violations.
    assert explicit_depths == expected
    for found in mine.violations.values():
        replay(model_cls(cfg, CONCRETE), found.trace)
        assert len(found.trace) == found.depth


def test_goal_depths_agree_with_bmc() -> None:
    """Goals (state predicates, as the vacuity guard uses them): the same shortest depth."""
    cfg, depth = ONE_THREAD, 5
    enc = encoding(Cpython313, cfg)
    d, pre = enc.d, enc.pre
    concrete_goals = {
        "interp-queue-full": lambda s: s.interp_q.npending == cfg.interp_capacity,
        "refused": lambda s: s.interp_q.refused > 0,
        "callback-running": lambda s: s.threads[0].f0.stage == Stage.CALLBACK_INTERP,
        "never": lambda s: s.switch_number < 0,
    }
    z3_terms = {
        "interp-queue-full": d.eq(pre.interp_q.npending, cfg.interp_capacity),
        "refused": d.lt(0, pre.interp_q.refused),
        "callback-running": d.eq(pre.threads[0].f0.stage, Stage.CALLBACK_INTERP),
        "never": d.lt(pre.switch_number, 0),
    }
    z3_goals = {
        name: state_goal(term, _on_state(concrete_goals[name])) for name, term in z3_terms.items()
    }
    mine = explore(Cpython313(cfg, CONCRETE), depth, goals=concrete_goals)
    explicit_depths = {name: found.depth for name, found in mine.reached.items()}
    assert explicit_depths == bmc_depths(enc, z3_goals, depth)
    assert set(explicit_depths) == {"interp-queue-full", "refused", "callback-running"}
    for name, found in mine.reached.items():
        replay(Cpython313(cfg, CONCRETE), found.trace)
        assert concrete_goals[name](found.trace.last)


# -- the engine's own guarantees --------------------------------------------------------------


def test_levels_are_successor_images() -> None:
    """Each level is exactly the successors of the previous one (checked by brute force)."""
    model = Cpython313(TWO_THREADS, CONCRETE)
    mine = explore(model, 3)
    assert mine.level(0) == {model.initial()}
    for k in range(1, 4):
        image = {post for s in mine.level(k - 1) for _, post in model.successors(s)}
        assert mine.level(k) == image
    assert mine.counts == [len(mine.level(k)) for k in range(4)]


def test_max_states_stops_cleanly() -> None:
    model = Cpython313(TWO_THREADS, CONCRETE)
    full = explore(model, 4)
    within_two = len(full.level(0) | full.level(1) | full.level(2))
    cut = explore(model, 4, max_states=within_two)
    assert cut.stopped is not None
    assert "max_states" in cut.stopped
    assert cut.depth == 2
    assert cut.counts == full.counts[:3]
    assert [cut.level(k) for k in range(3)] == [full.level(k) for k in range(3)]
    with pytest.raises(IndexError):
        cut.level(3)


def test_a_passed_deadline_stops_at_the_last_complete_level() -> None:
    model = Cpython313(TWO_THREADS, CONCRETE)
    cut = explore(model, 4, deadline=time.monotonic() - 1.0)
    assert cut.stopped is not None
    assert "time limit passed while computing level 1" in cut.stopped
    assert cut.depth == 0
    assert cut.counts == [1]


def test_stop_on_ends_the_search_at_a_shortest_violation() -> None:
    """gh-96387's drop request without a requester shows after 4 steps, breadth first."""
    bug = VARIANTS["gh-96387"]
    pid = "INV-DROP-REQUEST-HAS-REQUESTER"
    assert bug.refuted_by == pid
    model = bug(TWO_THREADS, CONCRETE)
    full = explore(model, 6, properties=[PROPERTIES[pid]])
    cut = explore(model, 6, properties=[PROPERTIES[pid]], stop_on=frozenset({pid}))
    assert full.violations[pid].depth == cut.violations[pid].depth == 4
    assert cut.stopped == f"explicit: stopped at the violation of {pid} in level 4"
    assert cut.depth == 3
    assert 0 < cut.violations[pid].seconds <= cut.seconds
    replay(model, cut.violations[pid].trace)


class GcCrashes(Cpython313[B, I]):
    """A model bug of another kind: an action that raises."""

    def handle_gc(self, s: State[B, I], t: int, level: int) -> Effect:
        yield from super().handle_gc(s, t, level)
        raise ZeroDivisionError("gc")


def test_a_raising_model_is_reported_with_its_trace() -> None:
    model = GcCrashes(ONE_THREAD, CONCRETE)
    with pytest.raises(
        ModelError, match=r"ZeroDivisionError: gc firing handle_gc\(t=0, level=0\)"
    ) as info:
        explore(model, 5)
    assert info.value.instance.action == "handle_gc"
    replay(model, info.value.trace)  # schedule_gc, then a check point
    assert [step.action for step in info.value.trace.steps] == ["schedule_gc", "execute"]
