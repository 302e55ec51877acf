"""Verdicts explain themselves (issue 13, item 6), as the real command prints them.

Each test runs ``gilcheck verify`` as its own process on a small configuration,
bounded by states or depth (never by the clock), and reads the text it prints,
report.json and the JUnit file: a row that makes the run exit 14 says why, and
a row whose seconds are one search's, shared with other rows, is marked so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from engines import prove
from engines.reachable import vacuous_note, where_reached
from engines.vacuity import random_walks
from engines.verdicts import EXIT_INCONCLUSIVE, EXIT_OK
from gilcheck.load import resolve_variant
from gilcheck.report import SHARED_LEGEND
from model.config import Config
from model.protocol import Cpython313
from tests.cli_helpers import SMALL, gilcheck, run_program

TWO = "INV-GIL-SINGLE-HOLDER,INV-TYPE-OK"


def _report(out: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return doc


def _row(stdout: str, pid: str) -> str:
    (line,) = [ln for ln in stdout.splitlines() if ln.startswith(f"│ {pid} ")]
    return line


def _search(tmp_path: Path, only: str, *extra: str) -> tuple[int, str, Path]:
    out = tmp_path / "out"
    r = run_program(
        "verify", *SMALL, "--engine", "search", "--max-states", "2000", "--only", only,
        "--out", str(out), "--junit", str(out / "junit.xml"), *extra,
    )  # fmt: skip
    return r.returncode, r.stdout, out


def test_rows_settled_by_one_search_have_their_seconds_marked_shared(tmp_path: Path) -> None:
    code, stdout, out = _search(tmp_path, TWO)
    assert code == EXIT_INCONCLUSIVE, stdout
    report = _report(out)
    for v in report["verdicts"]:
        assert v["seconds_shared"] is True, v
        assert v["seconds"] == report["search"]["seconds"], v
        assert f"{v['seconds']:.2f} shared" in _row(stdout, v["id"]), stdout
    assert SHARED_LEGEND in stdout.replace("\n", " ")
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    assert junit.count('<property name="seconds_shared" value="true" />') == 2, junit


def test_the_one_row_a_search_settles_has_its_own_seconds(tmp_path: Path) -> None:
    code, stdout, out = _search(tmp_path, "INV-TYPE-OK")
    assert code == EXIT_INCONCLUSIVE, stdout
    (v,) = _report(out)["verdicts"]
    assert v["seconds_shared"] is False
    assert "shared" not in _row(stdout, "INV-TYPE-OK")
    assert SHARED_LEGEND not in stdout.replace("\n", " ")
    assert "seconds_shared" not in (out / "junit.xml").read_text(encoding="utf-8")


def test_a_z3_proof_has_its_own_seconds(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_program("verify", *SMALL, "--only", TWO, "--out", str(out))
    assert r.returncode == EXIT_OK, r.stdout
    for v in _report(out)["verdicts"]:
        assert v["verdict"] == "proved", v
        assert v["seconds_shared"] is False, v
        assert "shared" not in _row(r.stdout, v["id"])


def test_a_bound_by_the_state_cap_says_so_in_the_text(tmp_path: Path) -> None:
    code, stdout, _ = _search(tmp_path, TWO)
    assert code == EXIT_INCONCLUSIVE
    text = " ".join(stdout.split())
    for pid in TWO.split(","):
        why = (
            rf"{pid}: no violation among [\d,]+ states within \d+ steps "
            r"\(search stopped: more than 2000 states"
        )
        assert re.search(why, text), stdout


VARIANTS = '''\
"""Variants whose signal handlers do not all run: a vacuous INV-HANDLERS-MAIN-THREAD."""

from typing import Any

from model.protocol import Cpython313


class NoHandlers(Cpython313[Any, Any]):
    """No handler ever runs: its trigger is reached in no configuration."""

    def call_signal_handler(self, s: Any, t: int, level: int, sig: int) -> Any:
        yield self.d.bool_(False)
        return s


class OnlySecondSignal(Cpython313[Any, Any]):
    """Only the second signal's handler runs: reached with --signals 2, not with 1."""

    def call_signal_handler(self, s: Any, t: int, level: int, sig: int) -> Any:
        if sig == 0:
            yield self.d.bool_(False)
            return s
        return (yield from super().call_signal_handler(s, t, level, sig))
