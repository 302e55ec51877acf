"""``gilcheck soak`` (:mod:`gilcheck.soak`): the summary, the exit codes, the options.

The load and its checker are tested in :mod:`tests.conformance.test_trace_validation`;
the broken drain here is the one defined there.
"""

from __future__ import annotations

import pytest

from gilcheck import soak
from impl import Pending
from tests.conformance.test_trace_validation import drain_drops_the_rest_after_an_error


def test_soak_checks_every_event_and_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert soak.main(["--threads", "4", "--seconds", "1", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "every event matched" in out
    for row in (
        "events checked",
        "hand-offs",
        "pending calls run",
        "adds refused",
        "signals handled",
        "async exceptions delivered",
        "events checked per second",
    ):
        assert row in out, out


def test_soak_exits_1_at_the_first_unmatched_event(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(Pending, "drain", drain_drops_the_rest_after_an_error)
    assert soak.main(["--threads", "4", "--seconds", "2", "--seed", "1"]) == 1
    out = capsys.readouterr().out
    assert "is not a step of the model" in out
    assert "FAILED" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["--threads", "0"],
        ["--threads", "17"],
        ["--seconds", "0"],
        ["--seconds", "soon"],
        ["--interval", "-1"],
        ["--bogus"],
    ],
)
def test_soak_refuses_a_bad_option(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert soak.main(argv) >= 150
    assert "gilcheck soak: error:" in capsys.readouterr().out


def test_soak_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert soak.main(["--help"]) == 0
    assert "--threads" in capsys.readouterr().out
