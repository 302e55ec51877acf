"""gh-110693: the pending-call ring's full test.

https://github.com/python/cpython/issues/110693. Up to CPython 3.12 the ring
``pending->calls[NPENDINGCALLS]`` was full when ``(last + 1) % N == first``, so
a ring of N slots held N-1 calls.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from model.actions import Effect
from model.protocol import Cpython313
from model.state import State
from model.variants import register


class RingOffByOne(Cpython313[Any, Any]):
    """gh-110693 (CPython <= 3.12): a ring of N holds N-1 calls.

    ``_push_pending_call()`` refused an add when one slot was still free.
    Refuted by STEP-REFUSED-ADD-CHANGES-NOTHING: an add is refused while the
    queue is not full.
    """

    refuted_by = "STEP-REFUSED-ADD-CHANGES-NOTHING"

    def add_pending_call(self, s: State[Any, Any], t: int, q: int) -> Effect:
        """Mirrors ``_push_pending_call()`` of CPython 3.12.

        Deviates from the 3.13 action only in the full test: ``npending >=
        max - 1`` instead of ``npending == max``.
        """
        post = yield from super().add_pending_call(s, t, q)
        d = self.d
        pq = self.queue(s, q)
        # The one case the tests differ on: the last free slot, refused here.
        refused = self.with_queue(post, q, dataclasses.replace(pq, refused=d.add(pq.refused, 1)))
        return d.ite(d.eq(pq.npending, self.capacity(q) - 1), refused, post)


register("gh-110693-off-by-one", RingOffByOne)


class RingOverwritesOldest(Cpython313[Any, Any]):
    """gh-110693, second form: a full ring overwrites its oldest call.

    The silent loss the gh-110693 discussion warns of, were the full test
    dropped from a ring. Refuted by INV-CALL-NO-LOSS: an accepted call neither
    ran nor is queued.
    """

    refuted_by = "INV-CALL-NO-LOSS"

    def add_pending_call(self, s: State[Any, Any], t: int, q: int) -> Effect:
        """Mirrors ``_push_pending_call()`` with no ``_Py_ADD_PENDING_FULL`` result.

        Deviates from the 3.13 action only when full: the call goes to slot
        ``first`` (the oldest), ``first`` moves on and ``npending`` stays.
        """
        post = yield from super().add_pending_call(s, t, q)
        d = self.d
        pq = self.queue(s, q)
        overwritten = dataclasses.replace(
            pq,
            calls=d.store(pq.calls, pq.first, pq.added),
            first=self.wrap(q, d.add(pq.first, 1)),
            added=d.add(pq.added, 1),
        )
        full = d.le(self.capacity(q), pq.npending)
        return d.ite(full, self.with_queue(post, q, overwritten), post)


register("gh-110693-overwrite", RingOverwritesOldest)
