"""The implementations the harness can drive: ``impl`` as it is, and broken ones.

A broken implementation is ``impl`` with one deliberate bug, made in tests
only (``impl/`` is never changed): the harness must catch each one
(tests/conformance/test_stateful_broken.py), and ``gilcheck replay
--variant-impl NAME`` replays a trace on it. Each bug is introduced by
re-classing one freshly built object to a subclass that overrides one method
and calls the real one; the subclasses declare no fields (``__slots__ = ()``),
so the object's layout stays that of the class ``impl`` built.

:data:`MODEL_MUTANTS` holds the model variants that have the same bug as a
broken implementation, registered with :mod:`model.variants` under the same
name, for counterexamples of a mutated model (tests/conformance/test_replay.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

from conformance.impl_side import ImplFactory, cpython_impl, fair_impl
from impl import GIL, BlockPoint, Interpreter, Pending, ThreadState
from impl import Bit as ImplBit
from impl.signals import SignalState
from model.actions import Effect
from model.bits import Bit
from model.domain import B, I
from model.protocol import Cpython313
from model.state import State
from model.state import ThreadState as ThreadStateM
from model.variants import VARIANTS, register

CORRECT: Final = "cpython-3.13"

IMPLS: dict[str, ImplFactory] = {CORRECT: cpython_impl}
"""Every implementation by name; :data:`CORRECT` is ``impl`` itself."""

DESIGNS: dict[str, ImplFactory] = {"fair-gil": fair_impl}
"""``impl``'s counterparts of model designs (:mod:`model.designs`), by the design's
variant name: not bugs, so kept out of :data:`IMPLS` (the kill matrix's broken rows,
:data:`BROKEN`); the harness and ``gilcheck replay --variant-impl`` take them too."""

Mutation = Callable[[Interpreter], None]
MUTATIONS: dict[str, Mutation] = {}
"""Each broken implementation's bug, applied to a freshly built ``Interpreter``:
the harness's (:data:`IMPLS`) or a free-running load's (``conformance.soak``)."""


def _broken(name: str) -> Callable[[Mutation], Mutation]:
    def register_impl(mutate: Mutation) -> Mutation:
        def factory(*args: Any) -> Interpreter:
            interp = cpython_impl(*args)
            mutate(interp)
            return interp

        MUTATIONS[name] = mutate
        IMPLS[name] = factory
        return mutate

    return register_impl


# -- release does not notify the condition ---------------------------------------------------


class _MutedWaiter:
    """Forwards to the real waiter but drops ``COND_SIGNAL(gil->cond)``."""

    def __init__(self, waiter: Any) -> None:
        self._waiter = waiter

    def timed_wait(self, ts: ThreadState, cond: threading.Condition, timeout: float) -> bool:
        result: bool = self._waiter.timed_wait(ts, cond, timeout)
        return result

    def wait(self, ts: ThreadState, cond: threading.Condition) -> None:
        self._waiter.wait(ts, cond)

    def notify(self, cond: threading.Condition, point: BlockPoint) -> None:
        if point is not BlockPoint.TAKE_GIL:
            self._waiter.notify(cond, point)


class _NoNotifyGIL(GIL):  # deliberately broken
    __slots__ = ()

    def release(self, ts: ThreadState) -> None:
        waiter = self._waiter
        self._waiter = _MutedWaiter(waiter)
        try:
            super().release(ts)
        finally:
            self._waiter = waiter


@_broken("no-notify-on-release")
def no_notify_on_release(interp: Interpreter) -> None:
    """``drop_gil`` releases the GIL without ``COND_SIGNAL(gil->cond)``: a waiter
    then wakes only when its interval expires."""
    interp.gil.__class__ = _NoNotifyGIL


# -- release keeps gil->mutex locked after signalling a waiter ------------------------------


class _KeepMutexGIL(GIL):  # deliberately broken
    __slots__ = ()

    def release(self, ts: ThreadState) -> None:
        signalled = self._cond_waiters > 0  # lock-step: no other thread runs meanwhile
        super().release(ts)
        if signalled:
            self._mutex.acquire()  # the MUTEX_UNLOCK this path "forgot": mutex stays locked


@_broken("release-keeps-mutex")
def release_keeps_mutex(interp: Interpreter) -> None:
    """``drop_gil`` returns with ``gil->mutex`` still locked when it signalled a
    waiter (a ``MUTEX_UNLOCK`` missing on one path): the woken waiter, and anything
    else that needs the mutex, blocks forever. Before the harness bounded its lock
    waits this hung the whole test process in ``Interpreter.snapshot``."""
    interp.gil.__class__ = _KeepMutexGIL


# -- the drain drops the rest of the queue after an error ------------------------------------


class _DropRemainderPending(Pending):  # type: ignore[misc]  # deliberately broken
    __slots__ = ()

    def drain(self, actor: int | None = None) -> int:
        try:
            return super().drain(actor)
        except BaseException:
            with self._mutex:
                self._calls.clear()
            raise


@_broken("drain-drops-remainder")
def drain_drops_remainder(interp: Interpreter) -> None:
    """``_make_pending_calls`` empties its queue when a call fails, instead of
    leaving the remaining calls for the next check point."""
    interp.pending.__class__ = _DropRemainderPending
    interp.pending_main.__class__ = _DropRemainderPending


# -- is_tripped cleared after the scan instead of before it ----------------------------------


class _LateClearSignals(SignalState):  # type: ignore[misc]  # deliberately broken
    __slots__ = ()

    def scan(self, ts: ThreadState) -> None:
        super().scan(ts)
        self.is_tripped = False  # too late: a signal that arrived during the scan is lost


@_broken("is-tripped-cleared-late")
def is_tripped_cleared_late(interp: Interpreter) -> None:
    """``_PyErr_CheckSignalsTstate`` clears ``is_tripped`` after the scan rather
    than before it, so a signal arriving while a handler runs is forgotten."""
    interp._signals.__class__ = _LateClearSignals


# -- no re-signal after a failing pending call -----------------------------------------------


class _NoResignalInterpreter(Interpreter):  # type: ignore[misc]  # deliberately broken
    def _resignal(self, ts: ThreadState, reason: str) -> None:
        if reason != "error":
            super()._resignal(ts, reason)


@_broken("no-resignal-on-error")
def no_resignal_on_error(interp: Interpreter) -> None:
    """``make_pending_calls`` does not set CALLS_TO_DO again when a call fails, so
    the calls left behind wait for some other reason to check."""
    interp.__class__ = _NoResignalInterpreter


# -- the drop request not cleared on acquire (not observable in lock-step) --------------------


class _KeepDropGIL(GIL):  # deliberately broken
    __slots__ = ()

    def acquire(self, ts: ThreadState) -> None:
        kept = ts.breaker._events & int(ImplBit.GIL_DROP_REQUEST)
        super().acquire(ts)
        if kept:
            ts.breaker._set(kept)


@_broken("drop-request-kept-on-acquire")
def drop_request_kept_on_acquire(interp: Interpreter) -> None:
    """``take_gil`` does not unset the taker's GIL_DROP_REQUEST bit.

    Not caught by the lock-step tests, and it cannot be: a thread enters
    ``take_gil`` with that bit set only if another thread took the GIL between
    its ``drop_gil``'s release and its forced-switching check, and the harness
    runs ``drop_gil`` as one step. (Trace validation under free-running load
    is the tool for this one.)
    """
    interp.gil.__class__ = _KeepDropGIL


UNOBSERVABLE: Final = ("drop-request-kept-on-acquire",)
"""Broken implementations the lock-step harness cannot tell apart (see each docstring)."""

BROKEN: Final = tuple(name for name in IMPLS if name != CORRECT and name not in UNOBSERVABLE)
"""The broken implementations the stateful tests must catch."""


# -- model mutants with the same bugs ----------------------------------------------------------


class NoResignalOnError(Cpython313[B, I]):
    """``callback_return`` without "we play it safe": after a failing call the
    thread's CALLS_TO_DO bit stays as it was, instead of being set again.
    Refuted by INV-NO-LOST-WAKEUP: a call stays queued with no thread's bit set."""

    refuted_by = "INV-NO-LOST-WAKEUP"

    def callback_return(self, s: State[B, I], t: int, level: int, q: int, ok: bool) -> Effect:
        post = yield from super().callback_return(s, t, level, q, ok)
        if ok:
            return post
        had = self.has_bit(s.threads[t], Bit.CALLS_TO_DO)
        return self.update_thread(
            post, t, lambda th: self.clear_bits(th, Bit.CALLS_TO_DO, when=self.d.not_(had))
        )


class DropRequestKeptOnAcquire(Cpython313[B, I]):
    """``take_gil`` without ``_Py_unset_eval_breaker_bit(tstate, _PY_GIL_DROP_REQUEST_BIT)``:
    a taker that arrives with the bit set keeps it, and drops the GIL again at its
    next check point though nobody asked. Refuted by INV-DROP-REQUEST-HAS-REQUESTER."""

    refuted_by = "INV-DROP-REQUEST-HAS-REQUESTER"

    def update_eval_breaker_for_thread(self, s: State[B, I], t: int) -> ThreadStateM[B, I]:
        th = super().update_eval_breaker_for_thread(s, t)
        kept = self.has_bit(s.threads[t], Bit.GIL_DROP_REQUEST)
        return self.set_bits(th, Bit.GIL_DROP_REQUEST, when=kept)


MODEL_MUTANTS: Final[dict[str, type[Cpython313[Any, Any]]]] = {
    "no-resignal-on-error": NoResignalOnError,
    "drop-request-kept-on-acquire": DropRequestKeptOnAcquire,
}
for _name, _cls in MODEL_MUTANTS.items():
    if VARIANTS.get(_name) is not _cls:
        register(_name, _cls)
