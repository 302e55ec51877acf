"""Every public entry point that takes a thread state refuses a non-``ThreadState``.

The error is a TypeError naming the operation first (``"take_gil: tstate must
be a ThreadState, not NoneType"``), raised before anything is read or changed:
the snapshot, the trace and the switch interval are the same afterwards.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

from impl import GIL, Code, Instr, Interpreter, ThreadState, TraceLog, run

Call = Callable[[Interpreter, Any], object]
"""Calls an entry point with a ``ts`` that is deliberately not typed ThreadState."""

# (entry point, operation named in the error, how to call it with ``ts``)
ENTRIES: list[tuple[str, str, Call]] = [
    ("GIL.acquire", "take_gil", lambda i, ts: i.gil.acquire(ts)),
    ("GIL.release", "drop_gil", lambda i, ts: i.gil.release(ts)),
    ("GIL.release_final", "drop_gil", lambda i, ts: i.gil.release_final(ts)),
    ("Interpreter.restore_thread", "take_gil", lambda i, ts: i.restore_thread(ts)),
    ("Interpreter.save_thread", "drop_gil", lambda i, ts: i.save_thread(ts)),
    (
        "Interpreter.delete_current_thread",
        "PyThreadState_DeleteCurrent",
        lambda i, ts: i.delete_current_thread(ts),
    ),
    (
        "Interpreter.handle_pending",
        "_Py_HandlePending",
        lambda i, ts: i.handle_pending(ts),
    ),
    (
        "Interpreter.make_pending_calls",
        "make_pending_calls",
        lambda i, ts: i.make_pending_calls(ts),
    ),
    (
        "Interpreter.set_async_exc",
        "set_async_exc",
        lambda i, ts: i.set_async_exc(ts, KeyboardInterrupt),
    ),
    (
        "Interpreter.set_instrumentation_version",
        "set_instrumentation_version",
        lambda i, ts: i.set_instrumentation_version(ts, 0x100),
    ),
    ("run", "eval", lambda i, ts: run(ts, Code("c", [Instr.resume(), Instr.ret()]))),
]

BAD = [None, "main", 0, 1.0, object(), Interpreter]  # 0 is the main thread's *id*


def _public_tstate_entries() -> set[str]:
    """The public callables of GIL, Interpreter and impl.run with a ``ts`` parameter."""
    found = {"run"} if "ts" in inspect.signature(run).parameters else set()
    for cls in (GIL, Interpreter):
        for name, member in inspect.getmembers(cls, callable):
            if name.startswith("_"):
                continue
            if "ts" in inspect.signature(member).parameters:
                found.add(f"{cls.__name__}.{name}")
    return found


def test_the_table_covers_every_public_entry_that_takes_a_thread_state() -> None:
    assert _public_tstate_entries() == {name for name, _, _ in ENTRIES}


def _scene(*, held: bool) -> tuple[Interpreter, TraceLog]:
    """An interpreter with work pending: a queued call, a set bit, a second thread."""
    log = TraceLog()
    interp = Interpreter(0.002, trace=log)
    interp.new_thread()
    main = interp.main_thread
    interp.gil.acquire(main)
    interp.add_pending_call(lambda: None)  # CALLS_TO_DO on main, one call queued
    interp.set_instrumentation_version(main, 0x200)
    if not held:
        interp.gil.release(main)
    return interp, log


@pytest.mark.parametrize("held", [True, False], ids=["gil-held", "gil-free"])
@pytest.mark.parametrize("bad", BAD, ids=lambda b: type(b).__name__)
@pytest.mark.parametrize(("entry", "op", "call"), ENTRIES, ids=[e[0] for e in ENTRIES])
def test_a_non_thread_state_raises_type_error_and_changes_nothing(
    entry: str, op: str, call: Call, bad: object, held: bool
) -> None:
    interp, log = _scene(held=held)
    before = interp.snapshot()
    events = len(log.events)
    message = f"{op}: tstate must be a ThreadState, not {type(bad).__name__}"
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        call(interp, bad)
    assert interp.snapshot() == before
    assert len(log.events) == events


def test_a_real_thread_state_still_passes_every_entry_check() -> None:
    """The check lets a ThreadState through to the existing protocol checks."""
    interp, _ = _scene(held=True)
    main = interp.main_thread
    assert isinstance(main, ThreadState)
    interp.handle_pending(main)  # runs the queued call
    assert interp.snapshot().pending == ()
    interp.gil.release(main)
    interp.gil.acquire(main)
    assert main.holds_gil
