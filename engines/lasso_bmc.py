"""Lasso-shaped bounded model checking with z3: fair counterexamples to ``P ~> Q``.

The explicit engine (:mod:`engines.fair_verify`) needs the whole reachable
graph; this one needs only the symbolic encoding (:mod:`engines.encoding`),
so it also runs where the graph is too large, and it finds the *shortest*
counterexample, which the explicit engine's lasso construction does not.
It proves nothing: a bound with no lasso is only that.

For a bound ``L`` it asks z3 for states ``s0..sL`` with ``Init(s0)`` and
``T(s_k, s_k+1)``, a loop start ``l`` and a trigger position ``i`` such that:

* the loop closes on the finite quotient (:mod:`model.quotient`):
  ``quotient(s_L) == quotient(s_l)``, leaf by leaf, so the steps from ``s_l``
  to ``s_L`` can repeat forever;
* the trigger holds at ``s_i``; the obligation then covers the states from
  ``min(i, l)`` on (a trigger on the loop is met again on every turn, so the
  whole loop owes the goal): no goal state among them, no ``done`` step;
* each fairness unit holds on the loop (steps ``l..L-1``, states
  ``s_l..s_L-1``): weak, a covered step is taken or the unit is disabled at
  some loop state; strong, taken, or disabled at every loop state; finite, no
  covered step is taken.

``l == L`` is a *stuttering* lasso: the behaviour stays in ``s_L`` forever,
which is fair only if no unit but a finite one is enabled there
(``Trace(loop=len(steps))``, as the explicit engine writes it).

"Taken" needs to know which instance fired, not only its transition class
(:class:`~engines.encoding.Encoding` merges instances with the same guard
and effect, and one class may hold a covered and an uncovered check-point
instruction): each class is split into *parts* whose instances belong to the
same units with the same ``when`` condition, with one selector per part.

Bounds go up from 0 and, within a bound, the cases one by one, so the first
lasso found has the shortest total length. It is decoded from the z3 model,
replayed through the concrete model and confirmed by
:meth:`engines.fair_verify.Concrete.confirm` before it is returned.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from engines.bmc import SEED
from engines.encoding import Encoding
from engines.fair_verify import Concrete
from engines.symbolic import Term, concretize, flatten
from model.actions import Instance
from model.config import Config
from model.fairness import Unit, units
from model.properties.temporal import Case, LeadsTo
from model.state import State
from model.trace import Trace, replay


@dataclass(frozen=True, slots=True)
class Found:
    """A fair lasso: ``trace.loop`` is set, the obligation starts at ``trigger_at``."""

    case: Case
    trace: Trace
    trigger_at: int


@dataclass
class Outcome:
    """What one property's search found: a lasso, or none up to ``length``."""

    found: Found | None = None
    length: int = -1
    """Without a lasso: every total length up to this one has none."""
    gave_up: str | None = None
    """Why the search stopped before ``max_length`` (a timeout, the deadline)."""
    seconds: float = 0.0
    seconds_per_length: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Part:
    """The instances of one transition class that every unit treats alike."""

    cls: int
    members: tuple[int, ...]
    units: tuple[int, ...]
    """Indices into :attr:`LassoSearch.units` of the units its steps may count for."""


def _calls_as_tuples(s: State[Any, Any], caps: tuple[int, int]) -> State[Any, Any]:
    """``s`` with each queue's ``calls`` array as a tuple of its slots, the shape
    :func:`model.quotient.quotient` reads."""

    def split(q: Any, n: int) -> Any:
        if isinstance(q.calls, tuple):
            return q
        return dataclasses.replace(q, calls=tuple(z3.Select(q.calls, j) for j in range(n)))

    return dataclasses.replace(
        s, interp_q=split(s.interp_q, caps[0]), main_q=split(s.main_q, caps[1])
    )


