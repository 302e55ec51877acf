"""gh-95820: a pending call added from another thread does not wake the main thread.

https://github.com/python/cpython/issues/95820 (a regression since 3.9, from
bpo-40010): ``_PyEval_AddPendingCall()`` set the eval breaker only if the
*adding* thread could run the call, so a main-thread call added from another
thread never ran while the main thread kept the GIL.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from model.actions import Effect
from model.base import MAIN, MAINQ
from model.protocol import Cpython313
from model.state import State
from model.variants import register


class AdderOnlySignal(Cpython313[Any, Any]):
    """gh-95820: a main-thread call is signalled only when the main thread adds it.

    Refuted by INV-NO-LOST-WAKEUP: a call waits in the main-thread queue, the
    main thread holds the GIL, and its CALLS_TO_DO bit is clear.
    """

    refuted_by = "INV-NO-LOST-WAKEUP"

    def signal_pending_call(self, s: State[Any, Any], t: int, q: int) -> Effect:
        """Mirrors the signalling half of ``_PyEval_AddPendingCall()`` of CPython 3.9-3.11.

        Deviates from the 3.13 action only for a main-thread call added by
        another thread: no bit is set (the adding thread cannot run it).
        """
        if q != MAINQ or t == MAIN:
            return (yield from super().signal_pending_call(s, t, q))
        d = self.d
        yield d.eq(s.threads[t].adding, q + 1)
        return self.update_thread(s, t, lambda th: dataclasses.replace(th, adding=d.int_(0)))


register("gh-95820", AdderOnlySignal)
