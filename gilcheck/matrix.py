"""The kill matrix's rows, cells and verdicts, for ``gilcheck mutants``.

A row is one deliberate bug: a model variant, a broken impl, or both (a broken
impl with a model twin of the same name). Its cells are the engines that can
see it: the model engines (:mod:`engines.kill`) for a model variant, the
lock-step harness and trace validation (:mod:`conformance.kill`) for an impl.
The control row is the faithful model and impl as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from conformance.broken_impls import CORRECT, IMPLS
from conformance.kill import ImplRun, lockstep, trace_validation
from engines.kill import MODEL_ENGINES, Cell, Kill, run_cell
from model.catalogue import Entry
from model.config import Config
from model.protocol import Cpython313
from model.variants import DEFAULT

Variant = type[Cpython313[Any, Any]]
IMPL_ENGINES: Final = ("lockstep", "tracecheck")
ENGINES: Final = (*MODEL_ENGINES, *IMPL_ENGINES)
RowVerdict = Literal["ok", "FAIL", "incomplete"]


@dataclass(frozen=True)
class Row:
    name: str
    model: Variant | None
    """The model variant; None for a broken impl with no model twin."""
    impl: str | None
    """The implementation's name in ``IMPLS``; None for a model variant with no impl."""

    @property
    def control(self) -> bool:
        return self.name == DEFAULT

    @property
    def refuted_by(self) -> str | None:
        return self.model.refuted_by if self.model is not None else None

    @property
    def expected(self) -> str:
        if self.control:
            return "clean"
        if self.refuted_by:
            return self.refuted_by + (" / a divergence" if self.impl else "")
        return "a divergence" if self.model is None else "any kill"

    def sees(self, engine: str) -> bool:
        return (self.model if engine in MODEL_ENGINES else self.impl) is not None


def control_row() -> Row:
    return Row(DEFAULT, Cpython313, CORRECT)


def row(name: str, model: Variant | None) -> Row:
    """The row of ``name``: its model variant (if any) and impl (if one is named so)."""
    return Row(name, model, name if name in IMPLS and name != CORRECT else None)


@dataclass(frozen=True)
class Budget:
    """How much each cell may do."""

    cfg: Config
    depth: int
    time_limit: float
    examples: int
    load_seeds: int


def run(r: Row, engine: str, entries: Mapping[str, Entry], budget: Budget) -> Cell:
    """One cell; the row must see the engine (:meth:`Row.sees`)."""
    if engine in MODEL_ENGINES:
        assert r.model is not None
        return run_cell(r.model, budget.cfg, entries, engine,
                        control=r.control, depth=budget.depth, max_k=1,
                        time_limit=budget.time_limit, name=r.name)  # fmt: skip
    assert r.impl is not None
    done = (
        lockstep(r.impl, examples=budget.examples)
        if engine == "lockstep"
        else trace_validation(r.impl, seeds=budget.load_seeds)
    )
    return _impl_cell(engine, done, control=r.control)


def _impl_cell(engine: str, done: ImplRun, *, control: bool) -> Cell:
    kill = Kill("divergence", done.kind, done.at, round(done.seconds, 3))
    kills = (kill,) if done.caught else ()
    if control:
        return Cell(engine, "unclean" if done.caught else "clean", kills, done.seconds,
                    done.note if done.caught else "")  # fmt: skip
    return Cell(engine, "killed" if done.caught else "survived", kills, done.seconds, done.note)


def verdict(r: Row, cells: Sequence[Cell]) -> RowVerdict:
    """``ok``; ``FAIL`` (a survivor, or a control an engine got wrong); or ``incomplete``
    (a control no model engine finished: an expected counterexample unreached)."""
    if r.control:
        outcomes = {c.engine: c.outcome for c in cells}
        if "unclean" in outcomes.values():
            return "FAIL"
        model = [o for e, o in outcomes.items() if e in MODEL_ENGINES]
        return "ok" if not model or "clean" in model else "incomplete"
    # An impl check's kill is a divergence; a model engine's must be by the named entry.
    named = r.refuted_by
    kills = [c for c in cells if c.outcome == "killed"]
    if any(c.engine in IMPL_ENGINES or not named or c.killed_by(named) for c in kills):
        return "ok"
    return "FAIL"


def cell_text(cell: Cell, expect: str | None, *, short: bool = False) -> str:
    """One cell in a sentence: the kill that counts (the named entry's), or why none.

    ``short`` leaves out the entry a kill was expected by and why a cell is not a
    kill (the notes under the table give that)."""
    note = f": {cell.note}" if cell.note and not short else ""
    if cell.outcome != "killed":
        return f"{cell.outcome} ({cell.seconds:.1f} s){note}"
    if cell.engine in IMPL_ENGINES:
        (kill,) = cell.kills
        at = "step" if cell.engine == "lockstep" else "event"
        how = "hung" if kill.kind == "deadlock" else f"diverged at {at} {kill.steps}"
        return f"killed, {how}, {kill.seconds:.1f} s{note}"
    named = cell.killed_by(expect) if expect else None
    kill = named or cell.kills[0]
    if short and named:
        return f"killed, {kill.steps} steps, {kill.seconds:.1f} s"
    more = f" (+{len(cell.kills) - 1} more)" if len(cell.kills) > 1 else ""
    return f"killed by {kill.id}{more}, {kill.kind}, {kill.steps} steps, {kill.seconds:.1f} s"


def worth_a_note(cell: Cell, expect: str | None) -> bool:
    """Whether the table's short form leaves something out: a note, or a kill by
    another entry than the expected one."""
    if cell.note:
        return True
    return cell.outcome == "killed" and expect is not None and not cell.killed_by(expect)