'''

ONE_SIGNAL = ["--threads", "1", "--interp-capacity", "2", "--interp-maxloop", "1"]
ONE_SIGNAL += ["--main-capacity", "2", "--signals", "1", "--max-k", "1", "--depth", "4"]


def test_a_vacuous_proof_names_its_trigger_and_where_it_is_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process (``--no-parallel``), with the guard's 1500 random walks cut to 50: a
    trigger never reached keeps them all walking, over a minute on a loaded machine; the
    plans and the BMC that follow are the command's own."""

    def fewer(*args: Any, **kw: Any) -> Any:
        return random_walks(*args, **{**kw, "walks": 50})

    monkeypatch.setattr(prove, "random_walks", fewer)
    (tmp_path / "variants.py").write_text(VARIANTS, encoding="utf-8")
    out = tmp_path / "out"
    code, stdout, _ = gilcheck(
        capsys, "verify", "--variant", f"{tmp_path / 'variants.py'}:OnlySecondSignal",
        *ONE_SIGNAL, "--no-parallel", "--only", "INV-HANDLERS-MAIN-THREAD", "--out", str(out),
    )  # fmt: skip
    assert code == EXIT_INCONCLUSIVE, stdout
    text = " ".join(stdout.split())
    where = (
        "--threads 1 --interp-capacity 2 --interp-maxloop 1 --main-capacity 2 --main-maxloop 0 "
        "--signals 2"
    )
    assert (
        "INV-HANDLERS-MAIN-THREAD: proved, but its trigger signal-handler-runs (a Python signal "
        f"handler runs) is not reached here; this variant reaches it with {where}"
    ) in text, stdout
    assert f"vacuity: trigger signal-handler-runs not reached (needed by " \
        f"INV-HANDLERS-MAIN-THREAD); reached with {where}" in text, stdout  # fmt: skip
    report = _report(out)
    (v,) = report["verdicts"]
    assert v["verdict"] == "vacuous"
    assert report["vacuity"]["triggers_reached_with"] == {"signal-handler-runs": where}


def test_a_trigger_no_configuration_reaches_is_said_to_be_the_variant(tmp_path: Path) -> None:
    """The broken case: where the variant never reaches the trigger, no options are named."""
    path = tmp_path / "variants.py"
    path.write_text(VARIANTS, encoding="utf-8")
    never = resolve_variant(f"{path}:NoHandlers")
    cfg = Config(threads=1, interp_capacity=2, interp_maxloop=1, main_capacity=2, signals=1)
    assert where_reached(never, "signal-handler-runs", cfg) is None
    note = vacuous_note(never, ["signal-handler-runs"], cfg, {})
    assert "this variant may never reach it" in note, note
    assert "reaches it with" not in note
    faithful = where_reached(Cpython313, "signal-handler-runs", cfg)
    assert faithful == Config(
        threads=1, interp_capacity=1, interp_maxloop=0, main_capacity=1, signals=1
    )


def test_every_row_a_time_limit_leaves_open_says_why_and_claims_no_more(tmp_path: Path) -> None:
    """Whatever the machine's speed: each row not as expected is followed by its reason;
    a documented counterexample not found is not said to be searched by the exhaustive
    search, which looks only for violations of entries expected to hold."""
    out = tmp_path / "out"
    small = list(SMALL)
    small[small.index("--signals") + 1] = "1"
    r = run_program("verify", *small, "--time-limit", "1", "--out", str(out))
    report = _report(out)
    assert r.returncode == report["exit_code"], r.stdout
    text = " ".join(r.stdout.split())
    for v in report["verdicts"]:
        if not v["as_expected"] and v["verdict"] != "unchecked":
            assert f"{v['id']}: {' '.join(v['note'].split())}" in text, (v, r.stdout)
        if v["expected"] == "violated" and v["verdict"] != "violated":
            assert "no violation among" not in v["note"], v
    if report["ended"]:
        assert r.returncode == EXIT_INCONCLUSIVE
        assert f"not checked: {report['ended']}" in text or all(
            v["verdict"] != "unchecked" for v in report["verdicts"]
        ), r.stdout


def test_the_explicit_engine_stops_at_max_states_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_program(
        "verify", *SMALL, "--engine", "explicit", "--max-states", "2000", "--only", TWO,
        "--out", str(out),
    )  # fmt: skip
    assert r.returncode == EXIT_INCONCLUSIVE, r.stdout
    text = " ".join(r.stdout.split())
    for v in _report(out)["verdicts"]:
        assert v["verdict"] == "bounded", v
        assert v["seconds_shared"] is True, v
        assert "more than 2000 states (max_states)" in v["note"], v
        assert f"{v['id']}: {' '.join(v['note'].split())}" in text, r.stdout
