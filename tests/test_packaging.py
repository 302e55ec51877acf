"""The wheel, and gilcheck run from a real (not editable) install of it.

The wheel must hold the five product packages and nothing else (no ``tests``,
no ``benchmarks``), with the catalogue and every ``py.typed``. Installed into a
fresh venv, with the repository not on ``sys.path``, the command must still
work: ``catalogue``, ``verify`` (which reads the catalogue as package data and
runs its worker processes from the install), ``replay`` of a trace that
``verify`` wrote, ``soak``, and ``python -m gilcheck``. Last, the variant
example of README.md ("Writing a variant"), kept verbatim in
tests/data/readme_variant.py, must do what the README says it does.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from conformance.support import LONG_TIMEOUT
from engines.verdicts import EXIT_BAD_CONFIG, EXIT_INCONCLUSIVE, EXIT_OK
from model.catalogue import load

ROOT = Path(__file__).resolve().parent.parent
README_VARIANT = ROOT / "tests" / "data" / "readme_variant.py"
OLD_README_VARIANT = ROOT / "tests" / "data" / "variant_from_0_1_readme.py"

PRODUCT = frozenset({"model", "engines", "impl", "conformance", "gilcheck"})

# Building may have to install setuptools into pip's isolated build environment
# (see build_options), and pip's own network timeout is three minutes.
BUILD_TIMEOUT = 4 * LONG_TIMEOUT
# A full `gilcheck verify --threads 2` takes about 30 s on 2 cores (README.md,
# "What the output looks like"; 29 s measured here); room for a loaded machine.
VERIFY_TIMEOUT = 5 * LONG_TIMEOUT

# Verdicts are below 150; from 150 on the command gave none (README.md, "Exit codes").
NO_VERDICT = 150

# Build products and caches that must not go into the copy the wheel is built from.
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "gilcheck-out",
)


def clean_env() -> dict[str, str]:
    """The environment with no PYTHON* variable (so no PYTHONPATH) and a fixed terminal width."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["COLUMNS"] = "120"
    return env


