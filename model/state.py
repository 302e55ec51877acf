"""The model's state: frozen dataclasses generic over a domain's term types.

Concretely a ``State[bool, int]`` holds Python values and is hashable (the
explicit search keeps sets of them); symbolically the same classes hold z3
terms. Each field says which CPython variable it mirrors, or that it is a
*ghost*: a variable CPython does not have, kept only so that a property can be
stated (who requested a drop, how many calls ran, ...). Ghost fields carry
``ghost=True`` in their metadata; traces show them apart.

The sort of every scalar field (bool, int or word) is in its metadata too, so
that the symbolic domain can make a variable of the right sort for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic

from model.config import Config
from model.domain import B, Domain, I
from model.phases import Phase, Stage

NULL = -1
"""A NULL ``PyThreadState *`` in an int-valued field."""


def _meta(sort: str, *, ghost: bool = False) -> dict[str, object]:
    return {"sort": sort, "ghost": ghost}


BOOL = _meta("bool")
INT = _meta("int")
WORD = _meta("word")
ARRAY = _meta("array")
GHOST_BOOL = _meta("bool", ghost=True)
GHOST_INT = _meta("int", ghost=True)
GHOST_WORD = _meta("word", ghost=True)
NESTED = _meta("nested")


@dataclass(frozen=True, slots=True)
class Frame(Generic[B, I]):
    """One ``_Py_HandlePending`` pass in progress (Python/ceval_gil.c, CPython 3.13)."""

    stage: I = field(metadata=INT)
    """:class:`~model.phases.Stage` reached."""
    snap: I = field(metadata=WORD)
    """The one snapshot of ``eval_breaker & _PY_EVAL_EVENTS_MASK`` the pass acts on."""
    idx: I = field(metadata=INT)
    """SCAN: next signal to look at; HANDLER: the signal whose handler runs;
    DRAIN/CALLBACK: the ``_make_pending_calls`` loop counter ``i``."""
    drop_due: B = field(metadata=GHOST_BOOL)
    """A drop request was set when the pass started and is not honoured yet."""
    calls_due_interp: B = field(metadata=GHOST_BOOL)
    """The pass started eligible to run the per-interpreter queue's head call."""
    calls_due_main: B = field(metadata=GHOST_BOOL)
    """The pass started eligible to run the main-thread queue's head call."""
    signals_due: I = field(metadata=GHOST_WORD)
    """Signals (bit per model signal) tripped when the pass started, not yet handled."""


@dataclass(frozen=True, slots=True)
class ThreadState(Generic[B, I]):
    """One ``PyThreadState`` and where its OS thread is in the protocol."""

    phase: I = field(metadata=INT)
    """:class:`~model.phases.Phase`."""
    c_code: B = field(metadata=BOOL)
    """Detached inside ``Py_BEGIN_ALLOW_THREADS`` (may call C APIs without the GIL)."""
    saved_switchnum: I = field(metadata=INT)
    """``saved_switchnum`` local of ``take_gil``'s wait loop."""
    drop_requested: B = field(metadata=BOOL)
    """``drop_requested`` local of ``take_gil``: this waiter set a drop request."""
    breaker: I = field(metadata=WORD)
    """``tstate->eval_breaker``: event bits and the instrumentation version above them."""
    async_exc: I = field(metadata=INT)
    """``tstate->async_exc``: 0 for NULL, else the id of the pending exception."""
    depth: I = field(metadata=INT)
    """Number of passes in progress (0: plain bytecode; see :data:`~model.phases.MAX_DEPTH`)."""
    adding: I = field(metadata=INT)
    """Between the push and the signal of ``_PyEval_AddPendingCall``:
    0 none, 1 per-interpreter queue, 2 main-thread queue."""
    f0: Frame[B, I] = field(metadata=NESTED)
    f1: Frame[B, I] = field(metadata=NESTED)
    async_posted: I = field(metadata=GHOST_INT)
    """Exceptions posted to this thread so far (the next one gets this id + 1)."""
    async_delivered: I = field(metadata=GHOST_INT)
    """Id of the last exception delivered."""
    async_deliveries: I = field(metadata=GHOST_INT)
    """Number of deliveries."""
    must_yield: B = field(metadata=GHOST_BOOL)
    """Dropped the GIL with a drop request set on it, and no other thread took
    the GIL since."""
    spurious_wake: B = field(metadata=GHOST_BOOL)
    """Its last ``switch_cond`` wait ended before any switch (a spurious wake-up)."""
    drop_missed: I = field(metadata=GHOST_INT)
    """Passes that completed without error and without honouring a drop request
    that was set when they started."""
    drop_missed_any: I = field(metadata=GHOST_INT)
    """The same, counting passes that ended with an error too."""
    ticket: I = field(metadata=GHOST_INT)
    """Not a CPython variable: a variant's place in a queue of waiters (1 is the
    longest waiter), for designs that serve waiters in order (model/designs/).
    CPython keeps no order: its protocol leaves this 0."""


