"""The invariant catalogue (model/invariants.toml) is in step with the checks and the tests.

Each entry has exactly one check in model/properties/ (``PROPERTIES``) and
each check one entry; each id is named by some test; each entry says what it
claims in one line, whether it is safety or liveness, and where CPython makes
it true. The rules that scan text are functions, each shown to fail on a
synthetic input that breaks it.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from model.catalogue import (
    CATALOGUE_PATH,
    CatalogueError,
    Entry,
    check_consistency,
    load,
    retired,
)
from model.properties import PROPERTIES
from model.properties.temporal import TEMPORAL

TESTS = Path(__file__).resolve().parent

CPYTHON_SOURCE = re.compile(r"\b(?:Python|Modules|Include|Objects)/[\w/]+\.[ch]\b")
"""A path in CPython's source tree, as the ``cpython`` field must name one."""


# -- the rules, as functions ----------------------------------------------------------------


def id_mismatches(catalogue: Iterable[str], checks: Iterable[str]) -> list[str]:
    """Sentences naming the ids the catalogue has without a check, and the reverse."""
    cat, chk = set(catalogue), set(checks)
    problems = []
    if cat - chk:
        problems.append(f"catalogue ids with no check in PROPERTIES: {sorted(cat - chk)}")
    if chk - cat:
        problems.append(f"checks in PROPERTIES with no catalogue id: {sorted(chk - cat)}")
    return problems


def unreferenced(ids: Iterable[str], texts: Mapping[str, str]) -> list[str]:
    """The ids no text names as a string literal (``"ID"`` or ``'ID'``)."""
    return [
        pid
        for pid in ids
        if not any(re.search(rf"""(["']){re.escape(pid)}\1""", t) for t in texts.values())
    ]


def entry_problems(entry: Entry) -> list[str]:
    """What is wrong with one entry's statement, kind and CPython reference."""
    problems = []
    statement = entry.statement
    if not statement.strip():
        problems.append(f"{entry.id}: the statement is empty")
    elif "\n" in statement or statement != statement.strip():
        problems.append(f"{entry.id}: the statement is not one line: {statement!r}")
    if entry.kind not in ("safety", "liveness", "temporal"):
        problems.append(f"{entry.id}: kind is {entry.kind!r}, not safety, liveness or temporal")
    if not CPYTHON_SOURCE.search(entry.cpython):
        problems.append(f"{entry.id}: cpython names no CPython source file: {entry.cpython!r}")
    return problems


def duplicates(ids: Iterable[str]) -> list[str]:
    return sorted(pid for pid, n in Counter(ids).items() if n > 1)


def scanned_test_texts() -> dict[str, str]:
    """Every test module but this one, by path."""
    me = Path(__file__).resolve()
    return {
        str(p.relative_to(TESTS)): p.read_text(encoding="utf-8")
        for p in sorted(TESTS.rglob("*.py"))
        if p.resolve() != me
    }


# -- the catalogue as it is ---------------------------------------------------------------


def test_every_catalogue_id_has_a_check_and_every_check_an_id() -> None:
    problems = id_mismatches(load(), PROPERTIES.keys() | TEMPORAL.keys())
    assert not problems, "\n".join(problems)


def test_catalogue_and_checks_agree() -> None:
    """model/catalogue.py's own comparison: kinds, vacuity triggers, witness configurations."""
    problems = check_consistency(load(), retired())
    assert not problems, "\n".join(problems)


def test_every_id_is_named_by_a_test() -> None:
    missing = unreferenced(load(), scanned_test_texts())
    assert not missing, f"no test under tests/ names these catalogue ids: {missing}"


def test_every_entry_has_statement_kind_and_cpython_reference() -> None:
    problems = [p for e in load().values() for p in entry_problems(e)]
    assert not problems, "\n".join(problems)


def test_ids_are_unique_in_the_file() -> None:
    """Read without model/catalogue.py, so a loader that kept the last of two would not hide it."""
    raw = tomllib.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))
    ids = [item["id"] for item in raw["property"]]
    assert not duplicates(ids), f"ids defined more than once: {duplicates(ids)}"
    assert len(load()) + len(retired()) == len(ids)


def test_id_prefix_says_what_the_entry_is() -> None:
    """INV- a state invariant, STEP- a property of a step, LIVE- liveness, LEMMA- a lemma."""
    wrong = []
    for pid, e in load().items():
        prefix = pid.split("-", 1)[0]
        step = pid in PROPERTIES and PROPERTIES[pid].step
        expected = {
            "INV": e.kind == "safety" and not step and not e.lemma,
            "STEP": e.kind == "safety" and step and not e.lemma,
            "LIVE": e.kind in ("liveness", "temporal") and not e.lemma,
            "LEMMA": e.kind == "safety" and e.lemma,
        }.get(prefix, False)
        if not expected:
            wrong.append(pid)
    assert not wrong, f"ids whose prefix does not match their kind, step or lemma flag: {wrong}"


# -- each rule fails when broken -------------------------------------------------------------


def test_id_mismatches_names_both_directions() -> None:
    problems = id_mismatches(["INV-A", "INV-B"], ["INV-B", "INV-C"])
    assert len(problems) == 2
    assert "no check" in problems[0]
    assert "'INV-A'" in problems[0]
    assert "no catalogue id" in problems[1]
    assert "'INV-C'" in problems[1]
    assert id_mismatches(["INV-A"], ["INV-A"]) == []


def test_unreferenced_wants_a_string_literal() -> None:
    texts = {
        "a.py": 'check("INV-A")\n# INV-B in a comment only\n',
        "b.py": "ids = ['INV-C-STRICT']\n",
    }
    assert unreferenced(["INV-A", "INV-B", "INV-C", "INV-C-STRICT"], texts) == ["INV-B", "INV-C"]


def test_entry_problems_catches_each_defect() -> None:
    good = Entry(
        id="INV-X", kind="safety", statement="One line", cpython="Python/ceval_gil.c: take_gil"
    )
    assert entry_problems(good) == []
    bad = [
        Entry(id="INV-X", kind="safety", statement="", cpython=good.cpython),
        Entry(id="INV-X", kind="safety", statement="two\nlines", cpython=good.cpython),
        Entry(id="INV-X", kind="fairness", statement="x", cpython=good.cpython),  # type: ignore[arg-type]
        Entry(id="INV-X", kind="safety", statement="x", cpython="take_gil, somewhere"),
    ]
    for entry in bad:
        assert len(entry_problems(entry)) == 1, entry


def test_duplicates() -> None:
    assert duplicates(["A", "B", "A", "C", "B"]) == ["A", "B"]
    assert duplicates(["A", "B"]) == []


# -- model/catalogue.py refuses a malformed catalogue --------------------------------------

ENTRY = """
[[property]]
id = "{id}"
kind = "{kind}"
statement = "A statement"
cpython = "Python/ceval_gil.c: take_gil"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "invariants.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_well_formed_temporary_catalogue_loads(tmp_path: Path) -> None:
    path = _write(tmp_path, ENTRY.format(id="INV-A", kind="safety"))
    assert list(load(path)) == ["INV-A"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ENTRY.format(id="INV-A", kind="safety") * 2, "INV-A is defined twice"),
        (ENTRY.format(id="INV-A", kind="fairness"), "kind must be safety, liveness or temporal"),
        (
            ENTRY.format(id="INV-A", kind="safety").replace('cpython = "', 'source = "'),
            "unknown fields ['source']",
        ),
        (
            ENTRY.format(id="INV-A", kind="safety").replace("cpython = ", "#"),
            "lacks the field 'cpython'",
        ),
        (ENTRY.format(id="INV-A", kind="safety") + 'expected = "maybe"\n', "expected must be"),
        ("[[property]\nid = 1\n", "is not valid TOML"),
    ],
    ids=["duplicate-id", "bad-kind", "unknown-field", "missing-field", "bad-expected", "not-toml"],
)
def test_malformed_catalogue_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(CatalogueError, match=re.escape(message)) as info:
        load(path)
    assert str(info.value).startswith("catalogue: ")


def test_missing_catalogue_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        load(tmp_path / "nowhere.toml")


# -- retired ids ------------------------------------------------------------------------------

RETIRED = """
[[property]]
id = "{id}"
retired = true
"""


def test_a_retired_entry_is_left_out_but_its_id_is_kept(tmp_path: Path) -> None:
    """A retired entry may keep its fields (as history) or have only its id."""
    text = (
        ENTRY.format(id="INV-A", kind="safety")
        + ENTRY.format(id="INV-OLD", kind="safety")
        + "retired = true\n"
        + RETIRED.format(id="INV-OLDER")
        + ENTRY.format(id="INV-B", kind="liveness")
        + "retired = false\n"
    )
    path = _write(tmp_path, text)
    assert list(load(path)) == ["INV-A", "INV-B"]
    assert retired(path) == {"INV-OLD", "INV-OLDER"}


@pytest.mark.parametrize(
    "text",
    [
        RETIRED.format(id="INV-OLD") + ENTRY.format(id="INV-OLD", kind="safety"),
        ENTRY.format(id="INV-OLD", kind="safety") + RETIRED.format(id="INV-OLD"),
        RETIRED.format(id="INV-OLD") * 2,
    ],
    ids=["reused-after", "reused-before", "retired-twice"],
)
def test_a_retired_id_is_never_reused(tmp_path: Path, text: str) -> None:
    with pytest.raises(
        CatalogueError,
        match=re.escape("catalogue: INV-OLD is retired; a retired id is never reused"),
    ):
        load(_write(tmp_path, text))


def test_retired_must_be_a_boolean(tmp_path: Path) -> None:
    path = _write(tmp_path, RETIRED.format(id="INV-OLD").replace("true", '"yes"'))
    with pytest.raises(CatalogueError, match=re.escape("INV-OLD: retired must be true or false")):
        load(path)


def test_a_retired_entry_needs_its_id(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match=re.escape("property #1 lacks the field 'id'")):
        load(_write(tmp_path, "[[property]]\nretired = true\n"))


def test_check_consistency_and_retired_ids(tmp_path: Path) -> None:
    """A retired id has no check, and no problem is made of it; a check left under a retired
    id is named as such. The temporary catalogue has only these entries, so check_consistency
    has complaints about every other check: only the retired ids' are looked at."""
    gone = "INV-RETIRED-LONG-AGO"
    assert gone not in PROPERTIES
    kept = "INV-GIL-SINGLE-HOLDER"
    assert kept in PROPERTIES
    path = _write(tmp_path, RETIRED.format(id=gone) + RETIRED.format(id=kept))
    problems = check_consistency(load(path), retired(path))
    assert not [p for p in problems if gone in p], problems
    assert [p for p in problems if kept in p] == [
        f"{kept} is retired in the catalogue but model/properties/ still checks it"
    ]


