"""Hypothesis strategies for model states: well typed, not necessarily reachable.

:func:`states` draws a concrete :class:`~model.state.State` of a configuration's
shape, leaf by leaf, from small ranges that include values no reachable state
has (negative counters, phases and stages out of their enums, queue entries
that break FIFO order, any 16-bit breaker word). The differential test wants
exactly that: the two interpretations must agree everywhere, not only where
the protocol goes.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from engines.symbolic import flatten, leaf_paths, unflatten
from model.bits import EVENTS_MASK, VERSION_STEP, WORD_MASK, Bit
from model.phases import Phase, Stage
from model.trace import ConcreteState

SMALL = st.integers(min_value=-2, max_value=5)
"""Counters, ids, indices: mostly in range, sometimes not."""

WORDS = st.one_of(
    st.builds(
        lambda events, version: events | version,
        st.sets(st.sampled_from(list(Bit))).map(lambda bits: sum(bits, 0) & EVENTS_MASK),
        st.sampled_from([0, VERSION_STEP, 2 * VERSION_STEP, WORD_MASK & ~EVENTS_MASK]),
    ),
    st.integers(min_value=0, max_value=WORD_MASK),
)
"""Breaker-like words: a few event bits and a version, or any 16-bit value."""


def _ints_for(path: str) -> st.SearchStrategy[int]:
    last = path.rsplit(".", 1)[-1]
    if last == "phase":
        return st.integers(min(Phase) - 1, max(Phase) + 1)
    if last == "stage":
        return st.integers(min(Stage) - 1, max(Stage) + 1)
    return SMALL


def _leaf(path: str, sort: str) -> st.SearchStrategy[Any]:
    if sort == "bool":
        return st.booleans()
    if sort == "word":
        return WORDS
    if sort.startswith("array["):
        n = int(sort[len("array[") : -1])
        return st.tuples(*(SMALL for _ in range(n)))
    return _ints_for(path)


def states(template: ConcreteState) -> st.SearchStrategy[ConcreteState]:
    """Concrete states shaped like ``template`` (same threads, signals, capacities)."""
    leaves = [_leaf(path, sort) for path, sort in leaf_paths(template)]
    return st.tuples(*leaves).map(lambda values: unflatten(template, list(values)))


def near(
    pool: list[ConcreteState], template: ConcreteState, *, changes: int = 12
) -> st.SearchStrategy[ConcreteState]:
    """A state of ``pool`` (reachable states, say) with up to ``changes`` leaves redrawn.

    Random states rarely enable an action or satisfy a property; states close to
    reachable ones do both, and still stray off the reachable set.
    """
    paths = leaf_paths(template)
    leaves = [_leaf(path, sort) for path, sort in paths]

    @st.composite
    def draw(data: st.DrawFn) -> ConcreteState:
        base = data(st.sampled_from(pool))
        values = list(flatten(base))
        for k in data(st.lists(st.integers(0, len(paths) - 1), max_size=changes, unique=True)):
            values[k] = data(leaves[k])
        return unflatten(template, values)

    return draw()
