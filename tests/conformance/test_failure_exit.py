"""A failing conformance test stops its workers and lets pytest exit (issue 10 item 6).

The inner run (tests/data/lockstep_failure_inner.py, copied into ``tmp_path``
so the main suite does not collect it) drives ``release-keeps-mutex``, whose
``drop_gil`` leaves ``gil->mutex`` locked. Before the harness bounded its
waits on ``impl``'s locks, that run hung for good: the test thread blocked in
``Interpreter.snapshot`` on the mutex, and a woken waiter on it too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from conformance.broken_impls import IMPLS
from conformance.harness import LEAKED, Divergence, Lockstep, concrete_model
from conformance.locks import ImplLocks, where_blocked
from conformance.support import SHORT_TIMEOUT, join_thread
from impl import BlockPoint
from model.config import Config
from model.protocol import Cpython313

INNER: Final = Path(__file__).parents[1] / "data" / "lockstep_failure_inner.py"
BOUND: Final = 100.0
"""Seconds the inner run may take (about 25: two 10 s lock probes); under the
suite's ``faulthandler_timeout`` (120 s), so that this test's own failure is the report."""

CONFTEST: Final = """
import threading


def pytest_terminal_summary(terminalreporter):  # in pytest_sessionfinish, after every test
    from conformance.harness import LEAKED

    main = threading.main_thread()
    left = sorted(t.name for t in threading.enumerate() if t is not main)
    terminalreporter.write_line(f"threads left at session finish: {left}; leaked: {LEAKED}")
"""


@pytest.fixture(autouse=True)
def _no_leaked_workers() -> Iterator[None]:
    LEAKED.clear()
    yield
    assert not LEAKED, f"teardown left workers behind: {LEAKED}"


@pytest.mark.slow
def test_failing_conformance_run_exits_with_pytests_code(tmp_path: Path) -> None:
    shutil.copy(INNER, tmp_path / "test_inner.py")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    # The inner run's own hang guard dumps every stack before the outer bound kills it.
    (tmp_path / "pytest.ini").write_text(f"[pytest]\nfaulthandler_timeout = {BOUND - 20:.0f}\n")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_inner.py"]
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=BOUND, check=False
        )
    except subprocess.TimeoutExpired as exc:
        output = b"".join(part or b"" for part in (exc.stdout, exc.stderr)).decode(errors="replace")
        output = "\n".join(line for line in output.splitlines() if "site-packages" not in line)
        raise AssertionError(
            f"the failing conformance run did not exit within {BOUND:.0f} s:\n{output[-3000:]}"
        ) from None
    elapsed = time.perf_counter() - start
    output = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED, output[-3000:]
    assert "impl diverged from the model after step " in output, output[-3000:]
    assert "gil->mutex at a sync point\n" in output, output[-3000:]
    assert "threads left at session finish: []; leaked: []" in output, output[-3000:]
    print(f"the failing run exited with {proc.returncode} in {elapsed:.1f} s")


def test_close_after_a_held_mutex_stops_every_worker() -> None:
    """The same bug driven by hand: two steps, one 10 s probe, no thread left."""
    h = Lockstep(concrete_model(Cpython313, Config()), IMPLS["release-keeps-mutex"])
    try:
        h.step(h.instance("take_gil", 1))  # T1 waits in take_gil
        with pytest.raises(Divergence, match=r"gil->mutex at a sync point\n  model: 'free'"):
            h.step(h.instance("allow_threads", 0))  # T0 drops the GIL, keeps the mutex
    finally:
        h.close()
    assert not [w.thread.name for w in h.workers if w.thread.is_alive()]
    assert not h.interp.gil._mutex.locked()


def test_close_stops_the_holder_before_waking_the_waiters() -> None:
    """The bug hit in teardown only: T1 drops the GIL at its stop with T0 and T2
    parked, and keeps the mutex. Teardown stops T1 first, finds the mutex held
    with no thread running, releases it, then wakes T0 and T2: no 10 s bound
    passes and nothing leaks (when the waiters were woken while T1 stopped,
    whichever reacquired the mutex after T1's drop_gil hung until round two)."""
    h = Lockstep(concrete_model(Cpython313, Config()), IMPLS["release-keeps-mutex"])
    try:
        for inst in (("allow_threads", 0), ("take_gil", 1), ("take_gil", 2), ("take_gil", 0)):
            h.step(h.instance(*inst))  # no drop with a waiter parked: no divergence
        assert h.waiter.blocked() == {0: BlockPoint.TAKE_GIL, 2: BlockPoint.TAKE_GIL}
    finally:
        start = time.perf_counter()
        h.close()
    assert time.perf_counter() - start < SHORT_TIMEOUT, "teardown waited a whole bound"
    assert not [w.thread.name for w in h.workers if w.thread.is_alive()]
    assert not h.interp.gil._mutex.locked()


@pytest.mark.slow
def test_close_breaks_a_lock_stuck_in_teardown() -> None:
    """A lock no sync point saw held: the holder of the GIL cannot drop it at its
    stop; after a bound with no event teardown breaks it, says so, and ends."""
    h = Lockstep(concrete_model(Cpython313, Config()))
    h.interp.gil._mutex.acquire()  # as if some thread had left it locked after the last check
    h.close()
    assert LEAKED.pop() == "teardown: T[0] did not end; locks released: gil->mutex"
    assert not [w.thread.name for w in h.workers if w.thread.is_alive()]


def test_locks_held_found_and_broken() -> None:
    h = Lockstep(concrete_model(Cpython313, Config()))
    try:
        locks = ImplLocks(h.interp)
        pending = locks.locks["the per-interpreter pending-call mutex"]
        assert locks.first_held(0.0) is None
        pending.acquire()
        assert locks.first_held(0.0) == "the per-interpreter pending-call mutex"
        assert locks.break_stuck() == ["the per-interpreter pending-call mutex"]
        assert not pending.locked()
        assert locks.first_held(0.0) is None
    finally:
        h.close()


def test_where_blocked_names_the_frames() -> None:
    where = where_blocked(threading.current_thread())
    assert where.startswith("locks.py:"), where
    assert " in where_blocked " in where, where
    assert "test_failure_exit.py:" in where, where
    assert "in test_where_blocked_names_the_frames" in where, where
    thread = threading.Thread(target=lambda: None, name="done")
    thread.start()
    join_thread(thread)
    assert where_blocked(thread) == "nowhere (it has ended)"
