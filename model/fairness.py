"""Fairness: which steps an infinite behaviour must eventually take, declared once.

A liveness property under fairness ("every waiter eventually holds the GIL")
is only true of the *fair* behaviours: those in which a step that stays
possible is eventually taken. Which steps that covers is part of the model,
not of an engine, so it is declared here, per action, and every engine reads
the same table (:attr:`model.base.ModelBase.fairness`; a variant may replace it).

Each :class:`Fairness` is a set of action instances, optionally narrowed by a
condition on the state before the step (a *sub-action*: a ``switch_cond``
wait that returns *after a switch*), with one of three kinds:

* ``weak`` (TLA+'s WF): if the steps stay enabled from some point on, one of
  them is eventually taken;
* ``strong`` (SF): if they are enabled infinitely often, one is taken
  infinitely often;
* ``finite``: an environment choice that happens only finitely often (a
  spurious wake-up: always possible, but never forever).

``per`` splits a constraint into one per thread (the actor) or one per signal
(the action's ``sig``), since "some thread eventually moves" is weaker than
"each thread does". A property names the constraints it assumes
(:mod:`model.properties.temporal`); an engine builds the units with
:func:`units`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from model.actions import Instance

Kind = Literal["weak", "strong", "finite"]


@dataclass(frozen=True, slots=True)
class Fairness:
    """One fairness assumption of the model, by name."""

    name: str
    kind: Kind
    statement: str
    steps: Callable[[Any, Instance], bool]
    """``steps(model, inst)``: the action instances it covers."""
    per: Literal["thread", "signal"] | None = None
    when: Callable[[Any, Any, Instance], Any] | None = None
    """``when(model, state, inst)``: a term; the covered step is only the one taken
    from a state where it holds (None: always)."""


@dataclass(frozen=True, slots=True)
class Unit:
    """One constraint an engine enforces: a fairness split per thread or signal."""

    name: str
    """``timeout[1]``: the assumption's name and whose it is."""
    kind: Kind
    instances: frozenset[int]
    """Indices into the model's ``instances``."""
    when: Callable[[Any, Any, Instance], Any] | None

    def covers(self, model: Any, s: Any, index: int) -> Any:
        """Whether the step ``model.instances[index]`` from ``s`` is one of this unit's
        (a term of the model's domain)."""
        if index not in self.instances:
            return model.d.bool_(False)
        if self.when is None:
            return model.d.bool_(True)
        return self.when(model, s, model.instances[index])


def _checks(model: Any, inst: Instance) -> bool:
    if inst.action == "body_check_point":
        return True
    if inst.action != "execute":
        return False
    ops = {i.name: i.checks for i in model.INSTRUCTIONS}
    return bool(ops.get(str(inst.args[1]), False))


def _back_edges(model: Any, inst: Instance) -> bool:
    """A loop's backward jump, whether or not the interpreter checks there; the code a
    pass runs (``body_check_point``) stands for its own loops' back edges."""
    return inst.action == "body_check_point" or (
        inst.action == "execute" and inst.args[1] == "JUMP_BACKWARD"
    )


def _owed_move(model: Any, s: Any, inst: Instance) -> Any:
    """A move the OS owes a runnable thread: not a spurious end of a ``switch_cond``
    wait (some thread took the GIL since it began), and not the return of the C code
    it detached into (that is ``attach``: a blocking call may block for ever)."""
    d = model.d
    if inst.action == "switch_wake":
        return d.ne(s.last_holder, inst.args[0])
    if inst.action == "take_gil":
        return d.not_(s.threads[inst.args[0]].c_code)
    return d.bool_(True)


def _spurious(model: Any, s: Any, inst: Instance) -> Any:
    """A ``switch_cond`` wait that ends with no thread having taken the GIL since."""
    return model.d.eq(s.last_holder, inst.args[0])


CPYTHON_FAIRNESS: Final = (
    Fairness(
        "thread",
        "weak",
        "each thread that can move eventually moves (the OS runs every runnable thread); a "
        "switch_cond wait's spurious end, and the return of a C call, are not moves it is owed",
        lambda m, i: i.actor is not None,
        per="thread",
        when=_owed_move,
    ),
    Fairness(
        "timeout",
        "weak",
        "a waiter's COND_TIMED_WAIT eventually times out (take_gil_wake with timed_out)",
        lambda m, i: i.action == "take_gil_wake" and i.args[1] is True,
        per="thread",
    ),
    Fairness(
        "check-point",
        "strong",
        "a thread that keeps running bytecode keeps reaching check points, even when it "
        "detaches in between (no endless loop without one: gh-88811 is what this excludes)",
        _checks,
        per="thread",
    ),
    Fairness(
        "back-edge",
        "strong",
        "a thread that keeps running bytecode keeps taking loop back edges (an endless run "
        "of a program is a loop), even when it detaches in between; unlike check-point it "
        "says nothing of where the interpreter checks, so it holds of the program alone",
        _back_edges,
        per="thread",
    ),
    Fairness(
        "attach",
        "strong",
        "a thread detached in C code eventually attaches again (take_gil), however often it "
        "adds calls in between: no C call runs forever",
        lambda m, i: i.action == "take_gil",
        per="thread",
    ),
    Fairness(
        "returns",
        "strong",
        "a pending call's callback and a signal handler eventually return (neither is an "
        "endless loop), however often they detach in between",
        lambda m, i: i.action in ("callback_return", "handler_return"),
        per="thread",
    ),
    Fairness(
        "detach",
        "strong",
        "a thread keeps detaching (a blocking call, time.sleep(0)) as long as it can: only "
        "the weaker forms that need it assume it",
        lambda m, i: i.action == "allow_threads",
        per="thread",
    ),
    Fairness(
        "finitely-many-errors",
        "finite",
        "callbacks and handlers raise only finitely often (an error ends a pass early: "
        "make_pending_calls returns before the main-thread queue)",
        lambda m, i: i.action in ("callback_return", "handler_return") and i.args[-1] is False,
    ),
    Fairness(
        "signal-handler",
        "weak",
        "a C signal handler that started runs to its end (trip_signal's later steps)",
        lambda m, i: i.action in ("trip_signal_is_tripped", "signal_received"),
        per="signal",
    ),
    Fairness(
        "no-spurious-forever",
        "finite",
        "spurious wake-ups of switch_cond (POSIX allows them) happen only finitely often",
        lambda m, i: i.action == "switch_wake",
        when=_spurious,
    ),
)
"""The fairness of CPython 3.13 on a POSIX system (Python/ceval_gil.c, Python/condvar.h)."""


def units(model: Any, names: Sequence[str]) -> list[Unit]:
    """The constraints of the assumptions ``names``, split as each one says.

    Raises ``KeyError`` for a name the model does not declare.
    """
    table = {f.name: f for f in model.fairness}
    out: list[Unit] = []
    for name in names:
        f = table[name]
        chosen = [k for k, inst in enumerate(model.instances) if f.steps(model, inst)]
        if f.per is None:
            out.append(Unit(name, f.kind, frozenset(chosen), f.when))
            continue
        groups: dict[int, list[int]] = {}
        for k in chosen:
            inst = model.instances[k]
            who = inst.actor if f.per == "thread" else inst.args[0]
            assert isinstance(who, int)
            groups.setdefault(who, []).append(k)
        for who, ks in sorted(groups.items()):
            out.append(Unit(f"{name}[{who}]", f.kind, frozenset(ks), f.when))
    return out
