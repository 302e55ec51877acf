"""``gilcheck mutants``: the kill matrix as a command.

A row's verdict is computed from its cells by one rule, checked here case by
case; the command is run as a user runs it (a subprocess for the survivor,
in-process for the rest), and every bad option is one line and exit 150.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml

from engines.kill import Cell, Kill
from engines.verdicts import EXIT_BAD_CONFIG, EXIT_INCONCLUSIVE
from gilcheck.matrix import Row, control_row, row, verdict
from gilcheck.mutants import EXIT_SURVIVOR
from model.protocol import Cpython313
from model.variants import VARIANTS
from tests.cli_helpers import gilcheck, one_line, run_program

GH_96387 = row("gh-96387", VARIANTS["gh-96387"])
IMPL_ONLY = row("drain-drops-remainder", None)
NAMED = GH_96387.refuted_by or ""


def _cell(outcome: str, *kills: str, engine: str = "search") -> Cell:
    kind = "divergence" if engine in ("lockstep", "tracecheck") else "safety"
    return Cell(engine, outcome, tuple(Kill(k, kind, 3, 0.1) for k in kills), 1.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("r", "cells", "expected"),
    [
        (control_row(), [_cell("clean"), _cell("incomplete", engine="z3")], "ok"),
        (control_row(), [_cell("incomplete"), _cell("clean", engine="lockstep")], "incomplete"),
        (control_row(), [_cell("clean"), _cell("unclean", engine="tracecheck")], "FAIL"),
        (GH_96387, [_cell("survived"), _cell("killed", NAMED, engine="z3")], "ok"),
        (GH_96387, [_cell("survived"), _cell("survived", engine="z3")], "FAIL"),
        (IMPL_ONLY, [_cell("killed", "divergence", engine="lockstep")], "ok"),
        (IMPL_ONLY, [_cell("survived", engine="tracecheck")], "FAIL"),
    ],
)
def test_a_rows_verdict_follows_from_its_cells(r: Row, cells: list[Cell], expected: str) -> None:
    assert verdict(r, cells) == expected


def test_a_kill_by_another_entry_than_the_named_one_is_not_a_pass() -> None:
    """The bug's own entry must refute it: a kill by a neighbour may be luck."""
    assert verdict(GH_96387, [_cell("killed", "INV-CALL-NO-LOSS")]) == "FAIL"
    unnamed = Row("mine", Cpython313, None)
    assert verdict(unnamed, [_cell("killed", "INV-CALL-NO-LOSS")]) == "ok"


def test_a_broken_impl_is_a_row_with_the_impl_columns_only_unless_it_has_a_model_twin() -> None:
    impl_only = row("drain-drops-remainder", VARIANTS.get("drain-drops-remainder"))
    twin = row("no-resignal-on-error", VARIANTS["no-resignal-on-error"])
    columns = ("search", "z3", "explicit", "lockstep", "tracecheck")
    assert [impl_only.sees(e) for e in columns] == [False, False, False, True, True]
    assert [twin.sees(e) for e in columns] == [True] * 5
    assert [GH_96387.sees(e) for e in columns] == [True, True, True, False, False]
    assert twin.expected == "INV-NO-LOST-WAKEUP / a divergence"


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
    junit = tmp_path / "matrix.xml"
    done = run_program(
        "mutants", "--variant", spec, "--engines", "search,explicit", "--time-limit", "2",
        "--format", "json", "--junit", str(junit),
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
    assert lines[0] == "gilcheck mutants: 2 rows x 2 engines, at most 2 s a model cell"
    settled = [line.split(": ")[0].strip() for line in lines[1:]]
    (suite,) = JUnitXml.fromfile(str(junit))
    cases = {case.name: case for case in suite}
    assert set(cases) == {"cpython-3.13", spec}
    (failure,) = cases[spec].result
    assert isinstance(failure, Failure)
    assert failure.message == "no engine kills it (expected: INV-CALL-NO-LOSS)"
    assert "search: survived" in (failure.text or "")
    assert all(not isinstance(r, Failure) for r in cases["cpython-3.13"].result)
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
    assert rows["gh-96387"].count(" - ") == 0, "only the explicit column was asked for"
    assert f"gh-96387 x explicit: killed by {NAMED}, safety, 4 steps" in err
    assert "cpython-3.13 x explicit: incomplete" in out  # the note says why, under the table
    assert "expected counterexample not reached" in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            ["--engines", "tla"],
            "--engines: no engine 'tla' (known: search, z3, explicit, lockstep, tracecheck)",
        ),
        (["--examples", "0"], "--examples must be from 1 to 100000, not 0"),
        (["--load-seeds", "0"], "--load-seeds must be from 1 to 1000, not 0"),
        (["--time-limit", "0"], "--time-limit must be from 1 to 3600 seconds, not 0.0"),
        (["--depth", "0"], "--depth must be from 1 to 500, not 0"),
        (["--variant", "no-such-bug"], "no-such-bug"),
        (["--threads", "0"], "threads"),
        (["--load", "no_such_module_here"], "no_such_module_here"),
        (["--format", "xml"], "invalid choice: 'xml'"),
        (
            ["--junit", "/no/such/dir/m.xml"],
            "--junit /no/such/dir/m.xml: cannot write there (No such file or directory)",
        ),
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


def test_a_broken_impl_is_killed_by_the_lockstep_harness_at_its_divergence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The impl columns: derandomized lock-step finds the divergence at the same step each run."""
    code, out, err = gilcheck(
        capsys, "mutants", "--variant", "no-resignal-on-error", "--engines", "lockstep,tracecheck",
        "--examples", "100", "--load-seeds", "1", "--format", "json",
    )  # fmt: skip
    doc = json.loads(out)
    control, bug = doc["rows"]
    assert [c["outcome"] for c in control["cells"]] == ["clean", "clean"], control
    assert (bug["impl"], bug["expected"]) == (
        "no-resignal-on-error",
        "INV-NO-LOST-WAKEUP / a divergence",
    )
    lock, trace = bug["cells"]
    assert (lock["engine"], lock["outcome"]) == ("lockstep", "killed")
    assert lock["kills"] == [{"id": "divergence", "kind": "divergence", "steps": 13,
                              "seconds": lock["kills"][0]["seconds"]}]  # fmt: skip
    assert lock["note"].startswith("impl diverged from the model after step 13 ")
    # Free-running: whether one load meets the bug depends on the scheduler, so only
    # the cell's form is fixed here.
    assert trace["engine"] == "tracecheck"
    assert trace["outcome"] in ("killed", "survived"), trace
    assert bug["verdict"] == "ok"
    assert code == 0
    assert "no-resignal-on-error x lockstep: killed, diverged at step 13" in err
