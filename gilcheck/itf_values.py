"""The values of a state in gilcheck's ITF traces, written as what they mean, and read back.

Format 2 (``"format-version": 2`` in the document's ``#meta``) writes:

* booleans as JSON booleans, integers as JSON integers (``{"#bigint": "n"}``
  outside ADR-015's safe range, which no model value reaches; both forms are
  read);
* a record (a dataclass) as a JSON object, a tuple (per thread, per signal) as a
  JSON array;
* a thread's ``phase`` and a frame's ``stage`` by name (``"HOLDING"``,
  ``"DRAIN_INTERP"``), :mod:`model.phases`; a value no name has (a broken
  variant's) as its number;
* ``breaker`` as ``{"bits": {"#set": [bit names]}, "version": n}``: the event
  bits of :class:`model.bits.Bit` and the instrumentation version above them
  (``breaker & ~EVENTS_MASK``, comparable with ``instrumentation_version``);
* a frame's ``snap`` (event bits only) as ``{"#set": [bit names]}``, and its
  ``signals_due`` as ``{"#set": [signal numbers]}``;
* ``handling_thread`` as a variant, ``{"tag": "NULL", "value": {}}`` or
  ``{"tag": "Thread", "value": n}``: a plain ITF record, which readers that know
  Apalache's and Quint's variants (itf-py) read as a sum type, so the field has
  one type whether it is NULL or not;
* a pending-call queue as its live calls, oldest first (``calls``), and its
  scalar fields; the ring's other slots hold 0 and are not written (a broken
  variant's ring that holds anything else, or more calls than it has slots,
  gets its full ring in ``slots``).

Format 1 (no ``format-version``, written before format 2) is read too: the
same walk with no field written as its meaning (every word and code an
integer, NULL -1, a queue's ``calls`` its full ring).

Decoding inverts encoding exactly, and is checked to: :func:`encode_state`
refuses a state it could not read back.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from typing import Any, Final

from model.bits import EVENTS_MASK, Bit
from model.phases import Phase, Stage
from model.state import NULL, Frame, PendingQueue, State, ThreadState, live_calls

FORMAT_VERSION = 2
"""``#meta``'s ``"format-version"`` of what :func:`encode_state` writes."""
READABLE_VERSIONS = (1, 2)


class ItfError(ValueError):
    """A file is not an ITF trace this tool can read."""


# -- scalars -------------------------------------------------------------------------------


SAFE = 2**53 - 1
"""JSON integers ADR-015 allows (RFC 7159's interoperable range): ``-SAFE..SAFE``."""


def encode_int(value: int) -> int | dict[str, str]:
    """A JSON integer, or ``{"#bigint": "n"}`` outside the range JSON readers agree on."""
    return int(value) if -SAFE <= value <= SAFE else {"#bigint": str(int(value))}


def decode_int(value: Any, where: str) -> int:
    """A JSON integer, or ``{"#bigint": "n"}``."""
    if type(value) is int:
        return value
    if not (isinstance(value, dict) and set(value) == {"#bigint"}):
        raise ItfError(f"{where}: expected an integer, got {short(value)}")
    digits = value["#bigint"]
    try:
        if not isinstance(digits, str):
            raise TypeError(digits)
        return int(digits)
    except (TypeError, ValueError) as exc:
        raise ItfError(f"{where}: not an integer in a string: {short(digits)}") from exc


def decode_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ItfError(f"{where}: expected a boolean, got {short(value)}")
    return value


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: an error names a value on one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names: dict[type, str] = {str: "string", list: "array", dict: "object"}
    return names.get(type(value), type(value).__name__)


