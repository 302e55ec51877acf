"""Traces in the Informal Trace Format (ITF) of Apalache and Quint.

The format is ADR-015 of Apalache: a JSON object with ``#meta``, ``vars`` and
``states``; booleans are JSON booleans, integers ``{"#bigint": "n"}``,
records JSON objects, sequences JSON arrays. Every state also carries Quint's
model-based-testing fields, so a driver knows which step led to it:
``mbt::actionTaken`` (the action's name, ``"init"`` for the first state) and
``mbt::nondetPicks`` (its parameters). ``#meta`` records what is needed to
rebuild the model: the variant, the configuration, and the property the trace
violates. A lasso (a liveness counterexample whose last state repeats an
earlier one) carries ITF's top-level integer ``loop``: the index of the state
where the repeating part starts (:attr:`model.trace.Trace.loop`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.actions import Instance
from model.config import Config
from model.state import State
from model.trace import Trace, replay

FORMAT_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"


class ItfError(ValueError):
    """A file is not an ITF trace this tool can read."""


def _encode(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {"#bigint": str(int(value))}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    raise TypeError(f"itf: cannot encode {value!r}")


def _short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: an error names a value on one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _decode(template: Any, value: Any, where: str) -> Any:
    if isinstance(template, bool):
        if not isinstance(value, bool):
            raise ItfError(f"{where}: expected a boolean, got {_short(value)}")
        return value
    if isinstance(template, int):
        if not (isinstance(value, dict) and set(value) == {"#bigint"}):
            raise ItfError(f"{where}: expected {{'#bigint': ...}}, got {_short(value)}")
        digits = value["#bigint"]
        try:
            if not isinstance(digits, str):
                raise TypeError(digits)
            return int(digits)
        except (TypeError, ValueError) as exc:
            raise ItfError(f"{where}: not an integer in a string: {_short(digits)}") from exc
    if dataclasses.is_dataclass(template) and not isinstance(template, type):
        if not isinstance(value, dict):
            raise ItfError(f"{where}: expected a record, got {_short(value)}")
        fields = {f.name for f in dataclasses.fields(template)}
        missing = fields - set(value)
        if missing:
            raise ItfError(f"{where}: missing fields {sorted(missing)}")
        return type(template)(
            **{
                name: _decode(getattr(template, name), value[name], f"{where}.{name}")
                for name in fields
            }
        )
    if isinstance(template, tuple):
        if not isinstance(value, list) or len(value) != len(template):
            raise ItfError(f"{where}: expected a sequence of {len(template)}, got {_short(value)}")
        return tuple(
            _decode(t, v, f"{where}[{k}]")
            for k, (t, v) in enumerate(zip(template, value, strict=True))
        )
    raise ItfError(f"{where}: unexpected template {template!r}")  # pragma: no cover


@dataclass(frozen=True)
class ItfTrace:
    """A trace read back from ITF, with what is needed to rebuild its model."""

    variant: str
    config: Config
    trace: Trace
    property: str | None
    meta: Mapping[str, Any]


def to_itf(
    trace: Trace,
    *,
    variant: str,
    config: Config,
    property_id: str | None = None,
    description: str = "",
) -> dict[str, Any]:
    """The ITF document of ``trace``."""
    first = trace.states[0]
    var_names = [f.name for f in dataclasses.fields(first)]
    states = []
    for k, st in enumerate(trace.states):
        item: dict[str, Any] = {"#meta": {"index": k}}
        item.update({name: _encode(getattr(st, name)) for name in var_names})
        if k == 0:
            item["mbt::actionTaken"] = "init"
            item["mbt::nondetPicks"] = {}
        else:
            inst = trace.steps[k - 1]
            item["mbt::actionTaken"] = inst.action
            item["mbt::nondetPicks"] = {
                n: _encode(v) if not isinstance(v, str) else v
                for n, v in zip(inst.arg_names, inst.args, strict=True)
            }
        states.append(item)
    doc: dict[str, Any] = {
        "#meta": {
            "format": "ITF",
            "format-description": FORMAT_DESCRIPTION,
            "source": "gilcheck",
            "description": description,
            "variant": variant,
            "config": dataclasses.asdict(config),
            "property": property_id,
            "steps": [inst.label for inst in trace.steps],
        },
        "vars": var_names,
        "states": states,
    }
    if trace.loop is not None:
        doc["loop"] = trace.loop
    return doc


def write_itf(path: Path, trace: Trace, **kwargs: Any) -> None:
    path.write_text(json.dumps(to_itf(trace, **kwargs), indent=1) + "\n", encoding="utf-8")


def read_itf(path: Path, model_for: Any) -> ItfTrace:
    """Read an ITF trace written by :func:`write_itf` and replay it through its model.

    ``model_for(variant, config)`` builds the concrete model to decode against
    (``model.variants.concrete_model``). Raises :class:`ItfError` for a file that
    is not such a trace (its message starts with the path), and
    ``model.trace.ReplayError`` if the model does not have the trace as a
    behaviour. A trace of the initial state alone (no steps) is a trace.
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


