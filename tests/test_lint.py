"""The code is clean: ``ruff check``, ``ruff format --check`` and ``mypy --strict``.

The tools run as ``python -m ruff`` / ``python -m mypy`` from the interpreter
running the tests (the ``test`` extra installs them), with the configuration
in pyproject.toml, over every package, the tests and the benchmarks. A failure shows the
tool's output. Each tool is also run on a file with a defect of its kind, so a
tool that silently checked nothing would fail here too.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
CHECKED = ("model", "engines", "impl", "conformance", "gilcheck", "tests", "benchmarks")
TIMEOUT = 240.0


def _pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def run_tool(*argv: str, cwd: Path = ROOT) -> tuple[int, str]:
    """``python -m ARGV`` in ``cwd``: (exit status, stdout and stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def ruff_check(*paths: str, cwd: Path = ROOT) -> tuple[int, str]:
    return run_tool(
        "ruff", "check", "--no-cache", "--config", str(PYPROJECT), *paths, cwd=cwd
    )  # fmt: skip


def ruff_format_check(*paths: str, cwd: Path = ROOT) -> tuple[int, str]:
    return run_tool(
        "ruff", "format", "--check", "--no-cache", "--config", str(PYPROJECT), *paths, cwd=cwd
    )  # fmt: skip


def mypy(cache: Path, *paths: str, cwd: Path = ROOT) -> tuple[int, str]:
    # A cache of this run's own: other checkouts and runs cannot leave it stale.
    return run_tool(
        "mypy", "--strict", "--config-file", str(PYPROJECT), "--cache-dir", str(cache),
        *paths, cwd=cwd,
    )  # fmt: skip


def _report(tool: str, status: int, output: str) -> str:
    return f"{tool} exited {status}:\n{output}"


# -- the repository ------------------------------------------------------------------------


def test_ruff_check() -> None:
    status, output = ruff_check(".")
    assert status == 0, _report("ruff check .", status, output)


def test_ruff_format() -> None:
    status, output = ruff_format_check(".")
    assert status == 0, _report("ruff format --check .", status, output)


def test_mypy_strict(tmp_path: Path) -> None:
    status, output = mypy(tmp_path / "mypy-cache", *CHECKED)
    assert status == 0, _report(f"mypy --strict {' '.join(CHECKED)}", status, output)
    assert re.search(r"Success: no issues found in \d+ source files", output), output


def test_mypy_configuration_checks_what_this_test_checks() -> None:
    """pyproject's [tool.mypy] is strict over the same directories (a bare ``mypy`` agrees)."""
    conf = _pyproject()["tool"]["mypy"]
    assert conf["strict"] is True
    assert tuple(conf["files"]) == CHECKED


def test_test_extra_installs_the_tools() -> None:
    extra = _pyproject()["project"]["optional-dependencies"]["test"]
    names = set()
    for spec in extra:
        match = re.match(r"[A-Za-z0-9_.-]+", spec)
        assert match, spec
        names.add(match.group().lower())
    missing = {"pytest", "pytest-timeout", "mypy", "ruff"} - names
    assert not missing, f"the test extra does not install {sorted(missing)}"


# -- each tool fails on a defect --------------------------------------------------------------


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A directory outside the repository for files with defects."""
    (tmp_path / "pkg").mkdir()
    return tmp_path / "pkg"


def test_ruff_check_fails_on_an_unused_import(scratch: Path) -> None:
    (scratch / "bad.py").write_text("import os\n", encoding="utf-8")
    status, output = ruff_check("bad.py", cwd=scratch)
    assert status != 0
    assert "F401" in output


def test_ruff_check_applies_the_project_line_length(scratch: Path) -> None:
    (scratch / "long.py").write_text(f"X = {'1' * 97!r}\n", encoding="utf-8")  # 104 columns
    status, output = ruff_check("long.py", cwd=scratch)
    assert status != 0
    assert "E501" in output


def test_ruff_format_fails_on_unformatted_code(scratch: Path) -> None:
    (scratch / "ugly.py").write_text("x = {  'a':1 }\n", encoding="utf-8")
    status, output = ruff_format_check("ugly.py", cwd=scratch)
    assert status != 0
    assert "ugly.py" in output


def test_mypy_strict_fails_on_an_untyped_function(scratch: Path) -> None:
    (scratch / "untyped.py").write_text("def f(x):\n    return x\n", encoding="utf-8")
    status, output = mypy(scratch / "cache", "untyped.py", cwd=scratch)
    assert status != 0
    assert "missing a type annotation" in output
