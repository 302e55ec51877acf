"""k-induction over the whole catalogue at once, pruned Houdini-style.

For ``k = 1, 2, ...`` the solver holds an arbitrary path ``s0 -> ... -> sk``
(no initial state) on which every *candidate* property holds at ``s0..s(k-1)``
(step properties: on the steps before the last) and every property already
proved holds everywhere. A candidate whose negation is satisfiable at ``sk``
is not inductive relative to the others: it is dropped from the assumptions,
and the rest are checked again, until none fails. What remains is proved for
all reachable states, provided BMC found no violation within ``k`` steps (the
base case; the caller runs BMC first). What was dropped is retried at ``k+1``;
at the last ``k`` its counterexample to induction is reported: the pre-state,
the step, and the post-state that breaks it.

States ``s0..s(k-1)`` are pairwise distinct (the simple-path constraint):
every violation has a shortest path, and a shortest path does not repeat a
state. The last state may repeat one (a step property can fail on a
stuttering step).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import z3

from engines.bmc import SEED
from engines.encoding import Encoding
from engines.symbolic import Term, concretize
from model.actions import Instance
from model.trace import ConcreteState


@dataclass(frozen=True)
class Cti:
    """A counterexample to induction: ``pre --step--> post`` breaks ``pid``.

    ``pre`` satisfies every property that was assumed; it need not be reachable.
    """

    pid: str
    k: int
    pre: ConcreteState
    step: Instance
    post: ConcreteState


@dataclass
class InductionResult:
    proved: dict[str, int] = field(default_factory=dict)
    """Property id -> the k at which it was proved."""
    ctis: dict[str, Cti] = field(default_factory=dict)
    """Property id -> its counterexample to induction at the largest k tried."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Property id -> solver time spent on it."""
    gave_up: dict[str, str] = field(default_factory=dict)
    """Property id -> why it was dropped without a CTI: its query reached the timeout."""


def _holds_on_window(enc: Encoding, pid: str, tags: Sequence[str], upto: int) -> Term:
    """``pid`` on the states ``tags[0..upto-1]`` (step properties: on steps ``0..upto-2``)."""
    prop = enc.properties[pid]
    if prop.step:
        return z3.And(*[enc.property_at(pid, tags[j], tags[j + 1]) for j in range(upto - 1)])
    return z3.And(*[enc.property_at(pid, tags[j]) for j in range(upto)])


def _fails_at_end(enc: Encoding, pid: str, tags: Sequence[str]) -> Term:
    k = len(tags) - 1
    if enc.properties[pid].step:
        return z3.Not(enc.property_at(pid, tags[k - 1], tags[k]))
    return z3.Not(enc.property_at(pid, tags[k]))


def k_induction(
    enc: Encoding,
    candidates: Iterable[str],
    max_k: int,
    *,
    assume: Iterable[str] = (),
    timeout_ms: int | None = None,
) -> InductionResult:
    """Prove as many ``candidates`` as possible with k up to ``max_k``.

    ``assume`` are properties proved elsewhere (they are assumed on every state
    of the window). A candidate whose query reaches ``timeout_ms`` is dropped
    as a failing one is (dropping only weakens what is assumed: sound), with
    no CTI and the reason in ``gave_up``.
    """
    result = InductionResult()
    remaining = sorted(set(candidates))
    assumed = sorted(set(assume))
    for k in range(1, max_k + 1):
        if not remaining:
            break
        tags = [f"k{k}.{j}" for j in range(k + 1)]
        solver = z3.Solver()
        solver.set("random_seed", SEED)
        if timeout_ms is not None:
            solver.set("timeout", timeout_ms)
        for j in range(k):
            solver.add(enc.trans_at(tags[j], tags[j + 1]))
        for a in range(k):
            for b in range(a):
                solver.add(enc.distinct(tags[a], tags[b]))
        for pid in assumed + sorted(result.proved):
            solver.add(_holds_on_window(enc, pid, tags, k + 1))
        lits = {pid: z3.Bool(f"assume!{k}!{pid}") for pid in remaining}
        goals = {pid: z3.Bool(f"goal!{k}!{pid}") for pid in remaining}
        for pid in remaining:
            solver.add(z3.Implies(lits[pid], _holds_on_window(enc, pid, tags, k)))
            solver.add(z3.Implies(goals[pid], _fails_at_end(enc, pid, tags)))
        active = list(remaining)
        while True:
            failing: dict[str, z3.ModelRef | None] = {}
            for pid in active:
                t0 = time.perf_counter()
                r = solver.check(*[lits[p] for p in active], goals[pid])
                result.seconds[pid] = result.seconds.get(pid, 0.0) + time.perf_counter() - t0
                if r == z3.sat:
                    failing[pid] = solver.model()
                elif r == z3.unknown:
                    failing[pid] = None
                    result.gave_up[pid] = f"z3 gave up at k={k} ({solver.reason_unknown()})"
            for pid, model in failing.items():
                if model is None:
                    continue
                result.ctis[pid] = Cti(
                    pid,
                    k,
                    concretize(enc.d, model, enc.state(tags[k - 1]), enc.initial),
                    enc.step_at(model, tags[k - 1]),
                    concretize(enc.d, model, enc.state(tags[k]), enc.initial),
                )
            if not failing:
                break
            active = [p for p in active if p not in failing]
        for pid in active:
            result.proved[pid] = k
            result.ctis.pop(pid, None)
            result.gave_up.pop(pid, None)
        remaining = [p for p in remaining if p not in result.proved]
    return result
