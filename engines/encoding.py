"""The model as a z3 transition system, derived by running the model symbolically.

:class:`Encoding` fires every action instance of the model once on a state of
free variables (``pre``); each instance gives a guard and a successor state.
From those it builds one formula ``T(pre, post, sel)``: ``sel`` picks one
instance, its guard holds, and every leaf of ``post`` equals what that
instance computes (leaves an instance does not touch keep their value). The
engines copy this template to each step of an unrolling with
``z3.substitute``, which is far cheaper than firing the model again.

No transition is written here: a variant's override changes the encoding
because the encoding is the variant's own code, interpreted over z3.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

import z3

from engines.symbolic import (
    Term,
    Z3Domain,
    equal_states,
    flatten,
    fresh_state,
    leaf_paths,
    lift,
)
from model.actions import Instance
from model.config import Config
from model.domain import CONCRETE
from model.properties import Property
from model.state import State


class Encoding:
    """The transition relation, initial state and properties of one model as z3 terms.

    Action instances with the same guard and the same effect (the four check
    point instructions of a thread, say) are one *transition class*; the
    relation picks exactly one class per step with one-hot selectors, which
    z3 searches faster than an integer action variable.
    """

    def __init__(self, model_cls: type[Any], cfg: Config, properties: Sequence[Property]) -> None:
        self.cfg = cfg
        self.d = Z3Domain()
        self.sym = model_cls(cfg, self.d)
        self.concrete = model_cls(cfg, CONCRETE)
        self.initial: State[bool, int] = self.concrete.initial()
        self.paths = leaf_paths(self.initial)
        self.properties = {p.id: p for p in properties}
        self.pre = fresh_state(self.d, self.initial, "pre")
        self.post = fresh_state(self.d, self.initial, "post")
        self.instances: tuple[Instance, ...] = self.sym.instances
        self.guards: list[Term] = []
        self._posts: list[State[Any, Any]] = []
        self._states: dict[str, State[Any, Any]] = {}
        for inst in self.instances:
            guard, post = self.sym.fire(inst, self.pre)
            self.guards.append(self.d.all(guard))
            self._posts.append(post if post is not None else self.pre)
        # Transition classes: the live instances grouped by (guard, effect).
        classes: dict[tuple[int, ...], list[int]] = {}
        for i, g in enumerate(self.guards):
            if z3.is_false(g):
                continue
            key = (g.get_id(), *(leaf.get_id() for leaf in flatten(self._posts[i])))
            classes.setdefault(key, []).append(i)
        self.classes: list[list[int]] = list(classes.values())
        """Instance indices of each class; the first is the class's representative."""
        self._sel_pre = [z3.Bool(f"sel{c}@pre") for c in range(len(self.classes))]

    # -- templates --------------------------------------------------------------------------

    @cached_property
    def trans(self) -> Term:
        """``T(pre, post, sel)``: exactly one class is selected, its guard holds, and
        ``post`` is its effect on ``pre``."""
        pre_leaves = flatten(self.pre)
        post_vars = flatten(self.post)
        sel = self._sel_pre
        groups: list[dict[int, tuple[Term, list[int]]]] = [{} for _ in pre_leaves]
        for c, members in enumerate(self.classes):
            for j, (a, b) in enumerate(
                zip(pre_leaves, flatten(self._posts[members[0]]), strict=True)
            ):
                if b is a or b.eq(a):
                    continue
                groups[j].setdefault(b.get_id(), (b, []))[1].append(c)
        parts: list[Term] = [z3.PbEq([(x, 1) for x in sel], 1)]
        for c, members in enumerate(self.classes):
            g = self.guards[members[0]]
            if not z3.is_true(g):
                parts.append(z3.Implies(sel[c], g))
        for j, (a, var) in enumerate(zip(pre_leaves, post_vars, strict=True)):
            value = a
            for term, cs in reversed(list(groups[j].values())):
                value = z3.If(z3.Or(*[sel[c] for c in cs]), term, value)
            parts.append(var == value)
        return z3.And(*parts)

    def quantified(self, pid: str) -> bool:
        """Whether property ``pid``'s formula has a quantifier."""
        return _has_quantifier(self.property_term(pid))

    def property_term(self, pid: str) -> Term:
        """Property ``pid`` over ``pre`` (state property) or ``(pre, post)`` (step)."""
        return self._property_terms[pid]

    @cached_property
    def _property_terms(self) -> dict[str, Term]:
        out: dict[str, Term] = {}
        for pid, prop in self.properties.items():
            out[pid] = self.d.all(prop.holds(self.sym, self.pre, self.post if prop.step else None))
        return out

    # -- unrolling --------------------------------------------------------------------------

    def state(self, tag: str) -> State[Any, Any]:
        """The state of variables ``path@tag`` (made once per tag)."""
        if tag not in self._states:
            self._states[tag] = fresh_state(self.d, self.initial, tag)
        return self._states[tag]

    def selectors(self, tag: str) -> list[Term]:
        """The one-hot class selectors of the step leaving state ``tag``."""
        return [z3.Bool(f"sel{c}@{tag}") for c in range(len(self.classes))]

    def _pairs(self, pre: State[Any, Any], post: State[Any, Any] | None) -> list[tuple[Term, Term]]:
        pairs = list(zip(flatten(self.pre), flatten(pre), strict=True))
        if post is not None:
            pairs += list(zip(flatten(self.post), flatten(post), strict=True))
        return pairs

    def trans_at(self, pre_tag: str, post_tag: str) -> Term:
        """``T`` from state ``pre_tag`` to ``post_tag``, with the selectors of ``pre_tag``."""
        pairs = self._pairs(self.state(pre_tag), self.state(post_tag))
        pairs += list(zip(self._sel_pre, self.selectors(pre_tag), strict=True))
        return z3.substitute(self.trans, *pairs)

    def property_at(self, pid: str, tag: str, next_tag: str | None = None) -> Term:
        """Property ``pid`` at state ``tag`` (step properties: on the step ``tag -> next_tag``)."""
        prop = self.properties[pid]
        if prop.step:
            if next_tag is None:
                raise ValueError(f"{pid} is a step property: give the successor's tag")
            return z3.substitute(
                self.property_term(pid), *self._pairs(self.state(tag), self.state(next_tag))
            )
        return z3.substitute(self.property_term(pid), *self._pairs(self.state(tag), None))

    def guard_at(self, index: int, tag: str) -> Term:
        return z3.substitute(self.guards[index], *self._pairs(self.state(tag), None))

    def term_at(self, term: Term, tag: str) -> Term:
        """A formula over ``pre`` moved to state ``tag``."""
        return z3.substitute(term, *self._pairs(self.state(tag), None))

    def init_at(self, tag: str) -> Term:
        return equal_states(self.state(tag), lift(self.d, self.initial))

    def step_at(self, model: z3.ModelRef, tag: str) -> Instance:
        """The action instance ``model`` takes at step ``tag`` (its class's representative)."""
        for c, x in enumerate(self.selectors(tag)):
            if z3.is_true(model.eval(x, model_completion=True)):
                return self.instances[self.classes[c][0]]
        raise ValueError(f"no transition selected at step {tag}")

    def distinct(self, tag_a: str, tag_b: str) -> Term:
        """The two states differ somewhere (the simple-path constraint)."""
        return z3.Not(equal_states(self.state(tag_a), self.state(tag_b)))


def _has_quantifier(term: Term) -> bool:
    seen: set[int] = set()
    stack = [term]
    while stack:
        t = stack.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_quantifier(t):
            return True
        stack.extend(t.children())
    return False
