"""The signal bridge: tripping, the scan, handler errors, real signals."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from impl import Bit, Code, Instr, Interpreter, TraceLog, run
from impl.signals import Handler

SIGNALS = Bit.SIGNALS_PENDING
needs_usr = pytest.mark.skipif(
    not (hasattr(signal, "SIGUSR1") and hasattr(signal, "SIGUSR2")), reason="needs SIGUSR1/2"
)


@pytest.fixture
def interp() -> Iterator[Interpreter]:
    interp = Interpreter(trace=TraceLog())
    interp.gil.acquire(interp.main_thread)
    try:
        yield interp
    finally:
        interp.uninstall_signal_handlers()


def handler_log(log: list[int], *, fail_on: int | None = None) -> Handler:
    def handler(signum: int, frame: object) -> None:
        log.append(signum)
        if signum == fail_on:
            raise OSError(f"handler of {signum} failed")

    return handler


@needs_usr
def test_trip_sets_the_flags_and_the_main_threads_bit(interp: Interpreter) -> None:
    interp.install_signal_handler(signal.SIGUSR1, handler_log([]))
    t1 = interp.new_thread()
    interp.trip_signal(signal.SIGUSR1)
    s = interp.snapshot()
    assert s.is_tripped
    assert s.tripped == (signal.SIGUSR1,)
    assert s.thread(0).breaker == SIGNALS
    assert s.thread(t1.id).breaker == 0


@needs_usr
def test_handlers_run_in_ascending_signal_number(interp: Interpreter) -> None:
    log: list[int] = []
    for signum in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM):
        interp.install_signal_handler(signum, handler_log(log))
    interp.trip_signal(signal.SIGTERM)
    interp.trip_signal(signal.SIGUSR2)
    interp.trip_signal(signal.SIGUSR1)
    interp.handle_pending(interp.main_thread)
    assert log == sorted([signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM])
    s = interp.snapshot()
    assert (s.is_tripped, s.tripped, s.thread(0).breaker) == (False, (), 0)


@needs_usr
def test_a_raising_handler_retrips_and_leaves_the_unscanned_signals(interp: Interpreter) -> None:
    log: list[int] = []
    low, mid, high = sorted([signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM])
    for signum in (low, mid, high):
        interp.install_signal_handler(signum, handler_log(log, fail_on=mid))
    for signum in (low, mid, high):
        interp.trip_signal(signum)
    with pytest.raises(OSError, match=rf"^handler of {mid} failed$"):
        interp.handle_pending(interp.main_thread)
    assert log == [low, mid]
    s = interp.snapshot()
    assert s.is_tripped, "re-set so the next check scans again"
    assert s.tripped == (high,)
    assert s.thread(0).breaker == SIGNALS, "handle_signals set the bit again"
    interp.handle_pending(interp.main_thread)
    assert log == [low, mid, high]


@needs_usr
def test_a_signal_tripped_during_the_scan_is_not_lost(interp: Interpreter) -> None:
    """is_tripped is cleared before the scan, so a signal tripped by a handler stays pending."""
    log: list[int] = []
    low, high = sorted([signal.SIGUSR1, signal.SIGUSR2])

    def high_handler(signum: int, frame: object) -> None:
        log.append(signum)
        interp.trip_signal(low)  # already scanned in this pass

    interp.install_signal_handler(low, handler_log(log))
    interp.install_signal_handler(high, high_handler)
    interp.trip_signal(high)
    interp.handle_pending(interp.main_thread)
    assert log == [high]
    s = interp.snapshot()
    assert (s.is_tripped, s.tripped, s.thread(0).breaker) == (True, (low,), SIGNALS)
    interp.handle_pending(interp.main_thread)
    assert log == [high, low]


@needs_usr
def test_a_non_main_thread_clears_the_bit_without_running_handlers(interp: Interpreter) -> None:
    log: list[int] = []
    interp.install_signal_handler(signal.SIGUSR1, handler_log(log))
    interp.trip_signal(signal.SIGUSR1)
    interp.gil.release(interp.main_thread)
    t1 = interp.new_thread()
    interp.gil.acquire(t1)
    t1.breaker.set(SIGNALS)  # a stale bit
    interp.handle_pending(t1)
    assert log == []
    assert t1.breaker.load() == 0
    assert interp.snapshot().tripped == (signal.SIGUSR1,)
    interp.gil.release(t1)
    interp.gil.acquire(interp.main_thread)
    interp.handle_pending(interp.main_thread)
    assert log == [signal.SIGUSR1]


def test_sigint_default_handler_raises_keyboard_interrupt_at_mains_check_point(
    interp: Interpreter,
) -> None:
    interp.install_signal_handler(signal.SIGINT)  # signal.default_int_handler
    interp.trip_signal(signal.SIGINT)  # what the installed host handler does on a real SIGINT
    code = Code("spin", [Instr.resume(2), Instr.call_c(lambda: "x"), Instr.ret()])
    with pytest.raises(KeyboardInterrupt):
        run(interp.main_thread, code)
    assert interp.main_thread.breaker.is_set(SIGNALS)
    assert interp.snapshot().is_tripped


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_a_real_sigusr1_runs_its_handler_at_mains_next_check_point(interp: Interpreter) -> None:
    """os.kill delivers to the process; the host handler trips; our check point runs it.

    The host runs its handler at its own check point right after the os.kill
    call returns (Linux delivers a process-directed signal to the main thread
    when that thread does not block it), before our CALL_C checks.
    """
    previous = signal.getsignal(signal.SIGUSR1)
    log: list[tuple[str, object]] = []
    trace = interp._trace
    assert isinstance(trace, TraceLog)

    def handler(signum: int, frame: object) -> None:
        site = trace.named("eval.check_point")[-1]
        log.append(("handler", (site["code"], site["pc"])))

    interp.install_signal_handler(signal.SIGUSR1, handler)
    code = Code(
        "main",
        [
            Instr.resume(2),
            Instr.work(lambda: log.append(("before", None))),
            Instr.call_c(lambda: os.kill(os.getpid(), signal.SIGUSR1)),
            Instr.work(lambda: log.append(("after", None))),
            Instr.ret(),
        ],
    )
    run(interp.main_thread, code)
    assert log == [("before", None), ("handler", ("main", 2)), ("after", None)]
    interp.uninstall_signal_handlers()
    assert signal.getsignal(signal.SIGUSR1) == previous


@needs_usr
def test_uninstall_restores_the_previous_handlers(interp: Interpreter) -> None:
    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not expected to run")

    old = signal.signal(signal.SIGUSR2, mine)
    try:
        interp.install_signal_handler(signal.SIGUSR2, handler_log([]))
        assert signal.getsignal(signal.SIGUSR2) is not mine
        interp.uninstall_signal_handlers(signal.SIGUSR2)
        assert signal.getsignal(signal.SIGUSR2) is mine
        assert interp._signals.installed() == ()
    finally:
        signal.signal(signal.SIGUSR2, old)


@pytest.mark.parametrize(
    ("signum", "exc_type", "message"),
    [
        (0, ValueError, r"^trip_signal: signal number out of range$"),
        (signal.NSIG, ValueError, r"^trip_signal: signal number out of range$"),
        ("2", TypeError, r"^trip_signal: signal number must be an int, not str$"),
    ],
)
def test_bad_signal_numbers(
    interp: Interpreter, signum: object, exc_type: type[Exception], message: str
) -> None:
    before = interp.snapshot()
    with pytest.raises(exc_type, match=message):
        interp.trip_signal(signum)  # type: ignore[arg-type]  # bad on purpose
    with pytest.raises(exc_type, match=message.replace("trip_signal", "install_signal_handler")):
        interp.install_signal_handler(signum)  # type: ignore[arg-type]  # bad on purpose
    assert interp.snapshot() == before


@needs_usr
def test_bad_handlers_change_nothing(interp: Interpreter) -> None:
    previous = signal.getsignal(signal.SIGUSR1)
    with pytest.raises(
        TypeError, match=r"^install_signal_handler: handler must be callable, not int$"
    ):
        interp.install_signal_handler(signal.SIGUSR1, 3)  # type: ignore[arg-type]  # bad on purpose
    assert signal.getsignal(signal.SIGUSR1) == previous
    if hasattr(signal, "SIGKILL"):
        with pytest.raises(
            OSError, match=r"install_signal_handler: the host refuses a handler for SIGKILL"
        ):
            interp.install_signal_handler(signal.SIGKILL, handler_log([]))
        assert signal.getsignal(signal.SIGKILL) == signal.SIG_DFL
    assert interp._signals.installed() == ()
