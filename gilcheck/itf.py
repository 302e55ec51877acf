"""Traces in the Informal Trace Format (ITF) of Apalache and Quint.

The format is ADR-015 of Apalache: a JSON object with ``#meta``, ``vars``,
``states`` and, for a lasso, ``loop`` (the index of the state where the
repeating part starts). How a state's values are written is in
:mod:`gilcheck.itf_values`. Every state also carries Quint's model-based-testing
fields, so a driver knows which step led to it: ``mbt::actionTaken`` (the
action's name, ``"init"`` for the first state) and ``mbt::nondetPicks`` (its
parameters); ``vars`` lists them. ``#meta`` records the format version and
what is needed to rebuild the model: the variant, the configuration, and the
property the trace violates.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gilcheck.itf_values import (
    FORMAT_VERSION,
    READABLE_VERSIONS,
    ItfError,
    decode,
    decode_int,
    encode_int,
    encode_state,
    json_type,
    short,
)
from model.actions import Instance
from model.config import Config
from model.domain import CONCRETE
from model.state import State
from model.trace import Trace, replay
from model.variants import without

__all__ = ["ItfError", "ItfTrace", "read_itf", "to_itf", "write_itf"]

FORMAT_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"
ACTION = "mbt::actionTaken"
PICKS = "mbt::nondetPicks"


@dataclass(frozen=True)
class ItfTrace:
    """A trace read back from ITF, with what is needed to rebuild its model."""

    variant: str
    config: Config
    trace: Trace
    property: str | None
    meta: Mapping[str, Any]
    without: tuple[str, ...] = ()
    """The actions the trace's model leaves out (a temporal entry's scope)."""


def to_itf(
    trace: Trace,
    *,
    variant: str,
    config: Config,
    property_id: str | None = None,
    description: str = "",
    without: Sequence[str] = (),
) -> dict[str, Any]:
    """The ITF document of ``trace``."""
    first = trace.states[0]
    var_names = [f.name for f in dataclasses.fields(first)]
    states = []
    for k, st in enumerate(trace.states):
        item: dict[str, Any] = {"#meta": {"index": k}}
        item.update(encode_state(st))
        if k == 0:
            item[ACTION] = "init"
            item[PICKS] = {}
        else:
            inst = trace.steps[k - 1]
            item[ACTION] = inst.action
            item[PICKS] = {
                n: v if isinstance(v, str | bool) else encode_int(v)
                for n, v in zip(inst.arg_names, inst.args, strict=True)
            }
        states.append(item)
    doc: dict[str, Any] = {
        "#meta": {
            "format": "ITF",
            "format-description": FORMAT_DESCRIPTION,
            "format-version": FORMAT_VERSION,
            "source": "gilcheck",
            "description": description,
            "variant": variant,
            "config": dataclasses.asdict(config),
            "property": property_id,
            "steps": [inst.label for inst in trace.steps],
            **({"without": list(without)} if without else {}),
        },
        "vars": [*var_names, ACTION, PICKS],
        "states": states,
    }
    if trace.loop is not None:
        doc["loop"] = trace.loop
    return doc


def dumps(doc: dict[str, Any]) -> str:
    """``doc`` as JSON text: one line per state (and per top-level field), no other breaks."""

    def line(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    head = [f"{line(k)}:{line(v)}" for k, v in doc.items() if k != "states"]
    states = ",\n".join(line(st) for st in doc.get("states", []))
    return "{" + ",\n".join(head) + ',\n"states":[\n' + states + "\n]}\n"


def write_itf(path: Path, trace: Trace, **kwargs: Any) -> None:
    path.write_text(dumps(to_itf(trace, **kwargs)), encoding="utf-8")


def read_itf(path: Path, model_for: Any) -> ItfTrace:
    """Read an ITF trace written by :func:`write_itf` and replay it through its model.

    ``model_for(variant, config)`` builds the concrete model to decode against
    (``model.variants.concrete_model``). Raises :class:`ItfError` for a file that
    is not such a trace (its message starts with the path), and
    ``model.trace.ReplayError`` if the model does not have the trace as a
    behaviour. A trace of the initial state alone (no steps) is a trace. A file
    of format 1 (written before ``format-version`` was) is read too.
    """
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ItfError(f"{path}: cannot read it: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ItfError(f"{path}: not an ITF trace: not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise ItfError(f"{path}: not an ITF trace: not JSON ({exc})") from exc
    except RecursionError as exc:
        raise ItfError(f"{path}: not an ITF trace: JSON nested too deeply") from exc
    try:
        return _from_document(doc, model_for)
    except ItfError as exc:
        raise ItfError(f"{path}: not an ITF trace: {exc}") from exc


def _meta(doc: Any) -> tuple[dict[str, Any], int, Config]:
    """The document's ``#meta``, its format version and its configuration, checked."""
    if not isinstance(doc, dict):
        raise ItfError(f"the document is a JSON {json_type(doc)}, not an object")
    if not isinstance(doc.get("states"), list) or not doc["states"]:
        raise ItfError('it has no states ("states" must be a non-empty list)')
    meta = doc.get("#meta", {})
    if not isinstance(meta, dict):
        raise ItfError(f'"#meta" is a JSON {json_type(meta)}, not an object')
    version = meta.get("format-version", 1)
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise ItfError(
            f'"#meta"\'s "format-version" is {short(version)}, not one this gilcheck reads '
            f"({', '.join(map(str, READABLE_VERSIONS))})"
        )
    if not isinstance(meta.get("variant"), str):
        raise ItfError('"#meta" has no "variant" (the name of the model variant, a string)')
    if not isinstance(meta.get("config"), dict):
        raise ItfError('"#meta" has no "config" (an object)')
    prop = meta.get("property")
    if prop is not None and not isinstance(prop, str):
        raise ItfError(f'"#meta"\'s "property" is {short(prop)}, not a string or null')
    odd = {k: v for k, v in meta["config"].items() if type(v) is not int}
    if odd:
        raise ItfError(f'"#meta"\'s "config" has values that are not integers: {short(odd)}')
    try:
        config = Config(**meta["config"])
    except (TypeError, ValueError) as exc:
        raise ItfError(f'"#meta" has no usable "config" ({exc})') from exc
    return meta, version, config


