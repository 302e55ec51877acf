"""The Hypothesis state machine: the model's user actions as rules over real threads.

Every rule is one model action, named as the model names it (which is
CPython's name, or close to it), so a falsifying example prints as a GIL
trace::

    state = GilConformance()
    state.add_pending_call(t=0, q=0, callback='raise', n=2)
    state.execute(t=0, op='CALL')
    state.teardown()

Each rule has the model's guard as its precondition and draws its thread from
the threads for which the model enables it: one definition, the model's,
decides what may happen next. All drawing happens in the test thread, from
model state only (style guide B7, rule 1); a rule runs one
:meth:`~conformance.harness.Lockstep.step`, which waits for the acting
worker's own event and then compares once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Final, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from conformance.broken_impls import DESIGNS, IMPLS
from conformance.harness import BEHAVIOURS, Behaviour, Lockstep, concrete_model
from model.config import Config
from model.passes import INSTRUCTIONS_313
from model.protocol import Cpython313


def _actors(action: str) -> st.SearchStrategy[int]:
    """The threads for which the model enables ``action`` now."""
    return st.runner().flatmap(
        lambda machine: st.sampled_from(
            sorted({i.actor for i in machine.h.enabled(action) if i.actor is not None})
        )
    )


def _can(action: str) -> Callable[[F], F]:
    """Precondition: the model enables ``action`` for some thread (or signal), and
    this example's swarm has not switched the rule off."""
    return precondition(
        lambda machine: action not in machine.switched_off and bool(machine.h.enabled(action))
    )


OPTIONAL: Final = (
    "allow_threads",
    "add_pending_call",
    "trip_signal",
    "set_async_exc",
    "schedule_gc",
    "set_global_version",
    "thread_exit",
    "finalize",
)
"""Rules an example may switch off (swarm testing). The others always stay on, so
some rule is always enabled: a waiter can be woken, a parked body can return, a
thread in C code can take the GIL back, and one at the top level can execute."""


F = TypeVar("F", bound=Callable[..., Any])

_BEHAVIOUR = st.sampled_from(BEHAVIOURS)
_THREADS = st.runner().flatmap(lambda machine: st.sampled_from(list(machine.h.model.threads)))
_BATCH = st.sampled_from([1] * 12 + [2, 3, 33, 301])
"""How many calls one ``add_pending_call`` rule adds: mostly one; 33 fill the
main-thread queue (32) and 301 the per-interpreter queue (300), so that
refused adds happen within a few steps."""


