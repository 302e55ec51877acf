"""Finalization bugs: gh-96387 (a waiter that must exit leaves its drop request
set) and bpo-36475 (a waiter that acquires during finalization runs on).

https://github.com/python/cpython/issues/96387 (fixed by PR #96869, 3.11
backport #96941). A daemon thread timed out in ``take_gil()``, set
``gil_drop_request`` on the holder, then exited because the runtime was
finalizing; nobody waits for the GIL, so the holder's FORCE_SWITCHING wait in
``drop_gil()`` never ends.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from model.actions import Effect
from model.phases import Phase
from model.protocol import Cpython313
from model.state import State
from model.variants import register


class ExitKeepsDropRequest(Cpython313[Any, Any]):
    """gh-96387: ``take_gil()`` exits at finalization without resetting its drop request.

    Refuted by INV-DROP-REQUEST-HAS-REQUESTER: the holder's drop request is set
    and no thread waits for the GIL.
    """

    refuted_by = "INV-DROP-REQUEST-HAS-REQUESTER"

    def take_gil_wake(self, s: State[Any, Any], t: int, timed_out: bool) -> Effect:
        """Mirrors ``take_gil()``'s wait loop before PR #96869 (CPython <= 3.11.0).

        Deviates from the 3.13 action only when the waiter exits: the holder's
        breaker keeps the bit this waiter set.
        """
        post = yield from super().take_gil_wake(s, t, timed_out)
        d = self.d
        exited = d.eq(post.threads[t].phase, Phase.EXITED)
        holder_breaker = self.terms.select([th.breaker for th in s.threads], s.last_holder)
        kept = self.update_thread_at(
            post, s.last_holder, lambda th: dataclasses.replace(th, breaker=holder_breaker)
        )
        return d.ite(exited, kept, post)


class SwitchWaitWithoutSpuriousEnd(Cpython313[Any, Any]):
    """``drop_gil()``'s switch_cond wait ends only once another thread took the GIL.

    Not a bug on its own (``while (last_holder == tstate) COND_WAIT(...)`` is a
    candidate fix of LIVE-FORCED-SWITCH-STRICT); the hang form of gh-96387 needs it.
    """

    def switch_wake(self, s: State[Any, Any], t: int) -> Effect:
        """Mirrors the end of ``drop_gil()``'s ``COND_WAIT(gil->switch_cond)``.

        Deviates from the 3.13 action: no spurious wake-up. POSIX allows them
        but they are rare, and the reported hang is the run in which none came;
        the faithful model, where one is always possible, has no deadlock here.
        """
        d = self.d
        me = s.threads[t]
        yield d.all(d.eq(me.phase, Phase.SWITCH_WAIT), d.ne(s.last_holder, t))
        return self.with_thread(s, t, dataclasses.replace(me, phase=d.int_(Phase.DETACHED)))


class ExitKeepsDropRequestHang(ExitKeepsDropRequest, SwitchWaitWithoutSpuriousEnd):
    """gh-96387 as it was reported, a hang: the drop request stays set and the
    holder's switch_cond wait does not end spuriously.

    Refuted by INV-NO-DEADLOCK: the holder waits in ``drop_gil()`` for a switch
    and every other thread has exited.
    """

    refuted_by = "INV-NO-DEADLOCK"


class AcquireIgnoresFinalization(Cpython313[Any, Any]):
    """bpo-36475: a thread that was waiting when finalization began takes the GIL and runs.

    https://bugs.python.org/issue36475 (fixed in 3.8 by commit f781d202, GH-12667):
    ``PyEval_AcquireLock()`` and ``PyEval_AcquireThread()`` took the GIL without
    exiting when the interpreter was finalizing, so a daemon thread could run
    Python code during ``Py_Finalize()``; the process hung at exit.

    Refuted by STEP-NO-TAKE-AFTER-FINALIZE: a thread other than the main one
    comes to hold the GIL after finalization has started.
    """

    refuted_by = "STEP-NO-TAKE-AFTER-FINALIZE"

    def acquired(self, s: State[Any, Any], t: int) -> State[Any, Any]:
        """Mirrors ``take_gil()`` without the post-acquire ``_PyThreadState_MustExit()``
        check that bpo-36475 added: the take is computed as if finalization had
        not begun, and the flag is put back."""
        running = super().acquired(dataclasses.replace(s, finalizing=self.d.bool_(False)), t)
        return dataclasses.replace(running, finalizing=s.finalizing)


register("bpo-36475", AcquireIgnoresFinalization)
register("gh-96387", ExitKeepsDropRequest)
register("gh-96387-hang", ExitKeepsDropRequestHang)