def _from_document(doc: Any, model_for: Any) -> ItfTrace:
    """The trace of an ITF document; :class:`ItfError` says (without the path) what is wrong."""
    if not isinstance(doc, dict):
        raise ItfError(f"the document is a JSON {_json_type(doc)}, not an object")
    if not isinstance(doc.get("states"), list) or not doc["states"]:
        raise ItfError('it has no states ("states" must be a non-empty list)')
    meta = doc.get("#meta", {})
    if not isinstance(meta, dict):
        raise ItfError(f'"#meta" is a JSON {_json_type(meta)}, not an object')
    if not isinstance(meta.get("variant"), str):
        raise ItfError('"#meta" has no "variant" (the name of the model variant, a string)')
    if not isinstance(meta.get("config"), dict):
        raise ItfError('"#meta" has no "config" (an object)')
    prop = meta.get("property")
    if prop is not None and not isinstance(prop, str):
        raise ItfError(f'"#meta"\'s "property" is {_short(prop)}, not a string or null')
    odd = {k: v for k, v in meta["config"].items() if type(v) is not int}
    if odd:
        raise ItfError(f'"#meta"\'s "config" has values that are not integers: {_short(odd)}')
    try:
        config = Config(**meta["config"])
    except (TypeError, ValueError) as exc:
        raise ItfError(f'"#meta" has no usable "config" ({exc})') from exc
    variant = meta["variant"]
    model = model_for(variant, config)
    template: State[bool, int] = model.initial()
    names = [f.name for f in dataclasses.fields(template)]
    states = []
    for k, item in enumerate(doc["states"]):
        if not isinstance(item, dict):
            raise ItfError(f"state {k} is a JSON {_json_type(item)}, not an object")
        missing = [n for n in names if n not in item]
        if missing:
            raise ItfError(f"state {k} lacks the variables {missing}")
        states.append(
            type(template)(
                **{n: _decode(getattr(template, n), item[n], f"state {k}.{n}") for n in names}
            )
        )
    by_label = {inst.label: inst for inst in model.instances}
    steps: list[Instance] = []
    for k, item in enumerate(doc["states"][1:], start=1):
        action = item.get("mbt::actionTaken")
        picks = item.get("mbt::nondetPicks", {})
        if not isinstance(picks, dict):
            raise ItfError(f'state {k}: "mbt::nondetPicks" is {_short(picks)}, not an object')
        candidates = [i for i in model.instances if i.action == action]
        if not candidates:
            raise ItfError(f"state {k}: unknown action {_short(action)}")
        args = tuple(
            v if isinstance(v, str) else _decode(arg, v, f"state {k} picks.{n}")
            for arg, n, v in (
                (candidates[0].args[j], n, picks.get(n))
                for j, n in enumerate(candidates[0].arg_names)
            )
        )
        inst = next((i for i in candidates if i.args == args), None)
        if inst is None:
            raise ItfError(f"state {k}: no step {action}{args!r} in this model")
        steps.append(by_label[inst.label])
    loop = doc.get("loop")
    if loop is not None and type(loop) is not int:
        raise ItfError(f'"loop" is {_short(loop)}, not an integer or absent')
    try:
        trace = Trace(tuple(states), tuple(steps), loop=loop)
    except ValueError as exc:
        raise ItfError(f'"loop" is {loop}: {exc}') from exc
    replay(model, trace)
    return ItfTrace(variant, config, trace, prop, meta)


def _json_type(value: Any) -> str:
    """The JSON name of a decoded value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)
