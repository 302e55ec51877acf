"""Liveness under fairness: "eventually" properties over infinite behaviours.

Each property is a *leads-to* (TLA+'s ``P ~> Q``): in every fair behaviour,
whenever ``trigger`` holds, ``goal`` holds then or later, or a step that
``done`` accepts is taken then or later. A behaviour is infinite: a state
with nothing to do stutters forever. *Fair* means it satisfies the fairness
assumptions the property names (:mod:`model.fairness`), and nothing else is
assumed: a property that needs the holder to reach check points says so.

A property is checked once per *case*: a thread, a queue or a signal
(``cases``). Trigger, goal and done are terms of the model's domain, like
every other property, so the explicit search evaluates them on states and a
symbolic engine on terms. They must have the same value on a state and on
its representative in the finite quotient (:mod:`model.quotient`); ``done``
is evaluated on a step from a representative to its successor before the
successor is reduced, which is why it may compare counters that the
quotient saturates.

The prose of each property is in the catalogue (kind ``temporal``); its
``fairness`` list there must be the one given here (tests/test_catalogue.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from model.base import QUEUES
from model.bits import Bit
from model.phases import Phase
from model.properties.registry import M, S
from model.properties.vocabulary import _holding, _queue

Case = int
"""A thread id, a queue or a signal: whom one check of the property is about."""


@dataclass(frozen=True, slots=True)
class LeadsTo:
    """``trigger ~> goal`` under ``fairness``, checked once per case."""

    id: str
    fairness: tuple[str, ...]
    about: str
    """What a case is: "thread", "queue" or "signal"."""
    cases: Callable[[M], Sequence[Case]]
    trigger: Callable[[M, S, Case], Any]
    goal: Callable[[M, S, Case], Any] | None = None
    """A state that discharges the trigger (None: only ``done`` does)."""
    done: Callable[[M, S, S, Case], Any] | None = None
    """A step ``(pre, post)`` that discharges it (None: only ``goal`` does)."""

    def case_label(self, case: Case) -> str:
        return f"{self.about} {case}"


TEMPORAL: dict[str, LeadsTo] = {}
"""Every liveness property under fairness, by catalogue id, in definition order."""


def _register(p: LeadsTo) -> LeadsTo:
    if p.id in TEMPORAL:
        raise ValueError(f"property {p.id} is defined twice")
    TEMPORAL[p.id] = p
    return p


def _threads(m: M) -> Sequence[Case]:
    return range(m.cfg.threads)


def _queues(m: M) -> Sequence[Case]:
    return QUEUES


def _signals(m: M) -> Sequence[Case]:
    return range(m.cfg.signals)


def _waiting(m: M, s: S, t: Case) -> Any:
    return m.d.eq(s.threads[t].phase, Phase.TAKE_WAIT)


def _holds_or_gone(m: M, s: S, t: Case) -> Any:
    th = s.threads[t]
    return m.d.any(_holding(m, th), m.d.eq(th.phase, Phase.EXITED))


def _free_and_wanted(m: M, s: S, _case: Case) -> Any:
    d = m.d
    return d.all(d.not_(s.locked), d.any(*(_waiting(m, s, t) for t in _threads(m))))


def _taken_or_unwanted(m: M, s: S, case: Case) -> Any:
    return m.d.not_(_free_and_wanted(m, s, case))


def _asked_to_drop(m: M, s: S, t: Case) -> Any:
    th = s.threads[t]
    return m.d.all(_holding(m, th), m.d.bhas(th.breaker, Bit.GIL_DROP_REQUEST))


def _not_asked(m: M, s: S, t: Case) -> Any:
    return m.d.not_(_asked_to_drop(m, s, t))


def _calls_wait(m: M, s: S, q: Case) -> Any:
    return m.d.lt(0, _queue(s, q).npending)


def _call_started(m: M, pre: S, post: S, q: Case) -> Any:
    return m.d.lt(_queue(pre, q).started, _queue(post, q).started)


def _tripped(m: M, s: S, sig: Case) -> Any:
    return s.tripped[sig]


def _handled(m: M, s: S, sig: Case) -> Any:
    return m.d.not_(s.tripped[sig])


ALL_STEPS = ("thread", "timeout", "check-point", "signal-handler", "no-spurious-forever")
RUNS_PYTHON = (*ALL_STEPS[:3], "attach", "returns", *ALL_STEPS[3:])
"""For what a thread must run Python code for: it keeps coming back from C code too."""

# One property, two scopes (three threads: CPython's finding; two: what holds), and
# without timeouts owed (bpo-7946: the waiter's latency is the interval, not the holder's).
for _pid, _fair in (
    ("LIVE-FAIR-WAITER-ACQUIRES", ALL_STEPS),
    ("LIVE-FAIR-WAITER-ACQUIRES-TWO", ALL_STEPS),
    ("LIVE-FAIR-WAITER-ACQUIRES-UNTIMED", tuple(f for f in ALL_STEPS if f != "timeout")),
):
    _register(LeadsTo(_pid, _fair, "thread", _threads, _waiting, goal=_holds_or_gone))
_register(
    LeadsTo(
        "LIVE-FAIR-GIL-PROGRESS",
        ("thread", "timeout", "no-spurious-forever"),
        "interpreter",
        lambda m: (0,),
        _free_and_wanted,
        goal=_taken_or_unwanted,
    )
)
# Assuming check points, or only loops (gh-88811: a loop whose back edge does not check).
for _pid, _fair in (
    ("LIVE-FAIR-DROP-REQUEST-HONOURED", ("thread", "check-point")),
    ("LIVE-FAIR-DROP-REQUEST-HONOURED-IN-LOOPS", ("thread", "back-edge")),
):
    _register(LeadsTo(_pid, _fair, "thread", _threads, _asked_to_drop, goal=_not_asked))
# One property under two fairness assumptions (the weaker form needs more).
for _pid, _fair in (
    ("LIVE-FAIR-PENDING-CALL-RUNS", RUNS_PYTHON),
    ("LIVE-FAIR-PENDING-CALL-RUNS-DETACHING", (*RUNS_PYTHON, "detach", "finitely-many-errors")),
):
    _register(LeadsTo(_pid, _fair, "queue", _queues, _calls_wait, done=_call_started))
# With the main thread's C calls returning, and not (bpo-41128: it blocks in C).
for _pid, _fair in (
    ("LIVE-FAIR-SIGNAL-HANDLED", RUNS_PYTHON),
    ("LIVE-FAIR-SIGNAL-HANDLED-BLOCKED", tuple(f for f in RUNS_PYTHON if f != "attach")),
):
    _register(LeadsTo(_pid, _fair, "signal", _signals, _tripped, goal=_handled))
