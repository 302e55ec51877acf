"""Every shipped historical bug (model/bugs/) is refuted by the entry its docstring names.

The exhaustive search runs on the bug variant at a small configuration; the
entry must be violated by a trace the variant has, and the same trace must not
violate the entry on the faithful model (so the bug, not the entry, is at fault).
"""

from __future__ import annotations

import dataclasses

import pytest

import model.bugs  # noqa: F401  (registers the bug variants)
from engines.prove import violates
from engines.verify import verify
from model.catalogue import load
from model.config import Config
from model.properties import PROPERTIES
from model.trace import replay
from model.variants import concrete_model, model_class
from tests.cli_helpers import SMALL_CONFIG
from tests.model.blame import assert_faithful_model_not_at_fault

ONE = dataclasses.replace(SMALL_CONFIG, threads=1)

BUGS: list[tuple[str, Config]] = [
    ("gh-110693-off-by-one", ONE),
    ("gh-110693-overwrite", ONE),
    ("gh-95820", SMALL_CONFIG),
    ("gh-96387", SMALL_CONFIG),
    ("gh-96387-hang", SMALL_CONFIG),
    ("bpo-36475", SMALL_CONFIG),
]
"""Each shipped bug with the configuration it is searched in; the entry is its ``refuted_by``."""


@pytest.mark.parametrize(("name", "cfg"), BUGS, ids=[n for n, _ in BUGS])
def test_bug_is_refuted(name: str, cfg: Config) -> None:
    cls = model_class(name)
    pid = cls.refuted_by
    assert pid is not None, f"{name} names no refuted_by entry"
    assert pid in (cls.__doc__ or ""), f"{name}'s docstring does not name {pid}"
    report = verify(
        cls, cfg, {pid: load()[pid]}, engine="search", parallel=False, check_vacuity=False
    )
    (verdict,) = report.verdicts
    assert verdict.status == "violated", f"{name} does not break {pid}: {verdict}"
    trace = verdict.trace
    assert trace is not None
    bug = concrete_model(name, cfg)
    replay(bug, trace)
    assert violates(bug, PROPERTIES[pid], trace)
    assert_faithful_model_not_at_fault(pid, cfg, trace)
