"""The events impl logs for trace validation, exactly, and the same steps untraced.

Trace validation (conformance/tracecheck) reads these events: a wrong name, a
missing field or a skipped event would be reported there as a divergence of
the model, far from its cause. These tests pin each event where it is made.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from impl import Bit, GilProtocolError, Interpreter, TraceLog
from impl.signals import Handler

# Three adjacent signal numbers, so a scan that skips one number is seen.
ADJACENT = (signal.SIGUSR2, signal.SIGPIPE, signal.SIGALRM)
needs_adjacent = pytest.mark.skipif(
    [int(s) for s in ADJACENT] != [12, 13, 14], reason="needs Linux's signal numbers 12-14"
)


@pytest.fixture(params=[True, False], ids=["traced", "untraced"])
def interp(request: pytest.FixtureRequest) -> Iterator[Interpreter]:
    interp = Interpreter(trace=TraceLog() if request.param else None)
    interp.gil.acquire(interp.main_thread)
    try:
        yield interp
    finally:
        interp.uninstall_signal_handlers()


def _log(interp: Interpreter) -> TraceLog | None:
    trace = interp.gil._trace
    return trace if isinstance(trace, TraceLog) else None


def _signal_events(interp: Interpreter) -> list[tuple[str, dict[str, object]]]:
    log = _log(interp)
    assert log is not None
    return [(e.name, dict(e.fields)) for e in log.events if e.name.startswith("signal.h")
            or e.name == "signal.scan_done"]  # fmt: skip


def _recording(log: list[int], fail_on: int | None = None) -> Handler:
    def handler(signum: int, frame: object) -> None:
        log.append(signum)
        if signum == fail_on:
            raise OSError(f"handler of {signum} failed")

    return handler


def test_request_drop_sets_the_holders_bit_and_logs_who_holds(interp: Interpreter) -> None:
    t1 = interp.new_thread()
    interp.gil.request_drop()
    s = interp.snapshot()
    assert s.thread(0).breaker == Bit.GIL_DROP_REQUEST
    assert s.thread(t1.id).breaker == 0
    log = _log(interp)
    if log is not None:
        (event,) = log.named("drop_request.set")
        assert (event.thread, dict(event.fields)) == (None, {"holder": 0})


def test_request_drop_with_the_gil_free_is_refused_and_changes_nothing(
    interp: Interpreter,
) -> None:
    interp.gil.release(interp.main_thread)
    before = interp.snapshot()
    with pytest.raises(GilProtocolError, match=r"^request_drop: GIL is not locked$"):
        interp.gil.request_drop()
    assert interp.snapshot() == before


@needs_adjacent
def test_the_scan_runs_every_tripped_handler_in_order_and_logs_each(
    interp: Interpreter,
) -> None:
    ran: list[int] = []
    for signum in ADJACENT:
        interp.install_signal_handler(signum, _recording(ran))
        interp.trip_signal(signum)
    interp.handle_pending(interp.main_thread)
    assert ran == [12, 13, 14]
    s = interp.snapshot()
    assert (s.is_tripped, s.tripped) == (False, ())
    if _log(interp) is not None:
        assert _signal_events(interp) == [
            ("signal.handler", {"signum": 12}),
            ("signal.handler", {"signum": 13}),
            ("signal.handler", {"signum": 14}),
            ("signal.scan_done", {}),
        ]


@needs_adjacent
def test_a_raising_handler_is_logged_with_its_exception_and_retrips(
    interp: Interpreter,
) -> None:
    ran: list[int] = []
    for signum in ADJACENT:
        interp.install_signal_handler(signum, _recording(ran, fail_on=13))
        interp.trip_signal(signum)
    with pytest.raises(OSError, match=r"^handler of 13 failed$") as info:
        interp.handle_pending(interp.main_thread)
    assert ran == [12, 13]
    s = interp.snapshot()
    assert (s.is_tripped, s.tripped) == (True, (14,))
    if _log(interp) is not None:
        events = _signal_events(interp)
        assert events[:2] == [
            ("signal.handler", {"signum": 12}),
            ("signal.handler", {"signum": 13}),
        ]
        assert events[2] == ("signal.handler_raise", {"signum": 13, "exc": info.value})


def _pending_events(log: TraceLog) -> list[tuple[str, int | None, dict[str, object]]]:
    return [(e.name, e.thread, dict(e.fields)) for e in log.events
            if e.name.startswith(("make_pending_calls.", "callback."))]  # fmt: skip


@pytest.mark.parametrize("traced", [True, False], ids=["traced", "untraced"])
def test_a_drain_logs_each_pop_each_return_or_raise_and_why_it_ended(traced: bool) -> None:
    """A failing call is consumed, its exception propagates, the rest stay queued."""
    log = TraceLog()
    interp = Interpreter(trace=log if traced else None)
    q = interp.pending
    made: list[str] = []

    def ok1() -> None:
        made.append("ok1")

    def fails() -> None:
        made.append("fails")
        raise ValueError("pending call failed")

    def ok2() -> None:
        made.append("ok2")

    assert [q.add(fn) for fn in (ok1, fails, ok2)] == [1, 2, 3]
    with pytest.raises(ValueError, match=r"^pending call failed$") as info:
        q.drain(actor=1)
    assert (made, q.calls()) == (["ok1", "fails"], (ok2,))
    assert q.drain(actor=0) == 0
    assert (made, len(q)) == (["ok1", "fails", "ok2"], 0)
    if not traced:
        return
    name = q.name
    assert _pending_events(log) == [
        ("make_pending_calls.pop", 1, {"queue": name, "call": 1, "fn": ok1, "npending": 2}),
        ("callback.return", 1, {"queue": name, "call": 1}),
        ("make_pending_calls.pop", 1, {"queue": name, "call": 2, "fn": fails, "npending": 1}),
        ("callback.raise", 1, {"queue": name, "call": 2, "exc": info.value}),
        ("make_pending_calls.pop", 0, {"queue": name, "call": 3, "fn": ok2, "npending": 0}),
        ("callback.return", 0, {"queue": name, "call": 3}),
        ("make_pending_calls.loop_end", 0, {"queue": name, "reason": "empty", "npending": 0}),
    ]


def test_a_drain_that_reaches_maxloop_says_so_with_what_is_left() -> None:
    log = TraceLog()
    q = Interpreter(trace=log).pending
    for _ in range(q.max_per_pass + 1):
        q.add(lambda: None)
    assert q.drain(actor=0) == 1
    assert _pending_events(log)[-1] == (
        "make_pending_calls.loop_end", 0, {"queue": q.name, "reason": "maxloop", "npending": 1},
    )  # fmt: skip
    assert len(q) == 1
