"""``gilcheck soak`` (:mod:`gilcheck.soak`): the summary, the exit codes, the options,
the interrupts and a reader that goes away.

The load and its checker are tested in :mod:`tests.conformance.test_trace_validation`;
the broken drain here is the one defined there. The options, the interrupts and
the closed pipe are tested on the command run as its own process, as a user runs it.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import pytest

from conformance.support import LONG_TIMEOUT
from engines.verdicts import EXIT_BAD_CONFIG, EXIT_OK
from gilcheck import soak
from impl import Pending
from tests.cli_helpers import ROOT, run_program
from tests.conformance.test_trace_validation import drain_drops_the_rest_after_an_error

STARTED = "gilcheck soak: started: "
"""The line on stderr that says the load is running (printed once the interrupts are handled)."""


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


def test_soak_format_json_is_one_document_of_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The summary for tools: matched, then unmatched with the failure in the document."""
    assert soak.main(["--threads", "4", "--seconds", "1", "--seed", "3", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["status"], doc["exit"], doc["failure"], doc["interrupted"]) == (
        "matched", 0, None, None,
    )  # fmt: skip
    assert (doc["threads"], doc["seed"], doc["signals"]) == (4, 3, True)
    assert doc["stats"]["events"] == sum(doc["stats"]["names"].values()) > 0
    monkeypatch.setattr(Pending, "drain", drain_drops_the_rest_after_an_error)
    assert soak.main(["--threads", "4", "--seconds", "2", "--seed", "1", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert (doc["status"], doc["exit"]) == ("unmatched", 1)
    assert "is not a step of the model" in doc["failure"]


# -- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--threads", "0"], "--threads must be from 1 to 16, not 0"),
        (["--threads", "17"], "--threads must be from 1 to 16, not 17"),
        (["--seconds", "0"], "--seconds must be more than 0 and at most 86400, not 0"),
        (["--seconds", "-1"], "--seconds must be more than 0 and at most 86400, not -1"),
        (["--seconds", "86401"], "--seconds must be more than 0 and at most 86400, not 86401"),
        (["--seconds", "inf"], "--seconds must be more than 0 and at most 86400, not inf"),
        (["--seconds", "nan"], "--seconds must be more than 0 and at most 86400, not nan"),
        (["--seconds", "soon"], "argument --seconds: invalid float value: 'soon'"),
        (["--interval", "-1"], "--interval must be from 0.000001 to 1 seconds, not -1"),
        (["--interval", "0"], "--interval must be from 0.000001 to 1 seconds, not 0"),
        (["--interval", "1e-7"], "--interval must be from 0.000001 to 1 seconds, not 1e-07"),
        (["--interval", "2"], "--interval must be from 0.000001 to 1 seconds, not 2"),
        (["--interval", "1e30"], "--interval must be from 0.000001 to 1 seconds, not 1e+30"),
        (["--interval", "inf"], "--interval must be from 0.000001 to 1 seconds, not inf"),
        (["--interval", "nan"], "--interval must be from 0.000001 to 1 seconds, not nan"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_soak_refuses_a_bad_option_before_any_work(argv: list[str], line: str) -> None:
    """One line on stdout (where soak prints), exit 150, and the load never starts."""
    proc = run_program("soak", "--seconds", "1", *argv)
    assert proc.returncode == EXIT_BAD_CONFIG, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [f"gilcheck soak: error: {line}"], proc.stdout
    assert proc.stderr == "", f"soak started or crashed:\n{proc.stderr}"


def test_soak_help_states_the_limits() -> None:
    proc = run_program("soak", "--help")
    assert proc.returncode == EXIT_OK, proc.stderr
    out = " ".join(proc.stdout.split())
    for limits in (
        "--threads THREADS ThreadStates, main included: 1 to 16",
        "--seconds SECONDS how long to run the load: more than 0, at most 86400",
        "--interval INTERVAL impl's switch interval in seconds: 0.000001 to 1",
        "SIGINT (Ctrl-C) or SIGTERM stops the run",
    ):
        assert limits in out, proc.stdout


# -- the command as a process: interrupts and a closed pipe ------------------------------------


class Soak:
    """``gilcheck soak ARGV`` as its own process, its stdout and stderr read line by line."""

    def __init__(
        self, *argv: str, stdout: int = subprocess.PIPE, ignoring: tuple[int, ...] = ()
    ) -> None:
        # A child inherits the signals its parent ignores (and nothing else): while it
        # starts, this process ignores exactly ``ignoring`` among soak's interrupts.
        saved = {num: signal.getsignal(num) for num in soak.INTERRUPTS}
        try:
            for num in soak.INTERRUPTS:
                if num in ignoring:
                    signal.signal(num, signal.SIG_IGN)
                elif saved[num] is signal.SIG_IGN:
                    signal.signal(num, signal.SIG_DFL)
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gilcheck", "soak", *argv],
                cwd=ROOT,
                env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120"),
                stdout=stdout,
                stderr=subprocess.PIPE,
                text=True,
            )
        finally:
            for num, handler in saved.items():
                signal.signal(num, handler)
        self.out: list[str] = []
        self.err: list[str] = []
        self._err_lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stderr, self.err, True)),
        ]
        if self.proc.stdout is not None:
            self._readers.append(
                threading.Thread(target=self._read, args=(self.proc.stdout, self.out, False))
            )
        for reader in self._readers:
            reader.start()

    def _read(self, stream: IO[str], lines: list[str], announce: bool) -> None:
        for line in stream:
            lines.append(line)
            if announce:
                self._err_lines.put(line)
        if announce:
            self._err_lines.put(None)

    def wait_started(self) -> None:
        """Wait until soak says on stderr that it runs (it handles the interrupts by then)."""
        deadline = time.monotonic() + LONG_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = self._err_lines.get(timeout=max(remaining, 0.0))
            except queue.Empty:
                raise AssertionError(
                    f"timed out after {LONG_TIMEOUT:.1f} s waiting for soak to say it started"
                ) from None
            if line is None:
                raise AssertionError(f"soak ended before it said it started:\n{''.join(self.err)}")
            if line.startswith(STARTED):
                return

    def finish(self) -> int:
        """Wait (bounded) for the process to end and its output to be read; its exit code."""
        try:
            code = self.proc.wait(LONG_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"soak did not end within {LONG_TIMEOUT:.1f} s (it would be left running)"
            ) from None
        for reader in self._readers:
            reader.join(LONG_TIMEOUT)
            assert not reader.is_alive(), "soak's output was still open after it ended"
        return code

    def kill(self) -> None:
        """Teardown: the process this test started, if it still runs, is killed."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(LONG_TIMEOUT)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@contextmanager
def soak_process(
    *argv: str, stdout: int = subprocess.PIPE, ignoring: tuple[int, ...] = ()
) -> Iterator[Soak]:
    process = Soak(*argv, stdout=stdout, ignoring=ignoring)
    try:
        yield process
    finally:
        process.kill()


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
    ids=["SIGINT", "SIGTERM"],
)
def test_an_interrupt_stops_the_load_prints_the_summary_and_exits_128_plus_the_signal(
    signum: signal.Signals, code: int
) -> None:
    with soak_process("--threads", "4", "--seconds", "60", "--quiet") as run:
        run.wait_started()
        run.proc.send_signal(signum)
        assert run.finish() == code == 128 + signum, "".join(run.out + run.err)
    out = "".join(run.out)
    assert "gilcheck soak: interrupted; every event logged so far matched" in out, out
    assert "events checked" in out, out
    last = run.out[-1]
    assert last.startswith(f"gilcheck soak: interrupted by {signum.name} after "), out
    assert last.rstrip().endswith("s of 60 s: the summary covers the events up to then"), last
    assert [line for line in run.err if not line.startswith(STARTED)] == [], "".join(run.err)


def test_an_interrupt_the_caller_ignores_stays_ignored() -> None:
    """A background job of a shell (``gilcheck soak &``) starts with SIGINT ignored: Ctrl-C
    at the terminal is not meant for it, and soak runs to its end."""
    with soak_process(
        "--threads", "2", "--seconds", "1", "--quiet", ignoring=(signal.SIGINT,)
    ) as run:
        run.wait_started()
        run.proc.send_signal(signal.SIGINT)
        assert run.finish() == EXIT_OK, "".join(run.out + run.err)
    assert "gilcheck soak: every event matched" in "".join(run.out)


def test_a_reader_that_goes_away_ends_the_output_quietly() -> None:
    """``gilcheck soak | head -1``: stdout's reader is gone before the summary is written
    (the read end is closed before soak starts), and soak still exits 0, with no
    traceback, not 153 (a crash) nor the 1 of rich's own answer to a broken pipe."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        with soak_process("--threads", "2", "--seconds", "0.5", stdout=write_end) as run:
            os.close(write_end)  # the child has its own copy
            write_end = -1
            assert run.finish() == EXIT_OK, "".join(run.err)
    finally:
        if write_end >= 0:
            os.close(write_end)
    assert [line for line in run.err if not line.startswith(STARTED)] == [], "".join(run.err)


def test_the_first_live_frame_on_a_terminal_counts_from_zero() -> None:
    """On a terminal the live table is drawn before the load starts: it read "elapsed
    2562.5 s of 3 s" (the clock's value, the start not yet taken), and now reads 0.0."""
    import pty
    import re

    leader, follower = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120", TERM="xterm")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gilcheck", "soak", "--seconds", "1", "--threads", "2"],
        stdin=follower, stdout=follower, stderr=follower, cwd=ROOT, env=env,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the follower side closed: the command ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=LONG_TIMEOUT) == EXIT_OK
    text = b"".join(chunks).decode("utf-8", errors="replace")
    frames = [float(x) for x in re.findall(r"elapsed\D*?([\d.]+) s of 1 s", text)]
    assert frames, text
    assert frames[0] == 0.0, frames
