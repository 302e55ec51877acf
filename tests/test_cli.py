"""The ``gilcheck`` command (gilcheck/cli.py), driven as a user drives it.

These cases call :func:`gilcheck.cli.main` in-process and read what it printed;
tests/test_cli_programs.py runs it as its own process (``python -m gilcheck``),
the way the console script does. Mutants (tests/model/mutants.py) reach the CLI
the way a user's own variant would: a module file passed to ``--load``
registers them. Every ``verify`` run uses a small configuration, ``--only`` one
entry and ``--no-vacuity`` (the vacuity guard alone takes tens of seconds), so
each takes about a second.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engines.verdicts import (
    EXIT_BAD_CONFIG,
    EXIT_INCONCLUSIVE,
    EXIT_LIVENESS,
    EXIT_OK,
    EXIT_SAFETY,
)
from engines.verify import verify
from gilcheck import cli
from model.catalogue import CatalogueError, load
from model.protocol import Cpython313
from model.variants import DEFAULT
from tests.cli_helpers import (
    LIVENESS_MUTANT,
    SAFETY_MUTANT,
    SMALL_CONFIG,
    gilcheck,
    mutant_argv,
    one_line,
    read_itf,
    verify_argv,
    write_mutant_module,
)


@pytest.fixture
def mutant_module(tmp_path: Path) -> Path:
    return write_mutant_module(tmp_path)


# -- bad input: 150 and one line on stderr ------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "--no-such-option"],
        ["verify", "--threads", "two"],
        ["verify", "--engine", "tlc"],
        ["frobnicate"],
        [],
    ],
    ids=["unknown-option", "not-an-int", "bad-choice", "unknown-command", "no-command"],
)
def test_bad_option_exits_150_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = gilcheck(capsys, *argv)
    assert code == EXIT_BAD_CONFIG
    assert out == ""
    one_line(err)


@pytest.mark.parametrize(
    ("argv", "condition"),
    [
        (["--threads", "0"], "threads must be in 1..16, got 0"),
        (["--threads", "17"], "threads must be in 1..16, got 17"),
        (["--interp-capacity", "2", "--interp-maxloop", "3"], "interp_maxloop must be in 0..2"),
        (["--signals", "-1"], "signals must be in 0..8, got -1"),
        (["--liveness-bound", "0"], "--liveness-bound must be in 1..16, got 0"),
        (["--max-k", "0"], "--max-k must be in 1..20, got 0"),
    ],
)
def test_bad_config_exits_150_naming_the_condition(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], condition: str
) -> None:
    code, out, err = gilcheck(capsys, "verify", *argv, "--out", str(tmp_path))
    assert code == EXIT_BAD_CONFIG
    assert out == ""
    assert condition in one_line(err)
    assert not any(tmp_path.iterdir()), "a rejected configuration wrote output"


def test_unknown_variant_exits_150(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = gilcheck(capsys, *verify_argv("--variant", "cpython-2.7", out=tmp_path))
    assert code == EXIT_BAD_CONFIG
    line = one_line(err)
    assert "no variant named 'cpython-2.7'" in line
    assert DEFAULT in line, "the message lists the known variants"


def test_unknown_only_id_exits_150(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = gilcheck(
        capsys, *verify_argv("--only", "INV-GIL-SINGLE-HOLDER,INV-NO-SUCH-THING", out=tmp_path)
    )
    assert code == EXIT_BAD_CONFIG
    line = one_line(err)
    assert "INV-NO-SUCH-THING" in line
    assert "INV-GIL-SINGLE-HOLDER" not in line, "only the unknown id is named"


@pytest.mark.parametrize("only", [",", " , ,", ""])
def test_only_naming_no_id_exits_150(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, only: str
) -> None:
    """``--only ,`` used to check nothing and exit 0."""
    code, out, err = gilcheck(capsys, *verify_argv("--only", only, out=tmp_path))
    assert code == EXIT_BAD_CONFIG, out + err
    assert "--only" in one_line(err)
    assert not (tmp_path / "report.json").exists(), "a run started"


# -- --load ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("def broken(:\n", "SyntaxError"),
        ("import no_such_module_gilcheck\n", "No module named 'no_such_module_gilcheck'"),
        ("raise RuntimeError('the module refuses')\n", "RuntimeError: the module refuses"),
        (
            # A user's variant may not take the faithful model's name.
            "from model.variants import register, DEFAULT\n"
            "from tests.model.mutants import TakeIgnoresLocked\n"
            "register(DEFAULT, TakeIgnoresLocked)\n",
            "is taken by Cpython313",
        ),
    ],
    ids=["syntax-error", "import-error", "raises", "name-taken"],
)
def test_load_of_a_broken_module_exits_150(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, source: str, reason: str
) -> None:
    module = tmp_path / "broken_variant.py"
    module.write_text(source, encoding="utf-8")
    code, out, err = gilcheck(capsys, *verify_argv("--load", str(module), out=tmp_path / "out"))
    assert code == EXIT_BAD_CONFIG
    assert out == ""
    line = one_line(err)
    assert line.startswith(f"gilcheck: verify: cannot load {module}: "), line
    assert reason in line


@pytest.mark.parametrize("spec", ["no_such_module_gilcheck.variants", "missing/variants.py"])
def test_load_of_a_missing_module_exits_150(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, spec: str
) -> None:
    code, _, err = gilcheck(capsys, *verify_argv("--load", spec, out=tmp_path))
    assert code == EXIT_BAD_CONFIG
    assert one_line(err).startswith(f"gilcheck: verify: cannot load {spec}: ")


def test_load_by_dotted_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A module on sys.path is loaded by name (this one registers nothing: the run proves)."""
    code, out, err = gilcheck(
        capsys,
        *verify_argv(
            "--load", "tests.model.mutants", "--only", "INV-GIL-SINGLE-HOLDER", out=tmp_path
        ),
    )
    assert code == EXIT_OK, err
    assert "proved" in out


