"""The layers stay apart: impl never sees the model, and the model's pure part never sees z3.

* ``impl/`` is an implementation checked *against* the model; if it imported
  ``model`` (or ``tests``, where model and impl meet) it could agree with the
  model by construction. It imports only the standard library and itself.
* z3 stays in ``engines/symbolic.py`` and ``engines/``, and in the modules
  that drive the prover (``gilcheck/report.py``, ``gilcheck/cli.py``,
  ``engines/explicit_verify.py``). Every other model module — the transitions
  (gil, passes, pending, signals, lifecycle, base, protocol), the state, the
  properties, the catalogue, the explicit engine — must not import z3, nor
  ``engines.symbolic`` or ``engines``, which do: the concrete model runs
  without a solver, and the explicit engine is an independent check of z3's.

The scans read the AST, so an import inside a function or an ``if
TYPE_CHECKING`` block counts too; ``importlib.import_module("...")`` and
``__import__("...")`` with a literal name count as imports. A second check
imports the pure modules in a fresh interpreter and looks in ``sys.modules``,
which catches a z3 reached through a chain of imports. Each rule is shown to
fail on a source that breaks it.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.support import LONG_TIMEOUT

ROOT = Path(__file__).resolve().parent.parent
IMPL = ROOT / "impl"
MODEL = ROOT / "model"

Z3_USERS = frozenset({"symbolic", "report", "cli", "explicit_verify"})
"""model/*.py modules allowed to import z3 (directly or through symbolic/prover)."""

MUST_BE_PURE = (
    *("gil", "passes", "pending", "signals", "lifecycle", "base", "protocol"),
    *("state", "properties", "domain", "actions", "bits", "phases", "config"),
)
"""The transitions and properties, which the pure-model rule must cover."""

Z3_MODULES = ("z3", "engines.symbolic", "engines")
"""What a pure model module may not import: z3, and the model modules built on it."""


# -- the scanner ----------------------------------------------------------------------------


def imported_modules(source: str, filename: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``.

    ``package`` is the package the file is in (for relative imports). ``from a
    import b`` yields ``a`` and ``a.b`` (``b`` may be a submodule).
    """
    tree = ast.parse(source, filename=filename)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level > len(parts):
                    yield node.lineno, "." * node.level + (node.module or "")
                    continue
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id == "import_module")
            )
        ):
            yield node.lineno, node.args[0].value


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def impl_violations(source: str, filename: str = "<impl>") -> list[str]:
    """Imports an impl module may not have: model, tests, or anything outside the stdlib."""
    problems = []
    for line, module in imported_modules(source, filename, package="impl"):
        top = module.split(".")[0]
        if _within(module, "model") or _within(module, "tests"):
            problems.append(f"{filename}:{line}: impl imports {module} (impl never sees the model)")
        elif module.startswith("."):
            problems.append(f"{filename}:{line}: relative import {module} leaves impl")
        elif top != "impl" and top not in sys.stdlib_module_names and top != "__future__":
            problems.append(f"{filename}:{line}: impl imports {module}, not the standard library")
    return problems


def pure_model_violations(source: str, filename: str = "<model>") -> list[str]:
    """Imports a pure model module may not have: z3, engines.symbolic, engines."""
    return [
        f"{filename}:{line}: imports {module} (z3 stays in engines/symbolic.py and engines/)"
        for line, module in imported_modules(source, filename, package="model")
        if any(_within(module, bad) for bad in Z3_MODULES)
    ]


def pure_model_files() -> list[Path]:
    return sorted(p for p in MODEL.glob("*.py") if p.stem not in Z3_USERS)


def loaded_after_import(modules: list[str], watch: tuple[str, ...]) -> list[str]:
    """Which of ``watch`` a fresh interpreter has in sys.modules after importing ``modules``."""
    program = textwrap.dedent(
        f"""
        import importlib, json, sys
        for name in {modules!r}:
            importlib.import_module(name)
        print(json.dumps(sorted(m for m in sys.modules if m in {list(watch)!r})))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        timeout=LONG_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    loaded: list[str] = json.loads(proc.stdout)
    return loaded


# -- the repository ------------------------------------------------------------------------


def test_impl_never_imports_model_or_tests() -> None:
    files = sorted(IMPL.rglob("*.py"))
    assert files, f"no Python files under {IMPL}"
    problems = [
        p
        for f in files
        for p in impl_violations(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))
    ]
    assert not problems, "\n".join(problems)


def test_pure_model_modules_do_not_import_z3() -> None:
    files = pure_model_files()
    assert set(MUST_BE_PURE) <= {f.stem for f in files}, "a core module escaped the rule"
    problems = [
        p
        for f in files
        for p in pure_model_violations(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))
    ]
    assert not problems, "\n".join(problems)


def test_z3_users_are_still_z3_users() -> None:
    """The exemption list stays honest: every module on it reaches z3 (else it belongs
    with the pure ones, and the rule should cover it)."""
    idle = [
        name
        for name in sorted(Z3_USERS)
        if (MODEL / f"{name}.py").exists()
        and not pure_model_violations((MODEL / f"{name}.py").read_text(encoding="utf-8"))
    ]
    assert not idle, f"exempt from the z3 rule but import no z3: {idle}"


def test_pure_model_runs_without_z3() -> None:
    """Importing every pure model module (and impl) loads neither z3 nor the prover."""
    modules = [f"model.{f.stem}" if f.stem != "__init__" else "model" for f in pure_model_files()]
    loaded = loaded_after_import([*modules, "impl"], ("z3", "engines.symbolic", "engines"))
    assert loaded == [], f"importing the pure model loads {loaded}"


# -- each rule fails when broken -------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "import model\n",
        "import model.gil as g\n",
        "from model import gil\n",
        "from model.state import State\n",
        "import conformance.support\n",
        "from tests import support\n",
        "def f():\n    from model.protocol import Cpython313\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from model.state import State\n",
        "import importlib\nm = importlib.import_module('model.gil')\n",
        "m = __import__('tests.conformance')\n",
        "from .. import model\n",
        "import z3\n",
        "import hypothesis.strategies\n",
    ],
)
def test_impl_rule_fails_on_a_forbidden_import(source: str) -> None:
    assert impl_violations(source), f"not caught: {source!r}"


def test_impl_rule_allows_stdlib_and_impl() -> None:
    source = (
        "from __future__ import annotations\nimport threading, signal\n"
        "from collections.abc import Callable\nfrom impl.gil import GIL\nfrom . import trace\n"
        "from .thread import ThreadState\nimport modelling_helpers_is_not_model as x\n"
    )
    assert impl_violations(source) == [
        "<impl>:7: impl imports modelling_helpers_is_not_model, not the standard library"
    ]


@pytest.mark.parametrize(
    "source",
    [
        "import z3\n",
        "from z3 import Solver\n",
        "from engines.symbolic import Z3Domain\n",
        "from model import symbolic\n",
        "from . import symbolic\n",
        "from .prover.bmc import search\n",
        "import engines.verify\n",
        "def later():\n    import z3\n",
    ],
)
def test_pure_model_rule_fails_on_z3(source: str) -> None:
    assert pure_model_violations(source), f"not caught: {source!r}"


def test_pure_model_rule_allows_the_model() -> None:
    source = "from model.state import State\nfrom .domain import CONCRETE\nimport model.gil\n"
    assert pure_model_violations(source) == []


def test_runtime_check_sees_z3_through_a_chain() -> None:
    """gilcheck.report does not import z3 itself; it reaches it through engines."""
    assert "z3" in loaded_after_import(["gilcheck.report"], ("z3",))
