"""``gilcheck verify`` as its users run it: progress, early ends, errors, a closed pipe.

Each case runs the real command in its own process (``python -m gilcheck``)
and asserts on what it prints and how it exits. The interrupt cases wait for a
line of progress (bounded), send the signal, and check that the run ends with
the verdicts settled so far, a partial report, the documented exit code, and
no worker process left behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.support import LONG_TIMEOUT, SHORT_TIMEOUT
from engines.verdicts import EXIT_BAD_CONFIG, EXIT_INTERRUPTED, EXIT_SAFETY
from tests.cli_helpers import (
    SAFETY_MUTANT,
    SMALL,
    one_line,
    run_program,
    write_mutant_module,
)

ROOT = Path(__file__).resolve().parent.parent


def start(*argv: str) -> subprocess.Popen[str]:
    """``gilcheck ARGV`` running in the background, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "gilcheck", *argv],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def children(pid: int) -> list[int]:
    """The pids of ``pid``'s child processes (Linux /proc)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    # A zombie has exited; only its parent's wait() is missing.
    return status.exists() and "State:\tZ" not in status.read_text()


def test_header_at_once_then_a_line_per_phase_and_per_settled_entry(tmp_path: Path) -> None:
    proc = run_program("verify", *SMALL, "--only", "INV-GIL-SINGLE-HOLDER", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("gilcheck verify  variant=cpython-3.13"), lines[0]
    assert any("z3 k-induction" in line for line in lines), proc.stdout
    settled = [line for line in lines if line.startswith("settled: ")]
    assert settled == [settled[0]], "one line per settled entry, the --only one"
    assert settled[0].startswith("settled: INV-GIL-SINGLE-HOLDER proved (k=1)"), settled


def test_json_on_stdout_stays_json_and_progress_goes_to_stderr(tmp_path: Path) -> None:
    argv = ["verify", *SMALL, "--only", "INV-GIL-SINGLE-HOLDER", "--format", "json"]
    proc = run_program(*argv, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdicts"][0]["verdict"] == "proved"
    assert "settled: INV-GIL-SINGLE-HOLDER" in proc.stderr


def test_stop_on_violation_ends_at_the_first_one(tmp_path: Path) -> None:
    module = write_mutant_module(tmp_path)
    argv = ["verify", "--threads", "2", "--load", str(module), "--variant", SAFETY_MUTANT]
    proc = run_program(*argv, "--stop-on-violation", "--format", "json", "--out", str(tmp_path))
    assert proc.returncode == EXIT_SAFETY, proc.stderr
    report = json.loads(proc.stdout)
    status = {v["id"]: v["verdict"] for v in report["verdicts"]}
    assert status.pop("INV-GIL-SINGLE-HOLDER") == "violated"
    assert set(status.values()) <= {"unchecked", "violated", "proved"}
    assert "unchecked" in status.values(), "the run went on after the violation"
    assert report["ended"].startswith("stopped at the first violation")
    assert "gilcheck: verify: stopped at the first violation" in proc.stderr
    assert (tmp_path / "INV-GIL-SINGLE-HOLDER.itf.json").is_file()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_stops_the_workers_and_reports_what_was_settled(
    tmp_path: Path, signum: int
) -> None:
    proc = start("verify", "--threads", "2", "--out", str(tmp_path))
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:  # the run takes ~30 s; induction starts in ~1 s
            seen.append(line)
            if "z3 k-induction" in line:
                break
        else:
            pytest.fail(f"verify ended before k-induction began:\n{''.join(seen)}")
        workers = children(proc.pid)
        if Path(f"/proc/{proc.pid}/task/{proc.pid}/children").exists():
            assert len(workers) == 2, f"expected verify's two workers, saw {workers}"
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=LONG_TIMEOUT)
    finally:
        proc.kill()
        proc.wait(SHORT_TIMEOUT)
    name = signal.Signals(signum).name
    assert proc.returncode == EXIT_INTERRUPTED + signum, err
    assert f"interrupted by {name}; exit {EXIT_INTERRUPTED + signum}" in out, out
    assert f"gilcheck: verify: interrupted by {name}" in err
    assert "Traceback" not in err, err
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["interrupted"] == signum
    assert {v["verdict"] for v in report["verdicts"]} >= {"unchecked"}
    assert [w for w in workers if alive(w)] == [], "a worker outlived the run"


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["--interp-capacity", "1000000000"], "--interp-capacity must be in 1..1000"),
        (["--max-k", "100000"], "--max-k must be in 1..20"),
        (["--depth", "-1"], "--depth must be in 0..500"),
        (["--max-states", "0"], "--max-states must be in 1..100000000"),
        (["--threads", "17"], "threads must be in 1..16"),
        (["--time-limit", "0"], "--time-limit must be in 1..86400"),
        (["--time-limit", "nan"], "--time-limit must be in 1..86400"),
        (["--max-memory", "0"], "--max-memory must be in 1..1048576"),
        (["--z3-timeout", "0"], "--z3-timeout must be in 0.001..86400"),
        (["--z3-timeout", "inf"], "--z3-timeout must be in 0.001..86400"),
    ],
)
def test_a_value_out_of_range_is_one_line_before_any_work(argv: list[str], names: str) -> None:
    proc = run_program("verify", *argv)
    assert proc.returncode == EXIT_BAD_CONFIG, proc.stdout + proc.stderr
    assert names in one_line(proc.stderr)
    assert proc.stdout == "", "work started"


def test_an_out_that_cannot_be_written_is_refused_before_any_work(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    proc = run_program("verify", *SMALL, "--out", str(blocker / "out"))
    assert proc.returncode == EXIT_BAD_CONFIG, proc.stdout + proc.stderr
    line = one_line(proc.stderr)
    assert line.startswith(f"gilcheck: verify: --out {blocker / 'out'}: cannot write there"), line
    assert proc.stdout == "", "work started"


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """``gilcheck verify --format json | head -1``: no BrokenPipeError traceback."""
    argv = [*SMALL, "--only", "INV-GIL-SINGLE-HOLDER", "--format", "json"]
    proc = start("verify", *argv, "--out", str(tmp_path))
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the report is printed
    try:
        _, err = proc.communicate(timeout=LONG_TIMEOUT)
    finally:
        proc.kill()
        proc.wait(SHORT_TIMEOUT)
    assert "Traceback" not in err, err
    assert "BrokenPipeError" not in err, err
    assert (tmp_path / "report.json").is_file(), "the run did not get to its report"
    assert proc.returncode == 0, err


def test_version_names_the_engines() -> None:
    proc = run_program("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("gilcheck 0.1.0 (z3-solver "), proc.stdout
    assert "hypothesis" in proc.stdout


TINY = (
    "--threads", "1", "--interp-capacity", "1", "--interp-maxloop", "1",
    "--main-capacity", "1", "--signals", "0",
)  # fmt: skip


def test_the_exhaustive_search_proves_with_a_state_count(tmp_path: Path) -> None:
    """``--engine search`` on a configuration small enough to exhaust: proofs that say
    how many states they cover, in the text and as numbers in the JSON report."""
    proc = run_program("verify", "--engine", "search", *TINY, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "proved (exhaustive, 402,688 states)" in proc.stdout
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["engine"] == "search"
    assert report["search"]["complete"] is True
    assert report["search"]["states"] == 402_688
    proved = [v for v in report["verdicts"] if v["verdict"] == "proved"]
    assert proved
    # The temporal entries are proved in their own scopes, by their own engine.
    searched = [v for v in proved if v["kind"] != "temporal"]
    assert {v["states"] for v in searched} == {402_688}
    assert {v["engine"] for v in searched} == {"exhaustive search"}


def test_the_search_refutes_a_mutant_before_z3_starts(tmp_path: Path) -> None:
    module = write_mutant_module(tmp_path)
    proc = run_program(
        "verify", "--load", str(module), "--variant", SAFETY_MUTANT, *SMALL,
        "--no-vacuity", "--stop-on-violation", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert proc.returncode == EXIT_SAFETY, proc.stdout + proc.stderr
    settled = [line for line in proc.stderr.splitlines() + proc.stdout.splitlines()
               if "settled:" in line and "violated" in line]  # fmt: skip
    assert settled, proc.stdout + proc.stderr
    assert "exhaustive search" in settled[0]


def test_a_time_limit_ends_the_run_with_what_is_known(tmp_path: Path) -> None:
    """The default configuration takes z3 tens of seconds; four seconds end it early:
    exit 14, a partial report in which every entry says how far it was checked."""
    proc = run_program("verify", "--time-limit", "4", "--out", str(tmp_path))
    assert proc.returncode == 14, proc.stdout + proc.stderr
    assert "the time limit (4 s) passed" in proc.stdout
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["ended"] == "the time limit (4 s) passed"
    assert report["seconds"] < 4 * 1.1 + 1, "the run outlived its time limit"
    for v in report["verdicts"]:
        assert v["verdict"] in ("bounded", "proved", "violated", "unchecked"), v
        assert v["note"], v