class GilConformance(RuleBasedStateMachine):
    """Drive ``impl`` and the model in lock-step; after every step they must agree.

    ``impl_name`` picks the implementation from
    :data:`conformance.broken_impls.IMPLS` or :data:`~conformance.broken_impls.DESIGNS`;
    ``model_class`` is the model it is held to (a design's variant, for a design);
    ``real_signals`` delivers ``trip_signal`` with ``pthread_kill`` instead of
    calling ``trip_signal``.
    """

    impl_name: ClassVar[str] = "cpython-3.13"
    model_class: ClassVar[type[Cpython313[Any, Any]]] = Cpython313
    real_signals: ClassVar[bool] = False
    config: ClassVar[Config] = Config()

    def __init__(self) -> None:
        super().__init__()
        model = concrete_model(self.model_class, self.config)
        impl = (IMPLS | DESIGNS)[self.impl_name]
        self.h = Lockstep(model, impl, real_signals=self.real_signals)

        self.switched_off: frozenset[str] = frozenset()

    @initialize(off=st.frozensets(st.sampled_from(OPTIONAL)))
    def swarm(self, off: frozenset[str]) -> None:
        """Switch some rules off for this whole example (swarm testing, Groce et al.
        2012): with fewer rules to choose from, the remaining ones build the longer
        sequences a forced switch needs (a waiter, its timeout, the holder's check
        point), which a uniform choice among fifteen rules rarely does."""
        self.switched_off = off

    def teardown(self) -> None:
        self.h.close()

    def _step(
        self, action: str, *args: int | bool | str, behaviour: Behaviour = "park", n: int = 1
    ) -> None:
        self.h.step(self.h.instance(action, *args), behaviour=behaviour, repeat=n)

    # -- the GIL ---------------------------------------------------------------------------

    @_can("take_gil")
    @rule(t=_actors("take_gil"))
    def take_gil(self, t: int) -> None:
        """A new thread's first attach, or the end of an allow-threads section."""
        self._step("take_gil", t)

    @_can("take_gil_wake")
    @rule(t=_actors("take_gil_wake"), timed_out=st.booleans())
    def take_gil_wake(self, t: int, timed_out: bool) -> None:
        """A waiter's interval expires (``timed_out``), or it wakes without a timeout."""
        self._step("take_gil_wake", t, timed_out)

    @_can("switch_wake")
    @rule(t=_actors("switch_wake"))
    def switch_wake(self, t: int) -> None:
        """A forced-switching dropper's ``switch_cond`` wait returns (maybe spuriously)."""
        self._step("switch_wake", t)

    @_can("allow_threads")
    @rule(t=_actors("allow_threads"))
    def allow_threads(self, t: int) -> None:
        """``Py_BEGIN_ALLOW_THREADS`` (``PyEval_SaveThread``)."""
        self._step("allow_threads", t)

    # -- the eval loop -------------------------------------------------------------------------

    @_can("execute")
    @rule(t=_actors("execute"), op=st.sampled_from([ins.name for ins in INSTRUCTIONS_313]))
    def execute(self, t: int, op: str) -> None:
        """One instruction at the top level: a check point or not."""
        self._step("execute", t, op)

    @_can("body_check_point")
    @rule(t=_actors("body_check_point"))
    def body_check_point(self, t: int) -> None:
        """A parked pending call or signal handler reaches a check point (a nested pass)."""
        self._step("body_check_point", t)

    @_can("callback_return")
    @rule(t=_actors("callback_return"), ok=st.booleans())
    def callback_return(self, t: int, ok: bool) -> None:
        """A parked pending call returns 0, or -1 with an exception."""
        self.h.step(self.h.body_return(t, ok))

    @_can("handler_return")
    @rule(t=_actors("handler_return"), ok=st.booleans())
    def handler_return(self, t: int, ok: bool) -> None:
        """A parked Python signal handler returns, or raises."""
        self.h.step(self.h.body_return(t, ok))

    # -- pending calls, signals, asynchronous exceptions, GC, instrumentation ------------------

    @_can("add_pending_call")
    @rule(t=_actors("add_pending_call"), q=st.sampled_from([0, 1]), callback=_BEHAVIOUR, n=_BATCH)
    def add_pending_call(self, t: int, q: int, callback: Behaviour, n: int) -> None:
        """``_PyEval_AddPendingCall`` ``n`` times (q 0: per-interpreter, 1: main thread)."""
        self._step("add_pending_call", t, q, behaviour=callback, n=n)

    @_can("trip_signal")
    @rule(
        sig=st.runner().flatmap(
            lambda m: st.sampled_from([i.args[0] for i in m.h.enabled("trip_signal")])
        ),
        handler=_BEHAVIOUR,
    )
    def trip_signal(self, sig: int, handler: Behaviour) -> None:
        """A signal arrives (``trip_signal``); its Python handler will ``handler``."""
        self._step("trip_signal", sig, behaviour=handler)

    @_can("set_async_exc")
    @rule(t=_actors("set_async_exc"), target_thread=_THREADS)
    def set_async_exc(self, t: int, target_thread: int) -> None:
        """``PyThreadState_SetAsyncExc`` (``target`` is a reserved name in Hypothesis rules)."""
        self._step("set_async_exc", t, target_thread)

    @_can("schedule_gc")
    @rule(t=_actors("schedule_gc"))
    def schedule_gc(self, t: int) -> None:
        """``_Py_ScheduleGC``."""
        self._step("schedule_gc", t)

    @_can("set_global_version")
    @rule(t=_actors("set_global_version"))
    def set_global_version(self, t: int) -> None:
        """``sys.monitoring`` changes the instrumentation version."""
        self._step("set_global_version", t)

    # -- lifecycle ---------------------------------------------------------------------------

    @_can("thread_exit")
    @rule(t=_actors("thread_exit"))
    def thread_exit(self, t: int) -> None:
        """``PyThreadState_DeleteCurrent``: a thread ends, holding the GIL."""
        self._step("thread_exit", t)

    @_can("finalize")
    @rule()
    def finalize(self) -> None:
        """The main thread starts ``Py_FinalizeEx``."""
        self._step("finalize", 0)
