"""Snapshots, the trace vocabulary, instrumentation versions, layering, the public API."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import impl
import impl.trace
from impl import Bit, Interpreter, Phase, TraceLog

IMPL_DIR = Path(impl.__file__).parent


def test_public_names_import_as_written() -> None:
    from impl import (  # noqa: F401 (the import is the test)
        EVENTS_BITS,
        EVENTS_MASK,
        GIL,
        Bit,
        Breaker,
        Interpreter,
        Pending,
        PendingFull,
        ThreadState,
    )


def test_impl_never_imports_model() -> None:
    offenders = []
    for path in sorted(IMPL_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "model"]
    assert offenders == []


def test_every_traced_event_is_documented_and_every_documented_one_is_traced() -> None:
    emitted: set[str] = set()
    for path in IMPL_DIR.rglob("*.py"):
        emitted |= set(re.findall(r'TraceEvent\(\s*"([a-z_.]+)"', path.read_text()))
    doc = impl.trace.__doc__ or ""
    documented = set(re.findall(r"^  ``([a-z_.]+)``", doc, re.MULTILINE))
    assert emitted == documented


def test_snapshot_of_a_busy_interpreter() -> None:
    interp = Interpreter(0.001)
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()

    def a() -> None:
        pass

    def b() -> None:
        pass

    gil.acquire(t1)
    interp.add_pending_call(a)
    interp.add_pending_call(b, main_only=True)
    interp.set_async_exc(main, KeyError)
    interp.set_instrumentation_version(t1, 0x300)
    interp.trip_signal(10)
    s = interp.snapshot()
    assert (s.locked, s.holder, s.last_holder, s.switch_number, s.interval_us) == (
        True,
        1,
        1,
        1,
        1000,
    )
    assert (s.pending, s.pending_main) == ((a,), (b,))
    assert (s.handling_thread, s.finalizing, s.instrumentation_version) == (None, None, 0x300)
    assert (s.is_tripped, s.tripped) == (True, (10,))
    m, w = s.threads
    assert (m.id, m.is_main, m.phase, m.holds_gil) == (0, True, Phase.DETACHED, False)
    assert m.breaker == Bit.CALLS_TO_DO | Bit.ASYNC_EXCEPTION | Bit.SIGNALS_PENDING
    assert m.async_exc is KeyError
    assert (w.id, w.is_main, w.phase, w.holds_gil) == (1, False, Phase.HOLDING, True)
    assert w.breaker == 0x300 | Bit.CALLS_TO_DO
    assert (w.saved_switch_number, w.drop_requested) == (None, False)
    with pytest.raises(AttributeError):
        s.locked = False  # type: ignore[misc]  # frozen on purpose
    gil.release(t1)


def test_the_instrumentation_version_is_copied_when_a_thread_attaches() -> None:
    interp = Interpreter()
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    gil.acquire(main)
    interp.set_instrumentation_version(main, 0x500)
    assert main.breaker.load() == 0x500
    assert t1.breaker.load() == 0, "only the calling thread is updated at once"
    gil.release(main)
    gil.acquire(t1)
    assert t1.breaker.load() == 0x500
    assert t1.breaker.load() & impl.EVENTS_MASK == 0, "a version alone is no event"
    gil.release(t1)


@pytest.mark.parametrize(
    ("version", "exc_type", "message"),
    [
        (0x101, ValueError, r"^set_instrumentation_version: version 0x101 is not a non-negative"),
        ("1", TypeError, r"^set_instrumentation_version: version must be an int, not str$"),
    ],
)
def test_bad_instrumentation_version(
    version: object, exc_type: type[Exception], message: str
) -> None:
    interp = Interpreter()
    before = interp.snapshot()
    with pytest.raises(exc_type, match=message):
        interp.set_instrumentation_version(interp.main_thread, version)  # type: ignore[arg-type]
    assert interp.snapshot() == before


def test_trace_events_carry_the_thread_and_the_values() -> None:
    log = TraceLog()
    interp = Interpreter(trace=log)
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    gil.acquire(main)
    interp.add_pending_call(print)
    gil.release(main)
    gil.acquire(t1)
    gil.release(t1)
    assert [(e.name, e.thread) for e in log.events] == [
        ("take_gil.acquire", 0),
        ("add_pending_call.push", None),
        ("add_pending_call.signal", None),
        ("drop_gil", 0),
        ("take_gil.acquire", 1),
        ("drop_gil", 1),
    ]
    assert log.events[0].fields == {"switch_number": 1, "switched": True}
    assert log.events[1].fields == {
        "queue": "interp",
        "call": 1,
        "fn": print,
        "full": False,
        "npending": 1,
    }
    assert log.events[2]["target"] == 0
    assert log.events[4].fields == {"switch_number": 2, "switched": True}


def test_operations_on_another_interpreters_thread_are_refused() -> None:
    interp, other = Interpreter(), Interpreter()
    stranger = other.main_thread
    before = interp.snapshot()
    with pytest.raises(
        ValueError, match=r"^set_async_exc: thread 0 belongs to another interpreter$"
    ):
        interp.set_async_exc(stranger, KeyError)
    with pytest.raises(
        ValueError, match=r"^_Py_HandlePending: thread 0 belongs to another interpreter$"
    ):
        interp.handle_pending(stranger)
    assert interp.snapshot() == before
    assert stranger.breaker.load() == 0
