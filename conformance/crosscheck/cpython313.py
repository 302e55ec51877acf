"""Pending-call scenarios run by a real CPython 3.13 (a subprocess); prints one JSON object.

Usage: ``python3.13 -I cpython313.py SCENARIO``. Standalone on purpose: it
imports nothing of this project, only the standard library and CPython's test
modules:

* ``_testinternalcapi.pending_threadfunc(callback, num=1, *, blocking=False,
  ensure_added=False)`` adds to the *per-interpreter* queue
  (``_PyEval_AddPendingCall(interp, ..., 0)``); with ``blocking=False`` the adds
  run between ``PyEval_SaveThread`` and ``PyEval_RestoreThread`` (a detach and
  an attach); it returns how many were added (it stops at the first FULL);
* ``_testcapi._pending_threadfunc`` has the same shape and adds to the
  *main-thread-only* queue (``Py_AddPendingCall``).

``list(map(ADD, callbacks))`` adds several distinct callbacks with no bytecode
check point in between (map calls the C function directly): the first drain
is the check point of the CALL of ``list`` (``_CHECK_PERIODIC``). A Python
call such as ``len(log)`` is a check point after it returns, which is how the
scenarios take a snapshot "at the next check point". No scenario waits on the
clock: loops are bounded by iteration counts.

The scenarios and their expected outcomes are the ones of
../../../../shared/reference/cpython-experiments (exp1-exp6), plus the two
stranded-call scenarios found by model checking (``stranded_main_adds_interp``,
``stranded_at_maxloop``). :mod:`conformance.crosscheck.on_impl` runs
the same scenarios on ``impl`` with the same output.
"""

from __future__ import annotations

# CPython's own test modules: no stubs, and only the 3.13 that runs this has them.
import _testcapi  # type: ignore[import-not-found]
import _testinternalcapi  # type: ignore[import-not-found]
import dis
import json
import sys
import threading
import time
from collections.abc import Callable

Callback = Callable[[], None]
Adder = Callable[..., int]
Result = dict[str, object]

ADD_INTERP: Adder = _testinternalcapi.pending_threadfunc
ADD_MAIN: Adder = _testcapi._pending_threadfunc
SPIN = 100_000
"""Check points taken to show that a stranded call does not run (bounded, no clock)."""

SCENARIOS: dict[str, Callable[[], Result]] = {}
"""The scenarios by name, in order; on_impl.py has a twin of each, of the same name."""


def scenario(fn: Callable[[], Result]) -> Callable[[], Result]:
    SCENARIOS[fn.__name__] = fn
    return fn


log: list[object] = []


def make(tag: object, fail: bool = False, then: Callback | None = None) -> Callback:
    def cb() -> None:
        log.append(tag)
        if then is not None:
            then()
        if fail:
            raise RuntimeError(f"callback {tag} failed")

    return cb


def fifo(add: Adder) -> Result:
    del log[:]
    added = list(map(add, [make(i) for i in range(10)]))
    ran = log[:]  # the check point of list()'s CALL drained them; slicing does not check
    return {"added": added, "ran_at_first_check_point": ran}


@scenario
def fifo_interp() -> Result:
    return fifo(ADD_INTERP)


@scenario
def fifo_main() -> Result:
    return fifo(ADD_MAIN)


def capacity(add: Adder, asked: int) -> Result:
    del log[:]
    added = add(make("x"), asked, blocking=True)  # the GIL is held for every add
    ran = len(log)
    return {"asked": asked, "added": added, "ran_at_first_check_point": ran}


@scenario
def capacity_interp() -> Result:
    return capacity(ADD_INTERP, 301)


@scenario
def capacity_main() -> Result:
    return capacity(ADD_MAIN, 33)


@scenario
def maxloop_passes() -> Result:
    del log[:]
    res = list(map(ADD_INTERP, [make(i) for i in range(302)]))
    s1 = len(log)  # len() returns the first pass's count, then its check point drains more
    s2 = len(log)
    s3 = len(log)
    s4 = len(log)
    return {
        "accepted": res.count(1),
        "refused": res.count(0),
        "first_refused": res.index(0) if 0 in res else None,
        "ran_after_each_check_point": [s1, s2, s3, s4],
        "fifo": log == list(range(300)),
    }


def failing_callback(add: Adder) -> Result:
    del log[:]
    cbs = [make(0), make(1, fail=True), make(2), make(3)]
    error = None
    at_error = None
    try:
        list(map(add, cbs))
    except RuntimeError as exc:
        at_error = log[:]  # no check point between the raise and this copy
        error = str(exc)
    len(log)  # one more check point
    return {"error": error, "ran_when_it_surfaced": at_error, "ran_at_next_check_point": log[:]}


@scenario
def failing_interp() -> Result:
    return failing_callback(ADD_INTERP)


@scenario
def failing_main() -> Result:
    return failing_callback(ADD_MAIN)


