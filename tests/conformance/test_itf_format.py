"""ITF traces as other tools read them: values written as their meaning, read back exactly.

gilcheck writes format 2 (``gilcheck.itf_values``); itf-py, the reference Python
reader and writer of ADR-015, loads every trace the tool writes, and a trace
itf-py writes from those values is read back by gilcheck and replays. A file of
format 1 (the previous writer's, ``tests/data``) still replays.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import itf_py
import pytest

from conformance.broken_impls import NoResignalOnError
from conformance.harness import concrete_model
from conformance.replay import DIVERGES, FOLLOWS
from engines.verdicts import EXIT_OK, EXIT_SAFETY
from gilcheck.cli import main as gilcheck_main
from gilcheck.itf import read_itf, to_itf, write_itf
from gilcheck.itf_values import decode, encode_state
from gilcheck.replay import UNREADABLE, main
from model import variants
from model.protocol import Cpython313
from model.state import NULL
from model.trace import Trace
from tests.cli_helpers import (
    SAFETY_MUTANT,
    mutant_argv,
    one_line,
    verify_argv,
    write_mutant_module,
)
from tests.conformance.test_replay import (
    LOST_WAKEUP,
    ONE_THREAD,
    SIGNAL_DURING_SCAN,
    build,
)
from tests.model.mutants import PhaseOutOfRange

DATA = Path(__file__).resolve().parent.parent / "data"
OLD_FORMAT = DATA / "itf_v1_lost_wakeup.itf.json"
"""LOST_WAKEUP on ``no-resignal-on-error``, as the format-1 writer wrote it (whitespace removed)."""


def lost_wakeup() -> Trace:
    return build(concrete_model(NoResignalOnError, ONE_THREAD), LOST_WAKEUP)


def write_lost_wakeup(path: Path, trace: Trace | None = None) -> Path:
    write_itf(
        path,
        trace or lost_wakeup(),
        variant="no-resignal-on-error",
        config=ONE_THREAD,
        property_id="INV-NO-LOST-WAKEUP",
    )
    return path


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# -- format 2: what a state looks like -----------------------------------------------------


def test_values_are_written_as_their_meaning(tmp_path: Path) -> None:
    doc = load(write_lost_wakeup(tmp_path / "t.itf.json"))
    assert doc["#meta"]["format-version"] == 2
    assert doc["vars"][-2:] == ["mbt::actionTaken", "mbt::nondetPicks"]
    assert "loop" not in doc
    first, signalled = doc["states"][0], doc["states"][2]
    assert first["handling_thread"] == {"tag": "NULL", "value": {}}
    assert first["threads"][0]["phase"] == "HOLDING"
    assert first["interp_q"]["calls"] == []
    assert signalled["threads"][0]["breaker"] == {
        "bits": {"#set": ["CALLS_TO_DO"]},
        "version": 0,
    }
    queued = doc["states"][4]["interp_q"]
    assert queued["calls"] == [0, 1]
    assert queued["npending"] == 2
    draining = doc["states"][6]
    assert draining["handling_thread"] == {"tag": "Thread", "value": 0}
    assert draining["threads"][0]["f0"]["stage"] == "DRAIN_INTERP"
    assert draining["threads"][0]["f0"]["snap"] == {"#set": ["CALLS_TO_DO"]}
    assert draining["mbt::nondetPicks"] == {"t": 0, "level": 0}
    assert doc["states"][8]["mbt::nondetPicks"]["ok"] is False


def test_signals_due_is_a_set_of_signal_numbers() -> None:
    trace = build(concrete_model(Cpython313, ONE_THREAD), SIGNAL_DURING_SCAN)
    doc = to_itf(trace, variant="cpython-3.13", config=ONE_THREAD)
    dues = [st["threads"][0]["f0"]["signals_due"] for st in doc["states"]]
    assert {"#set": []} in dues
    assert {"#set": [0]} in dues


def test_values_no_name_or_ring_has_are_still_written_exactly() -> None:
    """A broken variant's phase 9, a stale slot in a ring, more calls than slots (README's
    OneTooMany), a snapshot with version bits."""
    model = concrete_model(PhaseOutOfRange, ONE_THREAD)
    s = model.initial()
    th = s.threads[0]
    odd = dataclasses.replace(
        s,
        interp_q=dataclasses.replace(s.interp_q, calls=(7, *s.interp_q.calls[1:])),
        main_q=dataclasses.replace(s.main_q, calls=tuple(range(32)), npending=33, first=1),
        threads=(
            dataclasses.replace(
                th, phase=9, f0=dataclasses.replace(th.f0, snap=0x104, signals_due=0b101)
            ),
        ),
    )
    out = encode_state(odd)
    assert out["threads"][0]["phase"] == 9
    assert out["threads"][0]["f0"]["snap"] == {
        "bits": {"#set": ["CALLS_TO_DO"]},
        "version": 256,
    }
    assert out["interp_q"]["calls"] == []
    assert len(out["interp_q"]["slots"]) == ONE_THREAD.interp_capacity
    assert len(out["main_q"]["calls"]) == 33
    assert out["main_q"]["slots"] == list(range(32))
    assert decode(s, out, "state") == odd
    assert decode(s, encode_state(s), "state") == s
    assert encode_state(s)["handling_thread"] == {"tag": "NULL", "value": {}}
    assert s.handling_thread == NULL


def bigints(value: Any) -> Any:
    """``value`` with every JSON integer written ``{"#bigint": "n"}``, as Apalache does."""
    if isinstance(value, dict):
        return {k: bigints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [bigints(v) for v in value]
    return {"#bigint": str(value)} if type(value) is int else value


def test_integers_in_either_form_are_read(tmp_path: Path) -> None:
    path = write_lost_wakeup(tmp_path / "t.itf.json")
    doc = load(path)
    assert read_itf(path, variants.concrete_model).trace == lost_wakeup()
    path.write_text(json.dumps({**bigints(doc), "#meta": doc["#meta"]}), encoding="utf-8")
    assert read_itf(path, variants.concrete_model).trace == lost_wakeup()


# -- the lasso's loop ------------------------------------------------------------------------


def test_a_lassos_loop_is_written_and_read_back(tmp_path: Path) -> None:
    lasso = dataclasses.replace(lost_wakeup(), loop=3)
    path = write_lost_wakeup(tmp_path / "t.itf.json", lasso)
    assert load(path)["loop"] == 3
    assert read_itf(path, variants.concrete_model).trace.loop == 3


@pytest.mark.parametrize(
    ("loop", "reason"),
    [
        (9, '"loop" is 9, not the index of one of its states (0..8)'),
        (-1, '"loop" is -1, not the index of one of its states (0..8)'),
        ("1", "\"loop\": expected an integer, got '1'"),
    ],
)
def test_a_loop_out_of_range_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], loop: object, reason: str
) -> None:
    path = write_lost_wakeup(tmp_path / "t.itf.json")
    path.write_text(json.dumps({**load(path), "loop": loop}), encoding="utf-8")
    capsys.readouterr()
    assert main([str(path)]) == UNREADABLE
    assert one_line(capsys.readouterr().err) == (
        f"gilcheck replay: {path}: not an ITF trace: {reason}"
    )


def test_an_unknown_format_version_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lost_wakeup(tmp_path / "t.itf.json")
    doc = load(path)
    doc["#meta"]["format-version"] = 3
    path.write_text(json.dumps(doc), encoding="utf-8")
    capsys.readouterr()
    assert main([str(path)]) == UNREADABLE
    assert one_line(capsys.readouterr().err).endswith(
        'not an ITF trace: "#meta"\'s "format-version" is 3, not one this gilcheck reads (1, 2)'
    )


# -- format 1 --------------------------------------------------------------------------------


def test_a_format_1_file_is_read_and_replays(capsys: pytest.CaptureFixture[str]) -> None:
    assert "format-version" not in load(OLD_FORMAT)["#meta"]
    assert read_itf(OLD_FORMAT, variants.concrete_model).trace == lost_wakeup()
    assert main([str(OLD_FORMAT), "--variant-impl", "no-resignal-on-error"]) == FOLLOWS
    assert main([str(OLD_FORMAT)]) == DIVERGES
    assert "diverged: threads[0].breaker" in capsys.readouterr().out


# -- itf-py --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every trace two ``gilcheck verify`` runs write (a mutant's counterexample and a
    documented liveness counterexample of CPython's), and two traces written directly (one
    with a loop index)."""
    out = tmp_path_factory.mktemp("verify")
    module = write_mutant_module(out)
    runs = [
        (
            mutant_argv(module, SAFETY_MUTANT, "INV-GIL-SINGLE-HOLDER", out=out / "mutant"),
            EXIT_SAFETY,
        ),
        (verify_argv("--only", "LIVE-FORCED-SWITCH-STRICT", out=out / "cpython"), EXIT_OK),
    ]
    for argv, code in runs:
        assert gilcheck_main(argv) == code, argv
    paths = sorted(out.glob("*/*.itf.json"))
    assert len(paths) == 2, paths
    direct = write_lost_wakeup(
        out / "lost-wakeup.itf.json", dataclasses.replace(lost_wakeup(), loop=2)
    )
    scan = out / "signal-during-scan.itf.json"
    model = concrete_model(Cpython313, ONE_THREAD)
    write_itf(scan, build(model, SIGNAL_DURING_SCAN), variant="cpython-3.13", config=ONE_THREAD)
    return [*paths, direct, scan]


