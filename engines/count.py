"""The states z3 says are reachable in exactly k steps, enumerated one by one.

For small configurations only. Both functions answer with concrete
:class:`~model.state.State` values, read out of z3 models with
:func:`engines.symbolic.concretize` (queue arrays projected to their first
``capacity`` entries), and enumerate them AllSAT-style: read a model, forbid
it with a blocking clause, ask again, until z3 answers unsat.

* :func:`unrolled_states` enumerates the state at depth ``k`` of the BMC
  unrolling ``Init(0) ∧ T(0,1) ∧ ... ∧ T(k-1,k)`` itself: exactly what the
  bounded model checker searches. Each blocking clause makes the next query
  harder, so this is for levels of a few hundred states.
* :func:`image_states` computes level ``k`` as the image of level ``k-1``
  under the one-step template ``T``: for each state of the previous level it
  enumerates the successors z3 allows. The states are the same (the unrolling
  is ``T`` copied ``k`` times), the queries are small, so it reaches further.

The explicit search computes the same sets by running the model over Python
values; the agreement test compares them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import z3

from engines.bmc import SEED
from engines.encoding import Encoding
from engines.symbolic import Term, concretize, equal_states, flatten, leaf_paths, lift
from model.trace import ConcreteState

OnLevel = Callable[[int, int], None]
"""Called with ``(k, number of states)`` after each level."""


class TooManyStates(RuntimeError):
    """A level has more states than the caller allowed."""


INCREMENTAL_TIMEOUT_MS = 2000
"""How long one incremental check may take before it is redone from scratch."""


def _solver() -> z3.Solver:
    s = z3.Solver()
    s.set("random_seed", SEED)
    return s


class _AllSat:
    """The models of ``assertions``, each excluded by a clause the caller adds.

    The first check of a solver preprocesses its assertions; later checks, after
    blocking clauses were added, run in z3's incremental mode, which stalls on
    some of these queries (how often depends on everything else the z3 context
    has seen). An incremental check that takes longer than
    :data:`INCREMENTAL_TIMEOUT_MS` is therefore redone by a fresh solver with
    every assertion and clause so far. The answers are the same either way.
    """

    def __init__(self, assertions: Sequence[Term]) -> None:
        self.assertions = list(assertions)
        self.solver = _solver()
        self.solver.add(*self.assertions)
        self.incremental = False
        """Whether the solver's next check is incremental (it has checked before)."""

    def next_model(self) -> z3.ModelRef | None:
        """A model not excluded yet, or ``None``; raises ``TimeoutError`` on unknown."""
        result = self.solver.check()
        if result == z3.unknown and self.incremental:
            self.solver = _solver()
            self.solver.add(*self.assertions)
            result = self.solver.check()
        if result == z3.unknown:
            raise TimeoutError(f"count: z3 gave up: {self.solver.reason_unknown()}")
        self.solver.set("timeout", INCREMENTAL_TIMEOUT_MS)
        self.incremental = True
        return self.solver.model() if result == z3.sat else None

    def exclude(self, clause: Term) -> None:
        self.assertions.append(clause)
        self.solver.add(clause)


def _projection(enc: Encoding, tag: str) -> list[tuple[Term, str]]:
    """(term, sort) of every scalar of the concrete projection of state ``tag``:
    each scalar leaf, and entries ``0..n-1`` of each ``array[n]`` leaf."""
    out: list[tuple[Term, str]] = []
    for (_, sort), leaf in zip(leaf_paths(enc.initial), flatten(enc.state(tag)), strict=True):
        if sort.startswith("array"):
            n = int(sort[len("array[") : -1])
            out += [(enc.d.select(leaf, enc.d.int_(j)), "int") for j in range(n)]
        else:
            out.append((leaf, sort))
    return out


def _blocking_clause(enc: Encoding, proj: Sequence[tuple[Term, str]], state: ConcreteState) -> Term:
    """The projection ``proj`` of some state differs from ``state`` somewhere."""
    d = enc.d
    values: list[Any] = []
    for leaf in flatten(state):
        values += list(leaf) if isinstance(leaf, tuple) else [leaf]
    lits = []
    for (term, sort), v in zip(proj, values, strict=True):
        lit = d.bool_(bool(v)) if sort == "bool" else d.word(v) if sort == "word" else d.int_(v)
        lits.append(term != lit)
    return z3.Or(*lits)


