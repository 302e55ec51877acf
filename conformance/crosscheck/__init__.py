"""Real CPython 3.13 against ``impl``: the same pending-call scenarios, compared.

:mod:`.cpython313` is a standalone script run by a real CPython 3.13 with
``_testinternalcapi`` and ``_testcapi`` (as a subprocess, with a timeout);
:mod:`.on_impl` runs the same scenarios on ``impl``. :func:`crosscheck` runs
one scenario both ways and lists the differences. Where no such CPython can be
found, :func:`find_cpython313` says why, and the tests skip with that reason:
nothing is ever compared against a stand-in.

Looked for, in order: the interpreter named by ``$GILCHECK_CPYTHON313``; the
running interpreter if it is 3.13 with both test modules; ``python3.13`` on
``PATH``; ``~/.pyenv/versions/3.13*/bin/python3.13``.
"""

from __future__ import annotations

import ast
import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from conformance.crosscheck import on_impl
from conformance.support import LONG_TIMEOUT

SCRIPT: Final = Path(__file__).with_name("cpython313.py")
ENV_VAR: Final = "GILCHECK_CPYTHON313"
PROBE: Final = (
    "import sys, _testcapi, _testinternalcapi; "
    "assert sys.version_info[:2] == (3, 13), sys.version; print(sys.version.split()[0])"
)

SCENARIOS: Final = tuple(on_impl.SCENARIOS)


def script_scenarios() -> tuple[str, ...]:
    """The scenarios of :data:`SCRIPT`, read from its source (it imports only under 3.13)."""
    tree = ast.parse(SCRIPT.read_text())
    return tuple(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(isinstance(d, ast.Name) and d.id == "scenario" for d in node.decorator_list)
    )


NOT_COMPARED: Final = {
    "switch_interval": {"undefined_in_c"},
}
"""Result keys shown but not compared: CPython's value is undefined behaviour in C
(``(unsigned long)(1e6 * x)`` for NaN, infinity, 2**64 us or more), where impl
documents that it raises ValueError instead (impl/gil.py,
``interval_to_microseconds``)."""


@dataclass(frozen=True, slots=True)
class Found:
    """A CPython 3.13 to compare against, or why there is none."""

    python: str | None
    version: str
    reason: str


def _probe(python: str) -> tuple[str | None, str]:
    try:
        done = subprocess.run(
            [python, "-I", "-c", PROBE],
            capture_output=True,
            text=True,
            timeout=LONG_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{python}: {exc}"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"{python}: {last}"
    return done.stdout.strip(), ""


def candidates() -> list[str]:
    """Where to look for a CPython 3.13, in order (see the module docstring)."""
    found: list[str] = []
    if os.environ.get(ENV_VAR):
        found.append(os.environ[ENV_VAR])
    if sys.version_info[:2] == (3, 13):
        found.append(sys.executable)
    on_path = shutil.which("python3.13")
    if on_path:
        found.append(on_path)
    found += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")))
    return list(dict.fromkeys(found))


def find_cpython313(pythons: list[str] | None = None) -> Found:
    """The first of ``pythons`` (default :func:`candidates`) that is a CPython 3.13 with
    ``_testinternalcapi`` and ``_testcapi``, or the reasons why none is."""
    reasons = []
    for python in candidates() if pythons is None else pythons:
        version, why = _probe(python)
        if version is not None:
            return Found(python, version, "")
        reasons.append(why)
    tried = "; ".join(reasons) or "none found"
    return Found(
        None,
        "",
        "no CPython 3.13 with _testinternalcapi and _testcapi "
        f"(${ENV_VAR}, the running interpreter, python3.13 on PATH, ~/.pyenv): {tried}",
    )


def run_on_cpython(python: str, scenario: str) -> dict[str, object]:
    """Run one scenario in a fresh CPython 3.13 process; its JSON result."""
    try:
        done = subprocess.run(
            [python, "-I", str(SCRIPT), scenario],
            capture_output=True,
            text=True,
            timeout=LONG_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"timed out after {LONG_TIMEOUT:.1f} s waiting for CPython to run {scenario}"
        ) from None
    if done.returncode != 0:
        raise AssertionError(
            f"CPython failed to run {scenario} (exit {done.returncode}):\n{done.stderr}"
        )
    out = json.loads(done.stdout)
    result: dict[str, object] = out["result"]
    return result


def run_on_impl(scenario: str) -> dict[str, object]:
    """Run one scenario on impl; its result, JSON round-tripped like CPython's."""
    result, _ = on_impl.run_scenario(scenario)
    out: dict[str, object] = json.loads(json.dumps(result))
    return out


def differences(scenario: str, cpython: dict[str, object], impl: dict[str, object]) -> list[str]:
    """Where the two results of ``scenario`` differ (keys in :data:`NOT_COMPARED` aside)."""
    skip = NOT_COMPARED.get(scenario, set())
    out = []
    for key in sorted(set(cpython) | set(impl)):
        if key in skip:
            continue
        if cpython.get(key) != impl.get(key):
            out.append(f"{key}: CPython {cpython.get(key)!r}, impl {impl.get(key)!r}")
    return out


@dataclass(frozen=True, slots=True)
class Outcome:
    scenario: str
    cpython: dict[str, object]
    impl: dict[str, object]
    diffs: tuple[str, ...]


def crosscheck(python: str, scenario: str) -> Outcome:
    cpython = run_on_cpython(python, scenario)
    impl = run_on_impl(scenario)
    return Outcome(scenario, cpython, impl, tuple(differences(scenario, cpython, impl)))


def table(outcomes: list[Outcome]) -> str:
    """A plain-text table: scenario, key, CPython, impl, same?"""
    rows = [("scenario", "result", "CPython 3.13", "impl", "")]
    for o in outcomes:
        skip = NOT_COMPARED.get(o.scenario, set())
        for key in sorted(set(o.cpython) | set(o.impl)):
            c, i = o.cpython.get(key), o.impl.get(key)
            mark = "n/c" if key in skip else ("ok" if c == i else "DIFF")
            rows.append((o.scenario, key, _short(c), _short(i), mark))
    widths = [max(len(r[k]) for r in rows) for k in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows
    )


def _short(value: object, limit: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def main(argv: list[str] | None = None) -> int:
    """``python -m conformance.crosscheck``: print the table; 1 on any difference."""
    found = find_cpython313()
    if found.python is None:
        print(f"crosscheck skipped: {found.reason}")
        return 0
    names = argv if argv else list(SCENARIOS)
    outcomes = [crosscheck(found.python, name) for name in names]
    print(f"CPython {found.version} ({found.python}) against impl")
    print(table(outcomes))
    return 1 if any(o.diffs for o in outcomes) else 0
