"""The packages stay in their layers, and the import arrows point one way.

The map (README, "Architecture")::

    gilcheck     the command: cli, reports, ITF          imports everything below
    conformance  where model and impl meet                imports model, impl
    engines      z3, numpy, BMC, k-induction, search      imports model
    model        the protocol, written once, pure         imports itself only
    impl         the threaded implementation              imports itself only

``tests`` may import anything; ``benchmarks`` anything but ``tests``. No
product package imports ``tests`` or ``benchmarks``, and none but ``gilcheck``
imports ``gilcheck``. Each layer may use the standard library; third-party
libraries only where they are the layer's job (z3 in engines, Hypothesis in
conformance, rich in the command). The pure model uses no threads, processes,
sockets or signals, and impl is compared with the model, so it must not see it
(else the two could agree by construction).

The scans read the AST, so an import inside a function or an ``if
TYPE_CHECKING`` block counts too; ``importlib.import_module("...")`` and
``__import__("...")`` with a literal name count as imports. A second check
imports the model and impl in a fresh interpreter and looks in
``sys.modules``, which catches a forbidden module reached through a chain of
imports. The cycle rule counts every import that runs (a function's lazy
import too), not those under ``if TYPE_CHECKING`` (impl has such cycles for
its type hints; they never execute). Each rule is shown to fail on a source
that breaks it.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.support import LONG_TIMEOUT

ROOT = Path(__file__).resolve().parent.parent

PRODUCT = ("model", "engines", "impl", "conformance", "gilcheck")
"""The installed packages, bottom to top."""

MAY_IMPORT: Mapping[str, frozenset[str]] = {
    "model": frozenset({"model"}),
    "impl": frozenset({"impl"}),
    "engines": frozenset({"engines", "model"}),
    "conformance": frozenset({"conformance", "model", "impl"}),
    "gilcheck": frozenset(PRODUCT),
    "benchmarks": frozenset({*PRODUCT, "benchmarks"}),
}
"""Package -> the project packages its modules may import."""

THIRD_PARTY: Mapping[str, frozenset[str]] = {
    "model": frozenset(),
    "impl": frozenset(),
    "engines": frozenset({"z3", "numpy", "scipy"}),
    # CPython's own test modules: the cross-check drives a real CPython's pending calls.
    "conformance": frozenset({"hypothesis", "_testcapi", "_testinternalcapi"}),
    "gilcheck": frozenset({"rich"}),
    "benchmarks": frozenset({"rich", "hypothesis", "z3", "numpy"}),
}
"""Package -> the libraries outside the standard library its modules may import."""

NOT_PURE = frozenset(
    {"threading", "_thread", "multiprocessing", "concurrent", "subprocess", "socket", "signal"}
    | {"asyncio", "selectors"}
)
"""Standard-library modules the pure model may not use: no threads, processes or signals."""

OWN = frozenset({*PRODUCT, "tests", "benchmarks"})


# -- the scanner ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    line: int
    module: str
    """The absolute name, or the relative one if it climbs out of the project."""
    runtime: bool
    """False under ``if TYPE_CHECKING:``, which never runs."""


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _dynamic(node: ast.Call) -> str | None:
    """The literal name of an ``importlib.import_module`` or ``__import__`` call."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    if name not in ("__import__", "import_module") or not node.args:
        return None
    first = node.args[0]
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def imports(source: str, filename: str, package: str) -> Iterator[Import]:
    """Every import in ``source``; ``package`` is the file's package (for relative imports).

    ``from a import b`` yields ``a.b`` if that is a module of the project, else ``a``.
    """

    def visit(node: ast.AST, runtime: bool) -> Iterator[Import]:
        if isinstance(node, ast.If) and _type_checking(node.test):
            for stmt in node.body:
                yield from visit(stmt, False)
            for stmt in node.orelse:
                yield from visit(stmt, runtime)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(node.lineno, alias.name, runtime)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level > len(parts):
                    yield Import(node.lineno, "." * node.level + (node.module or ""), runtime)
                    return
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                yield Import(node.lineno, sub if sub in MODULES else module, runtime)
        elif isinstance(node, ast.Call) and (name := _dynamic(node)) is not None:
            yield Import(node.lineno, name, runtime)
        for child in ast.iter_child_nodes(node):
            yield from visit(child, runtime)

    yield from visit(ast.parse(source, filename=filename), True)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _files(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


MODULES: Mapping[str, Path] = {_module_name(p): p for p in _files(*OWN)}
"""Every module of the project by dotted name."""


def _package_of(path: Path) -> str:
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def violations(source: str, layer: str, filename: str = "<source>", package: str = "") -> list[str]:
    """Every import in ``source`` that a module of ``layer`` may not have, as a sentence."""
    problems = []
    for imp in imports(source, filename, package or layer):
        top = imp.module.split(".")[0]
        where = f"{filename}:{imp.line}: {layer} imports {imp.module}"
        if imp.module.startswith("."):
            problems.append(f"{where}: a relative import out of the project")
        elif top == "tests":
            problems.append(f"{where}: no product module or benchmark imports the tests")
        elif top in OWN and top not in MAY_IMPORT[layer]:
            problems.append(f"{where}: {layer} may import only {sorted(MAY_IMPORT[layer])}")
        elif top in OWN or top == "__future__":
            continue
        elif top in sys.stdlib_module_names:
            if layer == "model" and top in NOT_PURE:
                problems.append(f"{where}: the model is pure (no threads, processes or signals)")
        elif top not in THIRD_PARTY[layer]:
            allowed = sorted(THIRD_PARTY[layer]) or "none"
            problems.append(f"{where}: a library outside {layer}'s job (allowed: {allowed})")
    return problems


def runtime_graph(modules: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports when it runs."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = imports(path.read_text(encoding="utf-8"), str(path), _package_of(path))
        graph[name] = {i.module for i in found if i.runtime and i.module in modules} - {name}
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return out


def loaded_after_import(modules: list[str], watch: tuple[str, ...]) -> list[str]:
    """Which of ``watch`` (or their submodules) a fresh interpreter has after importing
    ``modules``."""
    program = textwrap.dedent(
        f"""
        import importlib, json, sys
        for name in {modules!r}:
            importlib.import_module(name)
        watch = {list(watch)!r}
        print(json.dumps(sorted(
            m for m in sys.modules if any(m == w or m.startswith(w + ".") for w in watch)
        )))
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


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_every_package_imports_only_what_its_layer_allows(layer: str) -> None:
    files = _files(layer)
    assert files, f"no Python files under {layer}/"
    problems = [
        p
        for f in files
        for p in violations(
            f.read_text(encoding="utf-8"), layer, str(f.relative_to(ROOT)), _package_of(f)
        )
    ]
    assert not problems, "\n".join(problems)


def test_every_module_is_in_a_layer() -> None:
    """A new top-level package must be given a place in the map before it is used."""
    tops = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()} | {
        p.parent.name for p in ROOT.glob("benchmarks/*.py")
    }
    assert tops == {*MAY_IMPORT, "tests"}, f"packages outside the map: {tops - set(MAY_IMPORT)}"


def test_no_runtime_import_cycle_between_modules() -> None:
    found = cycles(runtime_graph({n: p for n, p in MODULES.items() if n.split(".")[0] != "tests"}))
    assert not found, "runtime import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_model_and_impl_run_without_the_rest() -> None:
    """Importing every model module and impl loads no z3, engine, harness or command."""
    pure = sorted(n for n in MODULES if n.split(".")[0] in ("model", "impl"))
    loaded = loaded_after_import(pure, ("z3", "engines", "conformance", "gilcheck", "threading"))
    # impl runs on threads; the model does not, so threading is checked for the model alone.
    assert [m for m in loaded if m != "threading"] == [], f"importing model and impl loads {loaded}"
    model_only = sorted(n for n in MODULES if n.split(".")[0] == "model")
    assert loaded_after_import(model_only, ("impl", "hypothesis", "rich")) == []


def test_runtime_check_sees_z3_through_a_chain() -> None:
    """gilcheck.report does not import z3 itself; it reaches it through engines."""
    assert "z3" in loaded_after_import(["gilcheck.report"], ("z3",))


# -- each rule fails when broken -------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "source"),
    [
        ("impl", "import model\n"),
        ("impl", "from model import gil\n"),
        ("impl", "def f():\n    from model.protocol import Cpython313\n"),
        (
            "impl",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from model import state\n",
        ),
        ("impl", "import importlib\nm = importlib.import_module('model.gil')\n"),
        ("impl", "m = __import__('conformance.harness')\n"),
        ("impl", "from .. import model\n"),
        ("impl", "import hypothesis.strategies\n"),
        ("model", "import z3\n"),
        ("model", "from engines.symbolic import Z3Domain\n"),
        ("model", "def later():\n    import engines.verify\n"),
        ("model", "import threading\n"),
        ("model", "from concurrent.futures import ProcessPoolExecutor\n"),
        ("model", "from impl.gil import GIL\n"),
        ("model", "from gilcheck.report import step_table\n"),
        ("engines", "from conformance.harness import Lockstep\n"),
        ("engines", "from impl import Interpreter\n"),
        ("engines", "import gilcheck.cli\n"),
        ("engines", "import rich\n"),
        ("conformance", "from gilcheck.itf import read_itf\n"),
        ("conformance", "from gilcheck.load import load_module\n"),
        ("conformance", "import z3\n"),
        ("gilcheck", "from tests.model import mutants\n"),
        ("conformance", "from tests.model.mutants import PushAtHead\n"),
        ("benchmarks", "import tests.support\n"),
        ("engines", "import numpy_is_not_allowed_yet\n"),
    ],
)
def test_the_layer_rule_fails_on_a_forbidden_import(layer: str, source: str) -> None:
    assert violations(source, layer), f"{layer}: not caught: {source!r}"


def test_the_layer_rule_allows_what_each_layer_needs() -> None:
    allowed = {
        "impl": "import threading, signal\nfrom impl.gil import GIL\nfrom . import trace\n",
        "model": "import tomllib\nfrom model.state import State\nfrom .domain import CONCRETE\n",
        "engines": "import z3\nfrom model.protocol import Cpython313\nfrom engines import bmc\n",
        "conformance": "from hypothesis import strategies\nimport impl\nfrom model import state\n",
        "gilcheck": "from rich.console import Console\nimport engines.verify, conformance\n",
        "benchmarks": "from conformance.harness import Lockstep\nimport rich.table\n",
    }
    found = {layer: violations(src, layer) for layer, src in allowed.items()}
    assert found == {layer: [] for layer in allowed}


def test_the_cycle_rule_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_cycle_rule_ignores_type_checking_imports() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from impl.gil import GIL\n"
    (imp,) = [i for i in imports(source, "<s>", "impl") if i.module.startswith("impl")]
    assert not imp.runtime
    lazy = "def f():\n    from impl.gil import GIL\n"
    (imp,) = list(imports(lazy, "<s>", "impl"))
    assert imp.runtime, "a lazy import runs, so it counts for cycles"
