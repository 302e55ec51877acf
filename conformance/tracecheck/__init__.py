"""Trace validation: is an event log of ``impl`` a behaviour of the model?

``impl`` under free-running load (no controlled stepping) records one
:class:`impl.TraceEvent` per protocol step. A traced interpreter makes the log
order a linearization of its steps (see "Linearization" in :mod:`impl.trace`),
so the log can be replayed on :class:`model.protocol.Cpython313`, one event at
a time, from the model's initial state (main holds the GIL, the other threads
are about to attach), which is the state right after the harness's
``gil.acquire(main_thread)``.

Design
------
*Event to model step.* Each event names its acting thread (``event.thread``,
or for a push, a signal of a push and an asynchronous exception posted by a
running thread, the thread bound to the host thread that logged it; a signal's
trip has no actor: it is the environment's). :data:`.rules.RULES` maps the
event name to the model actions it may be, and to the checks its fields impose
on the step (``bits`` is the pass's snapshot, ``npending`` the queue's count,
``call`` the popped call's id, ``switch_number`` the count after the
acquisition, and so on). A few events are *confirmations*: they follow a step already taken in the
same critical section (``make_pending_calls.end`` after the last
``loop_end``; ``take_gil.wait`` after a drop request) and only check fields.

*Silent steps.* The model splits some of impl's code paths finer than impl
logs them. Before an event of thread ``t``, the checker may take up to
:attr:`TraceChecker.silent_depth` of ``t``'s unlogged steps, each of which
changes nothing another thread reads: the FORCE_SWITCHING check that finds no
request pending or the GIL already switched (``drop_gil_switch`` ending
DETACHED; a wait would have logged ``drop_gil.switch_wait``), and a signal
handler's normal return (``handler_return(ok=True)``). It tries the event
directly first and deepens only when that fails.

*Nondeterminism.* The environment's choices are read off the event:
``timed_out`` from ``take_gil.wake`` (buffered until the step that ends the
critical section: the drop request, the next wait or the acquisition), a
callback's success or failure from ``callback.return``/``.raise``, a handler's
from ``signal.handler_raise``, the signal from ``signum`` through the signal
map, the queue from ``queue``. Nesting levels come from the state (a pass at
the innermost level). Any ambiguity left is kept as a set of candidate model
states (bounded by :attr:`TraceChecker.max_states`); the log is accepted while
the set is not empty.

*Verdict.* :meth:`TraceChecker.feed` raises :class:`Unmatched` at the first
event no candidate state explains, with the last events, each candidate state
and why every tried step was refused.

Modules
-------
:mod:`.recorder` (:class:`Recorder`, the ``trace=`` callable), :mod:`.checker`
(:class:`TraceChecker`, :func:`check_log`), :mod:`.rules` (the event table) over
:mod:`.rulebase` (what a rule sees and how it refuses), :mod:`.gil_rules`,
:mod:`.pass_rules` and :mod:`.request_rules` (the rules by the part of the
protocol they check), :mod:`.results` (:class:`Stats`, :class:`Unmatched`) and
:mod:`.report` (how events and model states are shown).
"""

from conformance.tracecheck.checker import TraceChecker, check_log
from conformance.tracecheck.recorder import Recorder
from conformance.tracecheck.report import describe, show_event
from conformance.tracecheck.results import Stats, Unmatched
from conformance.tracecheck.rulebase import QUEUES, ConcreteState, Rule

__all__ = [
    "QUEUES",
    "ConcreteState",
    "Recorder",
    "Rule",
    "Stats",
    "TraceChecker",
    "Unmatched",
    "check_log",
    "describe",
    "show_event",
]
