"""README.md's "Exit codes" table against the command: one real case for each code it lists.

The table is read from README.md (its Markdown rows). Every code it lists must
have a case here, and every case must exit with its code, run as a user runs
the command (``python -m gilcheck`` in its own process). A case is one of:

* :class:`Run`: the command line to run (built in a fresh directory);
* :class:`Elsewhere`: the code is provoked by a test of its own (an interrupt
  needs a running process and a signal); this checks that the test exists and
  is parametrized with the code;
* :class:`NotRunnable`: no user can provoke the code (a bug in gilcheck); the
  README must say so.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

from tests.cli_helpers import (
    LIVENESS_MUTANT,
    ROOT,
    SAFETY_MUTANT,
    mutant_argv,
    run_program,
    verify_argv,
    write_mutant_module,
)
from tests.conformance.test_replay import LOST_WAKEUP, SIGNAL_DURING_SCAN, write

SECTION: Final = "## Exit codes"


def exit_codes_table(readme: Path = ROOT / "README.md") -> dict[int, str]:
    """code -> meaning, from the rows of the Markdown table under ``## Exit codes``."""
    text = readme.read_text(encoding="utf-8")
    assert f"\n{SECTION}\n" in text, f"README.md has no {SECTION!r} section"
    section = text.split(f"\n{SECTION}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) > 2, f"README.md's {SECTION!r} section has no table"
    header, rule, *body = rows
    assert [c.strip() for c in header.strip("|").split("|")] == ["code", "meaning"], header
    assert re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", rule), rule
    table: dict[int, str] = {}
    for row in body:
        code, meaning = (c.strip() for c in row.strip().strip("|").split("|", 1))
        assert code.isdigit(), f"a row of the exit codes table has no code: {row}"
        assert int(code) not in table, f"the exit codes table lists {code} twice"
        table[int(code)] = meaning
    return table


@dataclass(frozen=True)
class Run:
    """Run ``gilcheck`` with the arguments ``argv(directory)`` returns."""

    argv: Callable[[Path], list[str]]


@dataclass(frozen=True)
class Elsewhere:
    """The test ``module:function``, parametrized with the code, provokes it."""

    test: str


@dataclass(frozen=True)
class NotRunnable:
    """No user can provoke the code; its row must say ``says``."""

    says: str


Case = Run | Elsewhere | NotRunnable


def _not_a_behaviour(d: Path) -> list[str]:
    """A mutant's counterexample relabelled as the faithful model's: not one of its behaviours."""
    path = write(d, "no-resignal-on-error", LOST_WAKEUP)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"no-resignal-on-error"', '"cpython-3.13"'), encoding="utf-8")
    return ["replay", str(path)]


INTERRUPTS: Final = (
    "tests.conformance.test_soak_command:"
    "test_an_interrupt_stops_the_load_prints_the_summary_and_exits_128_plus_the_signal"
)

CASES: Final[dict[int, Case]] = {
    0: Run(lambda d: ["catalogue"]),
    1: Run(lambda d: ["replay", str(write(d, "no-resignal-on-error", LOST_WAKEUP))]),
    3: Run(lambda d: ["replay", str(write(d, "cpython-3.13", SIGNAL_DURING_SCAN))]),
    11: Run(
        lambda d: verify_argv(
            "--variant", "gh-96387-hang", "--only", "INV-NO-DEADLOCK", out=d / "out"
        )
    ),
    12: Run(
        lambda d: mutant_argv(
            write_mutant_module(d), SAFETY_MUTANT, "INV-GIL-SINGLE-HOLDER", out=d / "out"
        )
    ),
    13: Run(
        lambda d: mutant_argv(
            write_mutant_module(d), LIVENESS_MUTANT, "LIVE-FORCED-SWITCH", out=d / "out"
        )
    ),
    # An expected counterexample 13 steps long, looked for at SMALL's depth 8.
    14: Run(lambda d: verify_argv("--only", "LIVE-PENDING-CALL-RUNS-STRICT", out=d / "out")),
    130: Elsewhere(INTERRUPTS),
    143: Elsewhere(INTERRUPTS),
    150: Run(lambda d: ["verify", "--no-such-option"]),
    151: Run(lambda d: ["replay", str(d / "missing.itf.json")]),
    152: Run(_not_a_behaviour),
    153: NotRunnable("a bug in gilcheck"),
}
"""One case for each code of the table."""

TABLE: Final = exit_codes_table()


def test_every_code_in_the_table_has_a_case_and_every_case_a_row() -> None:
    uncovered = sorted(set(TABLE) - set(CASES))
    unlisted = sorted(set(CASES) - set(TABLE))
    assert not uncovered, f"README.md's exit codes table lists {uncovered}, which no case covers"
    assert not unlisted, f"the cases exit with {unlisted}, which README.md's table does not list"


@pytest.mark.parametrize("code", sorted(TABLE), ids=lambda code: f"exit-{code}")
def test_the_case_of_each_code_exits_with_it(code: int, tmp_path: Path) -> None:
    case = CASES.get(code)
    if case is None:
        pytest.fail(f"README.md lists exit {code}, which no case covers")
    if isinstance(case, NotRunnable):
        assert case.says in TABLE[code], f"exit {code}'s row should say {case.says!r}"
        pytest.skip(f"exit {code} cannot be provoked by a user: {TABLE[code]}")
    if isinstance(case, Elsewhere):
        _assert_tested_elsewhere(code, case.test)
        return
    argv = case.argv(tmp_path)
    proc = run_program(*argv)
    listed = TABLE.get(proc.returncode)
    assert proc.returncode == code, (
        f"gilcheck {' '.join(argv)} exited {proc.returncode}, not {code}; the table "
        + (f"says of {proc.returncode}: {listed}" if listed else "does not list that code")
        + f"\n{proc.stdout}{proc.stderr}"
    )


def _assert_tested_elsewhere(code: int, test: str) -> None:
    module_name, name = test.split(":")
    function = getattr(importlib.import_module(module_name), name, None)
    assert function is not None, f"exit {code} should be tested by {test}, which does not exist"
    params = [
        value
        for mark in getattr(function, "pytestmark", [])
        if mark.name == "parametrize"
        for row in mark.args[1]
        for value in (row if isinstance(row, tuple) else (row,))
    ]
    assert code in params, f"{test} is not parametrized with exit {code}"
