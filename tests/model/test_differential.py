"""The three interpretations of the model take the same steps: Python values, z3, arrays.

Issue 2, section 3: over many random concrete states (well typed, not
necessarily reachable) the concrete step (``fire`` over Python values) and the
z3 step (the same action fired once on a state of variables, then evaluated at
the lifted concrete state) agree on every action instance's enabledness and,
when it is enabled, on every leaf of the successor (queue arrays: their first
``capacity`` entries). The same holds for every catalogue property: the
concrete ``holds`` and z3's ``property_term`` give the same truth value.

The array interpretation (:mod:`engines.vector`) fires each instance once on a
whole batch of such states; per state it must agree with the concrete step,
and on the batch's first state with z3's as well.

The symbolic side is built once per configuration: each instance fired on
``Encoding.pre`` and each property as a term over ``pre``/``post``. A state is
then plugged in through a z3 model assigning ``pre`` (and ``post``) the lifted
concrete state(s), and each term is evaluated in that model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pytest
import z3
from hypothesis import given
from hypothesis import strategies as st

from engines.encoding import Encoding
from engines.explicit import explore
from engines.rows import Layout
from engines.symbolic import Term, flatten, leaf_paths, lift, unflatten, value_of
from engines.vector import ARRAY
from model.actions import Instance
from model.config import Config
from model.domain import CONCRETE
from model.properties import PROPERTIES
from model.protocol import Cpython313
from model.trace import ConcreteState, diff_states
from tests.model.strategies import near, states

CONFIGS = (
    Config(threads=2, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=1),
    Config(
        threads=3, interp_capacity=1, interp_maxloop=1, main_capacity=3, main_maxloop=2, signals=2
    ),
)
SEED_DEPTH = {2: 5, 3: 4}
"""Per number of threads: the depth of the reachable states that
:func:`tests.model.strategies.near` perturbs (a few thousand states)."""
SEEDS_PER_INSTANCE = 20


@dataclass(frozen=True)
class Interpretations:
    """One configuration's model, concretely and as z3 terms over ``enc.pre``/``enc.post``."""

    enc: Encoding
    concrete: Cpython313[bool, int]
    instances: tuple[Instance, ...]
    guards: tuple[Term, ...]
    properties: dict[str, Term]
    seeds: tuple[list[ConcreteState], ...]
    """Per action instance enabled somewhere within :data:`SEED_DEPTH` steps: up to
    :data:`SEEDS_PER_INSTANCE` reachable states it is enabled in."""
    paths: tuple[tuple[str, str], ...]
    """``leaf_paths`` of the configuration's states."""
    pre_leaves: tuple[Any, ...]
    post_leaves: tuple[tuple[Any, ...] | None, ...]
    """Each instance's successor of ``enc.pre``, flattened (``None``: z3 knows it is disabled)."""

    @property
    def template(self) -> ConcreteState:
        return self.enc.initial


@cache
def interpretations(cfg: Config) -> Interpretations:
    enc = Encoding(Cpython313, cfg, list(PROPERTIES.values()))
    fired = [enc.sym.fire(inst, enc.pre) for inst in enc.sym.instances]
    concrete = Cpython313(cfg, CONCRETE)
    depth = SEED_DEPTH[cfg.threads]
    reachable = sorted(explore(concrete, depth).level(depth), key=repr)
    by_instance: dict[Instance, list[ConcreteState]] = {inst: [] for inst in concrete.instances}
    for s in reachable:
        for inst in [i for i, pool in by_instance.items() if len(pool) < SEEDS_PER_INSTANCE]:
            if concrete.fire(inst, s)[1] is not None:
                by_instance[inst].append(s)
    return Interpretations(
        enc=enc,
        concrete=concrete,
        instances=tuple(enc.sym.instances),
        guards=tuple(enc.d.all(g) for g, _ in fired),
        properties={pid: enc.property_term(pid) for pid in PROPERTIES},
        seeds=tuple(pool for pool in by_instance.values() if pool),
        paths=tuple(leaf_paths(enc.initial)),
        pre_leaves=tuple(flatten(enc.pre)),
        post_leaves=tuple(None if p is None else tuple(flatten(p)) for _, p in fired),
    )


def _assign(model: z3.ModelRef, var: Any, value: Any) -> None:
    """``model``'s value for the state leaf ``var`` (a z3 constant, or a structure of
    them such as an array's representation) becomes the lifted leaf ``value``."""
    if z3.is_expr(var):
        model.update_value(var, value)
        return
    for f in dataclasses.fields(var):
        _assign(model, getattr(var, f.name), getattr(value, f.name))