def _from_document(doc: Any, model_for: Any) -> ItfTrace:
    """The trace of an ITF document; :class:`ItfError` says (without the path) what is wrong."""
    meta, version, config = _meta(doc)
    variant = meta["variant"]
    model = model_for(variant, config)
    gone = meta.get("without", [])
    if not isinstance(gone, list) or not all(isinstance(a, str) for a in gone):
        raise ItfError(f'"#meta.without" is {short(gone)}, not a list of action names')
    if gone:
        try:
            model = without(type(model), gone)(config, CONCRETE)
        except ValueError as exc:
            raise ItfError(str(exc)) from None
    template: State[bool, int] = model.initial()
    names = [f.name for f in dataclasses.fields(template)]
    states = []
    for k, item in enumerate(doc["states"]):
        if not isinstance(item, dict):
            raise ItfError(f"state {k} is a JSON {json_type(item)}, not an object")
        missing = [n for n in names if n not in item]
        if missing:
            raise ItfError(f"state {k} lacks the variables {missing}")
        states.append(decode(template, {n: item[n] for n in names}, f"state {k}", version))
    steps = [_step(model, k, item) for k, item in enumerate(doc["states"][1:], start=1)]
    trace = Trace(tuple(states), tuple(steps), _loop(doc.get("loop"), len(steps)))
    replay(model, trace)
    return ItfTrace(variant, config, trace, meta.get("property"), meta, tuple(gone))


def _step(model: Any, k: int, item: dict[str, Any]) -> Instance:
    """The step that led to state ``k``, from its ``mbt::`` fields."""
    action = item.get(ACTION)
    picks = item.get(PICKS, {})
    if not isinstance(picks, dict):
        raise ItfError(f'state {k}: "{PICKS}" is {short(picks)}, not an object')
    candidates = [i for i in model.instances if i.action == action]
    if not candidates:
        raise ItfError(f"state {k}: unknown action {short(action)}")
    args = tuple(
        v if isinstance(v, str) else decode(arg, v, f"state {k} picks.{n}")
        for arg, n, v in (
            (candidates[0].args[j], n, picks.get(n)) for j, n in enumerate(candidates[0].arg_names)
        )
    )
    inst: Instance | None = next((i for i in candidates if i.args == args), None)
    if inst is None:
        raise ItfError(f"state {k}: no step {action}{args!r} in this model")
    return inst


def _loop(value: Any, steps: int) -> int | None:
    """The lasso's ``loop`` index (absent or null: not a lasso), checked against the trace."""
    if value is None:
        return None
    loop = decode_int(value, '"loop"')
    if not 0 <= loop <= steps:
        raise ItfError(f'"loop" is {loop}, not the index of one of its states (0..{steps})')
    return loop
