"""Liveness under fairness through the commands, as a user runs them.

``gilcheck verify --only`` on a temporal entry, in the catalogue's own scope:
the lasso's step table marks its loop, the ITF file carries ``loop`` and the
scope, ``gilcheck replay`` plays the loop three times on impl. A reviewer's
variant file that breaks a temporal entry exits 13; the fair-GIL design
proves what CPython refutes.
"""

from __future__ import annotations

import json
from pathlib import Path

from engines.verdicts import EXIT_INCONCLUSIVE, EXIT_LIVENESS, EXIT_OK
from tests.cli_helpers import run_program

STARVATION = "LIVE-FAIR-WAITER-ACQUIRES"

VARIANT = '''\
"""A reviewer's change: a waiter's timeout no longer asks for a drop."""
from typing import Any

from model.protocol import Cpython313


class NeverAsks(Cpython313[Any, Any]):
    def take_gil_wake(self, s, t, timed_out):
        post = yield from super().take_gil_wake(s, t, False)
        return post
'''


def test_the_starvation_lasso_is_shown_written_and_followed_by_impl(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_program("verify", "--only", STARVATION, "--out", str(out))
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    assert "violated: lasso" in proc.stdout
    assert "fair-cycle search" in proc.stdout
    path = out / f"{STARVATION}.itf.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    loop = doc["loop"]
    assert 0 < loop < len(doc["states"]) - 1
    assert "add_pending_call" in doc["#meta"]["without"]
    assert doc["#meta"]["config"]["threads"] == 3
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (row,) = [v for v in report["verdicts"] if v["id"] == STARVATION]
    assert row["kind"] == "temporal"
    assert row["loop"] == loop
    assert (out / f"{STARVATION}.html").is_file()

    replay = run_program("replay", str(path))
    assert replay.returncode == EXIT_OK, replay.stdout + replay.stderr
    steps = len(doc["states"]) - 1
    rounds = steps + 2 * (steps - loop)
    assert f"({rounds} steps of cpython-3.13" in replay.stdout
    assert f"its {steps - loop}-step loop played 3 times" in replay.stdout
    assert "impl follows the trace" in replay.stdout


def test_a_variant_that_starves_a_waiter_exits_13(tmp_path: Path) -> None:
    module = tmp_path / "never_asks.py"
    module.write_text(VARIANT, encoding="utf-8")
    proc = run_program(
        "verify", "--variant", f"{module}:NeverAsks", "--only", "LIVE-FAIR-WAITER-ACQUIRES-TWO",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert proc.returncode == EXIT_LIVENESS, proc.stdout + proc.stderr
    assert "loop: steps" in proc.stdout, "the step table marks where the loop starts"
    assert "fair lasso for thread" in proc.stdout


def test_the_fair_gil_proves_starvation_freedom(tmp_path: Path) -> None:
    """The catalogue documents the starvation as CPython's: a design that removes it is
    reported as such (proved, where a counterexample was expected: exit 14, and why)."""
    proc = run_program(
        "verify", "--variant", "fair-gil", "--only", STARVATION, "--out", str(tmp_path)
    )
    assert proc.returncode == EXIT_INCONCLUSIVE, proc.stdout + proc.stderr
    assert "proved (exhaustive" in proc.stdout
    assert "the catalogue documents a counterexample in CPython" in proc.stdout
