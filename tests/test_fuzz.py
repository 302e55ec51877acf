"""The state machines under HypoFuzz (README, "Fuzzing with HypoFuzz").

``hypothesis fuzz`` runs until it is stopped, and says little on its output: it
prints how many tests it collected, and writes everything else (progress
reports, the covering corpus, failures with their tracebacks) to the example
database. So each test starts it in its own process group, with the ``fuzz``
profile and a database of its own, polls that database until it shows what the
test waits for (with a deadline), then stops the group (SIGTERM).

The tests need the ``fuzz`` extra (``pip install -e '.[test,fuzz]'``); without
it they are skipped.
"""

from __future__ import annotations

import importlib.util
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeAlias

import pytest

ROOT: Final = Path(__file__).resolve().parents[1]
HYPOTHESIS: Final = Path(sys.executable).parent / "hypothesis"
"""The ``hypothesis`` command installed beside this interpreter (HypoFuzz adds ``fuzz``)."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("hypofuzz") is None,
        reason="HypoFuzz is not installed (pip install -e '.[test,fuzz]')",
    ),
    pytest.mark.skipif(not HYPOTHESIS.exists(), reason=f"no {HYPOTHESIS}"),
]

STATEFUL: Final = "tests/conformance/test_stateful.py"
MACHINES: Final = (f"{STATEFUL}::TestGilConformance", f"{STATEFUL}::TestGilConformanceRealSignals")
BROKEN_TARGET: Final = "tests/data/fuzz_broken_target.py"
BROKEN_NODEID: Final = f"{BROKEN_TARGET}::TestNoNotifyOnRelease::runTest"
Popen: TypeAlias = "subprocess.Popen[bytes]"


@dataclass(frozen=True, slots=True)
class Target:
    """What the database says about one fuzz target."""

    nodeid: str
    executed: int
    """Test cases run (valid, invalid and failing), by the latest report."""
    failures: tuple[str, ...]
    """The traceback of each failure recorded (shrunk or not)."""


def targets(db: Path) -> dict[str, Target]:
    """Every target a fuzzing worker started with the database in ``db``, by node id."""
    from hypofuzz.database import FailureState, HypofuzzDatabase
    from hypofuzz.database.database import test_keys_key
    from hypothesis.database import DirectoryBasedExampleDatabase

    raw = DirectoryBasedExampleDatabase(db)
    hdb = HypofuzzDatabase(raw)
    found: dict[str, Target] = {}
    for key in raw.fetch(test_keys_key):
        reports = hdb.reports.fetch(key)
        if not reports:
            continue
        latest = max(reports, key=lambda r: r.elapsed_time)
        failures: list[str] = []
        for state in (FailureState.SHRUNK, FailureState.UNSHRUNK):
            for choices in hdb.failures(state=state).fetch(key):
                observation = hdb.failure_observations(state=state).fetch(key, choices)
                if observation is not None and observation.metadata.traceback:
                    failures.append(str(observation.metadata.traceback))
        executed = sum(int(n) for n in latest.status_counts.values())
        found[str(latest.nodeid)] = Target(str(latest.nodeid), executed, tuple(failures))
    return found


def fuzz_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GILCHECK_HYPOTHESIS_DB_READONLY"}
    env.update(HYPOTHESIS_PROFILE="fuzz", GILCHECK_HYPOTHESIS_DB=str(db))
    return env


@contextmanager
def fuzzing(nodeid: str, db: Path, log: Path) -> Iterator[Popen]:
    """``hypothesis fuzz -n 1`` on ``nodeid`` with its output in ``log``; stopped on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(HYPOTHESIS), "fuzz", "-n", "1", "--no-dashboard", "--", nodeid],
            cwd=ROOT,
            env=fuzz_env(db),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: Popen) -> None:
    """SIGTERM to the group (the hub, its manager and its worker), then SIGKILL if need be.

    Not SIGINT (Ctrl-C at a terminal): a process started in the background inherits
    SIGINT ignored, and Python then never installs its handler. What the workers
    found is in the database already; a worker killed in a step leaves nothing else.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        if gone(proc, timeout=10.0):
            break
    proc.wait(timeout=5)


def group(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``, from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                out.append(int(entry.name))
    return out


def gone(proc: Popen, *, timeout: float) -> bool:
    """Whether every process of ``proc``'s group has exited within ``timeout`` seconds:
    the leader is waited for, each other member's exit is waited on through its pidfd."""
    deadline = time.monotonic() + timeout
    with suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=timeout)  # reaps the leader: a zombie is still in the group
    for pid in group(proc.pid):
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        finally:
            os.close(fd)
        if not ready:
            return False
    return proc.poll() is not None and not group(proc.pid)


