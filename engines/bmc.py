"""Bounded model checking: the shortest path from the initial state to each goal.

A *goal* is a formula at a depth: a violated property (its negation) or a
state whose reachability the vacuity guard wants to see. :class:`Unrolling`
holds ``Init(0) ∧ T(0,1) ∧ ... ∧ T(k-1,k)`` and asks, depth by depth, which
goals can hold at exactly depth ``k``. The model has stuttering
steps (instructions that are not check points), so "at depth k" includes
"within k". Goals found at depth ``k`` come with a trace of length ``k``,
decoded from the z3 model and replayed through the concrete model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from engines.encoding import Encoding
from engines.symbolic import Term, concretize
from model.properties import PROPERTIES
from model.trace import Trace, replay


@dataclass(frozen=True)
class Goal:
    """Something BMC looks for, in both interpretations.

    ``formula(enc, k)`` is the goal at depth ``k`` as a z3 formula (``None``: not
    applicable at this depth); ``reached(model, trace)`` says, on the concrete
    model, whether a trace's end reaches it. Reading hits back concretely rather
    than from the z3 model matters for quantified goals, which z3's model
    evaluation leaves unreduced.
    """

    formula: Callable[[Encoding, int], Term | None]
    reached: Callable[[Any, Trace], bool]


SEED = 0
"""z3's random seed: results and their timings must repeat from run to run."""


def state_goal(term: Term, reached: Callable[[Any, Any], bool]) -> Goal:
    """``term`` (a formula over ``Encoding.pre``) holds at depth k; ``reached(model,
    state)`` is the same predicate on a concrete state."""
    return Goal(lambda enc, k: enc.term_at(term, str(k)), lambda m, tr: bool(reached(m, tr.last)))


def violation_goal(pid: str) -> Goal:
    """Property ``pid`` fails at depth k (step properties: on the step into depth k)."""

    def formula(enc: Encoding, k: int) -> Term | None:
        if enc.properties[pid].step:
            return None if k == 0 else z3.Not(enc.property_at(pid, str(k - 1), str(k)))
        return z3.Not(enc.property_at(pid, str(k)))

    def reached(m: Any, trace: Trace) -> bool:
        prop = PROPERTIES[pid]
        if prop.step:
            return len(trace) > 0 and not prop.holds(m, trace.states[-2], trace.states[-1])
        return not prop.holds(m, trace.last)

    return Goal(formula, reached)


@dataclass
class Reached:
    """A goal reached at ``depth``, with the trace that reaches it."""

    depth: int
    trace: Trace
    seconds: float


@dataclass
class BmcResult:
    reached: dict[str, Reached] = field(default_factory=dict)
    depth: int = 0
    """Depth explored for every goal not in ``reached``."""
    seconds_per_depth: list[float] = field(default_factory=list)
    gave_up: str | None = None
    """Why the search stopped before the depth asked for: a query reached its timeout."""