def _record(value: Any, where: str, fields: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ItfError(f"{where}: expected a record, got {short(value)}")
    missing = fields - set(value)
    if missing:
        raise ItfError(f"{where}: missing fields {sorted(missing)}")
    return value


def _set(value: Any, where: str) -> list[Any]:
    if not (isinstance(value, dict) and set(value) == {"#set"} and isinstance(value["#set"], list)):
        raise ItfError(f"{where}: expected a set {{'#set': [...]}}, got {short(value)}")
    return value["#set"]


# -- what the fields mean ------------------------------------------------------------------


def _enum_codec(kind: type[enum.IntEnum]) -> Codec:
    def encode(value: int) -> Any:
        return kind(value).name if value in kind._value2member_map_ else encode_int(value)

    def decode(value: Any, where: str) -> int:
        if isinstance(value, str):
            if value not in kind.__members__:
                raise ItfError(f"{where}: no {kind.__name__} named {short(value)}")
            return int(kind[value])
        return decode_int(value, where)

    return encode, decode


def _names(value: int) -> dict[str, list[str]]:
    return {"#set": [b.name for b in Bit if value & b and b.name is not None]}


def _bits(value: Any, where: str) -> int:
    out = 0
    for name in _set(value, where):
        if not isinstance(name, str) or name not in Bit.__members__:
            raise ItfError(f"{where}: no breaker bit named {short(name)}")
        out |= Bit[name]
    return out


def _encode_breaker(value: int) -> Any:
    return {"bits": _names(value & EVENTS_MASK), "version": encode_int(value & ~EVENTS_MASK)}


def _decode_breaker(value: Any, where: str) -> int:
    rec = _record(value, where, {"bits", "version"})
    version = decode_int(rec["version"], f"{where}.version")
    if version & EVENTS_MASK:
        raise ItfError(f"{where}.version: {version} has event bits (not a multiple of 256)")
    return _bits(rec["bits"], f"{where}.bits") | version


def _encode_snap(value: int) -> Any:
    return _names(value) if not value & ~EVENTS_MASK else _encode_breaker(value)


def _decode_snap(value: Any, where: str) -> int:
    is_set = isinstance(value, dict) and "#set" in value
    return _bits(value, where) if is_set else _decode_breaker(value, where)


def _encode_indices(value: int) -> Any:
    if value < 0:
        raise ValueError(f"itf: a set of signals cannot be negative: {value}")
    return {"#set": [encode_int(k) for k in range(value.bit_length()) if value >> k & 1]}


def _decode_indices(value: Any, where: str) -> int:
    out = 0
    for k, item in enumerate(_set(value, where)):
        n = decode_int(item, f"{where}[{k}]")
        if not 0 <= n < 64:
            raise ItfError(f"{where}[{k}]: {n} is not a signal number")
        out |= 1 << n
    return out


UNIT: tuple[Any, ...] = (None, {}, {"#tup": []})
"""What a variant without a value may carry: itf-py writes null, Quint ``{}``."""


def _encode_tstate(value: int) -> Any:
    if value == NULL:
        return {"tag": "NULL", "value": {}}
    return {"tag": "Thread", "value": encode_int(value)}


def _decode_tstate(value: Any, where: str) -> int:
    rec = _record(value, where, {"tag", "value"})
    if rec["tag"] == "NULL" and rec["value"] in UNIT:
        return NULL
    if rec["tag"] == "Thread":
        return decode_int(rec["value"], f"{where}.value")
    raise ItfError(f"{where}: expected NULL or Thread(n), got {short(value)}")


Codec = tuple[Callable[[Any], Any], Callable[[Any, str], Any]]
"""How one field is written (its value to JSON) and read (JSON, where, to its value)."""

FIELDS: Mapping[type, Mapping[str, Codec]] = {
    State: {"handling_thread": (_encode_tstate, _decode_tstate)},
    ThreadState: {"phase": _enum_codec(Phase), "breaker": (_encode_breaker, _decode_breaker)},
    Frame: {
        "stage": _enum_codec(Stage),
        "snap": (_encode_snap, _decode_snap),
        "signals_due": (_encode_indices, _decode_indices),
    },
}


def _codecs(value: Any) -> Mapping[str, Codec]:
    return next((c for cls, c in FIELDS.items() if isinstance(value, cls)), {})


def _ring(live: tuple[int, ...], first: int, capacity: int) -> tuple[int, ...] | None:
    """The ring that holds ``live`` from slot ``first`` and 0 elsewhere; None if none can."""
    if not (0 <= first < capacity and len(live) <= capacity):
        return None
    ring = [0] * capacity
    for j, call in enumerate(live):
        ring[(first + j) % capacity] = call
    return tuple(ring)


# -- the walk ------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return encode_int(value)
    if isinstance(value, PendingQueue):
        out = {"calls": _encode(live_calls(value))}
        out.update({f: _encode(getattr(value, f)) for f in _names_of(value) if f != "calls"})
        ring = _ring(live_calls(value), value.first, len(value.calls))
        if ring != value.calls or value.npending < 0:
            out["slots"] = _encode(value.calls)
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        special = _codecs(value)
        return {
            f: special[f][0](getattr(value, f)) if f in special else _encode(getattr(value, f))
            for f in _names_of(value)
        }
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    raise TypeError(f"itf: cannot encode {value!r}")


def _names_of(value: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(value)]


LATER_FIELDS: Final = frozenset({"ticket"})
"""Fields the model gained after traces were written (``ThreadState.ticket``, which
CPython's protocol never sets): a trace without one is read with its initial value."""


def decode(template: Any, value: Any, where: str, version: int = FORMAT_VERSION) -> Any:
    """The value of ``template``'s shape that ``value`` (format ``version``) writes."""
    if isinstance(template, bool):
        return decode_bool(value, where)
    if isinstance(template, int):
        return decode_int(value, where)
    if isinstance(template, PendingQueue) and version >= 2:
        return _decode_queue(template, value, where)
    if dataclasses.is_dataclass(template) and not isinstance(template, type):
        fields = _names_of(template)
        if isinstance(value, dict):
            # A trace written before the model had a field: it keeps its initial value.
            later = {f: encode_int(getattr(template, f)) for f in LATER_FIELDS if f in fields}
            value = {**later, **value}
        rec = _record(value, where, set(fields))
        special = _codecs(template) if version >= 2 else {}
        return type(template)(
            **{
                f: special[f][1](rec[f], f"{where}.{f}")
                if f in special
                else decode(getattr(template, f), rec[f], f"{where}.{f}", version)
                for f in fields
            }
        )
    if isinstance(template, tuple):
        if not isinstance(value, list) or len(value) != len(template):
            raise ItfError(f"{where}: expected a sequence of {len(template)}, got {short(value)}")
        return tuple(
            decode(t, v, f"{where}[{k}]", version)
            for k, (t, v) in enumerate(zip(template, value, strict=True))
        )
    raise ItfError(f"{where}: unexpected template {template!r}")  # pragma: no cover


def _decode_queue(template: PendingQueue[bool, int], value: Any, where: str) -> Any:
    fields = [f for f in _names_of(template) if f != "calls"]
    rec = _record(value, where, {"calls", *fields})
    scalars = {f: decode(getattr(template, f), rec[f], f"{where}.{f}") for f in fields}
    if not isinstance(rec["calls"], list):
        raise ItfError(f"{where}.calls: expected a list of call ids, got {short(rec['calls'])}")
    live = tuple(decode_int(v, f"{where}.calls[{k}]") for k, v in enumerate(rec["calls"]))
    if "slots" in rec:
        slots = decode(template.calls, rec["slots"], f"{where}.slots")
    elif len(live) != scalars["npending"]:
        raise ItfError(f"{where}: {len(live)} live calls, but npending is {scalars['npending']}")
    elif (ring := _ring(live, scalars["first"], len(template.calls))) is None:
        raise ItfError(f"{where}: first or npending out of the ring's range, and no slots")
    else:
        slots = ring
    out = PendingQueue(calls=slots, **scalars)
    if live_calls(out) != live:
        raise ItfError(f"{where}: the live calls are not the ring's (slots)")
    return out


def encode_state(state: State[bool, int]) -> dict[str, Any]:
    """The state's variables as ITF values; it reads back as ``state`` (checked)."""
    out: dict[str, Any] = _encode(state)
    if decode(state, out, "state") != state:  # pragma: no cover - a codec that loses a value
        raise ValueError("itf: a state does not read back as itself")
    return out
