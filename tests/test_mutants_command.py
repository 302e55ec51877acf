"""``gilcheck mutants``: the kill matrix as a command.

A row's verdict is computed from its cells by one rule, checked here case by
case; the command is run as a user runs it (a subprocess for the survivor,
in-process for the rest), and every bad option is one line and exit 150.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engines.kill import Cell, Kill
from engines.verdicts import EXIT_BAD_CONFIG, EXIT_INCONCLUSIVE
from gilcheck.mutants import EXIT_SURVIVOR, verdict
from model.protocol import Cpython313
from model.variants import VARIANTS
from tests.cli_helpers import gilcheck, one_line, run_program

GH_96387 = VARIANTS["gh-96387"]
NAMED = GH_96387.refuted_by or ""


def _cell(outcome: str, *kills: str) -> Cell:
    return Cell("search", outcome, tuple(Kill(k, "safety", 3, 0.1) for k in kills), 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("control", "outcomes", "expected"),
    [
        (True, ["clean", "incomplete"], "ok"),
        (True, ["incomplete", "incomplete"], "incomplete"),
        (True, ["clean", "unclean"], "FAIL"),
        (False, ["survived", "killed"], "ok"),
        (False, ["survived", "survived"], "FAIL"),
    ],
)
def test_a_rows_verdict_follows_from_its_cells(
    control: bool, outcomes: list[str], expected: str
) -> None:
    cells = [_cell(o, NAMED) if o == "killed" else _cell(o) for o in outcomes]
    assert verdict(control, GH_96387, cells) == expected


def test_a_kill_by_another_entry_than_the_named_one_is_not_a_pass() -> None:
    """The bug's own entry must refute it: a kill by a neighbour may be luck."""
    assert verdict(False, GH_96387, [_cell("killed", "INV-CALL-NO-LOSS")]) == "FAIL"
    assert verdict(False, Cpython313, [_cell("killed", "INV-CALL-NO-LOSS")]) == "ok"


def test_a_survivor_fails_the_run_and_every_cell_is_printed_as_it_is_settled(
    tmp_path: Path,
) -> None:
    """A variant that changes nothing cannot be killed: the matrix says so and exits 1."""
    (tmp_path / "same.py").write_text(
        "from model.protocol import Cpython313\n\n\n"
        "class Same(Cpython313):\n"
        '    """Claims a bug it does not have."""\n\n'
        '    refuted_by = "INV-CALL-NO-LOSS"\n',
        encoding="utf-8",
    )
    spec = f"{tmp_path / 'same.py'}:Same"
    done = run_program(
        "mutants", "--variant", spec, "--engines", "search,explicit", "--time-limit", "2",
        "--format", "json",
    )  # fmt: skip
    assert done.returncode == EXIT_SURVIVOR, done.stderr
    doc = json.loads(done.stdout)
    assert doc["exit"] == EXIT_SURVIVOR
    control, same = doc["rows"]
    assert (same["variant"], same["expected"], same["verdict"]) == (
        spec,
        "INV-CALL-NO-LOSS",
        "FAIL",
    )
    assert [c["outcome"] for c in same["cells"]] == ["survived", "survived"]
    assert all("no violation" in c["note"] for c in same["cells"]), same["cells"]
    assert control["verdict"] in ("ok", "incomplete")
    lines = done.stderr.splitlines()
    assert lines[0] == "gilcheck mutants: 2 rows x 2 engines, at most 2 s a cell"
    settled = [line.split(": ")[0].strip() for line in lines[1:]]
    assert settled == [
        "cpython-3.13 x search",
        "cpython-3.13 x explicit",
        f"{spec} x search",
        f"{spec} x explicit",
    ]


def test_an_unfinished_control_is_inconclusive_and_the_bug_is_killed_by_its_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = gilcheck(
        capsys, "mutants", "--variant", "gh-96387", "--engines", "explicit", "--time-limit", "4"
    )
    assert code == EXIT_INCONCLUSIVE, out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if "│" in line}
    assert "incomplete" in rows["cpython-3.13"]
    assert "killed, 4 steps" in rows["gh-96387"]
    assert f"gh-96387 x explicit: killed by {NAMED}, safety, 4 steps" in err
    assert "cpython-3.13 x explicit: incomplete" in out  # the note says why, under the table
    assert "expected counterexample not reached" in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--engines", "tla"], "--engines: no engine 'tla' (known: search, z3, explicit)"),
        (["--time-limit", "0"], "--time-limit must be from 1 to 3600 seconds, not 0.0"),
        (["--depth", "0"], "--depth must be from 1 to 500, not 0"),
        (["--variant", "no-such-bug"], "no-such-bug"),
        (["--threads", "0"], "threads"),
        (["--load", "no_such_module_here"], "no_such_module_here"),
        (["--format", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_150(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    before = dict(VARIANTS)
    code, out, err = gilcheck(capsys, "mutants", *argv)
    assert code == EXIT_BAD_CONFIG
    line = one_line(err)
    assert line.startswith("gilcheck mutants: "), line
    assert says in line
    assert out == ""
    assert dict(VARIANTS) == before, "a bad option registered a variant"