def test_itf_py_loads_every_trace_gilcheck_writes(written: list[Path]) -> None:
    for path in written:
        doc = load(path)
        trace = itf_py.trace_from_json(doc)
        assert trace.vars == doc["vars"]
        assert len(trace.states) == len(doc["states"])
        assert trace.loop == doc.get("loop")
        for state in trace.states:
            assert set(trace.vars) <= set(state.values), path
            thread = state.values["threads"][0]
            assert isinstance(thread.phase, str)
            assert isinstance(thread.breaker.bits, frozenset)
            assert isinstance(thread.breaker.version, int)
            assert type(state.values["handling_thread"]).__name__ in {"NULL", "Thread"}
        assert trace.states[0].values["mbt::actionTaken"] == "init"


def test_a_trace_itf_py_writes_is_read_back_and_replays(
    written: list[Path], tmp_path: Path
) -> None:
    for path in written:
        ours = read_itf(path, variants.concrete_model)
        theirs = tmp_path / path.name
        rewritten = itf_py.trace_to_json(itf_py.trace_from_json(load(path)))
        theirs.write_text(json.dumps(rewritten), encoding="utf-8")
        back = read_itf(theirs, variants.concrete_model)
        assert back.trace == ours.trace, path
        assert back.trace.loop == ours.trace.loop


def test_gilcheck_replay_plays_a_trace_itf_py_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lost_wakeup(tmp_path / "t.itf.json")
    rewritten = itf_py.trace_to_json(itf_py.trace_from_json(load(path)))
    path.write_text(json.dumps(rewritten), encoding="utf-8")
    assert main([str(path), "--variant-impl", "no-resignal-on-error"]) == FOLLOWS
    assert "impl follows the trace" in capsys.readouterr().out