@scenario
def which_thread() -> Result:
    main_ident = threading.get_ident()
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    done = threading.Event()

    def record(name: str) -> Callback:
        def cb() -> None:
            out[name] = "main" if threading.get_ident() == main_ident else "worker"

        return cb

    def worker() -> None:
        ADD_INTERP(record("interp_queue"), blocking=True)  # CALLS_TO_DO on the holder: us
        ADD_MAIN(record("main_queue"), blocking=True)  # CALLS_TO_DO on the main thread only
        for _ in range(1000):  # check points of the worker
            pass
        seen.update(out)  # main is still detached in done.wait()
        done.set()

    t = threading.Thread(target=worker)
    t.start()
    if not done.wait(60):  # main is detached here: it cannot run a call
        raise AssertionError("the worker did not finish in 60 s")
    t.join(60)
    len(out)  # main is back in the eval loop: a check point
    return {"before_main_attached": seen, "after": dict(out)}


def where() -> str:
    f = sys._getframe(2)  # 0: where, 1: the callback, 2: the interrupted frame
    ins = {i.offset: i.opname for i in dis.get_instructions(f.f_code)}
    return ins.get(f.f_lasti, "?")


@scenario
def checkpoint_kinds() -> Result:
    seen: dict[str, str] = {}

    def body() -> None:
        list(map(ADD_INTERP, [lambda: seen.__setitem__("after_call", where())]))

    body()
    state = {"stop": False}
    spinning = threading.Event()

    def cb() -> None:
        seen["call_free_loop"] = where()
        state["stop"] = True

    def worker() -> None:
        if not spinning.wait(60):
            raise AssertionError("main did not start spinning in 60 s")
        ADD_MAIN(cb, blocking=True)

    t = threading.Thread(target=worker)
    t.start()
    spinning.set()
    i = 0
    while not state["stop"]:
        i += 1
        if i > 500_000_000:
            raise AssertionError("the main-thread call never ran in the call-free loop")
    t.join(60)
    return dict(seen)


@scenario
def switch_interval() -> Result:
    old = sys.getswitchinterval()
    values: dict[str, float] = {}
    v: object
    for v in (0.005, 1.9999e-6, 1e-7, 1.5e-5, 15 * 1e-6, 1e-6, 2.5e-6, 0.1 + 0.2, 3.0, 1, True):
        sys.setswitchinterval(v)
        values[repr(v)] = sys.getswitchinterval()
    errors: dict[str, str] = {}
    for v in (0, 0.0, -1e-9, -1, "0.005", None):
        try:
            sys.setswitchinterval(v)  # type: ignore[arg-type]  # wrong types on purpose
            errors[repr(v)] = f"stored {sys.getswitchinterval()!r}"
        except Exception as exc:
            errors[repr(v)] = f"{type(exc).__name__}: {exc}"
    undefined: dict[str, str] = {}
    for v in (float("nan"), float("inf"), 1e300):  # undefined behaviour in C
        try:
            sys.setswitchinterval(v)
            undefined[repr(v)] = f"stored {sys.getswitchinterval()!r}"
        except Exception as exc:
            undefined[repr(v)] = f"{type(exc).__name__}: {exc}"
    sys.setswitchinterval(old)
    return {"get_after_set": values, "errors": errors, "undefined_in_c": undefined}


@scenario
def stranded_main_adds_interp() -> Result:
    """A main-thread call whose body adds a per-interpreter call (the lead's lost2.py)."""
    del log[:]

    def second() -> None:
        log.append("interp call ran")

    def first() -> None:
        log.append("main call ran")
        ADD_INTERP(second)  # its CALL's check point re-enters make_pending_calls: busy, self

    list(map(ADD_MAIN, [first]))
    after = log[:]
    for _ in range(SPIN):  # JUMP_BACKWARD check points, no detach
        pass
    spun = len(log[:])
    time.sleep(0)  # detach, attach: update_eval_breaker_for_thread sees npending
    len(log)  # a check point after the attach
    return {"after_first_check_point": after, "after_spinning": spun, "after_sleep0": log[:]}


def stranded_at_maxloop(n: int) -> Result:
    """n per-interpreter calls queued at once; the n-th adds one more (lost_wakeup.py)."""
    del log[:]

    def last_adds() -> None:
        ADD_INTERP(make(n))

    res = list(map(ADD_INTERP, [make(i, then=last_adds if i == n - 1 else None) for i in range(n)]))
    after = len(log[:])
    for _ in range(SPIN):
        pass
    spun = len(log[:])
    time.sleep(0)
    len(log)
    return {
        "queued": sum(res),
        "ran_at_first_check_point": after,
        "after_spinning": spun,
        "after_sleep0": len(log[:]),
    }


@scenario
def stranded_at_maxloop_100() -> Result:
    return stranded_at_maxloop(100)


@scenario
def stranded_at_maxloop_99() -> Result:
    return stranded_at_maxloop(99)


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1] not in SCENARIOS:
        sys.stderr.write(f"usage: {sys.argv[0]} {{{','.join(SCENARIOS)}}}\n")
        return 2
    result = SCENARIOS[sys.argv[1]]()
    sys.stdout.write(json.dumps({"version": sys.version.split()[0], "result": result}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