class LassoSearch:
    """The lasso BMC of one program (a model class at a configuration).

    ``incremental``: keep one solver per property and add the steps as the bound
    grows, each bound's lasso constraints inside push/pop; otherwise a fresh
    solver per query with the whole unrolling (what :mod:`engines.bmc` does).
    """

    def __init__(
        self,
        model_cls: type[Any],
        cfg: Config,
        *,
        timeout_ms: int | None = None,
        incremental: bool = False,
    ) -> None:
        self.model_cls = model_cls
        self.cfg = cfg
        self.enc = enc = Encoding(model_cls, cfg, [])
        self.timeout_ms = timeout_ms
        self.incremental = incremental
        self.concrete = Concrete(model_cls, cfg)
        m = enc.sym
        self.units: list[Unit] = units(m, [f.name for f in m.fairness])
        self.parts: list[_Part] = []
        self._when: dict[tuple[int, int], Term] = {}
        """(part, unit) -> the unit's ``when`` over ``pre`` for that part's steps."""
        for c, members in enumerate(enc.classes):
            groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
            terms: dict[tuple[tuple[int, int], ...], dict[int, Term]] = {}
            for k in members:
                covers = {
                    u: m.d.all(unit.covers(m, enc.pre, k))
                    for u, unit in enumerate(self.units)
                    if k in unit.instances
                }
                key = tuple(sorted((u, t.get_id()) for u, t in covers.items()))
                groups.setdefault(key, []).append(k)
                terms[key] = covers
            for key, ks in groups.items():
                p = len(self.parts)
                self.parts.append(_Part(c, tuple(ks), tuple(u for u, _ in key)))
                for u, t in terms[key].items():
                    self._when[p, u] = t
        self._enabled = [
            m.d.any(
                *(
                    m.d.all(enc.guards[k], unit.covers(m, enc.pre, k))
                    for k in sorted(unit.instances)
                )
            )
            for unit in self.units
        ]
        caps = (len(enc.initial.interp_q.calls), len(enc.initial.main_q.calls))
        self._quotient = flatten(m.quotient(_calls_as_tuples(enc.pre, caps)), whole_arrays=False)
        self._pre = flatten(enc.pre)
        self._post = flatten(enc.post)
        self._subst: dict[tuple[int, bool], tuple[int, Any, Any]] = {}
        self._memo: dict[tuple[int, int, bool], tuple[Term, Term]] = {}
        """(term id, position, step) -> (the term, kept alive so its id stays its own;
        the term moved there)."""
        self._taken: dict[tuple[int, int], Term] = {}
        self._close: dict[tuple[int, int], Term] = {}
        self._parts_at: dict[int, list[Term]] = {}

    # -- terms at a position --------------------------------------------------------------

    def _substitution(self, k: int, step: bool) -> tuple[int, Any, Any]:
        """The ``pre`` (and ``post``) variables and state ``k``'s (and ``k + 1``'s) as
        the C arrays ``Z3_substitute`` takes, built once per position."""
        key = (k, step)
        if key not in self._subst:
            old, new = list(self._pre), flatten(self.enc.state(str(k)))
            if step:
                old += self._post
                new += flatten(self.enc.state(str(k + 1)))
            src, dst = (z3.Ast * len(old))(), (z3.Ast * len(old))()
            for j, (a, b) in enumerate(zip(old, new, strict=True)):
                src[j], dst[j] = a.as_ast(), b.as_ast()
            self._subst[key] = (len(old), src, dst)
        return self._subst[key]

    def _moved(self, term: Term, k: int, step: bool) -> Term:
        # z3.substitute checks every pair's sorts on every call, which cost more than
        # solving the short bounds; the pairs are checked once here, by construction.
        key = (term.get_id(), k, step)
        hit = self._memo.get(key)
        if hit is not None:
            return hit[1]
        n, src, dst = self._substitution(k, step)
        ctx = term.ctx
        out = z3.z3._to_expr_ref(z3.Z3_substitute(ctx.ref(), term.as_ast(), n, src, dst), ctx)
        self._memo[key] = (term, out)
        return out

    def at(self, term: Term, k: int) -> Term:
        """A term over ``pre`` at state ``k``."""
        return self._moved(term, k, False)

    def step_term(self, term: Term, k: int) -> Term:
        """A term over ``(pre, post)`` on the step from state ``k`` to ``k + 1``."""
        return self._moved(term, k, True)

    def part_selectors(self, k: int) -> list[Term]:
        """One selector per part of the step leaving state ``k`` (a class's own
        selector when it has one part)."""
        if k not in self._parts_at:
            self._parts_at[k] = self._part_selectors(k)
        return self._parts_at[k]

    def _part_selectors(self, k: int) -> list[Term]:
        sel = self.enc.selectors(str(k))
        count = [0] * len(sel)
        for p in self.parts:
            count[p.cls] += 1
        return [
            sel[p.cls] if count[p.cls] == 1 else z3.Bool(f"part{j}@{k}")
            for j, p in enumerate(self.parts)
        ]

    def _parts_link(self, k: int) -> list[Term]:
        sel, parts = self.enc.selectors(str(k)), self.part_selectors(k)
        out = []
        by_cls: dict[int, list[Term]] = {}
        for p, x in zip(self.parts, parts, strict=True):
            by_cls.setdefault(p.cls, []).append(x)
        for c, xs in by_cls.items():
            if len(xs) > 1:
                out += [sel[c] == z3.Or(*xs), z3.AtMost(*xs, 1)]
        return out

    def _step(self, k: int) -> list[Term]:
        """``T(k, k+1)`` and the part selectors of step ``k``."""
        return [self.enc.trans_at(str(k), str(k + 1)), *self._parts_link(k)]

    def taken(self, u: int, k: int) -> Term:
        """Step ``k`` is one of unit ``u``'s."""
        if (u, k) not in self._taken:
            self._taken[u, k] = self._taken_term(u, k)
        return self._taken[u, k]

    def _taken_term(self, u: int, k: int) -> Term:
        parts = self.part_selectors(k)
        return z3.Or(
            z3.BoolVal(False),
            *(
                z3.And(parts[j], self.at(self._when[j, u], k))
                for j, p in enumerate(self.parts)
                if u in p.units
            ),
        )

    def _closes(self, j: int, last: int) -> Term:
        """``quotient(s_j) == quotient(s_last)``, leaf by leaf."""
        if (j, last) not in self._close:
            self._close[j, last] = self._closes_term(j, last)
        return self._close[j, last]

    def _closes_term(self, j: int, last: int) -> Term:
        return z3.And(
            *(self.at(q, j) == self.at(q, last) for q in self._quotient), z3.BoolVal(True)
        )

    def lasso(self, prop: LeadsTo, case: Case, fair: Sequence[str], n: int) -> list[Term]:
        """The constraints of a fair lasso of total length ``n`` for ``case`` (see the
        module docstring), over the unrolling to ``n`` and the variables
        ``loop{j}@n``, ``trig{j}@n``."""
        m, d = self.enc.sym, self.enc.sym.d
        loop = [z3.Bool(f"loop{j}@{n}") for j in range(n + 1)]
        trig = [z3.Bool(f"trig{j}@{n}") for j in range(n + 1)]
        out: list[Term] = [z3.PbEq([(x, 1) for x in loop], 1), z3.PbEq([(x, 1) for x in trig], 1)]
        looped = [z3.Or(*loop[: k + 1]) for k in range(n + 1)]
        """``looped[k]``: l <= k."""
        started = [z3.Or(*trig[: k + 1]) for k in range(n + 1)]
        on_loop = z3.Or(*(z3.And(trig[j], looped[j]) for j in range(n + 1)))
        active = [z3.Or(started[k], z3.And(looped[k], on_loop)) for k in range(n + 1)]
        trigger = d.all(prop.trigger(m, self.enc.pre, case))
        goal = None if prop.goal is None else d.all(prop.goal(m, self.enc.pre, case))
        done = None if prop.done is None else d.all(prop.done(m, self.enc.pre, self.enc.post, case))
        for k in range(n + 1):
            out.append(z3.Implies(trig[k], self.at(trigger, k)))
            if goal is not None:
                out.append(z3.Implies(active[k], z3.Not(self.at(goal, k))))
            if done is not None and k < n:
                out.append(z3.Implies(active[k], z3.Not(self.step_term(done, k))))
            if k < n:
                out.append(z3.Implies(loop[k], self._closes(k, n)))
        names = set(fair)
        for u, unit in enumerate(self.units):
            if unit.name.split("[")[0] not in names:
                continue
            taken = [z3.And(looped[k], self.taken(u, k)) for k in range(n)]
            if unit.kind == "finite":
                out += [z3.Not(t) for t in taken]
                continue
            off = [z3.Not(self.at(self._enabled[u], k)) for k in range(n + 1)]
            if unit.kind == "weak":
                somewhere = [z3.And(looped[k], off[k]) for k in range(n)]
                out.append(z3.Or(*taken, *somewhere, z3.And(loop[n], off[n])))
            else:
                everywhere = [z3.Implies(looped[k], off[k]) for k in range(n)]
                out.append(z3.Or(*taken, z3.And(*everywhere, z3.Implies(loop[n], off[n]))))
        return out

    # -- the search -----------------------------------------------------------------------

    def _solver(self, deadline: float | None) -> z3.Solver:
        s = z3.Solver()
        s.set("random_seed", SEED)
        ms = self.timeout_ms
        if deadline is not None:
            left = max(1, int((deadline - time.monotonic()) * 1000))
            ms = left if ms is None else min(ms, left)
        if ms is not None:
            s.set("timeout", ms)
        return s

    def search(
        self,
        prop: LeadsTo,
        fair: Sequence[str],
        max_length: int,
        *,
        cases: Sequence[Case] | None = None,
        deadline: float | None = None,
    ) -> Outcome:
        """The shortest fair lasso of ``prop`` over its cases, up to ``max_length`` steps."""
        start = time.perf_counter()
        out = Outcome()
        chosen = list(prop.cases(self.enc.sym) if cases is None else cases)
        base: list[Term] = [self.enc.init_at("0")]
        solvers: dict[Case, z3.Solver] = {}
        for n in range(max_length + 1):
            t0 = time.perf_counter()
            if n > 0:
                base += self._step(n - 1)
            for case in chosen:
                if deadline is not None and time.monotonic() >= deadline:
                    out.gave_up = f"the deadline passed at length {n}"
                    out.seconds = time.perf_counter() - start
                    return out
                if self.incremental:
                    s = solvers.get(case)
                    if s is None:
                        s = solvers[case] = self._solver(deadline)
                        s.add(*base)
                    elif n > 0:
                        s.add(*self._step(n - 1))
                    s.push()
                else:
                    s = self._solver(deadline)
                    s.add(*base)
                s.add(*self.lasso(prop, case, fair, n))
                r = s.check()
                if r == z3.unknown:
                    out.gave_up = f"z3 gave up at length {n}: {s.reason_unknown()}"
                    out.seconds = time.perf_counter() - start
                    return out
                if r == z3.sat:
                    out.found = self._decode(s.model(), prop, case, fair, n)
                    out.seconds = time.perf_counter() - start
                    return out
                if self.incremental:
                    s.pop()
            out.length = n
            out.seconds_per_length.append(time.perf_counter() - t0)
        out.seconds = time.perf_counter() - start
        return out

    def _decode(
        self, model: z3.ModelRef, prop: LeadsTo, case: Case, fair: Sequence[str], n: int
    ) -> Found:
        enc = self.enc

        def true(x: Term) -> bool:
            return bool(z3.is_true(model.eval(x, model_completion=True)))

        states = tuple(
            concretize(enc.d, model, enc.state(str(k)), enc.initial) for k in range(n + 1)
        )
        steps: list[Instance] = []
        for k in range(n):
            chosen = [j for j, x in enumerate(self.part_selectors(k)) if true(x)]
            if len(chosen) != 1:
                raise RuntimeError(f"lasso bmc: step {k} selects {len(chosen)} instances")
            steps.append(enc.instances[self.parts[chosen[0]].members[0]])
        loop = next(j for j in range(n + 1) if true(z3.Bool(f"loop{j}@{n}")))
        at = next(j for j in range(n + 1) if true(z3.Bool(f"trig{j}@{n}")))
        tr = Trace(states, tuple(steps), loop=loop)
        replay(enc.concrete, tr)
        self.concrete.confirm(tr, prop, case, at, fair)
        return Found(case, tr, at)