def plug(it: Interpretations, pre: ConcreteState, post: ConcreteState) -> z3.ModelRef:
    """A z3 model in which ``enc.pre`` is ``pre`` and ``enc.post`` is ``post``."""
    enc = it.enc
    model = z3.Model()
    for sym, state in ((enc.pre, pre), (enc.post, post)):
        for var, value in zip(flatten(sym), flatten(lift(enc.d, state)), strict=True):
            _assign(model, var, value)
    return model


def successor(
    it: Interpretations, model: z3.ModelRef, pre: list[Any], post: tuple[Any, ...]
) -> ConcreteState:
    """The concrete state ``model`` gives a symbolic successor of ``enc.pre`` (its
    leaves ``post``), ``pre`` being the leaves ``model`` gives ``enc.pre``.

    A leaf of ``post`` that is ``pre``'s own variable is ``pre``'s value by the
    construction of ``model``; only the others are evaluated.
    """
    d = it.enc.d
    values = []
    for (_, sort), var, leaf, old in zip(it.paths, it.pre_leaves, post, pre, strict=True):
        unchanged = leaf is var or (z3.is_expr(leaf) and leaf.eq(var))
        values.append(old if unchanged else value_of(d, model, leaf, sort))
    return unflatten(it.template, values)


def truth(model: z3.ModelRef, term: Term) -> bool:
    """The truth value of ``term`` in ``model``.

    The model evaluator leaves some quantified formulas (the queue properties)
    unreduced; those are closed formulas by then, decided by a solver.
    """
    value = model.eval(term, model_completion=True)
    if z3.is_true(value) or z3.is_false(value):
        return bool(z3.is_true(value))
    solver = z3.Solver()
    if solver.check(z3.Not(value)) == z3.unsat:
        return True
    if solver.check(value) == z3.unsat:
        return False
    raise AssertionError(f"z3 cannot decide a closed formula: {value}")


def show(it: Interpretations, state: ConcreteState) -> str:
    """``state`` as its differences from the initial state."""
    changes = diff_states(it.template, state)
    return "initial state with " + (
        ", ".join(f"{p}={new!r}" for p, _, new in changes) or "no change"
    )


@pytest.fixture(scope="module", autouse=True)
def _build_interpretations() -> None:
    """Build the symbolic side before Hypothesis times the first example's generation."""
    for cfg in CONFIGS:
        interpretations(cfg)


def pre_states(cfg: Config) -> st.SearchStrategy[ConcreteState]:
    it = interpretations(cfg)
    # Random states rarely enable anything; states near one where a given instance is
    # enabled exercise every action, the rare ones too, and still stray off the
    # reachable set.
    directed = st.sampled_from(it.seeds).flatmap(lambda pool: near(pool, it.template))
    return st.one_of(states(it.template), directed)


@st.composite
def config_and_state(draw: st.DrawFn) -> tuple[Config, ConcreteState]:
    cfg = draw(st.sampled_from(CONFIGS))
    return cfg, draw(pre_states(cfg))


@given(config_and_state())
def test_concrete_and_z3_steps_agree(case: tuple[Config, ConcreteState]) -> None:
    """Every instance: the same enabledness, and when enabled the same successor."""
    cfg, pre = case
    it = interpretations(cfg)
    model = plug(it, pre, pre)
    pre_values = flatten(pre)
    for inst, guard_term, post_leaves in zip(it.instances, it.guards, it.post_leaves, strict=True):
        try:
            guard, post = it.concrete.fire(inst, pre)
        except Exception as exc:  # the z3 step is defined everywhere; so must this be
            pytest.fail(f"{inst.label} in {show(it, pre)}: the concrete step raised {exc!r}")
        z3_guard = truth(model, guard_term)
        if guard != z3_guard:
            pytest.fail(
                f"{inst.label} in {show(it, pre)}: enabled concretely: {guard}, by z3: {z3_guard}"
            )
        if not guard:
            continue
        assert post is not None
        assert post_leaves is not None
        z3_post = successor(it, model, pre_values, post_leaves)
        if post != z3_post:
            leaves = "; ".join(
                f"{p}: concrete {a!r}, z3 {b!r}" for p, a, b in diff_states(post, z3_post)
            )
            pytest.fail(f"{inst.label} in {show(it, pre)}: the successors differ at {leaves}")


