"""Control locations of a thread: where it is in CPython's code.

A thread's *phase* says where it stands with respect to the GIL; its *frames*
say how far it got in ``_Py_HandlePending`` (Python/ceval_gil.c, CPython 3.13),
one frame per nesting level. The values are small integers so that both
domains can hold them.
"""

from __future__ import annotations

import enum


class Phase(enum.IntEnum):
    """Where a thread stands with respect to the GIL."""

    HOLDING = 0
    """Holds the GIL (``tstate->holds_gil``) and runs."""
    RELEASING = 1
    """Inside ``drop_gil`` after ``drop_gil_impl`` released ``locked``, before the
    FORCE_SWITCHING check under ``switch_mutex``."""
    SWITCH_WAIT = 2
    """Inside ``drop_gil``, in the single ``COND_WAIT(switch_cond)``."""
    DETACHED = 3
    """Not holding the GIL and not blocked in it: C code in an allow-threads
    section (``c_code``), or about to call ``take_gil``."""
    TAKE_WAIT = 4
    """Inside ``take_gil``'s ``while (locked)`` loop, in ``COND_TIMED_WAIT``."""
    EXITED = 5
    """Gone: ``PyThread_exit_thread()`` during finalization, or finished."""


class Stage(enum.IntEnum):
    """Progress of one ``_Py_HandlePending`` pass, in CPython's order."""

    NONE = 0
    """No pass at this level."""
    SIGNALS = 1
    """About to run ``handle_signals``."""
    SCAN = 2
    """In ``_PyErr_CheckSignalsTstate``'s scan; ``idx`` is the next signal to look at."""
    HANDLER = 3
    """The Python handler of signal ``idx`` is running."""
    CALLS = 4
    """About to run ``make_pending_calls``."""
    DRAIN_INTERP = 5
    """In ``_make_pending_calls`` on the per-interpreter queue; ``idx`` is the loop counter."""
    CALLBACK_INTERP = 6
    """A callback popped from the per-interpreter queue is running."""
    DRAIN_MAIN = 7
    """In ``_make_pending_calls`` on the main-thread queue."""
    CALLBACK_MAIN = 8
    """A callback popped from the main-thread queue is running."""
    GC = 9
    """About to handle ``_PY_GC_SCHEDULED_BIT``."""
    DROP = 10
    """About to honour ``_PY_GIL_DROP_REQUEST_BIT`` (detach, then attach)."""
    ASYNC = 11
    """About to handle ``_PY_ASYNC_EXCEPTION_BIT``."""


BODY_STAGES = (Stage.HANDLER, Stage.CALLBACK_INTERP, Stage.CALLBACK_MAIN)
"""Stages in which Python code (a handler or a callback) runs inside a pass."""

DRAIN_STAGES = (Stage.DRAIN_INTERP, Stage.CALLBACK_INTERP, Stage.DRAIN_MAIN, Stage.CALLBACK_MAIN)
"""Stages in which the thread is ``pending->handling_thread``."""

SIGNAL_STAGES = (Stage.SIGNALS, Stage.SCAN, Stage.HANDLER)

MAX_DEPTH = 2
"""Nesting levels modelled: a pass at a top-level check point (level 0) and a
pass at a check point reached by a handler or callback of a level-0 pass
(level 1). Handlers and callbacks of a level-1 pass run without check points
of their own (documented in specs/protocol.md)."""
