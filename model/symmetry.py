"""Renaming threads: the symmetry of the protocol that search reduces by.

CPython's protocol treats every thread but the main thread alike: no guard
or effect names thread 1 or thread 2, only "the main thread", "the holder",
"the handling thread", "this thread". Renaming the non-main threads by a
permutation therefore maps every behaviour to a behaviour, and every
property (each quantifies over threads, or names the main thread) keeps its
value. :func:`permute` applies one renaming to a state: the threads move to
their new places, and every value that holds a thread id (``last_holder``,
``handling_thread``) is renamed with them. Nothing else in the state holds a
thread id: a thread's own fields (its exception ids, its frames) travel with
it, and queued calls are not tied to a thread.

Exhaustive search keeps one state per orbit (:mod:`engines.exhaustive`); a
test compares the orbits it reaches with the full search. A variant that
treats some non-main thread specially sets ``symmetric = False``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Any

from model.domain import Domain, Terms
from model.state import NULL, State


def renamings(threads: int) -> list[tuple[int, ...]]:
    """Every permutation of the threads that fixes the main thread (0), identity first."""
    return [(0, *p) for p in itertools.permutations(range(1, threads))]


def permute(d: Domain[Any, Any], s: State[Any, Any], sigma: Sequence[int]) -> State[Any, Any]:
    """``s`` with thread ``k`` renamed ``sigma[k]``."""
    n = len(s.threads)
    if sorted(sigma) != list(range(n)) or sigma[0] != 0:
        raise ValueError(f"permute: {tuple(sigma)} is not a renaming of threads 1..{n - 1}")
    threads: list[Any] = [None] * n
    for k, th in enumerate(s.threads):
        threads[sigma[k]] = th
    terms = Terms(d)
    names = [d.int_(sigma[k]) for k in range(n)]

    def rename(tid: Any) -> Any:
        return terms.select(names, tid)

    return dataclasses.replace(
        s,
        last_holder=rename(s.last_holder),
        handling_thread=d.ite(
            d.eq(s.handling_thread, NULL), d.int_(NULL), rename(s.handling_thread)
        ),
        threads=tuple(threads),
    )
