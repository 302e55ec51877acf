"""Trace validation under load: impl's event log, free-running, is a behaviour of the model.

The load (:mod:`conformance.soak`) runs real threads with no controlled
stepping; :mod:`conformance.tracecheck` replays the log on the model. The
command that runs one, ``gilcheck soak``, is tested in
:mod:`tests.conformance.test_soak_command`.
The verdict does not depend on the schedule: every log of a correct impl is a
behaviour of the model, so these tests pass on every run (the log itself
differs from run to run). The checker is shown not to be vacuous on doctored
logs and on deliberately broken impls, each failing at the event that first
shows the fault.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable

import pytest

from conformance.soak import SIGNALS, Load, LoadSpec
from conformance.tracecheck import Recorder, TraceChecker, Unmatched, check_log
from impl import Code, Instr, Interpreter, Pending, TraceEvent, run
from impl.ceval import EvalBreaker
from impl.gil import GIL
from impl.thread import ThreadState

Log = list[tuple[TraceEvent, int | None]]

# Event kinds every free-running run is expected to produce (over a few seeds). Not
# produced by the load: gc.run (nothing schedules GC), finalize and its must_exit /
# drop_request.reset (the load never finalizes), async_exc.none (a cancelled
# exception; the load never cancels).
CORE_EVENTS = frozenset(
    {
        "take_gil.wait",
        "take_gil.wake",
        "take_gil.acquire",
        "drop_request.set",
        "drop_gil",
        "drop_gil.switch_wait",
        "drop_gil.switch_wake",
        "eval.check_point",
        "handle_pending",
        "handle_signals",
        "signal.tripped",
        "signal.handler",
        "signal.scan_done",
        "make_pending_calls.start",
        "make_pending_calls.busy",
        "make_pending_calls.pop",
        "make_pending_calls.loop_end",
        "make_pending_calls.resignal",
        "make_pending_calls.end",
        "callback.return",
        "callback.raise",
        "add_pending_call.push",
        "add_pending_call.signal",
        "async_exc.set",
        "async_exc.raise",
    }
)


def free_run(seed: int, threads: int = 4, steps: int = 400) -> Load:
    load = Load(LoadSpec(threads=threads, steps=steps, seed=seed))
    load.run()
    return load


def test_free_running_logs_are_behaviours_of_the_model() -> None:
    """Three seeds, four threads: every event matched, and the final states agree."""
    seen: Counter[str] = Counter()
    for seed in (1, 2, 3):
        load = free_run(seed)
        st = load.stats
        assert st.events > 1000, f"seed {seed}: only {st.events} events"
        assert st.hand_offs > 0, st
        assert st.calls_run > 0, st
        assert st.adds > 0, st
        seen += st.names
    missing = sorted(CORE_EVENTS - set(seen))
    assert missing == [], f"the load never produced {missing}"


def test_sixteen_threads_free_running() -> None:
    """The model's largest configuration, as ``gilcheck soak`` runs it, briefly."""
    load = free_run(seed=7, threads=16, steps=60)
    assert load.stats.events > 1000
    assert load.stats.max_states == 1


def test_the_load_pauses_for_the_checker_and_resumes() -> None:
    """A small backlog forces several park-check-resume rounds; the log stays one behaviour."""
    load = Load(LoadSpec(threads=4, steps=300, seed=5, backlog=1000))
    load.run()
    assert load.counts.pauses >= 2, load.counts


# -- a deterministic single-thread log, for doctoring and mutants ------------------------------


class CallbackFailure(Exception):
    pass


def _ok() -> None:
    pass


def _fail() -> None:
    raise CallbackFailure("callback 1 failed")


def traced_main() -> tuple[Recorder, Interpreter, ThreadState]:
    """An interpreter whose main thread holds the GIL, recorded from there on (thread 0)."""
    rec = Recorder()
    interp = Interpreter(trace=rec)
    main = interp.main_thread
    interp.gil.acquire(main)
    rec.drain()
    rec.bind(main.id)
    return rec, interp, main


