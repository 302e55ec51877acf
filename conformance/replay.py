"""Play a model trace on ``impl``, step by step: does ``impl`` follow it?

The trace is a behaviour of a model variant (typically a counterexample that
``gilcheck verify`` wrote); it is played on ``impl`` through the lock-step
harness (:class:`conformance.harness.Lockstep`), and each trace step gets a row
saying whether ``impl`` followed it. ``gilcheck replay`` (gilcheck/replay.py)
reads the ITF file and prints the table.

The harness runs ``impl`` at its own granularity: a user step and the acting
thread's continuation up to its next sync point are one ``impl`` operation.
A trace may interleave another thread's step (or a signal's delivery) inside
such a continuation. The replay then moves the continuation's steps ahead of
the interleaved ones, and accepts the reordering only if the model reaches the
very state the trace reaches once every step up to that point has run (the
steps commuted). Otherwise the trace cannot be scheduled on ``impl`` by the
harness, which is reported as such, not as a divergence. If the trace ends in
the middle of a continuation, ``impl`` runs on to the thread's next sync
point, and so does the model; the table says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from conformance.broken_impls import CORRECT, DESIGNS, IMPLS
from conformance.harness import (
    USER_ACTIONS,
    Divergence,
    Lockstep,
    Model,
    ModelError,
)
from model.actions import Instance
from model.trace import Trace

FOLLOWS: Final = 0
DIVERGES: Final = 1
UNSCHEDULABLE: Final = 3


@dataclass
class Row:
    """One trace step and what ``impl`` did with it."""

    step: int
    thread: str
    action: str
    outcome: str = "not run"


@dataclass
class Replay:
    """The outcome of replaying a trace: a status and one row per trace step."""

    status: int
    rows: list[Row]
    notes: list[str] = field(default_factory=list)


def _thread(inst: Instance) -> str:
    return "env" if inst.actor is None else f"T{inst.actor}"


def _same_lane(a: Instance, b: Instance) -> bool:
    """Whether ``b`` belongs to the same thread (or the same signal's delivery) as ``a``."""
    if a.actor is None or b.actor is None:
        return a.actor is None and b.actor is None and a.args == b.args
    return a.actor == b.actor


def _prefix(consumed: set[int]) -> int:
    """How many trace steps from the start have all run."""
    n = 0
    while n in consumed:
        n += 1
    return n


def replay_on_impl(trace: Trace, model: Model, impl_name: str = CORRECT) -> Replay:
    """Play ``trace`` (a behaviour of ``model``) on the named implementation.

    A trace of no steps is followed if impl starts where the model does.
    """
    rows = [Row(k, _thread(inst), inst.label) for k, inst in enumerate(trace.steps, start=1)]
    pending = list(range(len(trace.steps)))  # indexes of the steps not run yet, in trace order
    consumed: set[int] = set()
    notes: list[str] = []
    try:
        # Lockstep compares the start, and closes itself if it raises.
        h = Lockstep(model, (IMPLS | DESIGNS)[impl_name])
    except Divergence as exc:
        return Replay(DIVERGES, rows, [f"impl diverges before the first step: {exc}"])
    try:
        while pending:
            k = pending.pop(0)
            inst = trace.steps[k]
            if inst.action not in USER_ACTIONS or (
                inst.actor is not None and h.model_where(inst.actor) is None
            ):
                rows[
                    k
                ].outcome = f"cannot schedule: {_thread(inst)} is inside a step impl runs in one go"
                return Replay(UNSCHEDULABLE, rows, notes)
            try:
                fired = h.step(inst, check=False)
            except (Divergence, ModelError) as exc:
                rows[k].outcome = f"diverged: {exc}"
                return Replay(DIVERGES, rows, notes)
            consumed.add(k)
            # The continuation's steps are the next steps of the same lane in the trace.
            with_k: list[int] = []
            for extra in fired[1:]:
                j = next((j for j in pending if _same_lane(inst, trace.steps[j])), None)
                if j is None:
                    notes.append(
                        f"step {k + 1}: impl ran on past the end of the trace ({extra.label})"
                    )
                    continue
                if trace.steps[j] != extra:
                    rows[
                        j
                    ].outcome = f"cannot schedule: the harness's continuation is {extra.label}"
                    return Replay(UNSCHEDULABLE, rows, notes)
                pending.remove(j)
                consumed.add(j)
                with_k.append(j)
            diff = h.difference()
            if diff is not None:
                name, model_value, impl_value = diff
                rows[k].outcome = f"diverged: {name}: model {model_value}, impl {impl_value}"
                for j in with_k:
                    rows[j].outcome = f"diverged (with step {k + 1})"
                return Replay(DIVERGES, rows, notes)
            rows[k].outcome = "ok"
            for j in with_k:
                rows[j].outcome = f"ok (with step {k + 1})"
            # Once every step so far has run, reordered or not, the model must be
            # where the trace is: the reordered steps commuted.
            done = _prefix(consumed)
            if not notes and done == max(consumed) + 1 and h.s != trace.states[done]:
                rows[k].outcome = (
                    f"cannot schedule: the steps moved ahead of others do not commute "
                    f"(the model is elsewhere after step {done})"
                )
                return Replay(UNSCHEDULABLE, rows, notes)
        return Replay(FOLLOWS, rows, notes)
    finally:
        h.close()