@dataclass(frozen=True, slots=True)
class PendingQueue(Generic[B, I]):
    """A ``struct _pending_calls`` ring (pycore_ceval_state.h, CPython 3.13).

    The live entries are ``calls[first]``, ``calls[(first + 1) % max]``, ... ,
    ``npending`` of them, as in CPython; ``next`` is ``(first + npending) %
    max`` and is not stored. An entry is the id of the call (ids are given in
    acceptance order, from 0); a slot not in use holds 0, as CPython zeroes it.
    Deviates: the ring has ``max`` slots rather than PENDINGCALLSARRAYSIZE (300)
    for both queues; the slots past ``max`` are never used.
    """

    calls: tuple[I, ...] = field(metadata=ARRAY)
    """``calls[max]``: an array leaf (one z3 array symbolically)."""
    first: I = field(metadata=INT)
    """``first``: the slot of the oldest entry."""
    npending: I = field(metadata=INT)
    added: I = field(metadata=GHOST_INT)
    """Calls accepted so far; the next accepted call gets this id."""
    refused: I = field(metadata=GHOST_INT)
    """Adds refused because the queue was full."""
    ran: I = field(metadata=GHOST_INT)
    """One more than the highest id started so far (0: none)."""
    started: I = field(metadata=GHOST_INT)
    """Number of calls popped and started."""
    last_started: I = field(metadata=GHOST_INT)
    """Id of the call popped last."""
    missed: I = field(metadata=GHOST_INT)
    """Eligible passes that completed without error and without running the
    call at the head (reset when a call is popped)."""
    swallowed: B = field(metadata=GHOST_BOOL)
    """Since a call of this queue was last popped, ``make_pending_calls`` handed a
    CALLS_TO_DO bit that was to serve this queue to a drain that will not serve
    it: a check point inside a callback handed it to its own drain
    (``handling_thread == tstate``: the bit is cleared), or, for the main-thread
    queue, the main thread handed it to another thread's drain."""