class Unrolling:
    """A BMC unrolling of one encoding: ``Init(0) ∧ T(0,1) ∧ ... ∧ T(k-1,k)``.

    Each query gets a fresh solver with the whole unrolling: z3's incremental
    mode turned out to stall on some satisfiable queries of this model (a
    counterexample at depth 6 with three threads took minutes incrementally and
    under a second from scratch), and a fresh solver can preprocess the
    unrolling (solving the ``post == f(pre)`` equations away).
    """

    def __init__(
        self, enc: Encoding, *, lemmas: Sequence[str] = (), timeout_ms: int | None = None
    ) -> None:
        """``lemmas``: ids of properties already proved for all reachable states; they
        are asserted on every state (and step) of the unrolling, which prunes it
        without excluding any real behaviour."""
        self.enc = enc
        self.lemmas = list(lemmas)
        self.timeout_ms = timeout_ms
        self.formulas: list[Term] = [enc.init_at("0")]
        self._assert_lemmas(0)
        self.depth = 0

    def _assert_lemmas(self, k: int) -> None:
        # Quantified lemmas (queue contents) are left out: along an unrolling from the
        # initial state every array is built by stores, so they would prune nothing,
        # and z3 cannot always decide satisfiability with them.
        for pid in self.lemmas:
            if self.enc.quantified(pid):
                continue
            if self.enc.properties[pid].step:
                if k > 0:
                    self.formulas.append(self.enc.property_at(pid, str(k - 1), str(k)))
            else:
                self.formulas.append(self.enc.property_at(pid, str(k)))

    def extend(self) -> None:
        """Add the step from the current depth to the next."""
        self.formulas.append(self.enc.trans_at(str(self.depth), str(self.depth + 1)))
        self.depth += 1
        self._assert_lemmas(self.depth)

    def check(self, formula: Term) -> z3.ModelRef | None:
        """A model of the unrolling where ``formula`` holds, or None; ``unknown`` raises."""
        solver = z3.Solver()
        solver.set("random_seed", SEED)
        if self.timeout_ms is not None:
            solver.set("timeout", self.timeout_ms)
        solver.add(*self.formulas)
        solver.add(formula)
        r = solver.check()
        if r == z3.sat:
            return solver.model()
        if r == z3.unknown:
            raise TimeoutError(f"bmc: z3 gave up at depth {self.depth}: {solver.reason_unknown()}")
        return None

    def trace(self, model: z3.ModelRef) -> Trace:
        """The concrete trace of ``model`` from depth 0 to the current depth, replayed."""
        enc = self.enc
        states = tuple(
            concretize(enc.d, model, enc.state(str(k)), enc.initial) for k in range(self.depth + 1)
        )
        steps = tuple(enc.step_at(model, str(k)) for k in range(self.depth))
        out = Trace(states, steps)
        replay(enc.concrete, out)
        return out


def search(
    enc: Encoding,
    goals: Mapping[str, Goal],
    depth: int,
    *,
    lemmas: Sequence[str] = (),
    timeout_ms: int | None = None,
    on_depth: Callable[[int, float], None] | None = None,
    on_reached: Callable[[str, Reached], None] | None = None,
) -> BmcResult:
    """Find the shortest trace to each goal, up to ``depth`` steps.

    ``on_depth(k, seconds)`` is called as each depth is done, ``on_reached(goal,
    reached)`` as each goal is reached (either may raise to end the search).
    A query that reaches ``timeout_ms`` ends the search: ``depth`` is then the
    last depth every open goal was decided at, and ``gave_up`` says why.
    """
    result = BmcResult()
    unrolling = Unrolling(enc, lemmas=lemmas, timeout_ms=timeout_ms)
    start = time.perf_counter()
    open_goals = dict(goals)
    result.depth = -1
    for k in range(depth + 1):
        t0 = time.perf_counter()
        if k > 0:
            unrolling.extend()
        terms = {name: g.formula(enc, k) for name, g in open_goals.items()}
        terms = {name: t for name, t in terms.items() if t is not None}
        while terms:
            try:
                model = unrolling.check(z3.Or(*terms.values()))
            except TimeoutError as exc:
                result.gave_up = str(exc)
                return result
            if model is None:
                break
            trace = unrolling.trace(model)
            hit = [name for name in terms if open_goals[name].reached(enc.concrete, trace)]
            if not hit:
                raise RuntimeError(
                    f"bmc: z3 found a trace of depth {k} reaching one of {sorted(terms)}, "
                    "but on the concrete model it reaches none (the interpretations disagree)"
                )
            for name in hit:
                result.reached[name] = Reached(k, trace, time.perf_counter() - start)
                del terms[name]
                del open_goals[name]
                if on_reached is not None:
                    on_reached(name, result.reached[name])
        result.depth = k
        result.seconds_per_depth.append(time.perf_counter() - t0)
        if on_depth is not None:
            on_depth(k, time.perf_counter() - t0)
        if not open_goals:
            break
    return result
