"""``gilcheck show`` and the pictures of a counterexample: timeline, HTML, Mermaid, a browser.

The traces are real counterexamples, found by the exhaustive search at the
small configuration of the command tests (well under a second each): the
faithful model's forced switch that fails (LIVE-FORCED-SWITCH-STRICT, 6 steps:
a drop request, a switch wait that ends spuriously, the dropper takes the GIL
back) and gh-95820's lost wake-up (8 steps, a pending call added). The lasso
is hand-made from the first one, its ``loop`` set. The browser test renders
the page in headless Chromium and reads what it shows; it is skipped where
/usr/bin/chromium is not installed (``apt-get install -y chromium``).
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Final

import pytest

import model.bugs  # noqa: F401  (registers gh-95820)
from engines.verdicts import EXIT_BAD_CONFIG, EXIT_BAD_INPUT
from engines.verify import verify
from gilcheck.itf import ItfError, read_itf, write_itf
from gilcheck.mermaid import markdown_report, sequence_diagram, text
from gilcheck.pictures import html_page
from gilcheck.replay import NOT_A_BEHAVIOUR
from gilcheck.timeline import (
    DROP_REQUEST,
    PENDING_ADD,
    SWITCH,
    derive,
)
from model.catalogue import load
from model.phases import Phase
from model.trace import Trace
from model.variants import DEFAULT, concrete_model, model_class
from tests.cli_helpers import SMALL_CONFIG, one_line, run_program

CHROMIUM: Final = Path("/usr/bin/chromium")
BROWSER_TIMEOUT: Final = 60
FORCED_SWITCH: Final = "LIVE-FORCED-SWITCH-STRICT"


def counterexample(variant: str, pid: str) -> Trace:
    """The exhaustive search's shortest trace of ``variant`` violating ``pid`` at SMALL."""
    report = verify(
        model_class(variant),
        SMALL_CONFIG,
        {pid: load()[pid]},
        engine="search",
        parallel=False,
        check_vacuity=False,
    )
    (verdict,) = report.verdicts
    assert verdict.trace is not None, verdict
    return verdict.trace


@pytest.fixture(scope="module")
def forced_switch() -> Trace:
    return counterexample(DEFAULT, FORCED_SWITCH)


@pytest.fixture(scope="module")
def lost_wakeup() -> Trace:
    return counterexample("gh-95820", "INV-NO-LOST-WAKEUP")


@pytest.fixture
def lasso(forced_switch: Trace) -> Trace:
    return Trace(forced_switch.states, forced_switch.steps, loop=2)


def write_trace(directory: Path, trace: Trace, variant: str = DEFAULT) -> Path:
    path = directory / f"{FORCED_SWITCH}.itf.json"
    write_itf(path, trace, variant=variant, config=SMALL_CONFIG, property_id=FORCED_SWITCH)
    return path


# -- the timeline ----------------------------------------------------------------------------


def test_the_forced_switch_timeline_says_who_holds_who_waits_and_what_happened(
    forced_switch: Trace,
) -> None:
    tl = derive(forced_switch)
    assert (tl.threads, tl.n_steps, tl.loop) == (2, 6, None)
    assert tl.holders == ((0,), (0,), (0,), (), (), (), (0,))
    phases = [c.phase for c in tl.lanes[0]]
    assert phases[3:6] == [Phase.RELEASING, Phase.SWITCH_WAIT, Phase.DETACHED]
    waiter = tl.lanes[1]
    assert [c.since for c in waiter] == [None, 1, 1, 1, 1, 1, 1]
    assert waiter[4].text == "waits since 1"
    request = [e for e in tl.steps[1].events if e.kind == DROP_REQUEST]
    assert [(e.thread, e.target, e.text) for e in request] == [(1, 0, "drop request on T0")]
    (switch,) = [e for e in tl.steps[3].events if e.kind == SWITCH]
    assert switch.text == "forced switch: waits on switch_cond"
    assert tl.steps[4].events[0].text == "switch wait ends spuriously, before any switch"


def test_ghost_variables_are_kept_apart_from_cpythons(forced_switch: Trace) -> None:
    wake = derive(forced_switch).steps[4]
    assert wake.ghosts == ("threads[0].spurious_wake=True",)
    assert wake.changed == ("threads[0].phase=DETACHED",)


def test_a_pending_call_added_is_an_event_on_the_adders_lane(lost_wakeup: Trace) -> None:
    tl = derive(lost_wakeup)
    adds = [(s.index, e) for s in tl.steps for e in s.events if e.kind == PENDING_ADD]
    assert [(k, e.thread, e.text) for k, e in adds] == [
        (7, 1, "pending call 0 added to the main-thread queue")
    ]
    assert tl.queues[-1] == {"interp_q": (), "main_q": (0,)}


