"""Verdicts explain themselves (issue 13, item 6), as the real command prints them.

Each test runs ``gilcheck verify`` as its own process on a small configuration,
bounded by states or depth (never by the clock), and reads the text it prints,
report.json and the JUnit file: a row that makes the run exit 14 says why, and
a row whose seconds are one search's, shared with other rows, is marked so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from engines.verdicts import EXIT_INCONCLUSIVE, EXIT_OK
from gilcheck.report import SHARED_LEGEND
from tests.cli_helpers import SMALL, run_program

TWO = "INV-GIL-SINGLE-HOLDER,INV-TYPE-OK"


def _report(out: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return doc


def _row(stdout: str, pid: str) -> str:
    (line,) = [ln for ln in stdout.splitlines() if ln.startswith(f"│ {pid} ")]
    return line


def _search(tmp_path: Path, only: str, *extra: str) -> tuple[int, str, Path]:
    out = tmp_path / "out"
    r = run_program(
        "verify", *SMALL, "--engine", "search", "--max-states", "2000", "--only", only,
        "--out", str(out), "--junit", str(out / "junit.xml"), *extra,
    )  # fmt: skip
    return r.returncode, r.stdout, out


def test_rows_settled_by_one_search_have_their_seconds_marked_shared(tmp_path: Path) -> None:
    code, stdout, out = _search(tmp_path, TWO)
    assert code == EXIT_INCONCLUSIVE, stdout
    report = _report(out)
    for v in report["verdicts"]:
        assert v["seconds_shared"] is True, v
        assert v["seconds"] == report["search"]["seconds"], v
        assert f"{v['seconds']:.2f} shared" in _row(stdout, v["id"]), stdout
    assert SHARED_LEGEND in stdout.replace("\n", " ")
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    assert junit.count('<property name="seconds_shared" value="true" />') == 2, junit


def test_the_one_row_a_search_settles_has_its_own_seconds(tmp_path: Path) -> None:
    code, stdout, out = _search(tmp_path, "INV-TYPE-OK")
    assert code == EXIT_INCONCLUSIVE, stdout
    (v,) = _report(out)["verdicts"]
    assert v["seconds_shared"] is False
    assert "shared" not in _row(stdout, "INV-TYPE-OK")
    assert SHARED_LEGEND not in stdout.replace("\n", " ")
    assert "seconds_shared" not in (out / "junit.xml").read_text(encoding="utf-8")


def test_a_z3_proof_has_its_own_seconds(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_program("verify", *SMALL, "--only", TWO, "--out", str(out))
    assert r.returncode == EXIT_OK, r.stdout
    for v in _report(out)["verdicts"]:
        assert v["verdict"] == "proved", v
        assert v["seconds_shared"] is False, v
        assert "shared" not in _row(r.stdout, v["id"])


def test_a_bound_by_the_state_cap_says_so_in_the_text(tmp_path: Path) -> None:
    code, stdout, _ = _search(tmp_path, TWO)
    assert code == EXIT_INCONCLUSIVE
    text = " ".join(stdout.split())
    for pid in TWO.split(","):
        why = (
            rf"{pid}: no violation among [\d,]+ states within \d+ steps "
            r"\(search stopped: more than 2000 states"
        )
        assert re.search(why, text), stdout
