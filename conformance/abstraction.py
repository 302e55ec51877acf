"""The abstraction function: what the model and the implementation both show.

This is the refinement mapping of the conformance tests (style guide B1): the
only place where ``model`` and ``impl`` meet. :func:`observe_model` and
:func:`observe_impl` map a model state and an :class:`impl.Snapshot` to the
same :class:`Observation`; :func:`first_difference` names the first field in
which two observations differ.

Only what both sides have is compared. Model ghosts (``metadata["ghost"]``),
pass frames, ``depth``/``adding`` and the signal handler's ``trip_stage`` have
no counterpart in ``impl``; ``take_gil``'s locals (``saved_switchnum``,
``drop_requested``) exist in ``impl`` only while the thread waits, so they are
compared only then.

Two observables are not state of either side but are compared all the same:

* what Python code saw happen (pending calls made, signal handlers run, GC
  runs, refused adds, exceptions raised at check points), as the harness logs
  it on each side (:mod:`conformance.harness`);
* how many ``COND_SIGNAL``\\ s found a waiter, per condition variable. The model
  has no condition variables: a waiter may wake whenever the environment
  chooses. ``impl`` signals through its waiter, and the harness counts the
  signals the model's steps owe (:func:`signals_owed`), so that a release that
  forgets to signal is caught even though no safety property depends on it.
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from impl import BlockPoint, Snapshot
from impl.thread import AsyncExc
from model.actions import Instance
from model.base import INTERP, MAINQ
from model.bits import EVENTS_MASK, bit_names
from model.phases import Phase
from model.state import NULL, PendingQueue, State, live_calls

ModelState = State[bool, int]

SIGNUMS: Final = tuple(
    sorted(
        int(s)
        for s in (
            signal.SIGUSR1,
            signal.SIGUSR2,
            signal.SIGALRM,
            signal.SIGURG,
            signal.SIGVTALRM,
            signal.SIGPROF,
            signal.SIGWINCH,
            signal.SIGIO,
        )
    )
)
"""Host signal numbers standing for the model's signals 0, 1, ... in ascending
order, so that CPython's scan order (lowest number first) is the model's."""

QUEUE_NAMES: Final = {INTERP: "interp", MAINQ: "main"}


# -- labels shared by both sides ------------------------------------------------------------


def callback_label(q: int, ident: int) -> str:
    return f"callback {QUEUE_NAMES[q]}#{ident}"


def handler_label(sig: int) -> str:
    return f"handler {sig}"


class ProtocolException(Exception):
    """An exception the harness's Python code raises into the protocol.

    Its ``label`` is what the logs of both sides record when it surfaces at a
    check point.
    """

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.label = label


class CallbackError(ProtocolException):
    """Raised by a pending call (``return -1`` in C)."""


class HandlerError(ProtocolException):
    """Raised by a Python signal handler."""


class AsyncError(ProtocolException):
    """The exception posted with ``PyThreadState_SetAsyncExc``: ``ident`` is the
    model's id of it (``ThreadState.async_exc``)."""

    def __init__(self, target: int, ident: int) -> None:
        super().__init__(async_label(target, ident))
        self.ident = ident


def async_label(target: int, ident: int) -> str:
    return f"AsyncError(T{target}#{ident})"


def exception_label(exc: BaseException) -> str:
    """How a log records an exception that reached Python code."""
    if isinstance(exc, ProtocolException):
        return exc.label
    return f"{type(exc).__name__}: {exc}"


# -- observations ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThreadObservation:
    """One thread, as both sides show it."""

    phase: str
    """The phase's name (HOLDING, RELEASING, SWITCH_WAIT, DETACHED, TAKE_WAIT, EXITED)."""
    breaker: int
    """The whole eval-breaker word: event bits and instrumentation version."""
    async_exc: int
    """The model's id of the pending asynchronous exception, 0 for none."""
    saved_switch_number: int | None
    """``take_gil``'s ``saved_switchnum`` while in TAKE_WAIT, else None."""
    drop_requested: bool | None
    """``take_gil``'s ``drop_requested`` while in TAKE_WAIT, else None."""


@dataclass(frozen=True, slots=True)
class Observation:
    """The protocol state both sides have. Fields are compared in this order."""

    locked: bool
    holder: int | None
    last_holder: int | None
    switch_number: int
    """Counted from the harness's start (see :func:`observe_impl`)."""
    finalizing: bool
    instrumentation_version: int
    handling_thread: int | None
    interp_queue: tuple[int, ...]
    """Ids of the calls in the per-interpreter queue, oldest first."""
    main_queue: tuple[int, ...]
    is_tripped: bool
    tripped: tuple[int, ...]
    """Model signal numbers whose ``Handlers[sig].tripped`` is set, ascending."""
    threads: tuple[ThreadObservation, ...]


def _queue_ids(pq: PendingQueue[bool, int]) -> tuple[int, ...]:
    return live_calls(pq)


