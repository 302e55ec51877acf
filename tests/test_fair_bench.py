"""``python -m benchmarks.fair_bench --quick`` runs and prints its table (about 3 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120.0


@pytest.mark.slow
def test_quick_mode_prints_a_row_per_thread_count_and_gil() -> None:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.fair_bench", "--quick"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"benchmarks.fair_bench --quick did not finish within {TIMEOUT:.0f} s"
        ) from None
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("threads ")), None)
    assert header is not None, f"no table header in:\n{proc.stdout}"
    assert "hand-off p50" in lines[header]
    assert "max wait" in lines[header]
    rows = [line.split()[:2] for line in lines[header + 2 :]]
    assert rows == [[n, gil] for n in ("2", "4", "8") for gil in ("cpython", "fair")], proc.stdout
