"""``gilcheck replay``: a model trace played on ``impl`` through the lock-step harness.

The counterexample comes from a mutated model (``NoResignalOnError``: a failing
pending call leaves no CALLS_TO_DO behind) and violates INV-NO-LOST-WAKEUP.
The matching broken implementation follows it; ``impl`` diverges from it at
the failing call, naming the breaker bit it sets and the mutant does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.broken_impls import NoResignalOnError
from conformance.harness import LEAKED, Model, concrete_model
from conformance.replay import DIVERGES, FOLLOWS, UNSCHEDULABLE
from engines.verdicts import EXIT_INTERNAL
from gilcheck import replay
from gilcheck.itf import write_itf
from gilcheck.replay import BAD_OPTION, INTERNAL, NOT_A_BEHAVIOUR, UNREADABLE, main
from model.config import Config
from model.properties import PROPERTIES
from model.protocol import Cpython313
from model.trace import Trace
from tests.model.mutants import PushAtHead

Script = list[tuple[str, tuple[int | bool | str, ...]]]

ONE_THREAD = Config(threads=1, signals=1)

LOST_WAKEUP: Script = [
    ("add_pending_call", (0, 0)),
    ("signal_pending_call", (0, 0)),
    ("add_pending_call", (0, 0)),
    ("signal_pending_call", (0, 0)),
    ("execute", (0, "CALL")),
    ("make_pending_calls", (0, 0)),
    ("pop_pending_call", (0, 0, 0)),
    ("callback_return", (0, 0, 0, False)),
]
"""Two calls, the first fails: the second is left behind. Without the re-signal
nothing will run it (INV-NO-LOST-WAKEUP)."""


@pytest.fixture(autouse=True)
def _no_leaked_workers() -> Iterator[None]:
    LEAKED.clear()
    yield
    assert not LEAKED, f"teardown left workers behind: {LEAKED}"


def build(model: Model, script: Script) -> Trace:
    """Fire ``script`` on ``model`` from its initial state; every step must be enabled."""
    by_key = {(i.action, i.args): i for i in model.instances}
    states = [model.initial()]
    steps = []
    for action, args in script:
        inst = by_key[(action, args)]
        _, post = model.fire(inst, states[-1])
        assert post is not None, f"{inst.label} is not enabled"
        states.append(post)
        steps.append(inst)
    return Trace(tuple(states), tuple(steps))


def write(tmp_path: Path, variant: str, script: Script, config: Config = ONE_THREAD) -> Path:
    cls = NoResignalOnError if variant == "no-resignal-on-error" else Cpython313
    path = tmp_path / "trace.itf.json"
    prop = "INV-NO-LOST-WAKEUP" if variant == "no-resignal-on-error" else None
    trace = build(concrete_model(cls, config), script)
    write_itf(path, trace, variant=variant, config=config, property_id=prop)
    return path


def row(out: str, step: int) -> str:
    """The table row of trace step ``step`` in ``gilcheck replay``'s output."""
    return next(line for line in out.splitlines() if line.startswith(f"{step} "))


def test_the_counterexample_violates_the_property_only_in_the_mutant() -> None:
    prop = PROPERTIES["INV-NO-LOST-WAKEUP"]
    mutant = concrete_model(NoResignalOnError, ONE_THREAD)
    faithful = concrete_model(Cpython313, ONE_THREAD)
    assert not prop.holds(mutant, build(mutant, LOST_WAKEUP).last)
    assert all(prop.holds(faithful, s) for s in build(faithful, LOST_WAKEUP).states)


def test_the_mutated_impl_follows_the_mutants_counterexample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "no-resignal-on-error", LOST_WAKEUP)
    assert main([str(path), "--variant-impl", "no-resignal-on-error"]) == FOLLOWS
    out = capsys.readouterr().out
    assert "impl follows the trace" in out
    assert "diverged" not in out
    assert sum(line[:1].isdigit() for line in out.splitlines()) == len(LOST_WAKEUP)
    assert "ok (with step 5)" in row(out, 6)


def test_impl_diverges_from_the_mutants_counterexample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "no-resignal-on-error", LOST_WAKEUP)
    assert main([str(path)]) == DIVERGES
    out = capsys.readouterr().out
    failing = row(out, 8)
    assert "callback_return(t=0, level=0, q=0, ok=False)" in failing
    assert "diverged: threads[0].breaker: model 0x0 (no events), impl 0x4 (CALLS_TO_DO)" in failing
    assert out.rstrip().endswith("impl diverges from the trace")


def test_impl_follows_the_faithful_models_trace(tmp_path: Path) -> None:
    path = write(tmp_path, "cpython-3.13", LOST_WAKEUP)
    assert main([str(path)]) == FOLLOWS


SIGNAL_DURING_DRAIN: Script = [
    ("add_pending_call", (0, 0)),
    ("signal_pending_call", (0, 0)),
    ("execute", (0, "CALL")),
    ("trip_signal", (0,)),
    ("make_pending_calls", (0, 0)),
    ("trip_signal_is_tripped", (0,)),
    ("pop_pending_call", (0, 0, 0)),
    ("signal_received", (0,)),
    ("callback_return", (0, 0, 0, True)),
    ("drain_done", (0, 0, 0)),
    ("drain_done", (0, 0, 1)),
]
"""A signal's three stores interleaved with the main thread's drain: impl runs
the drain up to the call in one go, so the replay moves the signal after it;
they commute, and the trace is followed."""


