"""What the tests of the ``gilcheck`` command share: small configurations, mutants to
``--load``, and ways to run the command in-process or as a program."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.support import LONG_TIMEOUT
from gilcheck.cli import main
from model.config import Config

ROOT = Path(__file__).resolve().parent.parent

SMALL = [
    "--threads", "2",
    "--interp-capacity", "2",
    "--interp-maxloop", "1",
    "--main-capacity", "2",
    "--signals", "0",
    "--max-k", "1",
    "--depth", "8",
    "--no-parallel",
    "--no-vacuity",
]  # fmt: skip

SMALL_CONFIG = Config(threads=2, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=0)
"""The configuration of ``SMALL``."""

SAFETY_MUTANT = "cli-test:TakeIgnoresLocked"
LIVENESS_MUTANT = "cli-test:NoForcedSwitch"

MUTANT_MODULE = f'''\
"""A user's module: registers protocol variants for gilcheck verify --load."""
from model.variants import register
from tests.model import mutants

register({SAFETY_MUTANT!r}, mutants.TakeIgnoresLocked)
register({LIVENESS_MUTANT!r}, mutants.NoForcedSwitch)
'''


def gilcheck(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``gilcheck ARGV`` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    """The single line a failing command must print on stderr."""
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    assert lines[0].startswith("gilcheck"), lines[0]
    return lines[0]


def write_mutant_module(directory: Path) -> Path:
    """A user's variant file in ``directory`` that registers the two mutants."""
    path = directory / "my_variants.py"
    path.write_text(MUTANT_MODULE, encoding="utf-8")
    return path


def verify_argv(*extra: str, out: Path) -> list[str]:
    return ["verify", *SMALL, "--out", str(out), *extra]


def mutant_argv(module: Path, variant: str, pid: str, *extra: str, out: Path) -> list[str]:
    """``verify`` of one entry on a variant the ``--load``ed ``module`` registers."""
    return verify_argv("--load", str(module), "--variant", variant, "--only", pid, *extra, out=out)


def read_itf(path: Path) -> dict[str, Any]:
    """An ITF trace file (Apalache ADR-015), checked for the format's shape."""
    assert path.is_file(), f"no ITF file {path}"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    assert doc["#meta"]["format"] == "ITF"
    assert isinstance(doc["vars"], list)
    assert doc["vars"]
    states = doc["states"]
    assert isinstance(states, list)
    assert states
    for k, state in enumerate(states):
        assert state["#meta"]["index"] == k
        missing = set(doc["vars"]) - set(state)
        assert not missing, f"state {k} lacks {sorted(missing)}"
    assert len(doc["#meta"]["steps"]) == len(states) - 1
    return doc


def run_program(*argv: str) -> subprocess.CompletedProcess[str]:
    """``gilcheck ARGV`` as its own process (the console script runs the same main())."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120")
    return subprocess.run(
        [sys.executable, "-m", "gilcheck", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=LONG_TIMEOUT,
        check=False,
    )