def observe_model(s: ModelState) -> Observation:
    """The observation of a concrete model state."""
    holders = [t for t, th in enumerate(s.threads) if th.phase == Phase.HOLDING]
    return Observation(
        locked=s.locked,
        holder=holders[0] if holders else None,
        last_holder=s.last_holder,
        switch_number=s.switch_number,
        finalizing=s.finalizing,
        instrumentation_version=s.instrumentation_version,
        handling_thread=None if s.handling_thread == NULL else s.handling_thread,
        interp_queue=_queue_ids(s.interp_q),
        main_queue=_queue_ids(s.main_q),
        is_tripped=s.is_tripped,
        tripped=tuple(k for k, flag in enumerate(s.tripped) if flag),
        threads=tuple(
            ThreadObservation(
                phase=Phase(th.phase).name,
                breaker=th.breaker,
                async_exc=th.async_exc,
                saved_switch_number=th.saved_switchnum if th.phase == Phase.TAKE_WAIT else None,
                drop_requested=th.drop_requested if th.phase == Phase.TAKE_WAIT else None,
            )
            for th in s.threads
        ),
    )


def call_id(fn: object) -> int:
    """The model id a harness pending call carries (-2 for a foreign callable)."""
    ident = getattr(fn, "ident", -2)
    return ident if isinstance(ident, int) else -2


def _async_id(exc: AsyncExc | None) -> int:
    if exc is None:
        return 0
    return exc.ident if isinstance(exc, AsyncError) else -1


def _signal_index(signum: int) -> int:
    return SIGNUMS.index(signum) if signum in SIGNUMS else -signum


def observe_impl(snap: Snapshot, switch_origin: int) -> Observation:
    """The observation of an implementation snapshot.

    ``switch_origin`` is subtracted from ``switch_number`` (and from waiters'
    ``saved_switchnum``): ``impl`` starts
    right after ``create_gil()`` and the main thread's first ``take_gil``
    counts a switch, while the model starts after that attach at 0.
    """
    return Observation(
        locked=snap.locked,
        holder=snap.holder,
        last_holder=snap.last_holder,
        switch_number=snap.switch_number - switch_origin,
        finalizing=snap.finalizing is not None,
        instrumentation_version=snap.instrumentation_version,
        handling_thread=snap.handling_thread,
        interp_queue=tuple(call_id(fn) for fn in snap.pending),
        main_queue=tuple(call_id(fn) for fn in snap.pending_main),
        is_tripped=snap.is_tripped,
        tripped=tuple(sorted(_signal_index(n) for n in snap.tripped)),
        threads=tuple(
            ThreadObservation(
                phase=th.phase.name,
                breaker=th.breaker,
                async_exc=_async_id(th.async_exc),
                saved_switch_number=None
                if th.saved_switch_number is None
                else th.saved_switch_number - switch_origin,
                drop_requested=th.drop_requested if th.saved_switch_number is not None else None,
            )
            for th in snap.threads
        ),
    )


def _leaves(value: object, path: str) -> Iterator[tuple[str, object]]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _leaves(getattr(value, f.name), f"{path}.{f.name}" if path else f.name)
    elif isinstance(value, tuple) and value and dataclasses.is_dataclass(value[0]):
        for k, item in enumerate(value):
            yield from _leaves(item, f"{path}[{k}]")
    else:
        yield path, value


def show(path: str, value: object) -> str:
    """A value as a failure message prints it (breaker words with their bit names)."""
    if path.endswith(".breaker") and isinstance(value, int):
        names = ", ".join(bit_names(value & EVENTS_MASK)) or "no events"
        version = value & ~EVENTS_MASK
        return f"{value:#x} ({names}{f', version {version:#x}' if version else ''})"
    return repr(value)


def first_difference(model: Observation, impl: Observation) -> tuple[str, object, object] | None:
    """``(field path, model value, impl value)`` of the first field that differs."""
    for (path, a), (_, b) in zip(_leaves(model, ""), _leaves(impl, ""), strict=False):
        if a != b:
            return path, a, b
    if len(model.threads) != len(impl.threads):
        return "threads (count)", len(model.threads), len(impl.threads)
    return None


# -- condition-variable signals the model owes ----------------------------------------------


def signals_owed(pre: ModelState, inst: Instance, post: ModelState) -> Iterator[BlockPoint]:
    """The ``COND_SIGNAL``\\ s that found a waiter during one model step.

    ``drop_gil`` signals ``gil->cond`` whenever it releases ``locked``;
    ``take_gil`` signals ``gil->switch_cond`` whenever it takes the GIL (also
    when it must exit right after, bpo-36475). A signal counts if some other
    thread waits on that condition (``impl`` signals only then; in CPython a
    signal without a waiter does nothing).
    """
    t = inst.actor
    if t is None:
        return
    before, after = pre.threads[t].phase, post.threads[t].phase
    waiting_from = before in (Phase.DETACHED, Phase.TAKE_WAIT)
    # take_gil_wake found the GIL free, took it and had to exit at once.
    took_and_exited = inst.action == "take_gil_wake" and not pre.locked and after == Phase.EXITED
    took = (waiting_from and after == Phase.HOLDING) or took_and_exited
    released = (pre.locked and not post.locked) or took_and_exited
    others = [th for k, th in enumerate(post.threads) if k != t]
    if took and any(th.phase == Phase.SWITCH_WAIT for th in others):
        yield BlockPoint.SWITCH_COND
    if released and any(th.phase == Phase.TAKE_WAIT for th in others):
        yield BlockPoint.TAKE_GIL
