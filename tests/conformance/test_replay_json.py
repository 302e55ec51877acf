"""``gilcheck replay --format json``: the replay as one JSON document, for tools.

The document carries what the table shows (one object per step with impl's
outcome, the notes, the verdict) and the exit code; stdout holds nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.replay import DIVERGES, FOLLOWS
from gilcheck.replay import main
from tests.cli_helpers import run_program
from tests.conformance.test_replay import LOST_WAKEUP, write


def test_a_divergence_is_the_document_of_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "no-resignal-on-error", LOST_WAKEUP)
    assert main([str(path)]) == DIVERGES
    text = capsys.readouterr().out
    assert main([str(path), "--format", "json"]) == DIVERGES
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert err.startswith(f"replaying {path} ({len(LOST_WAKEUP)} steps of no-resignal-on-error")
    assert (doc["status"], doc["exit"], doc["impl"]) == ("diverges", DIVERGES, "cpython-3.13")
    assert (doc["variant"], doc["property"]) == ("no-resignal-on-error", "INV-NO-LOST-WAKEUP")
    assert doc["steps"] == len(doc["rows"]) == len(LOST_WAKEUP)
    step8 = doc["rows"][7]
    assert step8["step"] == 8
    assert step8["action"] == "callback_return(t=0, level=0, q=0, ok=False)"
    assert step8["outcome"].startswith("diverged: threads[0].breaker: model 0x0 (no events)")
    # The same outcomes as the table's, row by row.
    for r in doc["rows"]:
        assert any(
            line.startswith(f"{r['step']} ") and line.endswith(r["outcome"])
            for line in text.splitlines()
        ), r


def test_a_followed_trace_as_a_user_runs_it(tmp_path: Path) -> None:
    path = write(tmp_path, "no-resignal-on-error", LOST_WAKEUP)
    done = run_program("replay", str(path), "--variant-impl", "no-resignal-on-error",
                       "--format", "json")  # fmt: skip
    assert done.returncode == FOLLOWS, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["status"], doc["exit"]) == ("follows", FOLLOWS)
    assert all(not r["outcome"].startswith("diverged") for r in doc["rows"]), doc["rows"]
