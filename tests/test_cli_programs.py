"""``gilcheck replay`` and ``gilcheck soak`` through the command, and the command as a program.

The in-process cases call :func:`gilcheck.cli.main`; the rest run ``python -m
gilcheck`` in its own process, as the console script does, with a variant file
passed to ``--load`` as a user passes their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.replay import DIVERGES
from engines.verdicts import EXIT_BAD_CONFIG, EXIT_BAD_INPUT, EXIT_OK, EXIT_SAFETY
from gilcheck.replay import BAD_OPTION, UNREADABLE
from tests.cli_helpers import (
    SAFETY_MUTANT,
    gilcheck,
    mutant_argv,
    one_line,
    read_itf,
    run_program,
    write_mutant_module,
)


@pytest.fixture
def mutant_module(tmp_path: Path) -> Path:
    return write_mutant_module(tmp_path)


# -- replay and soak -----------------------------------------------------------------------


def test_replay_of_a_missing_file_exits_151(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.itf.json"
    code, _, err = gilcheck(capsys, "replay", str(missing))
    assert code == UNREADABLE == EXIT_BAD_INPUT
    line = one_line(err)
    assert line.startswith("gilcheck replay: ")
    assert str(missing) in line


def test_replay_bad_option_exits_150(capsys: pytest.CaptureFixture[str]) -> None:
    """Plain argparse would exit 2; replay's own parser says 150, as verify's does."""
    code, _, err = gilcheck(capsys, "replay", "--no-such-option", "x.json")
    assert code == BAD_OPTION == EXIT_BAD_CONFIG
    assert "--no-such-option" in one_line(err)


def test_soak_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = gilcheck(capsys, "soak", "--help")
    assert code == EXIT_OK
    for option in ("--threads", "--seconds", "--seed"):
        assert option in out


def test_soak_bad_option_exits_150(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = gilcheck(capsys, "soak", "--threads", "0")
    assert code == EXIT_BAD_CONFIG
    assert "--threads must be from 1 to 16" in out


# -- as a program -----------------------------------------------------------------------------


def test_program_verify_with_load_writes_a_trace_replay_reads(
    tmp_path: Path, mutant_module: Path
) -> None:
    """verify --load writes a mutant's trace; replay --load of the same module plays it on
    impl, which diverges (impl's take_gil blocks on a held GIL). impl plays only CPython's
    queue sizes, so this run uses them."""
    out_dir = tmp_path / "out"
    cpython_queues = [
        "--interp-capacity",
        "300",
        "--interp-maxloop",
        "100",
        "--main-capacity",
        "32",
    ]
    proc = run_program(
        *mutant_argv(
            mutant_module, SAFETY_MUTANT, "INV-GIL-SINGLE-HOLDER", *cpython_queues, out=out_dir
        )
    )
    assert proc.returncode == EXIT_SAFETY, proc.stdout + proc.stderr
    assert "take_gil(t=1)" in proc.stdout
    trace = out_dir / "INV-GIL-SINGLE-HOLDER.itf.json"
    read_itf(trace)
    # Without --load the trace's variant does not exist: a bad option, one line.
    proc = run_program("replay", str(trace))
    assert proc.returncode == BAD_OPTION, proc.stdout + proc.stderr
    assert f"no variant named {SAFETY_MUTANT!r}" in one_line(proc.stderr)
    proc = run_program("replay", str(trace), "--load", str(mutant_module))
    assert proc.returncode == DIVERGES, proc.stdout + proc.stderr
    assert "take_gil(t=1)  diverged: T1 sync point" in proc.stdout
    assert "blocked in take_gil" in proc.stdout
    # A missing trace file: replay's "unreadable", one line.
    proc = run_program("replay", str(tmp_path / "missing.itf.json"))
    assert proc.returncode == UNREADABLE, proc.stderr
    assert one_line(proc.stderr).startswith("gilcheck replay: ")


def test_program_soak_runs_clean() -> None:
    """A short soak: every event impl logs is matched by the model (1 if not; 153 a crash)."""
    proc = run_program("soak", "--threads", "3", "--seconds", "0.5", "--quiet")
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