@st.composite
def config_and_two_states(draw: st.DrawFn) -> tuple[Config, ConcreteState, ConcreteState]:
    cfg = draw(st.sampled_from(CONFIGS))
    it = interpretations(cfg)
    pre = draw(pre_states(cfg))
    # A step property is about a state and its successor: mostly a real successor.
    successors = [post for _, post in it.concrete.successors(pre)]
    post_options = [pre_states(cfg)]
    if successors:
        post_options.insert(0, st.sampled_from(successors))
    return cfg, pre, draw(st.one_of(*post_options))


@given(config_and_two_states())
def test_concrete_and_z3_properties_agree(
    case: tuple[Config, ConcreteState, ConcreteState],
) -> None:
    """Every property (step properties on the pair): the same truth value."""
    cfg, pre, post = case
    it = interpretations(cfg)
    model = plug(it, pre, post)
    for pid, prop in PROPERTIES.items():
        concrete = bool(prop.holds(it.concrete, pre, post if prop.step else None))
        z3_value = truth(model, it.properties[pid])
        if concrete != z3_value:
            states = f"pre = {show(it, pre)}" + (f"; post = {show(it, post)}" if prop.step else "")
            pytest.fail(f"{pid}: concretely {concrete}, by z3 {z3_value}, in {states}")


# -- the third interpretation: batches of states as arrays -----------------------------------


@st.composite
def config_and_batch(draw: st.DrawFn) -> tuple[Config, list[ConcreteState]]:
    cfg = draw(st.sampled_from(CONFIGS))
    return cfg, draw(st.lists(pre_states(cfg), min_size=1, max_size=24))


def _array_model(cfg: Config) -> tuple[Cpython313[Any, Any], Layout]:
    return Cpython313(cfg, ARRAY), Layout.of(interpretations(cfg).template)


@given(config_and_batch())
def test_array_steps_agree_with_concrete_and_z3(case: tuple[Config, list[ConcreteState]]) -> None:
    """Every instance fired once on a batch: per state, the concrete guard and
    successor; for the batch's first state, z3's too (three interpretations, one state)."""
    cfg, batch = case
    it = interpretations(cfg)
    array, layout = _array_model(cfg)
    block = layout.block(batch)
    first = plug(it, batch[0], batch[0])
    first_values = flatten(batch[0])
    for inst, guard_term, post_leaves in zip(it.instances, it.guards, it.post_leaves, strict=True):
        guard, post = array.fire(inst, layout.batch(block))
        mask = np.broadcast_to(guard, (len(batch),))
        posts = layout.pack(post, len(batch)) if post is not None else None
        for j, pre in enumerate(batch):
            c_guard, c_post = it.concrete.fire(inst, pre)
            if bool(mask[j]) != c_guard:
                pytest.fail(
                    f"{inst.label} in {show(it, pre)}: enabled concretely: {c_guard}, "
                    f"by the arrays: {bool(mask[j])}"
                )
            if c_guard:
                assert posts is not None
                assert c_post is not None
                a_post = layout.state(posts, j)
                if a_post != c_post:
                    leaves = "; ".join(
                        f"{p}: concrete {a!r}, arrays {b!r}"
                        for p, a, b in diff_states(c_post, a_post)
                    )
                    pytest.fail(
                        f"{inst.label} in {show(it, pre)}: the successors differ at {leaves}"
                    )
        if truth(first, guard_term) != bool(mask[0]):
            pytest.fail(
                f"{inst.label} in {show(it, batch[0])}: z3 and the arrays disagree on the guard"
            )
        if mask[0] and post_leaves is not None and posts is not None:
            assert successor(it, first, first_values, post_leaves) == layout.state(posts, 0)


@given(config_and_batch())
def test_array_properties_agree_with_concrete_and_z3(
    case: tuple[Config, list[ConcreteState]],
) -> None:
    """Every property on a batch (step properties on (state, next state of the batch))."""
    cfg, batch = case
    it = interpretations(cfg)
    array, layout = _array_model(cfg)
    posts = [*batch[1:], batch[0]]
    pre_b, post_b = layout.batch(layout.block(batch)), layout.batch(layout.block(posts))
    first = plug(it, batch[0], posts[0])
    for pid, prop in PROPERTIES.items():
        values = np.broadcast_to(
            prop.holds(array, pre_b, post_b if prop.step else None), (len(batch),)
        )
        for j, (pre, post) in enumerate(zip(batch, posts, strict=True)):
            concrete = bool(prop.holds(it.concrete, pre, post if prop.step else None))
            if concrete != bool(values[j]):
                pytest.fail(
                    f"{pid}: concretely {concrete}, by the arrays {bool(values[j])}, "
                    f"in {show(it, pre)}"
                )
        assert truth(first, it.properties[pid]) == bool(values[0]), pid
