"""A free-running load whose impl hangs ends with :class:`Stalled`, not never.

``release-keeps-mutex`` (conformance/broken_impls.py) leaves ``gil->mutex`` held
at every release, so the next thread to take the GIL blocks for ever. The load
notices that no thread logs anything and stops, naming the threads.
"""

from __future__ import annotations

import pytest

from conformance.broken_impls import MUTATIONS
from conformance.kill import trace_validation
from conformance.soak import Load, LoadSpec, Stalled


def test_a_hanging_impl_stalls_the_load_which_says_so() -> None:
    load = Load(LoadSpec(threads=3, steps=200, stall=0.5), mutate=MUTATIONS["release-keeps-mutex"])
    with pytest.raises(Stalled, match=r"^no event for 0\.5 s while threads T\d"):
        load.run()
    assert load.stalled
    assert load.ended is not None, "the run ended, its finally clause ran"


def test_the_kill_matrix_counts_a_hang_as_a_deadlock_kill() -> None:
    done = trace_validation("release-keeps-mutex", seeds=1, stall=0.5)
    assert done.caught
    assert done.kind == "deadlock"
    assert done.note.startswith("seed 0: no event for 0.5 s")
