"""gilcheck/report.py: what a step table shows, the vacuity line, and what ``--out`` holds.

The states are the concrete model's own (its initial state and the steps it
fires), so the step table is read as it is for a real counterexample.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

from rich.console import Console

from engines.verdicts import EXIT_SAFETY, Report, Verdict
from gilcheck.changes import changes
from gilcheck.report import render_text, report_json, step_table, write_outputs
from model.catalogue import load
from model.config import Config
from model.protocol import Cpython313
from model.state import State
from model.trace import Trace
from model.variants import DEFAULT, concrete_model

CFG = Config(threads=1, signals=0)
MODEL = concrete_model(DEFAULT, CFG)


def run(*labels: str) -> Trace:
    """Fire the instances named by ``labels`` from the initial state; each must be enabled."""
    by_label = {inst.label: inst for inst in MODEL.instances}
    states: list[State[bool, int]] = [MODEL.initial()]
    steps = []
    for label in labels:
        _, post = MODEL.fire(by_label[label], states[-1])
        assert post is not None, f"{label} is not enabled"
        states.append(post)
        steps.append(by_label[label])
    return Trace(tuple(states), tuple(steps))


def text_of(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, width=400, color_system=None, highlight=False).print(renderable)
    return out.getvalue()


ADD = "add_pending_call(t=0, q=0)"
SIGNAL = "signal_pending_call(t=0, q=0)"


# -- the step table ---------------------------------------------------------------------------


def test_call_zero_pushed_into_an_empty_slot_is_shown() -> None:
    """Call 0 goes into slot 0, which held 0: no slot changes, but the queue does."""
    trace = run(ADD)
    pre, post = trace.states
    assert post.interp_q.calls == pre.interp_q.calls, "the slot's value is unchanged"
    real, _ = changes(pre, post)
    assert "interp_q.calls=[0]" in real
    assert "interp_q.npending=1" in real
    assert not any(".calls[" in item for item in real), "slots are not shown one by one"
    row = next(line for line in text_of(step_table(trace, "t")).splitlines() if ADD in line)
    assert "interp_q.calls=[0], interp_q.npending=1" in row


def test_the_second_call_and_the_pop_of_call_zero_are_shown() -> None:
    """The pop of call 0 zeroes its slot, which held 0: again no slot changes."""
    trace = run(
        ADD,
        SIGNAL,
        ADD,
        SIGNAL,
        "execute(t=0, op='CALL')",
        "make_pending_calls(t=0, level=0)",
        "pop_pending_call(t=0, level=0, q=0)",
    )
    assert changes(trace.states[2], trace.states[3])[0][0] == "interp_q.calls=[0, 1]"
    before_pop, after_pop = trace.states[-2:]
    assert after_pop.interp_q.calls == before_pop.interp_q.calls
    real, _ = changes(before_pop, after_pop)
    assert [x for x in real if x.startswith("interp_q.")] == [
        "interp_q.calls=[1]",
        "interp_q.first=1",
        "interp_q.npending=1",
    ]


def test_a_ghost_only_change_of_a_queue_does_not_show_its_calls() -> None:
    """A refused add changes only the ghost ``refused``: the calls are as they were."""
    one = run(ADD).last
    refused = dataclasses.replace(one.interp_q, refused=one.interp_q.refused + 1)
    real, ghost = changes(one, dataclasses.replace(one, interp_q=refused))
    assert real == []
    assert ghost == ["interp_q.refused=1"]


# -- the vacuity line ---------------------------------------------------------------------


def report(*, vacuity_checked: bool, verdicts: list[Verdict] | None = None) -> Report:
    return Report(
        Cpython313,
        CFG,
        "z3",
        8,
        1,
        verdicts=verdicts or [],
        vacuity_checked=vacuity_checked,
    )


def rendered(r: Report) -> str:
    out = io.StringIO()
    render_text(r, Console(file=out, width=200, color_system=None, highlight=False))
    return out.getvalue()


def test_a_skipped_vacuity_guard_says_so() -> None:
    text = rendered(report(vacuity_checked=False))
    assert "vacuity guard: skipped (--no-vacuity)" in text
    assert "triggers reached" not in text, "a guard that did not run reports no coverage"
    assert report_json(report(vacuity_checked=False))["vacuity"]["checked"] is False


def test_a_run_vacuity_guard_reports_its_coverage() -> None:
    r = report(vacuity_checked=True)
    r.triggers_reached, r.instances_covered = 3, 7
    text = rendered(r)
    assert "vacuity guard: 3 triggers reached; 7 transition instances seen enabled" in text
    assert "skipped" not in text
    assert report_json(r)["vacuity"]["checked"] is True


# -- --out ------------------------------------------------------------------------------------


def violated(pid: str, trace: Trace) -> Verdict:
    return Verdict(pid, "safety", False, "holds", "violated", "z3 bmc", 0.0, depth=1, trace=trace)


def test_write_outputs_removes_the_traces_of_an_earlier_run_and_nothing_else(
    tmp_path: Path,
) -> None:
    """A trace of an id this run checked is replaced or removed; the rest are kept (an
    earlier full run's traces survive a later ``--only`` run)."""
    ids = list(load())
    stale, rewritten, unchecked = ids[0], ids[1], ids[2]
    keep = [
        "report.txt",
        "NOT-A-CATALOGUE-ID.itf.json",
        f"{stale}.itf.json.bak",
        f"{stale}.json",
        f"{unchecked}.itf.json",
    ]
    old = [f"{stale}.itf.json", f"{stale}.html", f"{stale}.md", f"{rewritten}.itf.json"]
    for name in [*old, *keep]:
        (tmp_path / name).write_text("from an earlier run", encoding="utf-8")
    (tmp_path / "subdir").mkdir()
    trace = run(ADD)
    proved = dataclasses.replace(violated(stale, trace), status="proved", trace=None)
    written = write_outputs(
        report(vacuity_checked=False, verdicts=[violated(rewritten, trace), proved]), tmp_path
    )
    assert written == [
        tmp_path / f"{rewritten}{suffix}" for suffix in (".itf.json", ".html", ".md")
    ] + [tmp_path / "report.json"]
    for suffix in (".itf.json", ".html", ".md"):
        assert not (tmp_path / f"{stale}{suffix}").exists(), f"a stale {suffix} was left behind"
    itf = json.loads((tmp_path / f"{rewritten}.itf.json").read_text(encoding="utf-8"))
    assert itf["#meta"]["property"] == rewritten
    for name in keep:
        assert (tmp_path / name).read_text(encoding="utf-8") == "from an earlier run", name
    assert (tmp_path / "subdir").is_dir()
    doc = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert doc["exit_code"] == EXIT_SAFETY
    assert doc["pictures"] == {
        rewritten: {
            "html": str(tmp_path / f"{rewritten}.html"),
            "md": str(tmp_path / f"{rewritten}.md"),
        }
    }
    assert sorted(p.name for p in tmp_path.glob("*.itf.json")) == sorted(
        [f"{rewritten}.itf.json", f"{unchecked}.itf.json", "NOT-A-CATALOGUE-ID.itf.json"]
    )


def test_write_outputs_into_a_new_directory(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    assert write_outputs(report(vacuity_checked=True), out) == [out / "report.json"]
