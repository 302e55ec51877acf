"""Pending calls, the running side: make_pending_calls at a check point.

The queue alone and add_pending_call's signalling are in test_pending.py.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from conformance.support import wait_for_event
from impl import Bit, Code, Instr, Interpreter, TraceLog, run
from tests.impl.helpers import actors, failing, recorder, result

CALLS = Bit.CALLS_TO_DO


class Held:
    """An interpreter whose main thread holds the GIL, with a call log and a trace."""

    def __init__(self) -> None:
        self.log: list[object] = []
        self.make = recorder(self.log)
        self.trace = TraceLog()
        self.interp = Interpreter(trace=self.trace)
        self.main = self.interp.main_thread
        self.interp.gil.acquire(self.main)

    def fail(self, tag: object) -> Callable[[], None]:
        return failing(self.log, tag)


# -- make_pending_calls ------------------------------------------------------------------


def test_no_bit_set_means_nothing_is_drained() -> None:
    h = Held()
    log, interp, main = h.log, h.interp, h.main
    interp.pending.add(recorder(log)("x"))  # queued without signalling anyone
    code = Code("f", [Instr.resume(0), Instr.call_c(lambda: None), Instr.ret()])
    run(main, code)
    interp.handle_pending(main)
    assert log == []
    interp.make_pending_calls(main)  # a pass runs whatever the bits say
    assert log == ["x"]


def test_maxloop_cut_off_resignals_and_the_rest_runs_at_the_next_check_point() -> None:
    h = Held()
    log, trace, interp, main = h.log, h.trace, h.interp, h.main
    sites: list[tuple[object, int]] = []

    def make(i: int) -> Callable[[], None]:
        def cb() -> None:
            sites.append((trace.named("eval.check_point")[-1]["pc"], i))

        return cb

    for i in range(101):
        interp.add_pending_call(make(i))
    code = Code(
        "f",
        [
            Instr.resume(0),
            Instr.work(lambda: log.append(main.breaker.is_set(CALLS))),
            Instr.call_c(lambda: None),
            Instr.ret(),
        ],
    )
    run(main, code)
    assert sites == [(0, i) for i in range(100)] + [(2, 100)]
    assert log == [True], "re-signalled after the first 100"
    assert [e["reason"] for e in trace.named("make_pending_calls.resignal")] == ["maxloop"]
    assert not main.breaker.is_set(CALLS)


def test_main_queue_drains_up_to_32_after_the_interp_queue() -> None:
    h = Held()
    log, make, interp, main = h.log, h.make, h.interp, h.main
    for i in range(32):
        interp.add_pending_call(make(("main", i)), main_only=True)
    interp.add_pending_call(make(("interp", 0)))
    interp.handle_pending(main)
    assert log == [("interp", 0)] + [("main", i) for i in range(32)]
    assert not main.breaker.is_set(CALLS)


def test_a_raising_callback_is_consumed_the_rest_kept_in_order_and_the_bit_reset() -> None:
    h = Held()
    log, make, interp, main = h.log, h.make, h.interp, h.main
    for fn in (make(0), h.fail(1), make(2), make(3)):
        interp.add_pending_call(fn)
    interp.add_pending_call(make("m"), main_only=True)
    with pytest.raises(RuntimeError, match=r"^callback 1 failed$"):
        interp.handle_pending(main)
    assert log == [0, 1]
    s = interp.snapshot()
    assert len(s.pending) == 2
    assert len(s.pending_main) == 1, "the main queue is not processed in a failed pass"
    assert s.handling_thread is None
    assert main.breaker.is_set(CALLS)
    interp.handle_pending(main)
    assert log == [0, 1, 2, 3, "m"]
    assert not main.breaker.is_set(CALLS)


def test_a_raising_main_queue_callback_resets_the_bit() -> None:
    h = Held()
    log, make, interp, main = h.log, h.make, h.interp, h.main
    for fn in (make(0), h.fail(1), make(2)):
        interp.add_pending_call(fn, main_only=True)
    with pytest.raises(RuntimeError, match=r"^callback 1 failed$"):
        interp.handle_pending(main)
    assert main.breaker.is_set(CALLS)
    assert interp.handling_thread is None
    interp.handle_pending(main)
    assert log == [0, 1, 2]


def test_main_queue_calls_run_only_on_the_main_thread() -> None:
    log: list[object] = []
    make = recorder(log)
    interp = Interpreter()
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    gil.acquire(t1)
    interp.add_pending_call(make("main-only"), main_only=True)
    interp.add_pending_call(make("any"))
    assert t1.breaker.is_set(CALLS)
    interp.handle_pending(t1)
    assert log == ["any"], "a worker runs per-interpreter calls only"
    assert not t1.breaker.is_set(CALLS)
    gil.release(t1)
    gil.acquire(main)
    assert main.breaker.is_set(CALLS)
    interp.handle_pending(main)
    assert log == ["any", "main-only"]
    gil.release(main)


def test_per_interpreter_calls_run_on_a_worker_at_its_check_point() -> None:
    ran_on: list[int] = []
    interp = Interpreter()
    t1 = interp.new_thread()
    with actors("T1") as (a1,):
        a1.call(lambda: interp.gil.acquire(t1))
        interp.add_pending_call(lambda: ran_on.append(threading.get_ident()))
        code = Code("worker", [Instr.resume(0), Instr.ret()])
        a1.call(lambda: run(t1, code))
        worker_ident = a1.call(threading.get_ident)
        a1.call(lambda: interp.gil.release(t1))
    assert ran_on == [worker_ident]


def test_nested_check_point_inside_a_callback_hands_the_bit_to_itself() -> None:
    """handling_thread == ts: the nested pass clears ts's bit; the outer loop runs the call."""
    h = Held()
    log, make, trace, interp, main = h.log, h.make, h.trace, h.interp, h.main
    nested = Code("nested", [Instr.resume(0), Instr.ret()])

    def outer() -> None:
        log.append("outer:start")
        interp.add_pending_call(make("second"))  # signals main, the holder
        assert main.breaker.is_set(CALLS)
        run(main, nested)  # a check point inside the callback
        assert not main.breaker.is_set(CALLS)
        log.append("outer:end")

    interp.add_pending_call(outer)
    interp.handle_pending(main)
    assert log == ["outer:start", "outer:end", "second"]
    busy = trace.named("make_pending_calls.busy")
    assert [(e.thread, e["handling_thread"]) for e in busy] == [(0, 0)]
    assert not main.breaker.is_set(CALLS)
    assert interp.handling_thread is None


