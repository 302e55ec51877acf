"""The exhaustive search: its quotient and symmetry are sound, its proofs and traces real.

* The quotient (model/quotient.py) is checked as a bisimulation on every state
  a bounded concrete search reaches: a state and its representative give
  every property the same value, enable the same actions, and their
  successors have the same representatives. A mutant that reads a counter
  another way is caught by the same check.
* The search with the quotient gives every catalogue entry the verdict (and
  the shortest depth) the search without it gives, to a depth, on the
  faithful model and on mutants.
* Symmetry: the reduced search reaches exactly the orbits of the full one.
* A complete search proves; a violation comes with a replayed, shortest trace.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from engines.exhaustive import _Reducer, exhaust
from engines.explicit import explore
from engines.rows import Layout
from engines.vector import ARRAY
from model.config import Config
from model.domain import CONCRETE
from model.properties import PROPERTIES
from model.protocol import Cpython313
from model.state import State
from model.trace import replay
from tests.model import mutants

SMALL = Config(threads=2, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=1)
THREE = Config(threads=3, interp_capacity=1, interp_maxloop=1, main_capacity=1, signals=0)
TINY = Config(threads=1, interp_capacity=1, interp_maxloop=1, main_capacity=1, signals=0)


def _quotient_problems(model_cls: Any, cfg: Config, depth: int, limit: int = 5) -> list[str]:
    """Where the quotient is not a bisimulation on the states reachable within ``depth``."""
    m = model_cls(cfg, CONCRETE)
    q = _Reducer(model_cls(cfg, ARRAY), Layout.of(m.initial()), quotient=True, symmetry=False)
    lay = q.layout
    res = explore(m, depth)
    states = sorted({s for k in range(depth + 1) for s in res.level(k)}, key=repr)
    reps = q(lay.block(states))
    problems = []
    for j, s in enumerate(states):
        r = lay.state(reps, j)
        for pid, p in PROPERTIES.items():
            if not p.step and bool(p.holds(m, s)) != bool(p.holds(m, r)):
                problems.append(f"{pid} differs on a state and its representative")
        for inst in m.instances:
            _, a = m.fire(inst, s)
            _, b = m.fire(inst, r)
            if (a is None) != (b is None):
                problems.append(f"{inst.label} enabled in one of a state and its representative")
            elif a is not None and b is not None:
                ka, kb = lay.keys(q(lay.block([a, b])))
                if ka != kb:
                    problems.append(f"{inst.label} leads to different classes")
                for pid, p in PROPERTIES.items():
                    if p.step and bool(p.holds(m, s, a)) != bool(p.holds(m, r, b)):
                        problems.append(f"{pid} differs on {inst.label} from the two")
        if len(problems) >= limit:
            break
    return problems


def test_the_quotient_is_a_bisimulation_on_reachable_states() -> None:
    assert _quotient_problems(Cpython313, SMALL, 5) == []


class ReadsSwitchNumber(Cpython313[Any, Any]):
    """A variant that reads switch_number as a number: a take_gil that stops after
    two switches. The quotient (switch_number clipped to 1) cannot be sound for it."""

    def take_gil(self, s: State[Any, Any], t: int) -> Any:
        post = yield from super().take_gil(s, t)
        return self.d.ite(self.d.lt(s.switch_number, 2), post, s)


def test_the_bisimulation_check_catches_a_variant_the_quotient_is_wrong_for() -> None:
    problems = _quotient_problems(
        ReadsSwitchNumber, dataclasses.replace(SMALL, signals=0), 6, limit=1
    )
    assert any("leads to different classes" in p or "enabled" in p for p in problems), problems


@pytest.mark.parametrize(
    "model_cls",
    [Cpython313, mutants.SwitchOnEveryAcquire, mutants.PushAtHead, mutants.AsyncExcNotExchanged],
    ids=lambda c: c.__name__,
)
def test_the_quotient_keeps_every_verdict_and_depth(model_cls: Any) -> None:
    """Against the search without it, to a depth: the same violations at the same depths."""
    cfg = dataclasses.replace(SMALL, signals=0)
    props = list(PROPERTIES.values())
    full = exhaust(model_cls, cfg, properties=props, quotient=False, symmetry=False, max_depth=7)
    quot = exhaust(model_cls, cfg, properties=props, symmetry=False, max_depth=7)
    assert {p: f.depth for p, f in quot.violations.items()} == {
        p: f.depth for p, f in full.violations.items()
    }
    assert quot.states < full.states


def test_symmetry_reaches_exactly_the_orbits_of_the_full_search() -> None:
    props = list(PROPERTIES.values())
    full = exhaust(Cpython313, THREE, properties=props, symmetry=False, max_depth=8)
    reduced = exhaust(Cpython313, THREE, properties=props, max_depth=8)
    assert reduced.reductions == ("quotient", "symmetry")
    m = Cpython313(THREE, ARRAY)
    lay = Layout.of(Cpython313(THREE, CONCRETE).initial())
    canon = _Reducer(m, lay, quotient=True, symmetry=True)
    block = np.stack([lay.unkey(k) for k in full.keys], axis=1)
    orbits = set(lay.keys(canon(block)))
    assert orbits == set(reduced.keys)
    assert len(orbits) < full.states
    assert {p: f.depth for p, f in reduced.violations.items()} == {
        p: f.depth for p, f in full.violations.items()
    }


def test_a_complete_search_is_a_proof_with_a_state_count() -> None:
    holds = [PROPERTIES["INV-GIL-SINGLE-HOLDER"], PROPERTIES["INV-CALL-NO-LOSS"]]
    res = exhaust(Cpython313, TINY, properties=holds)
    assert res.complete
    assert res.stopped is None
    assert res.violations == {}
    assert res.states == sum(res.levels) > 100_000


def test_a_violation_is_shortest_and_replays() -> None:
    res = exhaust(
        mutants.TakeIgnoresLocked, SMALL, properties=[PROPERTIES["INV-GIL-SINGLE-HOLDER"]]
    )
    found = res.violations["INV-GIL-SINGLE-HOLDER"]
    assert found.depth == len(found.trace) == 1
    m = mutants.TakeIgnoresLocked(SMALL, CONCRETE)
    replay(m, found.trace)
    assert not PROPERTIES["INV-GIL-SINGLE-HOLDER"].holds(m, found.trace.last)


def test_a_deep_violation_is_found_with_its_shortest_trace() -> None:
    """A bug that needs a queue of 10 calls filled and drained: 30 steps and more."""

    class LosesTheDrainedQueue(Cpython313[Any, Any]):
        """Once a full queue refused a call, the pop that empties it corrupts a count."""

        # Irrelevant here; removing them (the documented way) makes the space smaller.
        set_async_exc = None  # type: ignore[assignment]
        schedule_gc = None  # type: ignore[assignment]
        set_global_version = None  # type: ignore[assignment]

        def pop_pending_call(self, s: Any, t: int, level: int, q: int) -> Any:
            post = yield from super().pop_pending_call(s, t, level, q)
            d = self.d
            pq = post.interp_q
            bad = d.all(d.bool_(q == 0), d.lt(0, pq.refused), d.eq(pq.npending, 0))
            return d.ite(bad, dataclasses.replace(post, drain_npending=d.int_(-1)), post)

    cfg = Config(threads=1, interp_capacity=10, interp_maxloop=10, main_capacity=1, signals=0)
    res = exhaust(LosesTheDrainedQueue, cfg, properties=[PROPERTIES["INV-TYPE-OK"]])
    found = res.violations["INV-TYPE-OK"]
    assert found.depth >= 30
    replay(LosesTheDrainedQueue(cfg, CONCRETE), found.trace)


def test_a_counter_the_quotient_does_not_bound_stops_the_search_cleanly() -> None:
    """Without the quotient, call ids grow past a key's 16 bits: the search ends,
    says why, and keeps what it found, rather than letting two states share a key."""

    class CountsFast(Cpython313[Any, Any]):
        def schedule_gc(self, s: Any, t: int) -> Any:
            post = yield from super().schedule_gc(s, t)
            q = post.interp_q
            return dataclasses.replace(
                post, interp_q=dataclasses.replace(q, refused=self.d.add(q.refused, 9000))
            )

    res = exhaust(CountsFast, TINY, properties=[PROPERTIES["INV-TYPE-OK"]], quotient=False)
    assert not res.complete
    assert res.stopped is not None
    assert "interp_q.refused" in res.stopped
    assert res.states > 1
