"""The ``gilcheck`` command (gilcheck/cli.py), driven as a user drives it.

Most cases call :func:`gilcheck.cli.main` in-process and read what it printed;
two run it as a program (``python -m gilcheck.cli``), the way the console script
does. Mutants (tests/model/mutants.py) reach the CLI the way a user's own
variant would: a module file passed to ``--load`` registers them. Every
``verify`` run uses a small configuration, ``--only`` one entry and
``--no-vacuity`` (the vacuity guard alone takes tens of seconds), so each takes
about a second.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.replay import DIVERGES
from conformance.support import LONG_TIMEOUT
from engines.verdicts import (
    EXIT_BAD_CONFIG,
    EXIT_BAD_INPUT,
    EXIT_INCONCLUSIVE,
    EXIT_LIVENESS,
    EXIT_OK,
    EXIT_SAFETY,
)
from gilcheck import cli
from gilcheck.cli import main
from gilcheck.replay import BAD_OPTION, UNREADABLE
from model.catalogue import CatalogueError, load
from model.variants import DEFAULT

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


@pytest.fixture
def mutant_module(tmp_path: Path) -> Path:
    path = tmp_path / "my_variants.py"
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
        (["--liveness-bound", "0"], "liveness_bound must be at least 1"),
        (["--max-k", "0"], "--max-k >= 1"),
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
    listed = re.findall(r"^(\S+) \((?:safety|liveness|lemma)\)", out, flags=re.MULTILINE)
    assert sorted(listed) == sorted(load()), "gilcheck catalogue and the catalogue differ"
    assert len(listed) == len(set(listed)), "an id is listed twice"


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


def run_program(*argv: str) -> subprocess.CompletedProcess[str]:
    """``gilcheck ARGV`` as its own process (the console script runs the same main())."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120")
    return subprocess.run(
        [sys.executable, "-m", "gilcheck.cli", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=LONG_TIMEOUT,
        check=False,
    )


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
