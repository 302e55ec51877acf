"""The eval loop's check points and _Py_HandlePending's order (CPython 3.13)."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from conformance.support import SHORT_TIMEOUT
from impl import (
    Bit,
    BlockPoint,
    Code,
    ControlledWaiter,
    GilProtocolError,
    Instr,
    Interpreter,
    MustExit,
    Op,
    ThreadState,
    TraceLog,
    run,
)
from tests.impl.helpers import actors, exception, result

GC = Bit.GC_SCHEDULED


class Setup:
    """An interpreter whose main thread holds the GIL; GC runs are recorded with their site."""

    def __init__(self) -> None:
        self.trace = TraceLog()
        self.gc_sites: list[tuple[object, object]] = []
        self.interp = Interpreter(trace=self.trace, gc_hook=self._gc)
        self.main = self.interp.main_thread
        self.interp.gil.acquire(self.main)

    def _gc(self, ts: ThreadState) -> None:
        site = self.trace.named("eval.check_point")[-1]
        self.gc_sites.append((site["code"], site["pc"]))

    def schedule_gc(self) -> None:
        self.main.breaker.set(GC)


def once() -> Callable[[], bool]:
    """A loop condition that is true the first time only."""
    state = iter([True])
    return lambda: next(state, False)


@pytest.mark.parametrize(
    ("oparg", "checks"), [(0, True), (1, True), (2, False), (3, False), (4, True), (6, False)]
)
def test_resume_checks_only_at_function_start_and_after_yield(oparg: int, checks: bool) -> None:
    s = Setup()
    s.schedule_gc()
    run(s.main, Code("f", [Instr.resume(oparg), Instr.ret()]))
    assert s.gc_sites == ([("f", 0)] if checks else [])
    assert s.main.breaker.is_set(GC) is not checks


def test_jump_backward_checks_when_taken() -> None:
    s = Setup()
    code = Code(
        "loop",
        [Instr.resume(2), Instr.work(s.schedule_gc), Instr.jump_backward(1, once()), Instr.ret()],
    )
    run(s.main, code)
    # Taken once (check at pc 2); the fall-through is the loop's exit test: no check.
    assert s.gc_sites == [("loop", 2)]
    assert s.main.breaker.is_set(GC), "set again by the second pass through the body"


def test_jump_backward_no_interrupt_never_checks() -> None:
    s = Setup()
    code = Code(
        "yield_from",
        [
            Instr.resume(3),
            Instr.work(s.schedule_gc),
            Instr.jump_backward_no_interrupt(1, once()),
            Instr.ret(),
        ],
    )
    run(s.main, code)
    assert s.gc_sites == []
    assert s.main.breaker.is_set(GC)


def test_c_call_checks_after_the_callee_returns() -> None:
    s = Setup()
    seen_in_callee: list[bool] = []

    def callee() -> str:
        s.schedule_gc()
        seen_in_callee.append(s.main.breaker.is_set(GC))
        return "result"

    code = Code("f", [Instr.resume(2), Instr.work(), Instr.call_c(callee), Instr.ret()])
    assert run(s.main, code) == "result"
    assert seen_in_callee == [True], "the check did not run before the callee"
    assert s.gc_sites == [("f", 2)]


def test_an_exception_at_a_c_call_check_discards_the_result() -> None:
    s = Setup()
    after: list[str] = []

    def callee() -> str:
        s.interp.set_async_exc(s.main, KeyError)
        return "lost"

    code = Code(
        "f",
        [Instr.resume(2), Instr.call_c(callee), Instr.work(lambda: after.append("x")), Instr.ret()],
    )
    with pytest.raises(KeyError):
        run(s.main, code)
    assert after == []
    assert s.trace.named("eval.check_point")[-1].fields == {"code": "f", "pc": 1, "op": "CALL_C"}


def test_python_call_does_not_check_the_callee_resume_does() -> None:
    s = Setup()
    quiet = Code("quiet", [Instr.resume(2), Instr.ret()])
    caller = Code(
        "caller", [Instr.resume(2), Instr.work(s.schedule_gc), Instr.call_py(quiet), Instr.ret()]
    )
    run(s.main, caller)
    assert s.gc_sites == []
    callee = Code("callee", [Instr.resume(0), Instr.ret()])
    caller2 = Code("caller2", [Instr.resume(2), Instr.call_py(callee), Instr.ret()])
    run(s.main, caller2)
    assert s.gc_sites == [("callee", 0)]


def test_work_and_return_never_check() -> None:
    s = Setup()
    s.schedule_gc()
    run(s.main, Code("f", [Instr.resume(2), Instr.work(), Instr.work(), Instr.ret()]))
    assert s.gc_sites == []


def test_run_requires_the_gil() -> None:
    interp = Interpreter()
    with pytest.raises(GilProtocolError, match=r"^eval: thread 0 does not hold the GIL$"):
        run(interp.main_thread, Code("f", [Instr.ret()]))


@pytest.mark.parametrize(
    ("instrs", "message"),
    [
        ([], r"^Code 'bad': the last instruction must be RETURN$"),
        ([Instr.resume(0)], r"^Code 'bad': the last instruction must be RETURN$"),
        (
            [Instr.work(), Instr.jump_backward(2), Instr.ret()],
            r"^Code 'bad': the jump at 1 targets 2, not an earlier instruction$",
        ),
    ],
)
def test_bad_code_objects(instrs: list[Instr], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Code("bad", instrs)


# -- _Py_HandlePending -------------------------------------------------------------------


def full_pass_setup(
    waiter: ControlledWaiter | None = None,
) -> tuple[Interpreter, ThreadState, list[str], TraceLog]:
    """Every bit CPython 3.13 handles is set; each handler records its name.

    GIL_DROP_REQUEST is set by hand: a pass that reaches it waits on
    switch_cond until another thread takes the GIL (as in CPython, where only a
    waiter sets it), so only the error paths, which stop before it, or a test
    with a waiting thread may run the pass.
    """
    order: list[str] = []
    trace = TraceLog()
    interp = Interpreter(trace=trace, waiter=waiter, gc_hook=lambda ts: order.append("gc"))
    main = interp.main_thread
    interp.gil.acquire(main)
    interp.install_signal_handler(signal.SIGUSR1, lambda signum, frame: order.append("signal"))
    interp.trip_signal(signal.SIGUSR1)
    interp.add_pending_call(lambda: order.append("call"))
    main.breaker.set(Bit.GC_SCHEDULED | Bit.GIL_DROP_REQUEST)
    interp.set_async_exc(main, LookupError)
    return interp, main, order, trace


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_handle_pending_acts_in_cpythons_order() -> None:
    waiter = ControlledWaiter(wake_on_notify=True, hang_timeout=SHORT_TIMEOUT)
    interp, main, order, trace = full_pass_setup(waiter)
    gil, t1 = interp.gil, interp.new_thread()

    def t1_takes_a_turn() -> None:
        gil.acquire(t1)
        gil.release(t1)

    try:
        # MAIN holds the GIL; its actor runs the pass (a ThreadState is not
        # tied to a host thread) while T1 waits to take a turn.
        with actors("MAIN", "T1") as (a0, a1):
            f1 = a1.submit(t1_takes_a_turn)
            waiter.wait_blocked(1, BlockPoint.TAKE_GIL, SHORT_TIMEOUT)
            f0 = a0.submit(lambda: interp.handle_pending(main))
            assert isinstance(exception(f0, "MAIN's pass"), LookupError)
            result(f1, "T1's turn")
            a0.call(lambda: gil.release(main))
        # signals, calls, gc, drop (a detach and attach), async exception last.
        assert order == ["signal", "call", "gc"]
        names = [e.name for e in trace.events if e.thread == 0]
        gc_at = names.index("gc.run")
        assert names[gc_at + 1] == "drop_gil"
        assert "take_gil.acquire" in names[gc_at + 1 :]
        assert names[-2:] == ["async_exc.raise", "drop_gil"]
        assert main.breaker.load() == 0
    finally:
        interp.uninstall_signal_handlers()


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_a_signal_handler_error_returns_at_once_and_keeps_the_later_bits() -> None:
    interp, main, order, _ = full_pass_setup()

    def boom(signum: int, frame: object) -> None:
        raise ArithmeticError("handler failed")

    try:
        interp.install_signal_handler(signal.SIGUSR1, boom)
        with pytest.raises(ArithmeticError, match=r"^handler failed$"):
            interp.handle_pending(main)
        assert order == []
        expected = Bit.SIGNALS_PENDING | Bit.CALLS_TO_DO | Bit.GC_SCHEDULED
        expected |= Bit.GIL_DROP_REQUEST | Bit.ASYNC_EXCEPTION
        assert main.breaker.load() == expected, "SIGNALS set again, the later bits untouched"
    finally:
        interp.uninstall_signal_handlers()


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_a_pending_call_error_returns_at_once_and_keeps_the_later_bits() -> None:
    interp, main, order, _ = full_pass_setup()

    def boom() -> None:
        raise ArithmeticError("call failed")

    try:
        interp.pending.add(boom)  # behind the recording call
        with pytest.raises(ArithmeticError, match=r"^call failed$"):
            interp.handle_pending(main)
        assert order == ["signal", "call"]
        expected = Bit.CALLS_TO_DO | Bit.GC_SCHEDULED | Bit.GIL_DROP_REQUEST | Bit.ASYNC_EXCEPTION
        assert main.breaker.load() == expected
    finally:
        interp.uninstall_signal_handlers()


def test_a_bit_set_during_the_pass_waits_for_the_next_check_point() -> None:
    s = Setup()
    s.interp.add_pending_call(s.schedule_gc)
    s.interp.handle_pending(s.main)
    assert s.gc_sites == []
    assert s.main.breaker.is_set(GC), "not in the snapshot this pass acted on"


def test_async_exception_is_delivered_once() -> None:
    s = Setup()
    s.interp.set_async_exc(s.main, ValueError)
    s.interp.set_async_exc(s.main, KeyError("replaced"))  # exchange: the last one wins
    code = Code("f", [Instr.resume(0), Instr.ret()])
    with pytest.raises(KeyError, match=r"replaced"):
        run(s.main, code)
    assert s.main.async_exc is None
    assert not s.main.breaker.is_set(Bit.ASYNC_EXCEPTION)
    run(s.main, code)  # nothing left to deliver


def test_async_exception_cancelled_with_none_raises_nothing() -> None:
    s = Setup()
    s.interp.set_async_exc(s.main, ValueError)
    s.interp.set_async_exc(s.main, None)
    assert s.main.breaker.is_set(Bit.ASYNC_EXCEPTION)  # the bit is set either way
    run(s.main, Code("f", [Instr.resume(0), Instr.ret()]))
    assert not s.main.breaker.is_set(Bit.ASYNC_EXCEPTION)


def test_async_exception_reaches_a_worker_not_the_main_thread() -> None:
    interp = Interpreter()
    t1 = interp.new_thread()
    interp.gil.acquire(t1)
    interp.set_async_exc(t1, ValueError)
    assert not interp.main_thread.breaker.is_set(Bit.ASYNC_EXCEPTION)
    with pytest.raises(ValueError):  # noqa: PT011 (a bare class is what CPython raises)
        run(t1, Code("f", [Instr.resume(0), Instr.ret()]))


def test_set_async_exc_rejects_a_non_exception() -> None:
    s = Setup()
    before = s.interp.snapshot()
    with pytest.raises(
        TypeError, match=r"^set_async_exc: exc must be an exception class or instance, not int$"
    ):
        s.interp.set_async_exc(s.main, 3)  # type: ignore[arg-type]  # bad on purpose
    with pytest.raises(TypeError, match=r"not type$"):
        s.interp.set_async_exc(s.main, int)  # type: ignore[arg-type]  # bad on purpose
    assert s.interp.snapshot() == before


def test_please_stop_is_a_detach_and_attach_in_a_default_build() -> None:
    s = Setup()
    s.main.breaker.set(Bit.EVAL_PLEASE_STOP)
    s.interp.handle_pending(s.main)
    names = [e.name for e in s.trace.events if e.thread == 0]
    assert names[-3:] == ["handle_pending", "drop_gil", "take_gil.acquire"]
    assert s.main.breaker.load() == 0


@pytest.mark.parametrize("bit", [Bit.EXPLICIT_MERGE, Bit.JIT_INVALIDATE_COLD])
def test_bits_3_13_default_builds_do_not_handle_stay_set(bit: Bit) -> None:
    s = Setup()
    s.main.breaker.set(bit)
    s.interp.handle_pending(s.main)
    assert s.main.breaker.load() == bit


def test_handle_pending_requires_the_gil() -> None:
    interp = Interpreter()
    with pytest.raises(
        GilProtocolError, match=r"^_Py_HandlePending: thread 0 does not hold the GIL$"
    ):
        interp.handle_pending(interp.main_thread)
    with pytest.raises(
        GilProtocolError, match=r"^make_pending_calls: thread 0 does not hold the GIL$"
    ):
        interp.make_pending_calls(interp.main_thread)


def test_allow_threads_detaches_and_attaches_even_on_error() -> None:
    s = Setup()
    inside: list[tuple[bool, bool]] = []

    def body() -> None:
        with s.main.allow_threads():
            inside.append((s.main.holds_gil, s.interp.gil.locked))
            raise RuntimeError("inside")

    with pytest.raises(RuntimeError, match=r"^inside$"):
        body()
    assert inside == [(False, False)]
    assert s.main.holds_gil
    names = [e.name for e in s.trace.events]
    assert names[-2:] == ["drop_gil", "take_gil.acquire"]


def test_must_exit_is_a_system_exit() -> None:
    assert issubclass(MustExit, SystemExit)


def test_a_loop_runs_its_body_until_its_condition_fails() -> None:
    interp = Interpreter()
    main = interp.main_thread
    runs: list[int] = []
    code = Code.loop("spin", lambda: runs.append(len(runs)), lambda: len(runs) < 3)
    assert [i.op for i in code.instrs] == [Op.RESUME, Op.WORK, Op.JUMP_BACKWARD, Op.RETURN]
    interp.gil.acquire(main)
    assert run(main, code) is None
    interp.gil.release(main)
    assert runs == [0, 1, 2]