def test_a_lasso_says_where_its_loop_starts(lasso: Trace) -> None:
    tl = derive(lasso)
    assert tl.loop_text().startswith("loop starts at step 2: steps 3..6 repeat for ever")
    page = html_page(tl)
    assert '<g class="loop" data-loop="2">' in page
    assert "loop starts at step 2" in page
    diagram = sequence_diagram(tl).splitlines()
    start = diagram.index("    loop starts at step 2#58; steps 3..6 repeat for ever "
                          "(state 6 is state 2 again)")  # fmt: skip
    assert diagram[-1] == "    end"
    assert all(line.startswith("        ") for line in diagram[start + 1 : -1])
    assert "**loop starts at step 2" in markdown_report(tl)


def test_no_loop_no_loop_marks(forced_switch: Trace) -> None:
    tl = derive(forced_switch)
    assert tl.loop_text() == ""
    assert 'class="loop"' not in html_page(tl)
    assert "loop" not in sequence_diagram(tl)


# -- the pictures ----------------------------------------------------------------------------


def test_mermaid_text_has_no_character_mermaid_reads_as_syntax() -> None:
    assert text("a;b#c%%d:e{f}<g>") == "a#59;b#35;c#37;#37;d#58;e#123;f#125;#60;g#62;"
    assert text("take_gil(t=1), [0]") == "take_gil(t=1), [0]"


SAY: Final = r"(?:[A-Za-z0-9 _.,()\[\]'=+/-]|#\d+;)+"
"""Text Mermaid takes as it is: safe characters and entity codes, no bare ``;``, ``#``, ``%``."""
STATEMENT: Final = re.compile(
    r"sequenceDiagram"
    rf"|    participant (T\d+ as {SAY}|GIL|queues as pending queues|signals)"
    rf"|\s+(T\d+|GIL|queues|signals)(->>|-->>|-\)|-x)(T\d+|GIL|queues|signals): {SAY}"
    rf"|\s+Note over (T\d+|signals): {SAY}"
    rf"|    loop {SAY}|    end"
)
"""The statements the diagram may use."""


@pytest.mark.parametrize("which", ["forced_switch", "lost_wakeup", "lasso"])
def test_every_line_of_the_diagram_is_a_mermaid_statement(
    which: str, request: pytest.FixtureRequest
) -> None:
    tl = derive(request.getfixturevalue(which))
    for line in sequence_diagram(tl).splitlines():
        assert STATEMENT.fullmatch(line), line


def test_the_markdown_report_has_the_diagram_and_a_table_row_per_step(
    lost_wakeup: Trace,
) -> None:
    md = markdown_report(derive(lost_wakeup, title="gh-95820", about="variant gh-95820"))
    assert md.startswith("# gh-95820\n")
    assert "\n```mermaid\nsequenceDiagram\n    participant T0 as thread 0 (main)\n" in md
    rows = [line for line in md.splitlines() if re.match(r"\| \d", line)]
    assert len(rows) == 8
    assert "*ghost* `main_q.added=1`" in rows[6]


def test_the_page_loads_nothing(lost_wakeup: Trace) -> None:
    page = html_page(derive(lost_wakeup))
    for banned in ("<script", "<link", "@import", "<img", "<iframe", "https:"):
        assert banned not in page, banned
    assert re.findall(r"url\(([^)]*)\)", page) == ["#arrow"] * page.count("url(")
    assert page.count("http:") == 1, "only the SVG namespace"


# -- ITF's loop ------------------------------------------------------------------------------


def test_itf_carries_a_lassos_loop(tmp_path: Path, lasso: Trace) -> None:
    path = write_trace(tmp_path, lasso)
    assert json.loads(path.read_text(encoding="utf-8"))["loop"] == 2
    assert read_itf(path, concrete_model).trace == lasso


@pytest.mark.parametrize("loop", ["2", True, 7, -1])
def test_a_bad_loop_is_not_an_itf_trace(tmp_path: Path, forced_switch: Trace, loop: object) -> None:
    path = write_trace(tmp_path, forced_switch)
    doc = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**doc, "loop": loop}), encoding="utf-8")
    with pytest.raises(ItfError, match=r"not an ITF trace: \"loop\"( is |: expected an integer)"):
        read_itf(path, concrete_model)


# -- the command -----------------------------------------------------------------------------


def test_show_writes_the_page_and_the_report_and_prints_their_paths(
    tmp_path: Path, lasso: Trace
) -> None:
    trace = write_trace(tmp_path, lasso)
    out = tmp_path / "pictures"
    proc = run_program("show", str(trace), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    html, md = out / f"{FORCED_SWITCH}.html", out / f"{FORCED_SWITCH}.md"
    assert proc.stdout.splitlines() == [str(html), str(md)]
    assert proc.stderr == ""
    assert 'data-loop="2"' in html.read_text(encoding="utf-8")
    assert "```mermaid" in md.read_text(encoding="utf-8")


def test_show_writes_next_to_the_trace_by_default(tmp_path: Path, forced_switch: Trace) -> None:
    trace = write_trace(tmp_path, forced_switch)
    proc = run_program("show", str(trace))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [trace.name, f"{FORCED_SWITCH}.html", f"{FORCED_SWITCH}.md"]
    )