def test_interleaved_steps_that_commute_are_reordered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "cpython-3.13", SIGNAL_DURING_DRAIN)
    assert main([str(path)]) == FOLLOWS
    out = capsys.readouterr().out
    assert "ok (with step 3)" in row(out, 5)
    assert "ok (with step 4)" in row(out, 6)


SIGNAL_DURING_SCAN: Script = [
    ("trip_signal", (0,)),
    ("trip_signal_is_tripped", (0,)),
    ("signal_received", (0,)),
    ("execute", (0, "RESUME")),
    ("handle_signals", (0, 0)),
    ("trip_signal", (0,)),
    ("call_signal_handler", (0, 0, 0)),
    ("trip_signal_is_tripped", (0,)),
    ("signal_received", (0,)),
]
"""The signal arrives again between the scan's start and its handler call: the
handler call clears the new ``tripped`` flag. Moved after the handler call, the
second signal would stay tripped: the steps do not commute."""


def test_interleavings_that_do_not_commute_cannot_be_scheduled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "cpython-3.13", SIGNAL_DURING_SCAN)
    assert main([str(path)]) == UNSCHEDULABLE
    out = capsys.readouterr().out
    assert "do not commute" in out
    assert out.rstrip().endswith("the harness cannot schedule this trace on impl")


def test_unreadable_files_exit_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    assert main([str(garbage)]) == UNREADABLE
    assert main([str(tmp_path / "missing.json")]) == UNREADABLE
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert all(line.startswith("gilcheck replay: ") for line in err)


def test_a_trace_its_model_does_not_have(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "no-resignal-on-error", LOST_WAKEUP)
    text = path.read_text(encoding="utf-8").replace('"no-resignal-on-error"', '"cpython-3.13"')
    path.write_text(text, encoding="utf-8")
    assert main([str(path)]) == NOT_A_BEHAVIOUR
    assert "not a behaviour of its own model" in capsys.readouterr().err


def test_configurations_impl_cannot_play(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = Config(threads=1, signals=0, main_capacity=2)
    path = write(tmp_path, "cpython-3.13", [("add_pending_call", (0, 1))], config=small)
    assert main([str(path)]) == BAD_OPTION
    assert "impl's queues are CPython's" in capsys.readouterr().err


def test_unknown_impl(tmp_path: Path) -> None:
    path = write(tmp_path, "cpython-3.13", LOST_WAKEUP)
    assert main([str(path), "--variant-impl", "no-such-impl"]) == BAD_OPTION


def test_a_file_that_is_json_but_not_itf_is_unreadable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "not-itf.json"
    path.write_text('{"states": []}', encoding="utf-8")
    assert main([str(path)]) == UNREADABLE
    assert "has no states" in capsys.readouterr().err


def test_bad_option_exits_150_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Run directly (not through gilcheck.cli), argparse would exit 2."""
    assert main(["--no-such-option", "x.json"]) == BAD_OPTION
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("gilcheck replay: ")
    assert "--no-such-option" in line


def test_a_crash_is_an_internal_error_not_a_divergence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: object) -> None:
        raise RuntimeError("a bug in the harness")

    monkeypatch.setattr(replay, "replay_on_impl", crash)
    path = write(tmp_path, "cpython-3.13", LOST_WAKEUP)
    assert main([str(path)]) == INTERNAL == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "RuntimeError: a bug in the harness" in err
    assert (
        err.splitlines()[-1] == "gilcheck replay: internal error (a bug in gilcheck, not a verdict)"
    )


PUSH_TWICE: Script = [
    ("add_pending_call", (0, 0)),
    ("signal_pending_call", (0, 0)),
    ("add_pending_call", (0, 0)),
]
"""Two adds: the mutant PushAtHead writes the second call over the head of the queue."""


def test_load_registers_the_traces_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A trace of a user's variant (tests/model/mutants.py's PushAtHead, registered by a
    module file) replays once ``--load`` imports that module, and impl diverges from it."""
    name = f"replay-test-{tmp_path.name}:PushAtHead"
    module = tmp_path / "my_variants.py"
    module.write_text(
        "from model.variants import register\n"
        "from tests.model.mutants import PushAtHead\n"
        f"register({name!r}, PushAtHead)\n",
        encoding="utf-8",
    )
    cfg = Config(threads=1, signals=0)
    path = tmp_path / "trace.itf.json"
    write_itf(path, build(concrete_model(PushAtHead, cfg), PUSH_TWICE), variant=name, config=cfg)
    capsys.readouterr()
    assert main([str(path)]) == BAD_OPTION
    (line,) = capsys.readouterr().err.splitlines()
    assert f"no variant named {name!r}" in line
    assert "--load" in line
    assert main([str(path), "--load", str(module)]) == DIVERGES
    out = capsys.readouterr().out
    assert f"steps of {name}" in out
    assert "diverged: interp_queue" in row(out, 3)


def test_load_of_a_broken_module_exits_150_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "broken.py"
    module.write_text("raise RuntimeError('the module refuses')\n", encoding="utf-8")
    path = write(tmp_path, "cpython-3.13", LOST_WAKEUP)
    assert main([str(path), "--load", str(module)]) == BAD_OPTION
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"gilcheck replay: cannot load {module}: RuntimeError: the module refuses"
    )