def failing_drain_log() -> tuple[Log, Interpreter]:
    """Main adds [ok, fail, ok, ok] in one C call; its check point fails; the next runs the rest."""
    rec, interp, main = traced_main()

    def add_all() -> None:
        for fn in (_ok, _fail, _ok, _ok):
            interp.add_pending_call(fn)

    with pytest.raises(CallbackFailure):
        run(main, Code("adds", [Instr.call_c(add_all), Instr.ret()]))
    run(main, Code("next", [Instr.call_c(_ok), Instr.ret()]))
    return rec.drain(), interp


def maxloop_log() -> tuple[Log, Interpreter]:
    """150 calls at once: one pass runs 100; then an async exception to self and a check point."""
    rec, interp, main = traced_main()

    def add_all() -> None:
        for _ in range(150):
            interp.add_pending_call(_ok)

    def post() -> None:
        interp.set_async_exc(main, CallbackFailure("async"))

    run(main, Code("adds", [Instr.call_c(add_all), Instr.ret()]))
    with pytest.raises(CallbackFailure):
        run(main, Code("post", [Instr.call_c(post), Instr.ret()]))
    return rec.drain(), interp


def first(log: Log, name: str, after: int = -1, **fields: object) -> int:
    for k, (event, _) in enumerate(log):
        if k > after and event.name == name and all(event[f] == v for f, v in fields.items()):
            return k
    raise AssertionError(f"no {name} {fields} after event #{after}")


def expect_unmatched_at(log: Log, index: int, threads: int = 1) -> Unmatched:
    with pytest.raises(Unmatched) as info:
        check_log(log, threads, {})
    assert info.value.index == index, (
        f"failed at #{info.value.index} ({info.value.event.name}), expected #{index} "
        f"({log[index][0].name}):\n{info.value}"
    )
    return info.value


def test_the_deterministic_logs_pass_as_they_are() -> None:
    for make in (failing_drain_log, maxloop_log):
        log, interp = make()
        checker = check_log(log, 1, {})
        checker.compare_final(interp.snapshot())


def doctor(log: Log, index: int, **fields: object) -> Log:
    event, actor = log[index]
    changed = dataclasses.replace(event, fields={**event.fields, **fields})
    return [*log[:index], (changed, actor), *log[index + 1 :]]


@pytest.mark.parametrize(
    ("what", "change", "reason"),
    [
        (
            "a pop out of FIFO order",
            lambda log: (k := first(log, "make_pending_calls.pop"), doctor(log, k, call=2)),
            "the model's head call is 0, the log pops 1",
        ),
        (
            "a snapshot without CALLS_TO_DO",
            lambda log: (k := first(log, "handle_pending"), doctor(log, k, bits=0)),
            "the model's snapshot is ['CALLS_TO_DO'], the log's []",
        ),
        (
            "a refused add on a queue with room",
            lambda log: (k := first(log, "add_pending_call.push"), doctor(log, k, full=True)),
            "model accepts, log full=True",
        ),
        (
            # A return is a step the model allows there; the error path logged next is not.
            "a failed callback that the log says returned",
            lambda log: (
                (k := first(log, "callback.raise")) + 1,
                [
                    *log[:k],
                    (TraceEvent("callback.return", 0, {"queue": "interp", "call": 2}), 0),
                    *log[k + 1 :],
                ],
            ),
            "thread 0 has no CALLS_TO_DO",
        ),
        (
            "the rest of the queue popped at the failing check point",
            lambda log: (
                k := first(log, "make_pending_calls.resignal"),
                [
                    *log[:k],
                    (
                        TraceEvent(
                            "make_pending_calls.pop",
                            0,
                            {"queue": "interp", "call": 3, "fn": _ok, "npending": 1},
                        ),
                        0,
                    ),
                    *log[k:],
                ],
            ),
            "thread 0 has no pass in progress",
        ),
    ],
)
def test_the_checker_fails_at_a_doctored_event(
    what: str, change: Callable[[Log], tuple[int, Log]], reason: str | None
) -> None:
    log, _ = failing_drain_log()
    index, doctored = change(log)
    err = expect_unmatched_at(doctored, index)
    if reason is not None:
        assert reason in str(err), str(err)


