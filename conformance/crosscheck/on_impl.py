"""The scenarios of :mod:`cpython313`, run on ``impl``; the same JSON-shaped results.

Each scenario mirrors its CPython twin line by line:

* a Python-level call of a C function, e.g. ``list(map(ADD, cbs))`` or
  ``len(log)``, is :func:`_call`: a one-instruction program ``CALL_C`` whose
  check point comes after the callee returns, exactly ``_CHECK_PERIODIC``; its
  value is the callee's, taken before the check point runs;
* code between such calls that CPython runs without a check point (a slice,
  an assignment) is plain host code here, where impl has no check points;
* ``pending_threadfunc`` and ``_pending_threadfunc`` are :func:`_adder`: with
  ``blocking=False`` the adds run inside an allow-threads section (CPython's
  ``PyEval_SaveThread``/``PyEval_RestoreThread``), and the count stops at the
  first full queue;
* a callback that is a Python function calling ``ADD`` starts with a
  ``RESUME`` check point and has the ``CALL``'s check point after the add: a
  nested program on the draining thread;
* ``time.sleep(0)`` is an allow-threads section with nothing in it;
* a loop of ``for _ in range(n): pass`` is ``n`` taken ``JUMP_BACKWARD``s.

Every thread is a host thread bound to one ``ThreadState``; waits are bounded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final

from conformance.support import LONG_TIMEOUT, join_thread, wait_for_event
from impl import Code, Instr, Interpreter, PendingFull, ThreadState, TraceEvent, run
from impl.gil import GIL
from impl.trace import Trace

SPIN: Final = 100_000
"""As in the CPython script: check points taken to show a stranded call stays queued."""

JSON = dict[str, object]
Callback = Callable[[], None]


SCENARIOS: Final[dict[str, Callable[[Env], JSON]]] = {}
"""The scenarios by name, in the order of cpython313.py, which has one of each name."""


def scenario(fn: Callable[[Env], JSON]) -> Callable[[Env], JSON]:
    SCENARIOS[fn.__name__] = fn
    return fn


class Env:
    """One interpreter whose main thread holds the GIL, a call log, the current thread.

    ``trace`` (optional) receives impl's events from the state right after the
    main thread's first acquisition on; if it has a ``bind(ts_id)``
    method (a :class:`conformance.tracecheck.Recorder`), each host thread
    is bound to the ThreadState it plays. ``checkpoint_ops`` lists the ``op`` of
    every check point that acted, for scenarios that ask where a call ran.
    """

    def __init__(self, trace: Trace | None = None) -> None:
        self._outer: Trace | None = None
        self.checkpoint_ops: list[str] = []
        self.interp = Interpreter(trace=self._tee)
        self.main = self.interp.main_thread
        self.log: list[object] = []
        self._tls = threading.local()
        self.interp.gil.acquire(self.main)  # _PyEval_InitGIL attaches main
        self._outer = trace  # the model starts after that acquisition: so does the trace
        self.bind(self.main)
        self.add_interp = self._adder(main_only=False)
        self.add_main = self._adder(main_only=True)

    def _tee(self, event: TraceEvent) -> None:
        if event.name == "eval.check_point":
            op = str(event["op"])
            self.checkpoint_ops.append("CALL" if op == "CALL_C" else op)
        if self._outer is not None:
            self._outer(event)

    @property
    def ts(self) -> ThreadState:
        """The ThreadState the calling host thread plays."""
        ts: ThreadState = self._tls.ts
        return ts

    def bind(self, ts: ThreadState) -> None:
        """The calling host thread plays ``ts`` from now on."""
        self._tls.ts = ts
        bind = getattr(self._outer, "bind", None)
        if bind is not None:
            bind(ts.id)

    def call(self, fn: Callable[[], object]) -> object:
        """``fn()`` as a C call from Python: the value, then the CALL's check point."""
        return run(self.ts, Code("call", [Instr.call_c(fn), Instr.ret()]))

    def python_function(self, body: Callable[[], object]) -> None:
        """A Python function whose body is one C call: RESUME, the CALL, RETURN."""
        run(self.ts, Code("function", [Instr.resume(0), Instr.call_c(body), Instr.ret()]))

    def spin(self, n: int) -> None:
        """``for _ in range(n): pass``: n taken JUMP_BACKWARDs."""
        left = [n]

        def more() -> bool:
            left[0] -= 1
            return left[0] >= 0

        run(self.ts, Code("spin", [Instr.work(), Instr.jump_backward(0, while_=more), Instr.ret()]))

    def sleep0(self) -> None:
        """``time.sleep(0)``: detach and attach; then the CALL's check point."""

        def detach_attach() -> None:
            with self.ts.allow_threads():
                pass

        self.call(detach_attach)

    def _adder(self, *, main_only: bool) -> Callable[..., int]:
        def add(callback: Callback, num: int = 1, *, blocking: bool = False) -> int:
            def adds() -> int:
                for added in range(num):
                    try:
                        self.interp.add_pending_call(callback, main_only=main_only)
                    except PendingFull:
                        return added
                return num

            if blocking:
                return adds()
            with self.ts.allow_threads():
                return adds()

        return add

    def make(self, tag: object, fail: bool = False, then: Callback | None = None) -> Callback:
        def cb() -> None:
            self.log.append(tag)
            if then is not None:
                then()
            if fail:
                raise RuntimeError(f"callback {tag} failed")

        return cb