def _all_states(
    enc: Encoding, assertions: Sequence[Term], tag: str, limit: int | None
) -> Iterator[ConcreteState]:
    """Every projection of state ``tag`` in a model of ``assertions``."""
    proj = _projection(enc, tag)
    models = _AllSat(assertions)
    count = 0
    while (model := models.next_model()) is not None:
        state = concretize(enc.d, model, enc.state(tag), enc.initial)
        count += 1
        if limit is not None and count > limit:
            raise TooManyStates(f"count: more than {limit} states")
        yield state
        models.exclude(_blocking_clause(enc, proj, state))


def unrolled_states(
    enc: Encoding, depth: int, *, max_states: int | None = None, on_level: OnLevel | None = None
) -> list[frozenset[ConcreteState]]:
    """``out[k]`` (k = 0..depth): the projection of every model of
    ``Init(0) ∧ T(0,1) ∧ ... ∧ T(k-1,k)`` at state ``k``, i.e. every state BMC
    can reach in exactly ``k`` steps, and nothing else.

    Raises :class:`TooManyStates` when a level exceeds ``max_states`` and
    ``TimeoutError`` when z3 answers unknown.
    """
    unrolling = [enc.init_at("0")]
    out: list[frozenset[ConcreteState]] = []
    for k in range(depth + 1):
        if k > 0:
            unrolling.append(enc.trans_at(str(k - 1), str(k)))
        try:
            level = frozenset(_all_states(enc, unrolling, str(k), max_states))
        except TooManyStates as exc:
            raise TooManyStates(f"{exc} at depth {k}") from None
        out.append(level)
        if on_level is not None:
            on_level(k, len(level))
    return out


def _check_deterministic(enc: Encoding) -> None:
    """Raise ``ValueError`` unless ``T`` determines the successor's projection from the
    pre-state and the selected class (for every pre-state, reachable or not)."""
    s = _solver()
    s.add(enc.trans_at("det-pre", "det-a"), enc.trans_at("det-pre", "det-b"))
    a, b = _projection(enc, "det-a"), _projection(enc, "det-b")
    s.add(z3.Or(*(x != y for (x, _), (y, _) in zip(a, b, strict=True))))
    result = s.check()
    if result != z3.unsat:
        raise ValueError(
            f"count: the transition relation is not deterministic per class ({result})"
        )


def image_states(
    enc: Encoding, depth: int, *, max_states: int | None = None, on_level: OnLevel | None = None
) -> list[frozenset[ConcreteState]]:
    """``out[k]`` (k = 0..depth): the states reachable in exactly ``k`` steps of
    z3's transition relation ``T`` from the states z3 finds equal to the initial
    state, and nothing else.

    ``out[0]`` is every projection of a model of ``Init``; ``out[k]`` is every
    projection ``t`` such that ``T(lift(s), t)`` is satisfiable for some ``s`` in
    ``out[k-1]``. A state's successors are enumerated once, however many levels
    it is in, by blocking the selected transition class of each model rather
    than the successor's projection (far fewer, shorter clauses); that is
    complete because a one-time check first proves, over all pre-states, that
    the class determines the successor's projection. Raises
    :class:`TooManyStates` when a level exceeds ``max_states``, ``ValueError``
    when ``T`` is not deterministic per class, and ``TimeoutError`` when z3
    answers unknown.
    """
    _check_deterministic(enc)
    level = frozenset(_all_states(enc, [enc.init_at("0")], "0", max_states))
    out = [level]
    if on_level is not None:
        on_level(0, len(level))
    step = enc.trans_at("image-pre", "image-post")
    pre, post = enc.state("image-pre"), enc.state("image-post")
    selectors = enc.selectors("image-pre")
    chosen = z3.Sum(*(z3.If(x, c, 0) for c, x in enumerate(selectors)))
    image: dict[ConcreteState, frozenset[ConcreteState]] = {}
    for k in range(1, depth + 1):
        nxt: set[ConcreteState] = set()
        for s in level:
            succ = image.get(s)
            if succ is None:
                models = _AllSat([step, equal_states(pre, lift(enc.d, s))])
                found: set[ConcreteState] = set()
                while (model := models.next_model()) is not None:
                    found.add(concretize(enc.d, model, post, enc.initial))
                    c = model.eval(chosen, model_completion=True).as_long()
                    models.exclude(z3.Not(selectors[c]))
                succ = image[s] = frozenset(found)
            nxt |= succ
            if max_states is not None and len(nxt) > max_states:
                raise TooManyStates(f"count: more than {max_states} states at depth {k}")
        level = frozenset(nxt)
        out.append(level)
        if on_level is not None:
            on_level(k, len(level))
    return out