def test_handling_thread_hand_off_from_a_second_thread() -> None:
    """A second thread that reaches make_pending_calls during a drain hands it the bit."""
    log: list[object] = []
    make = recorder(log)
    trace = TraceLog()
    interp = Interpreter(60.0, trace=trace)  # no waiter times out during the test
    gil, main = interp.gil, interp.main_thread
    t1 = interp.new_thread()
    released = threading.Event()
    resume = threading.Event()

    def first() -> None:
        log.append("first:start")
        with main.allow_threads():  # the callback releases the GIL
            released.set()
            wait_for_event(resume, "the test to let the first callback finish")
        log.append("first:end")

    with actors("MAIN", "T1") as (a0, a1):
        a0.call(lambda: gil.acquire(main))
        interp.add_pending_call(first)
        f0 = a0.submit(lambda: interp.handle_pending(main))
        wait_for_event(released, "the first callback to release the GIL")

        a1.call(lambda: gil.acquire(t1))
        interp.add_pending_call(make("second"))  # signals T1, the holder
        assert t1.breaker.is_set(CALLS)
        assert interp.snapshot().handling_thread == 0
        a1.call(lambda: interp.handle_pending(t1))
        assert not t1.breaker.is_set(CALLS)
        assert main.breaker.is_set(CALLS), "the bit was handed to the handling thread"
        assert log == ["first:start"]
        a1.call(lambda: gil.release(t1))

        resume.set()
        result(f0, "MAIN's pass to finish")
        assert log == ["first:start", "first:end", "second"]
        assert interp.handling_thread is None
        a0.call(lambda: gil.release(main))
    busy = trace.named("make_pending_calls.busy")
    assert [(e.thread, e["handling_thread"]) for e in busy] == [(1, 0)]


def test_stale_npending_after_the_maxloop_cut_off_is_kept() -> None:
    """The re-signal uses npending read at the 100th pop, even if that call added more."""
    h = Held()
    interp, main = h.interp, h.main
    for _ in range(99):
        interp.add_pending_call(lambda: None)
    # The 100th adds a call through the bare queue (no signal): npending read
    # at its pop was 0, so the pass ends without re-signalling.
    interp.add_pending_call(lambda: interp.pending.add(lambda: None))
    interp.handle_pending(main)
    assert len(interp.pending) == 1
    assert not main.breaker.is_set(CALLS)


def test_add_pending_call_from_a_thread_without_the_gil_runs_at_the_holders_check_point() -> None:
    h = Held()
    log, interp, main = h.log, h.interp, h.main
    with actors("FOREIGN") as (foreign,):
        foreign.call(lambda: interp.add_pending_call(recorder(log)("from afar")))
    budget = iter(range(1000))  # bounded, in case the call never ran
    spin = Code(
        "spin",
        [
            Instr.resume(2),
            Instr.work(),
            Instr.jump_backward(1, lambda: not log and next(budget, None) is not None),
            Instr.ret(),
        ],
    )
    run(main, spin)
    assert log == ["from afar"]