@contextmanager
def changes(directory: Path) -> Iterator[int]:
    """A file descriptor that becomes readable whenever something under ``directory``
    changes (watchdog, which HypoFuzz installs with Hypothesis)."""
    from watchdog.observers import Observer

    read, write = os.pipe()
    os.set_blocking(write, False)

    class Poke:
        """An event handler: the observer calls ``dispatch`` for every change."""

        def dispatch(self, event: object) -> None:
            with suppress(BlockingIOError):
                os.write(write, b".")

    directory.mkdir(parents=True, exist_ok=True)
    observer = Observer()
    observer.schedule(Poke(), str(directory), recursive=True)
    observer.start()
    try:
        yield read
    finally:
        observer.stop()
        observer.join(timeout=10)
        os.close(read)
        os.close(write)


def wait_for(
    what: str, done: Callable[[], bool], runs: dict[Path, Popen], db: Path, timeout: float
) -> None:
    """Look at ``done`` each time the database changes, until it holds; fail, with the logs,
    if a run exits or time is up. Waits on the database's changes and the runs' pidfds."""
    deadline = time.monotonic() + timeout
    pidfds = [os.pidfd_open(proc.pid) for proc in runs.values()]
    try:
        with changes(db) as changed:
            while not done():
                exited = [log for log, proc in runs.items() if proc.poll() is not None]
                left = deadline - time.monotonic()
                if exited or left <= 0:
                    logs = "\n".join(
                        f"{log.name}:\n{log.read_text(errors='replace')}" for log in runs
                    )
                    why = (
                        f"exited: {[log.name for log in exited]}"
                        if exited
                        else f"{timeout} s passed"
                    )
                    pytest.fail(f"no {what} ({why})\n{logs}")
                ready, _, _ = select.select([changed, *pidfds], [], [], left)
                if changed in ready:
                    os.read(changed, 4096)
    finally:
        for fd in pidfds:
            os.close(fd)


def test_the_state_machines_are_collected_and_fuzzed(tmp_path: Path) -> None:
    """Both machines fuzzed at once, by two processes sharing one database."""
    db = tmp_path / "db"
    logs = [tmp_path / f"fuzz{i}.log" for i in range(len(MACHINES))]
    start = time.perf_counter()
    with fuzzing(MACHINES[0], db, logs[0]) as a, fuzzing(MACHINES[1], db, logs[1]) as b:

        def ran() -> bool:
            seen = targets(db)
            return all(seen.get(f"{m}::runTest", Target(m, 0, ())).executed >= 1 for m in MACHINES)

        runs = {logs[0]: a, logs[1]: b}
        wait_for("test case of each state machine in the database", ran, runs, db, timeout=25)
    seen = targets(db)
    for machine, log in zip(MACHINES, logs, strict=True):
        output = log.read_text(errors="replace")
        assert "using 1 process to fuzz 1 test\n" in output, output
        target = seen[f"{machine}::runTest"]
        assert not target.failures, target.failures[0]
        print(f"{machine}: {target.executed} test case(s) reported")
    print(f"{time.perf_counter() - start:.1f} s")


REPORT: Final = re.compile(
    r"impl diverged from the model after step \d+ .*\n\s*model: .*\n\s*impl:  .*"
    r"(\n\s*model steps: .*)?"
)
"""The lock-step report (conformance/harness.py, ``Lockstep.check``), in pytest's
``E``-prefixed lines or not."""


def report(text: str) -> str:
    """The lock-step report in ``text``, one line each, without pytest's ``E`` margin."""
    plain = re.sub(r"(?m)^E +", "", text)
    found = REPORT.search(plain)
    assert found, text
    return "\n".join(line.strip() for line in found.group(0).splitlines())


def test_a_fuzzing_failure_is_the_lockstep_report(tmp_path: Path) -> None:
    """HypoFuzz finds the known bug and records the report; pytest replays it from the database."""
    db = tmp_path / "db"
    start = time.perf_counter()
    log = tmp_path / "fuzz.log"
    with fuzzing(BROKEN_TARGET, db, log) as proc:

        def failed() -> bool:
            target = targets(db).get(BROKEN_NODEID)
            return target is not None and bool(target.failures)

        wait_for("failure recorded", failed, {log: proc}, db, timeout=40)
    found_in = time.perf_counter() - start
    recorded = report(targets(db)[BROKEN_NODEID].failures[0])
    assert "COND_SIGNAL(take_gil condition) count" in recorded, recorded

    # The same database, replayed by pytest: the same report for the same example.
    assert report(replay(fuzz_env(db))) == recorded
    # On another machine, from a read-only copy of it: the same again, the copy unchanged.
    copy = tmp_path / "copy"
    shutil.copytree(db, copy)
    before = snapshot(copy)
    elsewhere = {**fuzz_env(tmp_path / "own"), "GILCHECK_HYPOTHESIS_DB_READONLY": str(copy)}
    assert report(replay(elsewhere)) == recorded
    assert snapshot(copy) == before
    assert snapshot(tmp_path / "own"), "the replayed failure is saved to the machine's own database"
    print(f"found and recorded in {found_in:.1f} s:\n{recorded}")


def replay(env: dict[str, str]) -> str:
    """The output of pytest on the broken target under ``fuzz-replay``, which must fail."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", BROKEN_NODEID],
        cwd=ROOT,
        env={**env, "HYPOTHESIS_PROFILE": "fuzz-replay"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    return output


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }
