"""The invariant catalogue (model/invariants.toml) as Python data.

The catalogue is the single home of each property's prose; model/properties/
holds its formula under the same id. :func:`check_consistency` says what
differs between the two (tests/test_catalogue.py fails on any of it).

An id is never reused. An entry with ``retired = true`` is no longer a claim:
:func:`load` leaves it out (its check in model/properties/ is deleted), but
its id stays reserved (:func:`retired`), and an entry that takes it again is
refused.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from model.fairness import CPYTHON_FAIRNESS
from model.properties import PROPERTIES
from model.properties.temporal import TEMPORAL
from model.triggers import TRIGGERS

CATALOGUE_PATH = Path(__file__).resolve().parent / "invariants.toml"

Expected = Literal["holds", "violated"]


class CatalogueError(ValueError):
    """The catalogue file is missing or malformed."""


@dataclass(frozen=True)
class Entry:
    """One ``[[property]]`` of the catalogue."""

    id: str
    kind: Literal["safety", "liveness", "temporal"]
    """``temporal``: liveness under fairness over infinite behaviours
    (:mod:`model.properties.temporal`); ``liveness``: bounded, a safety property."""
    statement: str
    cpython: str
    lemma: bool = False
    expected: Expected = "holds"
    witness: Mapping[str, int] = field(default_factory=dict)
    triggers: tuple[str, ...] = ()
    note: str = ""
    fairness: tuple[str, ...] = ()
    """A temporal entry's fairness assumptions (:mod:`model.fairness`)."""
    scope: Mapping[str, object] = field(default_factory=dict)
    """A temporal entry's configuration (:class:`model.config.Config` fields) and the
    actions it leaves out (``without``): the program whose fair behaviours it is about."""

    @property
    def without(self) -> tuple[str, ...]:
        gone = self.scope.get("without", ())
        return tuple(str(a) for a in gone) if isinstance(gone, list | tuple) else ()

    def scope_config(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.scope.items() if k != "without" and isinstance(v, int)}


_FIELDS = {
    "id",
    "kind",
    "statement",
    "cpython",
    "lemma",
    "expected",
    "witness",
    "triggers",
    "note",
    "retired",
    "fairness",
    "scope",
}


@cache
def _parse(path: Path) -> tuple[dict[str, Entry], frozenset[str]]:
    """(the live entries by id in file order, the retired ids) of the catalogue at ``path``."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueError(f"catalogue: cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"catalogue: {path} is not valid TOML: {exc}") from exc
    out: dict[str, Entry] = {}
    gone: set[str] = set()
    for k, item in enumerate(raw.get("property", [])):
        unknown = set(item) - _FIELDS
        if unknown:
            raise CatalogueError(
                f"catalogue: property #{k + 1} has unknown fields {sorted(unknown)}"
            )
        if "id" not in item:
            raise CatalogueError(f"catalogue: property #{k + 1} lacks the field 'id'")
        pid = item["id"]
        is_retired = item.get("retired", False)
        if not isinstance(is_retired, bool):
            raise CatalogueError(f"catalogue: {pid}: retired must be true or false")
        if pid in gone or (is_retired and pid in out):
            raise CatalogueError(f"catalogue: {pid} is retired; a retired id is never reused")
        if pid in out:
            raise CatalogueError(f"catalogue: {pid} is defined twice")
        if is_retired:
            gone.add(pid)
            continue
        try:
            entry = Entry(
                id=pid,
                kind=item["kind"],
                statement=item["statement"],
                cpython=item["cpython"],
                lemma=bool(item.get("lemma", False)),
                expected=item.get("expected", "holds"),
                witness=dict(item.get("witness", {})),
                triggers=tuple(item.get("triggers", ())),
                note=item.get("note", ""),
                fairness=tuple(item.get("fairness", ())),
                scope=dict(item.get("scope", {})),
            )
        except KeyError as exc:
            raise CatalogueError(f"catalogue: property #{k + 1} lacks the field {exc}") from None
        if entry.kind not in ("safety", "liveness", "temporal"):
            raise CatalogueError(
                f"catalogue: {entry.id}: kind must be safety, liveness or temporal"
            )
        if entry.expected not in ("holds", "violated"):
            raise CatalogueError(f"catalogue: {entry.id}: expected must be holds or violated")
        out[entry.id] = entry
    return out, frozenset(gone)


def load(path: Path = CATALOGUE_PATH) -> dict[str, Entry]:
    """The catalogue's live entries by id, in file order (a retired entry is left out)."""
    return dict(_parse(path)[0])


def retired(path: Path = CATALOGUE_PATH) -> frozenset[str]:
    """The ids of the catalogue's retired entries: reserved, never checked, never reused."""
    return _parse(path)[1]


def check_consistency(entries: Mapping[str, Entry], retired_ids: Collection[str] = ()) -> list[str]:
    """Every way the catalogue and model/properties/ disagree, as sentences.

    ``retired_ids`` (:func:`retired`) have no check, and must have none: a
    retired property is no longer claimed, so a check left under its id is
    named as such.
    """
    problems = []
    checks = PROPERTIES.keys() | TEMPORAL.keys()
    for pid in sorted(checks - entries.keys()):
        if pid in retired_ids:
            problems.append(
                f"{pid} is retired in the catalogue but model/properties/ still checks it"
            )
        else:
            problems.append(f"{pid} is checked by model/properties/ but has no catalogue entry")
    for pid in entries.keys() - checks:
        problems.append(f"{pid} is in the catalogue but no check in model/properties/ names it")
    problems.extend(_temporal_problems(entries))
    for pid, entry in entries.items():
        if entry.kind == "temporal":
            continue
        prop = PROPERTIES.get(pid)
        if prop is not None and prop.kind != entry.kind:
            problems.append(f"{pid}: the catalogue says {entry.kind}, the check says {prop.kind}")
        for trig in entry.triggers:
            if trig not in TRIGGERS:
                problems.append(f"{pid}: unknown vacuity trigger {trig!r}")
        if entry.expected == "violated" and not entry.witness:
            problems.append(f"{pid}: an expected violation needs a witness configuration")
        if entry.expected == "holds" and entry.witness:
            problems.append(f"{pid}: a witness configuration only goes with an expected violation")
        if not entry.triggers:
            problems.append(f"{pid}: no vacuity trigger")
    return problems


def _temporal_problems(entries: Mapping[str, Entry]) -> list[str]:
    """How the temporal entries and their checks disagree on kind, fairness and scope."""
    known = {f.name for f in CPYTHON_FAIRNESS}
    out = []
    for pid, entry in entries.items():
        temporal = TEMPORAL.get(pid)
        if (entry.kind == "temporal") != (temporal is not None):
            if pid in TEMPORAL or pid in PROPERTIES:
                out.append(f"{pid}: the catalogue says {entry.kind}, the check says otherwise")
            continue
        if temporal is None:
            if entry.fairness or entry.scope:
                out.append(f"{pid}: fairness and scope only go with a temporal entry")
            continue
        if entry.fairness != temporal.fairness:
            out.append(
                f"{pid}: the catalogue assumes fairness {list(entry.fairness)}, "
                f"the check {list(temporal.fairness)}"
            )
        for name in set(entry.fairness) - known:
            out.append(f"{pid}: unknown fairness {name!r}")
        if not entry.scope_config():
            out.append(f"{pid}: a temporal entry needs a scope configuration")
    return out