def _not_a_behaviour(d: Path, trace: Trace) -> Path:
    path = write_trace(d, trace)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["states"][3]["switch_number"] = {"#bigint": "7"}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _not_json(d: Path, trace: Trace) -> Path:
    path = d / "t.itf.json"
    path.write_text("{", encoding="utf-8")
    return path


def _unknown_variant(d: Path, trace: Trace) -> Path:
    return write_trace(d, trace, variant="no-such-variant")


@pytest.mark.parametrize(
    ("make", "code", "says"),
    [
        (lambda d, t: d / "missing.itf.json", EXIT_BAD_INPUT, "cannot read it"),
        (_not_json, EXIT_BAD_INPUT, "not an ITF trace: not JSON"),
        (_not_a_behaviour, NOT_A_BEHAVIOUR, "not a behaviour of its own model"),
        (_unknown_variant, EXIT_BAD_CONFIG, "no variant named 'no-such-variant'"),
    ],
    ids=["missing", "not-json", "not-a-behaviour", "unknown-variant"],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, forced_switch: Trace, make: object, code: int, says: str
) -> None:
    assert callable(make)
    trace = make(tmp_path, forced_switch)
    out = tmp_path / "out"
    out.mkdir()
    proc = run_program("show", str(trace), "--out", str(out))
    assert proc.returncode == code, proc.stderr
    line = one_line(proc.stderr)
    assert line.startswith(f"gilcheck: show: read: {trace}: "), line
    assert says in line, line
    assert proc.stdout == ""
    assert list(out.iterdir()) == []


def test_a_bad_option_or_out_is_150(tmp_path: Path, forced_switch: Trace) -> None:
    proc = run_program("show", "--no-such-option")
    assert proc.returncode == EXIT_BAD_CONFIG
    assert one_line(proc.stderr).startswith("gilcheck: show: option: ")
    trace = write_trace(tmp_path, forced_switch)
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    proc = run_program("show", str(trace), "--out", str(blocked / "sub"))
    assert proc.returncode == EXIT_BAD_CONFIG
    assert one_line(proc.stderr).startswith(f"gilcheck: show: write: --out {blocked / 'sub'}: ")


# -- in a browser ----------------------------------------------------------------------------


class _Dom(HTMLParser):
    """What the rendered page shows: its lanes, step columns (holders), the step count."""

    def __init__(self) -> None:
        super().__init__()
        self.lanes: list[str] = []
        self.holders: dict[int, str] = {}
        self.steps: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "g" and a.get("class") == "lane":
            self.lanes.append(a.get("data-label") or "")
        if tag == "g" and a.get("class") == "step":
            self.holders[int(a["data-step"] or "")] = a.get("data-holder") or ""
        if a.get("id") == "step-count":
            self.steps = int(a["data-steps"] or "")


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", *args],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT,
        check=False,
    )


def png_colours(path: Path, limit: int = 1000) -> int:
    """How many distinct colours an 8-bit RGB(A) PNG has (counting stops at ``limit``)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour_type = struct.unpack(">IIBB", header[:10])
    assert depth == 8, depth
    assert colour_type in (2, 6), colour_type
    bpp = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    seen: set[bytes] = set()
    prev = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        seen.update(bytes(line[i : i + 3]) for i in range(0, stride, bpp * 7))
        if len(seen) >= limit:
            break
        prev = line
    return len(seen)


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install -y chromium)"
)
def test_the_page_in_a_browser_shows_the_lanes_the_steps_and_the_holder(
    tmp_path: Path, forced_switch: Trace
) -> None:
    page = tmp_path / "timeline.html"
    page.write_text(html_page(derive(forced_switch, title=FORCED_SWITCH)), encoding="utf-8")
    proc = _chromium("--dump-dom", page.as_uri())
    assert proc.returncode == 0, proc.stderr
    dom = _Dom()
    dom.feed(proc.stdout)
    assert dom.lanes == ["thread 0 (main)", "thread 1"]
    assert dom.steps == 6
    assert dom.holders == {0: "0", 1: "0", 2: "0", 3: "none", 4: "none", 5: "none", 6: "0"}
    shot = tmp_path / "timeline.png"
    proc = _chromium(f"--screenshot={shot}", "--window-size=1400,900", page.as_uri())
    assert proc.returncode == 0, proc.stderr
    assert png_colours(shot) > 10, "the screenshot is blank"
