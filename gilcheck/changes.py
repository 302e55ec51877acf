"""A step's state changes as text: the variables that differ, real ones apart from ghosts.

Breaker words show as bit names, phases and stages by name, NULL thread
pointers as ``NULL``, and a pending-call queue as its live calls. The step
table of :mod:`gilcheck.report` and the timeline of :mod:`gilcheck.timeline`
both show a step this way.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from model.bits import EVENTS_MASK, bit_names
from model.phases import Phase, Stage
from model.state import NULL, PendingQueue, live_calls
from model.trace import ConcreteState, leaves_with_paths


def fmt_value(path: str, value: Any) -> str:
    """``value`` of the leaf at ``path``, as a reader of a trace wants to see it."""
    leaf = path.rsplit(".", 1)[-1]
    if leaf in ("breaker", "snap", "instrumentation_version"):
        names = bit_names(value & EVENTS_MASK)
        version = value >> 8
        parts = names + ([f"version={version}"] if version else [])
        return "{" + ", ".join(parts) + "}" if parts else "{}"
    if leaf == "phase":
        return Phase(value).name
    if leaf == "stage":
        return Stage(value).name
    if leaf in ("handling_thread", "last_holder") and value == NULL:
        return "NULL"
    return repr(value)


def changes(a: ConcreteState, b: ConcreteState) -> tuple[list[str], list[str]]:
    """The variables that differ between two states: (real ones, ghost ones), formatted.

    A pending-call queue shows as its live calls, oldest first
    (``interp_q.calls=[0, 1]``), whenever one of its real leaves (a slot,
    ``first``, ``npending``) changed: a slot alone would miss a call whose id
    equals the zero the slot held (call 0 into an empty slot). ``first`` and
    ``npending`` are shown too; the slots are not.
    """
    queues = {f.name for f in dataclasses.fields(b) if isinstance(getattr(b, f.name), PendingQueue)}
    real: list[str] = []
    ghost: list[str] = []
    queues_done: set[str] = set()
    for (p, x, meta), (_, y, _) in zip(leaves_with_paths(a), leaves_with_paths(b), strict=True):
        if x == y:
            continue
        qname = p.split(".", 1)[0]
        if qname in queues and not meta.get("ghost") and qname not in queues_done:
            queues_done.add(qname)
            real.append(f"{qname}.calls={list(live_calls(getattr(b, qname)))}")
        if qname in queues and p.startswith(f"{qname}.calls["):
            continue
        text = f"{p}={fmt_value(p, y)}"
        (ghost if meta.get("ghost") else real).append(text)
    return real, ghost