def run(
    argv: Sequence[str | Path], *, cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to completion and capture its output; fail with a sentence on a timeout."""
    try:
        return subprocess.run(
            [str(a) for a in argv],
            cwd=cwd,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(map(str, argv))} did not finish within {timeout:.0f} s")


def outcome(proc: subprocess.CompletedProcess[str]) -> str:
    """What a failed command printed, for an assertion message."""
    return (
        f"{' '.join(proc.args)} exited {proc.returncode}\n"
        f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    )


def offline_build_problem() -> str | None:
    """Why this interpreter cannot build the wheel with ``--no-build-isolation``; None if it can.

    That needs every ``[build-system] requires`` installed here, and a setuptools that can
    write a wheel: setuptools >= 70.1 has ``bdist_wheel`` built in, older ones need ``wheel``.
    """
    with (ROOT / "pyproject.toml").open("rb") as f:
        requires = tomllib.load(f)["build-system"]["requires"]
    for req in map(Requirement, requires):
        try:
            version = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            return f"{req.name} is not installed"
        if not req.specifier.contains(version, prereleases=True):
            return f"{req.name} {version} does not satisfy {req}"
    setuptools = Version(importlib.metadata.version("setuptools"))
    if setuptools < Version("70.1") and importlib.util.find_spec("wheel") is None:
        return f"setuptools {setuptools} has no bdist_wheel without the wheel package"
    return None


def build_options() -> list[str]:
    """``--no-build-isolation`` (no network) when this interpreter can build the wheel itself.

    Otherwise pip builds in an isolated environment and installs the build requirements
    from its configured index, which may mean the network.
    """
    return ["--no-build-isolation"] if offline_build_problem() is None else []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of the repository, built from a copy of it (the build writes build/ and
    *.egg-info next to the sources, and a stale build/lib could leak into the wheel)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCES)
    out = tmp / "dist"
    proc = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *build_options(), "-w", out, src],
        cwd=tmp,
        timeout=BUILD_TIMEOUT,
    )
    assert proc.returncode == 0, f"pip could not build the wheel.\n{outcome(proc)}"
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == 1, f"pip wheel should write one wheel, it wrote {wheels}"
    return wheels[0]


@dataclass(frozen=True)
class Install:
    """A fresh venv with the wheel installed in it."""

    venv: Path
    site_packages: Path
    work: Path  # an empty directory, the cwd of every command

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def gilcheck(self) -> Path:
        return self.venv / "bin" / "gilcheck"


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Install:
    """``wheel`` installed (not editable) into a new venv, its dependencies borrowed.

    z3-solver, hypothesis and rich come from this interpreter's site-packages, listed
    in a .pth file of the new venv. A directory named in a .pth goes on sys.path, but
    the .pth files inside it are not read, so the editable install's finder there
    never runs and the repository stays off sys.path. The .pth is written after the
    install: pip would otherwise see the editable gilcheck and skip the wheel.
    """
    tmp = tmp_path_factory.mktemp("install")
    venv = tmp / "venv"
    proc = run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp, timeout=LONG_TIMEOUT)
    assert proc.returncode == 0, f"could not create a venv.\n{outcome(proc)}"
    python = venv / "bin" / "python"
    # pip >= 22.3 installs into another environment with --python; --no-index: no network.
    proc = run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--no-deps",
            "--no-index",
            wheel,
        ],
        cwd=tmp,
        timeout=LONG_TIMEOUT,
    )
    assert proc.returncode == 0, f"pip could not install the wheel.\n{outcome(proc)}"
    proc = run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        cwd=tmp,
        timeout=LONG_TIMEOUT,
    )
    assert proc.returncode == 0, outcome(proc)
    site_packages = Path(proc.stdout.strip())
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (site_packages / "_gilcheck_test_deps.pth").write_text("".join(f"{p}\n" for p in deps))
    work = tmp / "work"
    work.mkdir()
    return Install(venv=venv, site_packages=site_packages, work=work)


def test_wheel_holds_the_product_packages_only(wheel: Path) -> None:
    problem = offline_build_problem()
    if problem is not None:
        print(f"built with build isolation: {problem}")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    (dist_info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    top = {n.split("/")[0] for n in names} - {dist_info}
    top = {Path(t).stem if t.endswith(".py") else t for t in top}
    assert top == PRODUCT, (
        f"the wheel's top-level packages should be {sorted(PRODUCT)}; "
        f"extra: {sorted(top - PRODUCT)}, missing: {sorted(PRODUCT - top)}"
    )
    with zipfile.ZipFile(wheel) as zf:
        top_level = set(zf.read(f"{dist_info}/top_level.txt").decode().split())
    assert top_level == PRODUCT, f"top_level.txt lists {sorted(top_level)}, not the product"
    assert "model/invariants.toml" in names, "the catalogue is not in the wheel"
    missing = sorted(f"{p}/py.typed" for p in PRODUCT if f"{p}/py.typed" not in names)
    assert not missing, f"the wheel lacks the PEP 561 markers {missing}"


@pytest.mark.slow
def test_install_runs_from_the_venv_not_the_repository(installed: Install) -> None:
    code = (
        "import importlib.util, json, model, z3, hypothesis, rich; "
        "print(json.dumps([model.__file__, importlib.util.find_spec('tests') is None]))"
    )
    proc = run([installed.python, "-c", code], cwd=installed.work, timeout=LONG_TIMEOUT)
    assert proc.returncode == 0, (
        f"the installed model or a dependency does not import.\n{outcome(proc)}"
    )
    model_file, no_tests = json.loads(proc.stdout)
    assert Path(model_file).is_relative_to(installed.site_packages), (
        f"the fresh venv imports model from {model_file}, not from its own site-packages"
    )
    assert not Path(model_file).is_relative_to(ROOT), "the fresh venv imports the repository"
    assert no_tests, "the fresh venv can import a tests package; the repository is on sys.path"


@pytest.mark.slow
def test_installed_catalogue(installed: Install) -> None:
    script = run([installed.gilcheck, "catalogue"], cwd=installed.work, timeout=LONG_TIMEOUT)
    assert script.returncode == EXIT_OK, outcome(script)
    listed = {line.split()[0] for line in script.stdout.splitlines() if line[:1].isupper()}
    assert "INV-GIL-SINGLE-HOLDER" in listed, (
        f"the catalogue lacks INV-GIL-SINGLE-HOLDER:\n{script.stdout}"
    )
    missing = sorted(set(load()) - listed)
    assert not missing, f"the installed catalogue does not list {missing}"
    module = run(
        [installed.python, "-m", "gilcheck", "catalogue"], cwd=installed.work, timeout=LONG_TIMEOUT
    )
    assert module.returncode == EXIT_OK, outcome(module)
    assert module.stdout == script.stdout, (
        "python -m gilcheck catalogue differs from gilcheck catalogue"
    )


@pytest.mark.slow
@pytest.mark.timeout(2 * VERIFY_TIMEOUT)
def test_installed_verify_then_replay(installed: Install) -> None:
    """The defaults but for 2 threads: the whole catalogue, both processes, the vacuity guard.
    The four expected counterexamples are written as ITF, and impl follows each one."""
    out = installed.work / "verify-out"
    proc = run(
        [installed.gilcheck, "verify", "--threads", "2", "--out", out],
        cwd=installed.work,
        timeout=VERIFY_TIMEOUT,
    )
    assert proc.returncode == EXIT_OK, (
        f"verify of the faithful model did not exit 0.\n{outcome(proc)}"
    )
    expected = sorted(pid for pid, entry in load().items() if entry.expected == "violated")
    traces = sorted(p.name for p in out.glob("*.itf.json"))
    assert traces == sorted(f"{pid}.itf.json" for pid in expected), (
        f"verify should write one trace per expected counterexample {expected}, it wrote {traces}"
    )
    assert (out / "report.json").is_file(), "verify wrote no report.json"
    for name in traces:
        replay = run(
            [installed.gilcheck, "replay", out / name], cwd=installed.work, timeout=LONG_TIMEOUT
        )
        doc = json.loads((out / name).read_text(encoding="utf-8"))
        if doc["#meta"]["config"]["interp_capacity"] != 300:
            # A temporal entry's scope with one-slot queues: impl's queues are CPython's.
            assert replay.returncode == EXIT_BAD_CONFIG, outcome(replay)
            assert "impl's queues are CPython's" in replay.stderr, outcome(replay)
            continue
        assert replay.returncode < NO_VERDICT, (
            f"replay of {name} gave no verdict.\n{outcome(replay)}"
        )
        assert replay.returncode in {0, 1, 3}, (
            f"replay of {name}: not a replay verdict.\n{outcome(replay)}"
        )
    # README.md: "`gilcheck replay` of that file prints `impl follows the trace` and exits 0."
    replay = run(
        [installed.gilcheck, "replay", out / "INV-NO-LOST-WAKEUP-STRICT.itf.json"],
        cwd=installed.work,
        timeout=LONG_TIMEOUT,
    )
    assert replay.returncode == EXIT_OK, outcome(replay)
    assert "impl follows the trace" in replay.stdout, outcome(replay)


@pytest.mark.slow
def test_installed_soak(installed: Install) -> None:
    proc = run(
        [installed.gilcheck, "soak", "--seconds", "2"], cwd=installed.work, timeout=LONG_TIMEOUT
    )
    assert proc.returncode == EXIT_OK, (
        f"soak found an event the model cannot explain.\n{outcome(proc)}"
    )


def readme_variant_block() -> str:
    """The Python block of README.md's "Writing a variant" section."""
    section = (ROOT / "README.md").read_text().split("\n## Writing a variant\n", 1)
    assert len(section) == 2, 'README.md has no section "Writing a variant"'
    block = re.search(r"```python\n(.*?)```", section[1], re.DOTALL)
    assert block is not None, 'README.md\'s "Writing a variant" has no python example'
    return block.group(1)


def test_readme_variant_file_is_the_readme_example() -> None:
    text = README_VARIANT.read_text()
    assert text.endswith(readme_variant_block()), (
        f"{README_VARIANT.relative_to(ROOT)} is not README.md's variant example: copy it again"
    )


# A small configuration (that of tests/test_cli.py) with the one entry the variant is about.
# The README runs the defaults (3 threads, whole catalogue), minutes for the same point.
VARIANT_OPTIONS = [
    "--threads", "2",
    "--interp-capacity", "2",
    "--interp-maxloop", "1",
    "--main-capacity", "2",
    "--signals", "0",
    "--max-k", "1",
    "--depth", "8",
    "--no-parallel",
    "--no-vacuity",
    "--only", "LIVE-FORCED-SWITCH-STRICT",
    "--format", "json",
]  # fmt: skip


@pytest.mark.parametrize(
    ("variant_file", "from_clone"),
    [(README_VARIANT, False), (OLD_README_VARIANT, True)],
    ids=["readme-example-anywhere", "0.1-readme-example-from-a-clone"],
)
def test_readme_variant_removes_the_forced_switch_counterexample(
    tmp_path: Path, variant_file: Path, from_clone: bool
) -> None:
    """README.md: the variant makes the FORCE_SWITCHING wait a loop, a candidate fix for
    LIVE-FORCED-SWITCH-STRICT, and "an expected counterexample that the variant removes is
    no longer found, which exits 14". The faithful model, same options, finds it and exits 0.
    Today's example runs from tmp_path, where the repository's tests package cannot be
    imported; the 0.1.0 README's file (which imports tests.model.mutants) from the clone."""
    cwd = ROOT if from_clone else tmp_path
    gilcheck = [sys.executable, "-m", "gilcheck", "verify", *VARIANT_OPTIONS]
    faithful = run([*gilcheck, "--out", tmp_path / "faithful"], cwd=cwd, timeout=LONG_TIMEOUT)
    assert faithful.returncode == EXIT_OK, outcome(faithful)
    (found,) = json.loads(faithful.stdout)["verdicts"]
    assert found["verdict"] == "violated", f"the faithful model should break it: {found}"
    assert found["as_expected"], found

    load_it: list[str | Path] = ["--load", variant_file, "--variant", "looped-switch-wait"]
    variant = run(
        [*gilcheck, *load_it, "--out", tmp_path / "variant"], cwd=cwd, timeout=LONG_TIMEOUT
    )
    assert variant.returncode == EXIT_INCONCLUSIVE, (
        f"the README's variant should remove the counterexample and exit 14.\n{outcome(variant)}"
    )
    report = json.loads(variant.stdout)
    assert report["variant"] == "looped-switch-wait", report["variant"]
    (verdict,) = report["verdicts"]
    assert verdict["id"] == "LIVE-FORCED-SWITCH-STRICT", verdict
    assert verdict["verdict"] == "bounded", f"the variant should leave no counterexample: {verdict}"
    assert not verdict["as_expected"], verdict
    assert "not found" in verdict["note"], verdict["note"]
    assert not list((tmp_path / "variant").glob("*.itf.json")), "the variant run wrote a trace"