def test_the_checker_fails_at_an_acquisition_moved_before_the_release() -> None:
    """Cross-thread order matters: a hand-off logged before the holder's release is refused."""
    load = Load(LoadSpec(threads=3, steps=150, seed=11))
    log: Log = []

    class Keep(TraceChecker):
        """A checker that also keeps the events it checked."""

        def feed_all(self, events: Iterable[tuple[TraceEvent, int | None]]) -> None:
            kept = list(events)
            log.extend(kept)
            super().feed_all(kept)

    load.checker = Keep(3, {num: k for k, num in enumerate(SIGNALS)})
    load.run()
    k = first(log, "take_gil.acquire", switched=True)
    releases = [j for j in range(k) if log[j][0].name == "drop_gil"]
    assert releases, "a switch with no release before it"
    r = releases[-1]
    moved = [*log[:r], log[k], *log[r:k], *log[k + 1 :]]
    with pytest.raises(Unmatched) as info:
        check_log(moved, 3, {num: k for k, num in enumerate(SIGNALS)})
    assert info.value.index == r
    assert info.value.event.name == "take_gil.acquire"


def test_the_report_shows_the_event_its_context_and_the_model_state() -> None:
    log, _ = failing_drain_log()
    k = first(log, "make_pending_calls.pop")
    err = expect_unmatched_at(doctor(log, k, call=2), k)
    text = str(err)
    assert text.startswith(
        f"event #{k} is not a step of the model: no model transition explains it"
    )
    assert "  event: make_pending_calls.pop [T0] queue=interp call=2" in text
    assert f"    #{k - 1} " in text, "the events before it"
    assert "candidate state 1 of 1:" in text
    assert "interp queue: npending=4 head=[0, 1, 2]" in text
    assert "tried:" in text


# -- deliberately broken impls -----------------------------------------------------------------

_drain = Pending.drain


def drain_drops_the_rest_after_an_error(self: Pending, actor: int | None = None) -> int:
    """Broken: after a failing callback, the calls still queued are thrown away."""
    try:
        return _drain(self, actor)
    except BaseException:
        with self._mutex:
            self._calls.clear()
        raise


def _no_resignal_at_maxloop(self: EvalBreaker, ts: ThreadState, queue: Pending, _: str) -> None:
    """Broken: a drain that stops at maxloop leaves no CALLS_TO_DO for the calls left."""
    try:
        queue.drain(ts.id)
    except BaseException:
        self._handling_thread = None
        self._resignal(ts, "error")
        raise


def test_a_drain_that_drops_the_rest_after_an_error_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Pending, "drain", drain_drops_the_rest_after_an_error)
    log, _ = failing_drain_log()
    # The next pass finds the queue empty, where the model still has calls 2 and 3.
    at = first(log, "make_pending_calls.loop_end", after=first(log, "callback.raise"))
    err = expect_unmatched_at(log, at)
    assert log[at][0]["reason"] == "empty"
    assert "the log's pop found the interp queue empty; the model's holds 2 call(s)" in str(err)


def test_a_drain_without_the_maxloop_resignal_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(EvalBreaker, "_drain", _no_resignal_at_maxloop)
    log, _ = maxloop_log()
    # The pass after the async exception is posted lacks CALLS_TO_DO.
    at = first(log, "handle_pending", after=first(log, "async_exc.set"))
    err = expect_unmatched_at(log, at)
    assert "the model's snapshot is ['CALLS_TO_DO', 'ASYNC_EXCEPTION']" in str(err)


def test_a_broken_impl_is_caught_under_free_running_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same broken drain, free-running: the first event that sees the lost calls fails."""
    monkeypatch.setattr(Pending, "drain", drain_drops_the_rest_after_an_error)
    with pytest.raises(Unmatched) as info:
        free_run(seed=3)
    err = info.value
    assert err.event.name in {
        "add_pending_call.push",
        "make_pending_calls.pop",
        "make_pending_calls.loop_end",
    }, str(err)
    assert "npending" in str(err) or "head call" in str(err) or "queue empty" in str(err)


def test_a_gil_without_forced_switching_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Broken: drop_gil never waits on switch_cond, so a thread asked to drop takes it back."""
    monkeypatch.setattr(GIL, "_switch_wait", lambda self, ts: None)
    with pytest.raises(Unmatched) as info:
        free_run(seed=1)
    err = info.value
    # The dropper's next event (taking the GIL back, or a push from its C code) fails.
    assert err.event.name in {"take_gil.acquire", "take_gil.wait", "add_pending_call.push"}, err
    assert "waits on switch_cond in the model" in str(err)
