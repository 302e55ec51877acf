"""The invariant catalogue (specs/invariants.toml) as Python data.

The catalogue is the single home of each property's prose; model/properties.py
holds its formula under the same id. :func:`check_consistency` says what
differs between the two (tests/test_catalogue.py fails on any of it).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from model.properties import PROPERTIES

CATALOGUE_PATH = Path(__file__).resolve().parent.parent / "specs" / "invariants.toml"

Expected = Literal["holds", "violated"]


class CatalogueError(ValueError):
    """The catalogue file is missing or malformed."""


@dataclass(frozen=True)
class Entry:
    """One ``[[property]]`` of the catalogue."""

    id: str
    kind: Literal["safety", "liveness"]
    statement: str
    cpython: str
    lemma: bool = False
    expected: Expected = "holds"
    witness: Mapping[str, int] = field(default_factory=dict)
    triggers: tuple[str, ...] = ()
    note: str = ""


_FIELDS = {"id", "kind", "statement", "cpython", "lemma", "expected", "witness", "triggers", "note"}


@cache
def load(path: Path = CATALOGUE_PATH) -> dict[str, Entry]:
    """The catalogue's entries by id, in file order."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogueError(f"catalogue: cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"catalogue: {path} is not valid TOML: {exc}") from exc
    out: dict[str, Entry] = {}
    for k, item in enumerate(raw.get("property", [])):
        unknown = set(item) - _FIELDS
        if unknown:
            raise CatalogueError(
                f"catalogue: property #{k + 1} has unknown fields {sorted(unknown)}"
            )
        try:
            entry = Entry(
                id=item["id"],
                kind=item["kind"],
                statement=item["statement"],
                cpython=item["cpython"],
                lemma=bool(item.get("lemma", False)),
                expected=item.get("expected", "holds"),
                witness=dict(item.get("witness", {})),
                triggers=tuple(item.get("triggers", ())),
                note=item.get("note", ""),
            )
        except KeyError as exc:
            raise CatalogueError(f"catalogue: property #{k + 1} lacks the field {exc}") from None
        if entry.kind not in ("safety", "liveness"):
            raise CatalogueError(f"catalogue: {entry.id}: kind must be safety or liveness")
        if entry.expected not in ("holds", "violated"):
            raise CatalogueError(f"catalogue: {entry.id}: expected must be holds or violated")
        if entry.id in out:
            raise CatalogueError(f"catalogue: {entry.id} is defined twice")
        out[entry.id] = entry
    return out


def check_consistency(entries: Mapping[str, Entry]) -> list[str]:
    """Every way the catalogue and model/properties.py disagree, as sentences."""
    from model.vacuity import TRIGGERS

    problems = []
    for pid in PROPERTIES.keys() - entries.keys():
        problems.append(f"{pid} is checked by model/properties.py but has no catalogue entry")
    for pid in entries.keys() - PROPERTIES.keys():
        problems.append(f"{pid} is in the catalogue but no check in model/properties.py names it")
    for pid, entry in entries.items():
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
