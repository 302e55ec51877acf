"""gh-110693: the pending-call ring's full test.

https://github.com/python/cpython/issues/110693. Up to CPython 3.12 the ring
``pending->calls[NPENDINGCALLS]`` was full when ``(last + 1) % N == first``, so
a ring of N slots held N-1 calls.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from model.actions import Effect
from model.phases import Phase
from model.protocol import Cpython313
from model.state import State
from model.variants import register


class RingOffByOne(Cpython313[Any, Any]):
    """gh-110693 (CPython <= 3.12): a ring of N holds N-1 calls.

    ``_push_pending_call()`` refused an add when one slot was still free.
    Refuted by STEP-REFUSED-ADD-CHANGES-NOTHING: an add is refused while the
    queue is not full.
    """

    def add_pending_call(self, s: State[Any, Any], t: int, q: int) -> Effect:
        """Mirrors ``_push_pending_call()`` of CPython 3.12.

        Deviates from the 3.13 action only in the full test: ``npending >=
        max - 1`` instead of ``npending == max``.
        """
        d = self.d
        me = s.threads[t]
        yield d.all(
            d.eq(me.adding, 0),
            d.any(self.runs_python(me), d.all(d.eq(me.phase, Phase.DETACHED), me.c_code)),
        )
        pq = self.queue(s, q)
        full = d.le(self.capacity(q) - 1, pq.npending)
        accepted = dataclasses.replace(
            pq,
            calls=d.store(pq.calls, self.wrap(q, d.add(pq.first, pq.npending)), pq.added),
            npending=d.add(pq.npending, 1),
            added=d.add(pq.added, 1),
        )
        refused = dataclasses.replace(pq, refused=d.add(pq.refused, 1))
        out = self.with_queue(s, q, d.ite(full, refused, accepted))
        return self.update_thread(out, t, lambda th: dataclasses.replace(th, adding=d.int_(q + 1)))


register("gh-110693-off-by-one", RingOffByOne)


class RingOverwritesOldest(Cpython313[Any, Any]):
    """gh-110693, second form: a full ring overwrites its oldest call.

    The silent loss the gh-110693 discussion warns of, were the full test
    dropped from a ring. Refuted by INV-CALL-NO-LOSS: an accepted call neither
    ran nor is queued.
    """

    def add_pending_call(self, s: State[Any, Any], t: int, q: int) -> Effect:
        """Mirrors ``_push_pending_call()`` with no ``_Py_ADD_PENDING_FULL`` result.

        Deviates from the 3.13 action only when full: the call goes to slot
        ``first`` (the oldest), ``first`` moves on and ``npending`` stays.
        """
        d = self.d
        me = s.threads[t]
        yield d.all(
            d.eq(me.adding, 0),
            d.any(self.runs_python(me), d.all(d.eq(me.phase, Phase.DETACHED), me.c_code)),
        )
        pq = self.queue(s, q)
        full = d.le(self.capacity(q), pq.npending)
        accepted = dataclasses.replace(
            pq,
            calls=d.store(pq.calls, self.wrap(q, d.add(pq.first, pq.npending)), pq.added),
            npending=d.add(pq.npending, 1),
            added=d.add(pq.added, 1),
        )
        overwritten = dataclasses.replace(
            pq,
            calls=d.store(pq.calls, pq.first, pq.added),
            first=self.wrap(q, d.add(pq.first, 1)),
            added=d.add(pq.added, 1),
        )
        out = self.with_queue(s, q, d.ite(full, overwritten, accepted))
        return self.update_thread(out, t, lambda th: dataclasses.replace(th, adding=d.int_(q + 1)))


register("gh-110693-overwrite", RingOverwritesOldest)