@dataclass(frozen=True, slots=True)
class State(Generic[B, I]):
    """The whole protocol state of one interpreter with its GIL."""

    locked: B = field(metadata=BOOL)
    """``gil->locked`` (the uninitialised value -1 is not modelled)."""
    last_holder: I = field(metadata=INT)
    """``gil->last_holder``: thread id, never reset on release."""
    switch_number: I = field(metadata=INT)
    """``gil->switch_number``."""
    finalizing: B = field(metadata=BOOL)
    """``_PyRuntimeState_GetFinalizing() != NULL``; the finalizing thread is main."""
    instrumentation_version: I = field(metadata=WORD)
    """``interp->ceval.instrumentation_version``."""
    handling_thread: I = field(metadata=INT)
    """``interp->ceval.pending.handling_thread`` (:data:`NULL` or a thread id)."""
    drain_npending: I = field(metadata=INT)
    """``npending`` local of ``_make_pending_calls``: the count read at the last pop."""
    interp_q: PendingQueue[B, I] = field(metadata=NESTED)
    """``interp->ceval.pending``."""
    main_q: PendingQueue[B, I] = field(metadata=NESTED)
    """``_PyRuntime.ceval.pending_mainthread``."""
    is_tripped: B = field(metadata=BOOL)
    """``is_tripped`` in Modules/signalmodule.c."""
    tripped: tuple[B, ...] = field(metadata=BOOL)
    """``Handlers[sig].tripped`` for each model signal."""
    trip_stage: tuple[I, ...] = field(metadata=INT)
    """Progress of ``trip_signal`` per signal: 0 idle, 1 ``tripped`` set,
    2 ``is_tripped`` set (the main thread's bit is next)."""
    signal_missed: tuple[I, ...] = field(metadata=GHOST_INT)
    """Per signal: main-thread passes that completed without error while the
    signal was due and did not handle it."""
    threads: tuple[ThreadState[B, I], ...] = field(metadata=NESTED)


def empty_frame(d: Domain[B, I]) -> Frame[B, I]:
    return Frame(
        stage=d.int_(Stage.NONE),
        snap=d.word(0),
        idx=d.int_(0),
        drop_due=d.bool_(False),
        calls_due_interp=d.bool_(False),
        calls_due_main=d.bool_(False),
        signals_due=d.word(0),
    )


def _empty_queue(d: Domain[B, I], capacity: int) -> PendingQueue[B, I]:
    return PendingQueue(
        calls=tuple(d.int_(0) for _ in range(capacity)),
        first=d.int_(0),
        npending=d.int_(0),
        added=d.int_(0),
        refused=d.int_(0),
        ran=d.int_(0),
        started=d.int_(0),
        last_started=d.int_(0),
        missed=d.int_(0),
        swallowed=d.bool_(False),
    )


def initial_state(cfg: Config, d: Domain[B, I]) -> State[B, I]:
    """The state after ``Py_Initialize``: main holds the GIL, the other threads are
    created and about to attach (``take_gil``), nothing is pending."""

    def thread(tid: int) -> ThreadState[B, I]:
        return ThreadState(
            phase=d.int_(Phase.HOLDING if tid == 0 else Phase.DETACHED),
            c_code=d.bool_(False),
            saved_switchnum=d.int_(0),
            drop_requested=d.bool_(False),
            breaker=d.word(0),
            async_exc=d.int_(0),
            depth=d.int_(0),
            adding=d.int_(0),
            f0=empty_frame(d),
            f1=empty_frame(d),
            async_posted=d.int_(0),
            async_delivered=d.int_(0),
            async_deliveries=d.int_(0),
            must_yield=d.bool_(False),
            spurious_wake=d.bool_(False),
            drop_missed=d.int_(0),
            drop_missed_any=d.int_(0),
            ticket=d.int_(0),
        )

    return State(
        locked=d.bool_(True),
        last_holder=d.int_(0),
        switch_number=d.int_(0),
        finalizing=d.bool_(False),
        instrumentation_version=d.word(0),
        handling_thread=d.int_(NULL),
        drain_npending=d.int_(0),
        interp_q=_empty_queue(d, cfg.interp_capacity),
        main_q=_empty_queue(d, cfg.main_capacity),
        is_tripped=d.bool_(False),
        tripped=tuple(d.bool_(False) for _ in range(cfg.signals)),
        trip_stage=tuple(d.int_(0) for _ in range(cfg.signals)),
        signal_missed=tuple(d.int_(0) for _ in range(cfg.signals)),
        threads=tuple(thread(t) for t in range(cfg.threads)),
    )


def live_calls(pq: PendingQueue[bool, int]) -> tuple[int, ...]:
    """The ids waiting in a concrete queue, oldest first."""
    cap = len(pq.calls)
    return tuple(pq.calls[(pq.first + j) % cap] for j in range(pq.npending))
