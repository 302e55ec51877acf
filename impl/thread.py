"""``PyThreadState``: the per-thread part of the protocol.

Mirrors the fields of ``struct _ts`` (Include/cpython/pystate.h, CPython 3.13)
that the GIL protocol touches: ``eval_breaker``, ``_status.holds_gil``,
``async_exc``. A :class:`ThreadState` is not bound to an OS thread: whichever
host thread calls the protocol with it *is* that thread for the call. Using one
``ThreadState`` from two host threads at once is misuse, as it is in CPython.

Deviates: "the main thread" (``_Py_IsMainThread()``, which CPython decides by
the OS thread id) is the ``ThreadState`` with ``is_main``, id 0.

Protected by the GIL's ``mutex``: ``holds_gil`` and ``phase`` (``phase`` also
by ``switch_mutex`` in the forced-switching wait). ``async_exc`` is exchanged
under the thread's own small lock. ``breaker`` guards itself.
"""

from __future__ import annotations

import enum
import threading
import typing
from types import TracebackType
from typing import TYPE_CHECKING

from impl.breaker import Breaker

if TYPE_CHECKING:
    from impl.interpreter import Interpreter

AsyncExc = type[BaseException] | BaseException
"""What ``set_async_exc`` accepts: an exception class (raised with no
arguments, as ``_PyErr_SetNone`` does) or an instance."""


class Phase(enum.StrEnum):
    """Where a thread stands with respect to the GIL."""

    HOLDING = "holding"
    """``holds_gil`` is true."""
    RELEASING = "releasing"
    """In ``drop_gil`` after ``locked = 0``, before the forced-switching check ends."""
    SWITCH_WAIT = "switch_wait"
    """In ``drop_gil``'s single ``COND_WAIT(switch_cond)``."""
    DETACHED = "detached"
    """Neither holding nor waiting (never attached, or between detach and attach)."""
    TAKE_WAIT = "take_wait"
    """In ``take_gil``'s ``while (locked)`` loop."""
    EXITED = "exited"
    """Left through :class:`impl.MustExit` (``PyThread_exit_thread``)."""


@typing.final
class ThreadState:
    """One thread's protocol state; make it with :meth:`Interpreter.new_thread`.

    Attributes (read-only for users):
        interp: the owning :class:`~impl.Interpreter`.
        id: an int in creation order; the main thread is 0.
        is_main: whether this is the main thread (``_Py_IsMainThread()``).
        breaker: this thread's :class:`~impl.Breaker` (``tstate->eval_breaker``).
        holds_gil: ``tstate->holds_gil``.
        phase: the :class:`Phase`.
    """

    __slots__ = (
        "__weakref__",
        "_async_exc",
        "_async_lock",
        "_take_drop_requested",
        "_take_saved_switch_number",
        "breaker",
        "holds_gil",
        "id",
        "interp",
        "is_main",
        "phase",
    )

    def __init__(self, interp: Interpreter, ident: int, *, is_main: bool) -> None:
        self.interp = interp
        self.id = ident
        self.is_main = is_main
        self.breaker = Breaker()
        self.holds_gil = False
        self.phase = Phase.DETACHED
        self._async_exc: AsyncExc | None = None
        self._async_lock = threading.Lock()
        # take_gil's locals while this thread waits in its loop (for snapshots).
        self._take_saved_switch_number: int | None = None
        self._take_drop_requested = False

    def __repr__(self) -> str:
        return f"<ThreadState {self.id}{' main' if self.is_main else ''} {self.phase}>"

    @property
    def async_exc(self) -> AsyncExc | None:
        """The pending asynchronous exception (``tstate->async_exc``), if any."""
        return self._async_exc

    def _exchange_async_exc(self, exc: AsyncExc | None) -> AsyncExc | None:
        """Mirrors ``_Py_atomic_exchange_ptr(&tstate->async_exc, exc)``."""
        with self._async_lock:
            old, self._async_exc = self._async_exc, exc
        return old

    def allow_threads(self) -> AllowThreads:
        """``Py_BEGIN_ALLOW_THREADS`` / ``Py_END_ALLOW_THREADS`` as a context manager.

        Mirrors ``PyEval_SaveThread()`` and ``PyEval_RestoreThread()`` in
        Python/ceval_gil.c (CPython 3.13): on entry the thread detaches
        (``drop_gil``, including the forced-switching wait when a drop request
        is pending), on exit it attaches again (``take_gil``), even when the
        body raised. Must not be nested, as in C.
        """
        return AllowThreads(self)


def check_tstate(op: str, ts: object) -> None:
    """Raise the TypeError for a ``ts`` that is not a :class:`ThreadState`.

    Every public entry point that takes a thread state calls this (or inlines
    its ``isinstance``) before it reads or changes anything.
    """
    if not isinstance(ts, ThreadState):
        raise TypeError(f"{op}: tstate must be a ThreadState, not {type(ts).__name__}")


@typing.final
class AllowThreads:
    """The context manager returned by :meth:`ThreadState.allow_threads`."""

    __slots__ = ("_ts",)

    def __init__(self, ts: ThreadState) -> None:
        self._ts = ts

    def __enter__(self) -> ThreadState:
        self._ts.interp.save_thread(self._ts)
        return self._ts

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._ts.interp.restore_thread(self._ts)
