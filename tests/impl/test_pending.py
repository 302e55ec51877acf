"""Pending calls, the adding side: the queue alone and add_pending_call's signalling.

The running side (make_pending_calls) is in test_make_pending_calls.py.
"""

from __future__ import annotations

import pytest

from impl import Bit, Interpreter, Pending, PendingFull
from tests.impl.helpers import failing, recorder

CALLS = Bit.CALLS_TO_DO


# -- the queue alone -------------------------------------------------------------------


def test_pending_is_fifo() -> None:
    log: list[object] = []
    make = recorder(log)
    q = Pending(32)
    for i in range(10):
        q.add(make(i))
    assert len(q) == 10
    assert q.drain() == 0
    assert log == list(range(10))
    assert len(q) == 0


def test_overflow_refuses_and_keeps_every_entry() -> None:
    q = Pending(3)
    calls = [lambda: None for _ in range(3)]
    for fn in calls:
        q.add(fn)
    with pytest.raises(
        PendingFull, match=r"^add_pending_call: the pending queue is full \(3 calls\)$"
    ):
        q.add(lambda: None)
    assert q.calls() == tuple(calls)


def test_drain_stops_at_the_first_error_and_keeps_the_rest() -> None:
    log: list[object] = []
    make = recorder(log)
    q = Pending(32)
    for fn in (make(0), failing(log, 1), make(2), make(3)):
        q.add(fn)
    with pytest.raises(RuntimeError, match=r"^callback 1 failed$"):
        q.drain()
    assert log == [0, 1]
    assert len(q) == 2  # the failing call was consumed, not retried
    assert q.drain() == 0
    assert log == [0, 1, 2, 3]


def test_drain_runs_at_most_max_per_pass_and_reports_npending() -> None:
    log: list[object] = []
    make = recorder(log)
    q = Pending(10, max_per_pass=3)
    for i in range(5):
        q.add(make(i))
    assert q.drain() == 2
    assert log == [0, 1, 2]
    assert q.drain() == 0
    assert log == [0, 1, 2, 3, 4]


def test_drain_reports_npending_as_read_at_the_last_pop() -> None:
    """The count is read at the pop, before the call: a call added later is not in it."""
    q = Pending(10)
    q.add(lambda: q.add(lambda: None))
    assert q.drain() == 0  # both ran; the second pop read 0 as well
    q2 = Pending(10, max_per_pass=1)
    q2.add(lambda: q2.add(lambda: None))
    assert q2.drain() == 0  # stale: the queue holds 1 call now
    assert len(q2) == 1


@pytest.mark.parametrize(
    ("args", "exc_type", "message"),
    [
        ((0,), ValueError, r"^Pending: capacity must be from 1 to 300, not 0$"),
        ((301,), ValueError, r"^Pending: capacity must be from 1 to 300, not 301$"),
        (("3",), TypeError, r"^Pending: capacity must be an int, not str$"),
        ((5, 6), ValueError, r"^Pending: max_per_pass must be from 1 to 5, not 6$"),
        ((5, 0), ValueError, r"^Pending: max_per_pass must be from 1 to 5, not 0$"),
        ((5, 1.0), TypeError, r"^Pending: max_per_pass must be an int, not float$"),
    ],
)
def test_bad_pending_arguments(
    args: tuple[object, ...], exc_type: type[Exception], message: str
) -> None:
    with pytest.raises(exc_type, match=message):
        Pending(*args)  # type: ignore[arg-type]  # bad on purpose


def test_adding_a_non_callable_raises_and_changes_nothing() -> None:
    q = Pending(4)
    q.add(print)
    with pytest.raises(TypeError, match=r"^add_pending_call: callback must be callable, not int$"):
        q.add(42)  # type: ignore[arg-type]  # bad on purpose
    assert q.calls() == (print,)

    interp = Interpreter()
    interp.gil.acquire(interp.main_thread)
    before = interp.snapshot()
    with pytest.raises(TypeError, match=r"^add_pending_call: callback must be callable, not str$"):
        interp.add_pending_call("f")  # type: ignore[arg-type]  # bad on purpose
    assert interp.snapshot() == before  # nothing pushed, nobody signalled


# -- add_pending_call ------------------------------------------------------------------


def test_add_pending_call_signals_the_active_thread_or_the_next_to_attach() -> None:
    interp = Interpreter()
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    interp.add_pending_call(lambda: None)  # nobody holds the GIL: nobody is signalled
    assert main.breaker.load() == t1.breaker.load() == 0
    gil.acquire(t1)  # update_eval_breaker_for_thread
    assert t1.breaker.is_set(CALLS)
    t1.breaker.clear(CALLS)
    interp.add_pending_call(lambda: None)  # signal_active_thread: the holder
    assert t1.breaker.is_set(CALLS)
    assert not main.breaker.is_set(CALLS)
    gil.release(t1)


def test_main_only_call_signals_the_main_thread_even_when_it_does_not_hold_the_gil() -> None:
    interp = Interpreter()
    t1 = interp.new_thread()
    interp.gil.acquire(t1)
    interp.add_pending_call(lambda: None, main_only=True)
    assert interp.main_thread.breaker.is_set(CALLS)
    assert not t1.breaker.is_set(CALLS)
    interp.gil.release(t1)


def test_a_full_queue_refuses_but_still_signals() -> None:
    interp = Interpreter()
    gil, main = interp.gil, interp.main_thread
    gil.acquire(main)
    for _ in range(300):
        interp.add_pending_call(lambda: None)
    main.breaker.clear(CALLS)
    before = interp.snapshot()
    with pytest.raises(
        PendingFull, match=r"^add_pending_call: the interp queue is full \(300 calls\)$"
    ):
        interp.add_pending_call(lambda: None)
    after = interp.snapshot()
    assert after.pending == before.pending
    assert main.breaker.is_set(CALLS), "signalled even though the push failed"

    for _ in range(32):
        interp.add_pending_call(lambda: None, main_only=True)
    main.breaker.clear(CALLS)
    with pytest.raises(
        PendingFull, match=r"^add_pending_call: the main queue is full \(32 calls\)$"
    ):
        interp.add_pending_call(lambda: None, main_only=True)
    assert len(interp.pending_main) == 32
    assert main.breaker.is_set(CALLS)
    gil.release(main)
