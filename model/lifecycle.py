"""What a running thread does besides bytecode: releasing the GIL around C code,
asynchronous exceptions, GC and instrumentation requests, exiting, finalizing."""

from __future__ import annotations

import dataclasses

from model.actions import Effect, action
from model.base import MAIN, each_thread, param_space
from model.bits import EVENTS_MASK, VERSION_MASK, VERSION_STEP, Bit
from model.domain import B, I
from model.signals import SignalActions
from model.state import State


class LifecycleActions(SignalActions[B, I]):
    """Actions of a thread running Python code, other than check points."""

    @action(param_space(each_thread))
    def allow_threads(self, s: State[B, I], t: int) -> Effect:
        """``Py_BEGIN_ALLOW_THREADS``: detach to run C code without the GIL.

        Mirrors ``PyEval_SaveThread()`` -> ``_PyThreadState_Detach()`` ->
        ``drop_gil(interp, tstate, 0)`` (CPython 3.13). The FORCE_SWITCHING wait
        applies here too when a drop request is pending. ``Py_END_ALLOW_THREADS``
        is :meth:`take_gil` from the detached C code.
        """
        yield self.runs_python(s.threads[t])
        return self.released(s, t, c_code=True)

    @action(param_space(each_thread, each_thread))
    def set_async_exc(self, s: State[B, I], t: int, target: int) -> Effect:
        """Thread ``t`` posts an exception to ``target``.

        Mirrors ``PyThreadState_SetAsyncExc()`` (Python/pystate.c, CPython 3.13):
        ``_Py_atomic_exchange_ptr(&tstate->async_exc, exc)`` (a pending one is
        replaced), then ``_Py_set_eval_breaker_bit(tstate,
        _PY_ASYNC_EXCEPTION_BIT)``.
        """
        d = self.d
        yield self.runs_python(s.threads[t])

        target_th = s.threads[target]
        exc = d.add(target_th.async_posted, 1)
        target_th = dataclasses.replace(
            self.set_bits(target_th, Bit.ASYNC_EXCEPTION), async_exc=exc, async_posted=exc
        )
        return self.with_thread(s, target, target_th)

    @action(param_space(each_thread))
    def schedule_gc(self, s: State[B, I], t: int) -> Effect:
        """Mirrors ``_Py_ScheduleGC()`` (Python/gc.c, CPython 3.13): an allocation
        crossed the threshold; ``_PY_GC_SCHEDULED_BIT`` on the allocating thread."""
        yield self.runs_python(s.threads[t])
        return self.update_thread(s, t, lambda th: self.set_bits(th, Bit.GC_SCHEDULED))

    @action(param_space(each_thread))
    def set_global_version(self, s: State[B, I], t: int) -> Effect:
        """``sys.monitoring`` changes the instrumentation: a new global version.

        Mirrors ``set_global_version()`` (Python/instrumentation.c, CPython 3.13):
        the interpreter's ``instrumentation_version`` and the current thread's
        breaker get the new version in the bits above the event mask; other
        threads pick it up when they attach.
        """
        d = self.d
        me = s.threads[t]
        yield d.all(self.holding(me), d.eq(me.depth, 0), d.eq(me.adding, 0))
        version = d.band(d.add(s.instrumentation_version, VERSION_STEP), VERSION_MASK)
        me = dataclasses.replace(me, breaker=d.bor(d.band(me.breaker, EVENTS_MASK), version))
        return self.with_thread(dataclasses.replace(s, instrumentation_version=version), t, me)

    @action(param_space(lambda m: [t for t in m.threads if t != MAIN]))
    def thread_exit(self, s: State[B, I], t: int) -> Effect:
        """A thread's function returns and its thread state is deleted.

        Mirrors ``_PyThreadState_DeleteCurrent()`` -> ``_PyEval_ReleaseLock(...,
        final_release=1)`` (Python/pystate.c, CPython 3.13).
        """
        d = self.d
        me = s.threads[t]
        yield d.all(self.holding(me), d.eq(me.depth, 0), d.eq(me.adding, 0))
        return self.final_release(s, t)

    @action(param_space(lambda m: [MAIN]))
    def finalize(self, s: State[B, I], t: int) -> Effect:
        """The main thread starts ``Py_FinalizeEx()``.

        Mirrors ``_PyRuntimeState_SetFinalizing()`` (Python/pylifecycle.c, CPython
        3.13): from now on ``_PyThreadState_MustExit()`` is true for every other
        thread. Deviates: the rest of finalization is not modelled; the main
        thread goes on running.
        """
        d = self.d
        me = s.threads[t]
        yield d.all(self.holding(me), d.eq(me.depth, 0), d.eq(me.adding, 0), d.not_(s.finalizing))
        return dataclasses.replace(s, finalizing=d.bool_(True))