def test_load_registers_the_variant_before_it_is_looked_up(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    name = f"cli-test-{tmp_path.name}:TakeIgnoresLocked"
    module = tmp_path / "late_variant.py"
    module.write_text(
        "from model.variants import register\n"
        "from tests.model.mutants import TakeIgnoresLocked\n"
        f"register({name!r}, TakeIgnoresLocked)\n",
        encoding="utf-8",
    )
    argv = verify_argv("--variant", name, "--only", "INV-GIL-SINGLE-HOLDER", out=tmp_path / "o")
    code, _, err = gilcheck(capsys, *argv)
    assert code == EXIT_BAD_CONFIG, "the variant exists before its module is loaded"
    assert name in one_line(err)
    code, _, err = gilcheck(capsys, *argv, "--load", str(module))
    assert code == EXIT_SAFETY, err


# -- catalogue -----------------------------------------------------------------------------


def test_catalogue_lists_every_id(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = gilcheck(capsys, "catalogue")
    assert code == EXIT_OK
    assert err == ""
    listed = re.findall(r"^(\S+) \((?:safety|liveness|temporal|lemma)\)", out, flags=re.MULTILINE)
    assert sorted(listed) == sorted(load()), "gilcheck catalogue and the catalogue differ"
    assert len(listed) == len(set(listed)), "an id is listed twice"


def test_catalogue_as_json_has_every_field_of_every_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = gilcheck(capsys, "catalogue", "--format", "json")
    assert code == EXIT_OK
    assert err == ""
    rows = json.loads(out)
    assert [r["id"] for r in rows] == list(load())
    for row in rows:
        entry = load()[row["id"]]
        assert row["statement"] == entry.statement
        assert row["expected"] == entry.expected
        assert tuple(row["triggers"]) == entry.triggers
        assert row["witness"] == dict(entry.witness)


def test_catalogue_with_a_bad_catalogue_exits_150(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A malformed catalogue is bad input, as for verify: 150 and one line, not a crash (153)."""
    bad = tmp_path / "invariants.toml"
    bad.write_text("[[property]\n", encoding="utf-8")
    with pytest.raises(CatalogueError):
        load(bad)
    monkeypatch.setattr(cli, "load", lambda: load(bad))
    code, out, err = gilcheck(capsys, "catalogue")
    assert code == EXIT_BAD_CONFIG
    assert out == ""
    assert one_line(err).startswith(f"gilcheck: catalogue: {bad} is not valid TOML")


# -- verdicts ------------------------------------------------------------------------------


def test_safety_mutant_exits_12_with_a_step_table_and_an_itf_trace(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mutant_module: Path
) -> None:
    out_dir = tmp_path / "out"
    code, out, err = gilcheck(
        capsys,
        *mutant_argv(mutant_module, SAFETY_MUTANT, "INV-GIL-SINGLE-HOLDER", out=out_dir),
    )
    assert code == EXIT_SAFETY, out + err
    assert "INV-GIL-SINGLE-HOLDER: violated at depth" in out
    # The step table: its header, and the step that breaks it (T1 takes a GIL T0 holds).
    assert re.search(r"step\W+thread\W+action\W+changed", out), out
    assert re.search(r"\b1\W+T1\W+take_gil\(t=1\)", out), out
    itf_path = out_dir / "INV-GIL-SINGLE-HOLDER.itf.json"
    assert str(itf_path) in out, "the text report names the trace file"
    doc = read_itf(itf_path)
    assert doc["#meta"]["property"] == "INV-GIL-SINGLE-HOLDER"
    assert doc["#meta"]["variant"] == SAFETY_MUTANT
    assert doc["#meta"]["config"]["threads"] == 2
    assert "take_gil(t=1)" in doc["#meta"]["steps"]
    report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    assert report["exit_code"] == EXIT_SAFETY


def test_json_format_carries_the_verdict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mutant_module: Path
) -> None:
    code, out, err = gilcheck(
        capsys,
        *mutant_argv(
            mutant_module, SAFETY_MUTANT, "INV-GIL-SINGLE-HOLDER", "--format", "json", out=tmp_path
        ),
    )
    assert code == EXIT_SAFETY, err
    report = json.loads(out)  # stdout is the JSON document and nothing else
    assert report["exit_code"] == EXIT_SAFETY
    assert report["variant"] == SAFETY_MUTANT
    (verdict,) = report["verdicts"]
    assert verdict["id"] == "INV-GIL-SINGLE-HOLDER"
    assert verdict["verdict"] == "violated"
    assert verdict["as_expected"] is False
    assert verdict["trace"]
    assert verdict["trace"][-1] == "take_gil(t=1)"
    assert report["vacuity"]["checked"] is False


def test_liveness_mutant_exits_13(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mutant_module: Path
) -> None:
    code, out, err = gilcheck(
        capsys,
        *mutant_argv(
            mutant_module, LIVENESS_MUTANT, "LIVE-FORCED-SWITCH", "--format", "json", out=tmp_path
        ),
    )
    assert code == EXIT_LIVENESS, err
    (verdict,) = json.loads(out)["verdicts"]
    assert verdict["kind"] == "liveness"
    assert verdict["verdict"] == "violated"
    read_itf(tmp_path / "LIVE-FORCED-SWITCH.itf.json")


def test_property_that_holds_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = gilcheck(capsys, *verify_argv("--only", "INV-GIL-SINGLE-HOLDER", out=tmp_path))
    assert code == EXIT_OK, out + err
    assert re.search(r"INV-GIL-SINGLE-HOLDER\W+safety\W+proved", out), out
    assert "vacuity guard: skipped (--no-vacuity)" in out, "--no-vacuity claims no coverage"
    assert not list(tmp_path.glob("*.itf.json")), "a proof wrote a counterexample"


def test_only_keeps_the_other_entries_as_lemmas(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """INV-NO-LOST-WAKEUP is inductive only together with the rest of the catalogue: alone,
    k-induction fails and the verdict is bounded (exit 14). ``--only`` keeps the other
    entries as candidate lemmas, so the entry is proved at k=1, as in a full run."""
    pid = "INV-NO-LOST-WAKEUP"
    code, out, err = gilcheck(capsys, *verify_argv("--only", pid, "--format", "json", out=tmp_path))
    assert code == EXIT_OK, out + err
    (verdict,) = json.loads(out)["verdicts"]
    assert (verdict["id"], verdict["verdict"], verdict["k"]) == (pid, "proved", 1), verdict
    alone = verify(
        Cpython313,
        SMALL_CONFIG,
        {pid: load()[pid]},
        depth=4,
        max_k=1,
        parallel=False,
        check_vacuity=False,
    )
    assert alone.verdicts[0].status == "bounded", "the entry is inductive alone: a weak test"


@pytest.mark.parametrize(
    ("pid", "depth"),
    [
        ("INV-NO-LOST-WAKEUP-STRICT", 12),
        ("LIVE-DROP-REQUEST-HONOURED-STRICT", 8),
        ("LIVE-FORCED-SWITCH-STRICT", 8),
    ],
)
def test_documented_cpython_counterexample_is_reproduced_and_exits_0(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pid: str, depth: int
) -> None:
    """The catalogue's findings about CPython 3.13 (``expected = "violated"``) are found
    again on the faithful model, written out as a trace, and are not a failure."""
    assert load()[pid].expected == "violated"
    argv = verify_argv("--only", pid, "--depth", str(depth), "--format", "json", out=tmp_path)
    code, out, err = gilcheck(capsys, *argv)
    assert code == EXIT_OK, err
    (verdict,) = json.loads(out)["verdicts"]
    assert verdict["verdict"] == "violated"
    assert verdict["as_expected"] is True
    assert read_itf(tmp_path / f"{pid}.itf.json")["#meta"]["variant"] == DEFAULT


def test_expected_counterexample_not_found_is_inconclusive(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """LIVE-PENDING-CALL-RUNS-STRICT's counterexample is 13 steps long (found by
    tests/model/test_mutants.py at depth 14): a bound of 8 cannot show it, which is 14."""
    pid = "LIVE-PENDING-CALL-RUNS-STRICT"
    assert load()[pid].expected == "violated"
    code, out, err = gilcheck(capsys, *verify_argv("--only", pid, "--format", "json", out=tmp_path))
    assert code == EXIT_INCONCLUSIVE, err
    (verdict,) = json.loads(out)["verdicts"]
    assert verdict["verdict"] != "violated"
    assert verdict["as_expected"] is False
    assert not list(tmp_path.glob("*.itf.json"))
