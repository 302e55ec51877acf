"""``gilcheck replay``: a model trace played on ``impl`` through the lock-step harness.

The counterexample comes from a mutated model (``NoResignalOnError``: a failing
pending call leaves no CALLS_TO_DO behind) and violates INV-NO-LOST-WAKEUP.
The matching broken implementation follows it; ``impl`` diverges from it at
the failing call, naming the breaker bit it sets and the mutant does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from conformance.broken_impls import BROKEN, IMPLS, NoResignalOnError
from conformance.harness import LEAKED, Model, concrete_model
from conformance.replay import DIVERGES, FOLLOWS, UNSCHEDULABLE
from conformance.support import LONG_TIMEOUT
from engines.verdicts import EXIT_INTERNAL
from gilcheck import replay
from gilcheck.itf import write_itf
from gilcheck.replay import BAD_OPTION, INTERNAL, NOT_A_BEHAVIOUR, UNREADABLE, main
from model.config import Config
from model.properties import PROPERTIES
from model.protocol import Cpython313
from model.trace import Trace
from tests.cli_helpers import ROOT, one_line, run_program
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


# -- the command as a program: an empty trace, files that are not ITF, a closed pipe -----------


def test_a_trace_of_no_steps_is_followed(tmp_path: Path) -> None:
    """The initial state alone is a behaviour of every model: impl starts in it."""
    path = write(tmp_path, "cpython-3.13", [])
    proc = run_program("replay", str(path))
    assert proc.returncode == FOLLOWS, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [
        f"replaying {path} (0 steps of cpython-3.13) on impl cpython-3.13",
        "the trace has no steps: only its initial state, where impl starts",
        "impl follows the trace",
    ]
    assert proc.stderr == ""


def test_a_design_is_an_impl_replay_plays(tmp_path: Path) -> None:
    """``--variant-impl fair-gil`` (conformance.broken_impls.DESIGNS): impl's FIFO GIL
    starts where the fair-gil design does; a design is not a broken impl."""
    path = write(tmp_path, "fair-gil", [])
    proc = run_program("replay", str(path), "--variant-impl", "fair-gil")
    assert proc.returncode == FOLLOWS, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[0] == f"replaying {path} (0 steps of fair-gil) on impl fair-gil"
    assert "fair-gil" not in IMPLS
    assert "fair-gil" not in BROKEN


DELETE: Final = object()
"""In :data:`NOT_ITF`: the value at the path is removed."""

NOT_ITF: Final = [
    (("states",), {"0": {}}, 'it has no states ("states" must be a non-empty list)'),
    (("states", 1, "locked"), DELETE, "state 1 lacks the variables ['locked']"),
    (("states", 0, "locked"), "yes", "state 0.locked: expected a boolean, got 'yes'"),
    (("#meta", "variant"), DELETE, '"#meta" has no "variant" (the name of the model variant, '
     "a string)"),
    (("#meta",), [], '"#meta" is a JSON array, not an object'),
    (("states", 1, "mbt::nondetPicks"), "t", 'state 1: "mbt::nondetPicks" is \'t\', not an '
     "object"),
    (("#meta", "config", "threads"), 1.5, '"#meta"\'s "config" has values that are not '
     "integers: {'threads': 1.5}"),
]  # fmt: skip
"""Where a valid trace is spoilt, with what, and the reason the one line gives."""


@pytest.mark.parametrize(
    ("where", "value", "reason"),
    NOT_ITF,
    ids=["states not a list", "a state missing a var", "a wrong-typed value",
         "#meta without variant", "#meta not an object", "picks not an object",
         "a config that is not integers"],
)  # fmt: skip
def test_a_json_file_that_is_not_an_itf_trace_exits_151_with_one_line(
    tmp_path: Path, where: tuple[str | int, ...], value: object, reason: str
) -> None:
    path = write(tmp_path, "cpython-3.13", PUSH_TWICE)
    doc = json.loads(path.read_text(encoding="utf-8"))
    *parents, last = where
    node = doc
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    path.write_text(json.dumps(doc), encoding="utf-8")
    proc = run_program("replay", str(path))
    assert proc.returncode == UNREADABLE, proc.stdout + proc.stderr
    assert one_line(proc.stderr) == f"gilcheck replay: {path}: not an ITF trace: {reason}"
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'[{"states": []}]', "not an ITF trace: the document is a JSON array, not an object"),
        (b"\xff\xfe not text", "not an ITF trace: not UTF-8 text (invalid start byte)"),
        (b"[" * 100_000 + b"]" * 100_000, "not an ITF trace: JSON nested too deeply"),
        (None, "cannot read it: No such file or directory"),
    ],
    ids=["a list", "not UTF-8", "nested too deeply", "missing"],
)
def test_a_file_that_is_not_json_exits_151_with_one_line(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    path = tmp_path / "trace.itf.json"
    if content is not None:
        path.write_bytes(content)
    proc = run_program("replay", str(path))
    assert proc.returncode == UNREADABLE, proc.stdout + proc.stderr
    assert one_line(proc.stderr) == f"gilcheck replay: {path}: {reason}"


@pytest.mark.parametrize(
    ("impl", "status"),
    [("no-resignal-on-error", FOLLOWS), ("cpython-3.13", DIVERGES)],
)
def test_a_reader_that_goes_away_ends_the_output_not_the_verdict(
    tmp_path: Path, impl: str, status: int
) -> None:
    """``gilcheck replay ... | head -1``: stdout's reader is gone before anything is written
    (the read end is closed first); the replay still exits with its verdict, no traceback."""
    path = write(tmp_path, "no-resignal-on-error", LOST_WAKEUP)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "gilcheck", "replay", str(path), "--variant-impl", impl],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=LONG_TIMEOUT,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == status, proc.stderr
    assert proc.stderr == ""