def fifo(env: Env, main_only: bool) -> JSON:
    add = env.add_main if main_only else env.add_interp
    cbs = [env.make(i) for i in range(10)]
    added = env.call(lambda: [add(cb) for cb in cbs])
    return {"added": added, "ran_at_first_check_point": list(env.log)}


@scenario
def fifo_interp(env: Env) -> JSON:
    return fifo(env, False)


@scenario
def fifo_main(env: Env) -> JSON:
    return fifo(env, True)


def capacity(env: Env, main_only: bool, asked: int) -> JSON:
    add = env.add_main if main_only else env.add_interp
    added = env.call(lambda: add(env.make("x"), asked, blocking=True))
    return {"asked": asked, "added": added, "ran_at_first_check_point": len(env.log)}


@scenario
def capacity_interp(env: Env) -> JSON:
    return capacity(env, False, 301)


@scenario
def capacity_main(env: Env) -> JSON:
    return capacity(env, True, 33)


@scenario
def maxloop_passes(env: Env) -> JSON:
    cbs = [env.make(i) for i in range(302)]
    res = typing_list(env.call(lambda: [env.add_interp(cb) for cb in cbs]))
    counts = [env.call(lambda: len(env.log)) for _ in range(4)]
    return {
        "accepted": res.count(1),
        "refused": res.count(0),
        "first_refused": res.index(0) if 0 in res else None,
        "ran_after_each_check_point": counts,
        "fifo": env.log == list(range(300)),
    }


def typing_list(value: object) -> list[object]:
    assert isinstance(value, list)
    return value


def failing_callback(env: Env, main_only: bool) -> JSON:
    add = env.add_main if main_only else env.add_interp
    cbs = [env.make(0), env.make(1, fail=True), env.make(2), env.make(3)]
    error = None
    at_error = None
    try:
        env.call(lambda: [add(cb) for cb in cbs])
    except RuntimeError as exc:
        at_error = list(env.log)
        error = str(exc)
    env.call(lambda: len(env.log))
    return {"error": error, "ran_when_it_surfaced": at_error, "ran_at_next_check_point": env.log}


@scenario
def failing_interp(env: Env) -> JSON:
    return failing_callback(env, False)


@scenario
def failing_main(env: Env) -> JSON:
    return failing_callback(env, True)


@scenario
def which_thread(env: Env) -> JSON:
    interp = env.interp
    main_ident = threading.get_ident()
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    done = threading.Event()
    failure: list[BaseException] = []

    def record(name: str) -> Callback:
        def cb() -> None:
            out[name] = "main" if threading.get_ident() == main_ident else "worker"

        return cb

    worker_ts = interp.new_thread()

    def worker() -> None:
        env.bind(worker_ts)
        try:
            interp.restore_thread(worker_ts)
            try:
                env.call(lambda: env.add_interp(record("interp_queue"), blocking=True))
                env.call(lambda: env.add_main(record("main_queue"), blocking=True))
                env.spin(1000)
                seen.update(out)  # main is still detached
            finally:
                interp.save_thread(worker_ts)
        except BaseException as exc:
            failure.append(exc)
        finally:
            done.set()

    t = threading.Thread(target=worker, name="worker")
    with env.main.allow_threads():  # main blocked in Event.wait(): detached
        t.start()
        wait_for_event(done, "the worker to add its calls and detach", LONG_TIMEOUT)
    join_thread(t)
    if failure:
        raise failure[0]
    env.call(lambda: len(out))
    return {"before_main_attached": seen, "after": out}