# -- temporal entries: fairness and scope -----------------------------------------------------


def _temporal(pid: str, **fields: str) -> str:
    """A temporal entry in TOML, from the real one's fields with ``fields`` replaced."""
    real = load()[pid]
    base = {
        "fairness": "[" + ", ".join(f'"{f}"' for f in real.fairness) + "]",
        "scope": "{ threads = 2, signals = 0, interp_capacity = 1, interp_maxloop = 1, "
        "main_capacity = 1 }",
    }
    base.update(fields)
    body = "".join(f"{k} = {v}\n" for k, v in base.items())
    return (
        f'[[property]]\nid = "{pid}"\nkind = "temporal"\nstatement = "s"\n'
        f'cpython = "Python/ceval_gil.c: take_gil"\n{body}'
    )


def _temporal_problems(tmp_path: Path, text: str, pid: str) -> list[str]:
    # A file of its own each time: the catalogue is parsed once per path.
    where = tmp_path / str(len(list(tmp_path.iterdir())))
    where.mkdir()
    path = _write(where, text)
    return [p for p in check_consistency(load(path)) if p.startswith(pid + ":")]


def test_every_temporal_entry_states_its_fairness_and_scope() -> None:
    for pid, e in load().items():
        if e.kind == "temporal":
            assert e.fairness == TEMPORAL[pid].fairness, pid
            assert e.scope_config(), pid


def test_a_temporal_entry_must_assume_the_fairness_its_check_does(tmp_path: Path) -> None:
    pid = "LIVE-FAIR-GIL-PROGRESS"
    assert not _temporal_problems(tmp_path, _temporal(pid), pid)
    problems = _temporal_problems(tmp_path, _temporal(pid, fairness='["thread"]'), pid)
    assert problems == [
        f"{pid}: the catalogue assumes fairness ['thread'], the check "
        f"{list(TEMPORAL[pid].fairness)}"
    ]


def test_an_unknown_fairness_or_a_missing_scope_is_named(tmp_path: Path) -> None:
    pid = "LIVE-FAIR-GIL-PROGRESS"
    fair = '["thread", "timeout", "no-spurious-forever", "fair-dice"]'
    problems = _temporal_problems(tmp_path, _temporal(pid, fairness=fair), pid)
    assert f"{pid}: unknown fairness 'fair-dice'" in problems
    problems = _temporal_problems(tmp_path, _temporal(pid, scope="{}"), pid)
    assert problems == [f"{pid}: a temporal entry needs a scope configuration"]


def test_fairness_only_goes_with_a_temporal_entry(tmp_path: Path) -> None:
    pid = "INV-GIL-SINGLE-HOLDER"
    text = (
        f'[[property]]\nid = "{pid}"\nkind = "safety"\nstatement = "s"\n'
        f'cpython = "Python/ceval_gil.c: take_gil"\nfairness = ["thread"]\n'
    )
    problems = _temporal_problems(tmp_path, text, pid)
    assert f"{pid}: fairness and scope only go with a temporal entry" in problems