@scenario
def checkpoint_kinds(env: Env) -> JSON:
    interp = env.interp
    seen: JSON = {}

    def where() -> str:
        return env.checkpoint_ops[-1]

    env.call(lambda: env.add_interp(lambda: seen.__setitem__("after_call", where())))

    state = {"stop": False}
    spinning = threading.Event()
    failure: list[BaseException] = []

    def cb() -> None:
        seen["call_free_loop"] = where()
        state["stop"] = True

    worker_ts = interp.new_thread()

    def worker() -> None:
        env.bind(worker_ts)
        try:
            wait_for_event(spinning, "main to start spinning", LONG_TIMEOUT)
            interp.restore_thread(worker_ts)  # waits for main's drop request to be honoured
            try:
                env.call(lambda: env.add_main(cb, blocking=True))
            finally:
                interp.save_thread(worker_ts)
        except BaseException as exc:
            failure.append(exc)
            state["stop"] = True

    t = threading.Thread(target=worker, name="worker")
    t.start()
    spinning.set()
    iterations = [0]

    def more() -> bool:
        iterations[0] += 1
        if iterations[0] > 500_000_000:
            raise AssertionError("the main-thread call never ran in the call-free loop")
        return not state["stop"]

    run(env.main, Code("spin", [Instr.work(), Instr.jump_backward(0, while_=more), Instr.ret()]))
    join_thread(t)
    if failure:
        raise failure[0]
    return dict(seen)


@scenario
def switch_interval(env: Env) -> JSON:
    gil = GIL()  # a fresh GIL: the interval is not part of the pending-call scenarios
    values: dict[str, float] = {}
    for v in (0.005, 1.9999e-6, 1e-7, 1.5e-5, 15 * 1e-6, 1e-6, 2.5e-6, 0.1 + 0.2, 3.0, 1, True):
        gil.set_switch_interval(v)
        values[repr(v)] = gil.get_switch_interval()
    errors: dict[str, str] = {}
    undefined: dict[str, str] = {}
    for table, inputs in (
        (errors, (0, 0.0, -1e-9, -1, "0.005", None)),
        (undefined, (float("nan"), float("inf"), 1e300)),
    ):
        for x in inputs:
            try:
                gil.set_switch_interval(x)  # type: ignore[arg-type]  # wrong types on purpose
                table[repr(x)] = f"stored {gil.get_switch_interval()!r}"
            except Exception as exc:
                table[repr(x)] = f"{type(exc).__name__}: {exc}"
    return {"get_after_set": values, "errors": errors, "undefined_in_c": undefined}


@scenario
def stranded_main_adds_interp(env: Env) -> JSON:

    def second() -> None:
        env.log.append("interp call ran")

    def first() -> None:
        env.log.append("main call ran")
        env.python_function(lambda: env.add_interp(second))

    env.call(lambda: [env.add_main(first)])
    after = list(env.log)
    env.spin(SPIN)
    spun = len(env.log)
    env.sleep0()
    env.call(lambda: len(env.log))
    return {"after_first_check_point": after, "after_spinning": spun, "after_sleep0": env.log}


def stranded_at_maxloop(env: Env, n: int) -> JSON:

    def last_adds() -> None:
        env.python_function(lambda: env.add_interp(env.make(n)))

    cbs = [env.make(i, then=last_adds if i == n - 1 else None) for i in range(n)]
    res = typing_list(env.call(lambda: [env.add_interp(cb) for cb in cbs]))
    after = len(env.log)
    env.spin(SPIN)
    spun = len(env.log)
    env.sleep0()
    env.call(lambda: len(env.log))
    return {
        "queued": sum(typing_int(r) for r in res),
        "ran_at_first_check_point": after,
        "after_spinning": spun,
        "after_sleep0": len(env.log),
    }


def typing_int(value: object) -> int:
    assert isinstance(value, int)
    return value


@scenario
def stranded_at_maxloop_100(env: Env) -> JSON:
    return stranded_at_maxloop(env, 100)


@scenario
def stranded_at_maxloop_99(env: Env) -> JSON:
    return stranded_at_maxloop(env, 99)


def run_scenario(name: str, trace: Trace | None = None) -> tuple[JSON, Env]:
    """Run scenario ``name`` on a fresh interpreter; its result and the interpreter used."""
    env = Env(trace)
    return SCENARIOS[name](env), env
