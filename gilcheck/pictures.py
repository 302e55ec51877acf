"""A counterexample as a self-contained HTML page: one SVG lane per thread, and a step table.

The page has no script, no font and no link to load: inline SVG, inline CSS.
Its DOM says what it shows, so a test (or a reviewer's tool) can read it:

* ``<g class="lane" data-thread="T">``: thread T's lane, labelled
  ``thread 0 (main)``, ``thread 1``...; in it one ``<g class="cell"
  data-step="K" data-phase="HOLDING">`` per state K (state K is the one step K
  leads to; K = 0 is the initial state), with a ``<title>`` to hover;
* ``<g class="step" data-step="K" data-holder="0">``: the column of step K,
  ``data-holder`` the GIL's holder after it (``none`` when the GIL is free),
  its ``<title>`` the step's action and every variable it changed;
* ``<span id="step-count" data-steps="N">``: the number of steps;
* ``<g class="loop" data-loop="N">`` and the text ``loop starts at step N``
  for a lasso;
* the table's ghost column (class ``ghost``, headed ``ghost``): variables CPython
  does not have, in a colour and a column of their own.

:func:`write_pictures` writes this page and the Markdown report of
:mod:`gilcheck.mermaid` next to each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from html import escape
from pathlib import Path
from typing import Final

from gilcheck.mermaid import markdown_report
from gilcheck.timeline import KINDS, Cell, Step, Timeline, holder_text, thread_name
from model.phases import Phase

LABEL_W: Final = 150
COL_W: Final = 104
HEAD_H: Final = 58
ROW_H: Final = 30
LANE_H: Final = 58
TOP: Final = 24
"""Room above the header for the loop's label."""

PHASE_FILL: Final = {
    Phase.HOLDING: "#43a047",
    Phase.RELEASING: "#c5e1a5",
    Phase.SWITCH_WAIT: "#ba68c8",
    Phase.DETACHED: "#f1f1f1",
    Phase.TAKE_WAIT: "#ffb74d",
    Phase.EXITED: "#616161",
}
PHASE_LEGEND: Final = {
    Phase.HOLDING: "holds the GIL",
    Phase.RELEASING: "in drop_gil, GIL released",
    Phase.SWITCH_WAIT: "forced switch: waits on switch_cond",
    Phase.DETACHED: "detached (C code or about to take_gil)",
    Phase.TAKE_WAIT: "waits in take_gil (since step N)",
    Phase.EXITED: "exited",
}
BADGE: Final = {
    "gil": ("G", "#2e7d32"),
    "wait": ("W", "#e65100"),
    "drop-request": ("D", "#c62828"),
    "switch": ("S", "#6a1b9a"),
    "check": ("C", "#1565c0"),
    "pending-add": ("+", "#00838f"),
    "pending-run": ("R", "#004d40"),
    "pending-refused": ("X", "#b71c1c"),
    "signal": ("!", "#f57f17"),
    "async-exc": ("A", "#ad1457"),
    "lifecycle": ("E", "#212121"),
    "other": ("·", "#757575"),
}
"""Event kind -> the letter and colour of its badge on a lane."""

CSS: Final = """
body { font-family: sans-serif; margin: 16px; color: #212121; }
h1 { font-size: 20px; margin: 0 0 4px 0; }
p.about { margin: 0 0 6px 0; color: #424242; }
p.loop { margin: 0 0 6px 0; font-weight: bold; color: #8d6e00; }
ul.legend { list-style: none; padding: 0; margin: 0 0 8px 0; display: flex;
  flex-wrap: wrap; gap: 4px 14px; font-size: 12px; }
ul.legend li { display: flex; align-items: center; gap: 4px; }
.swatch { display: inline-block; width: 14px; height: 14px; border: 1px solid #9e9e9e; }
.badge { display: inline-block; width: 16px; height: 16px; border-radius: 8px; color: #fff;
  font-size: 11px; font-weight: bold; text-align: center; line-height: 16px; }
svg text { font-family: sans-serif; }
table { border-collapse: collapse; font-size: 12px; margin-top: 12px; }
th, td { border: 1px solid #bdbdbd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eeeeee; }
td.ghost, th.ghost { background: #fff3e0; color: #6d4c41; font-style: italic; }
span.ghost-tag { font-style: normal; font-weight: bold; color: #e65100; }
tr.in-loop td.n { background: #fff8c4; }
"""


def html_page(tl: Timeline) -> str:
    """The whole page: heading, legend, the lanes in SVG, the step table."""
    loop = tl.loop_text()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(tl.title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(tl.title)}</h1>",
        f'<p class="about">{escape(tl.about)} — <span id="step-count" '
        f'data-steps="{tl.n_steps}">{tl.n_steps} steps</span>, '
        f'<span id="lane-count" data-lanes="{tl.threads}">{tl.threads} threads</span></p>',
    ]
    if loop:
        parts.append(f'<p class="loop" id="loop-note">{escape(loop)}</p>')
    parts.append(_legend())
    parts.append(svg(tl))
    parts.append(_table(tl))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _legend() -> str:
    items = [
        f'<li><span class="swatch" style="background:{PHASE_FILL[p]}"></span>{escape(text)}</li>'
        for p, text in PHASE_LEGEND.items()
    ]
    items += [
        f'<li><span class="badge" style="background:{colour}">{escape(letter)}</span>'
        f"{escape(KINDS[kind])}</li>"
        for kind, (letter, colour) in BADGE.items()
    ]
    items.append('<li><span class="ghost-tag">ghost</span> a variable CPython does not have</li>')
    return '<ul class="legend">' + "".join(items) + "</ul>"


def _x(k: int) -> int:
    return LABEL_W + k * COL_W


def _rows(tl: Timeline) -> tuple[int, list[int], int, int, int]:
    """y of the GIL row, of each thread lane, of the queues, ghost and signals rows."""
    y = TOP + HEAD_H
    gil = y
    y += ROW_H + 6
    lanes = []
    for _ in range(tl.threads):
        lanes.append(y)
        y += LANE_H + 4
    queues = y + 2
    ghosts = queues + ROW_H + 4
    signals = ghosts + ROW_H + 4
    return gil, lanes, queues, ghosts, signals


def svg(tl: Timeline) -> str:
    """The lanes: a column per state, a row for the GIL, one per thread, queues, signals."""
    gil_y, lane_ys, queues_y, ghosts_y, signals_y = _rows(tl)
    with_signals = tl.signals > 0 or any(e.thread is None for s in tl.steps for e in s.events)
    height = (signals_y + ROW_H if with_signals else ghosts_y + ROW_H) + 10
    width = _x(tl.n_steps + 1) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="timeline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#c62828"/></marker></defs>',
    ]
    if tl.loop is not None:
        x0, x1 = _x(tl.loop) - 3, _x(tl.n_steps) + COL_W + 3
        out.append(
            f'<g class="loop" data-loop="{tl.loop}"><rect x="{x0}" y="{TOP - 4}" '
            f'width="{x1 - x0}" height="{height - TOP - 2}" fill="#fff8c4" stroke="#c9a400" '
            f'stroke-width="2" stroke-dasharray="6 4"/><text x="{x0 + 6}" y="{TOP - 8}" '
            f'font-size="13" font-weight="bold" fill="#8d6e00">loop starts at step {tl.loop}'
            "</text></g>"
        )
    out.extend(_columns(tl))
    out.append(_label(gil_y, ROW_H, "GIL holder"))
    for k, holders in enumerate(tl.holders):
        fill = "#43a047" if holders else "#ffffff"
        out.append(
            f'<g class="gil" data-step="{k}"><rect x="{_x(k) + 2}" y="{gil_y}" '
            f'width="{COL_W - 4}" height="{ROW_H}" rx="4" fill="{fill}" stroke="#9e9e9e"/>'
            f'<text x="{_x(k) + COL_W // 2}" y="{gil_y + 19}" font-size="12" '
            f'text-anchor="middle" fill="{"#fff" if holders else "#757575"}">'
            f"{escape(holder_text(holders) if holders else 'free')}</text></g>"
        )
    for t, y in enumerate(lane_ys):
        out.append(f'<g class="lane" data-thread="{t}" data-label="{escape(thread_name(t))}">')
        out.append(_label(y, LANE_H, thread_name(t)))
        out.extend(_cell(tl, t, k, cell, y) for k, cell in enumerate(tl.lanes[t]))
        out.append("</g>")
    out.extend(_arrows(tl, lane_ys))
    out.append(_label(queues_y, ROW_H, "pending queues"))
    for k, qs in enumerate(tl.queues):
        text = f"interp {list(qs['interp_q'])}  main {list(qs['main_q'])}"
        out.append(
            f'<text class="queues" data-step="{k}" x="{_x(k) + 4}" y="{queues_y + 19}" '
            f'font-size="10.5">{escape(text)}</text>'
        )
    out.append(
        f'<rect x="4" y="{ghosts_y - 2}" width="{width - 8}" height="{ROW_H + 4}" '
        'fill="#fff3e0" stroke="#ffcc80"/>'
    )
    out.append(_label(ghosts_y, ROW_H, "ghost (not CPython)"))
    for step in tl.steps:
        for j, g in enumerate(step.ghosts[:2]):
            out.append(
                f'<text class="ghost" data-step="{step.index}" x="{_x(step.index) + 4}" '
                f'y="{ghosts_y + 12 + 12 * j}" font-size="9.5" font-style="italic" '
                f'fill="#bf360c">{escape(_short(g.rsplit(".", 1)[-1], 21))}</text>'
            )
    if with_signals:
        out.append(_label(signals_y, ROW_H, "signals (tripped)"))
        for k, sigs in enumerate(tl.tripped):
            out.append(
                f'<text class="signals" data-step="{k}" x="{_x(k) + 4}" y="{signals_y + 19}" '
                f'font-size="11">{escape(str(list(sigs)))}</text>'
            )
        out.extend(_env_badges(tl, signals_y))
    out.append("</svg>")
    return "\n".join(out)


def _label(y: int, h: int, text: str) -> str:
    return (
        f'<text class="label" x="8" y="{y + h // 2 + 5}" font-size="13" '
        f'font-weight="bold">{escape(text)}</text>'
    )


def _columns(tl: Timeline) -> Iterator[str]:
    """A column per state: its header (step, thread, action) and its hover text."""
    for k in range(tl.n_steps + 1):
        step = tl.steps[k - 1] if k else None
        holder = ",".join(str(t) for t in tl.holders[k]) or "none"
        action = step.action if step else "init"
        hover = _step_title(step) if step else "the initial state"
        shade = "#fafafa" if k % 2 else "#ffffff"
        yield (
            f'<g class="step" data-step="{k}" data-holder="{holder}" '
            f'data-action="{escape(action)}"><title>{escape(hover)}</title>'
            f'<rect x="{_x(k)}" y="{TOP}" width="{COL_W}" height="{HEAD_H - 4}" '
            f'fill="{shade}" stroke="#e0e0e0"/>'
            f'<text x="{_x(k) + 5}" y="{TOP + 15}" font-size="12" font-weight="bold">'
            f"{'step ' + str(k) if k else 'initial'}"
            f"{escape(' · ' + step.who) if step else ''}</text>"
            + "".join(
                f'<text x="{_x(k) + 5}" y="{TOP + 30 + 12 * j}" font-size="10">'
                f"{escape(line)}</text>"
                for j, line in enumerate(_wrap(action))
            )
            + "</g>"
        )


def _wrap(name: str, width: int = 17) -> list[str]:
    """An action's name on at most two lines, broken at underscores."""
    if len(name) <= width:
        return [name]
    cut = name.rfind("_", 0, width)
    if cut <= 0:
        return [name[:width], name[width : 2 * width]]
    rest = name[cut:]
    return [name[:cut], rest if len(rest) <= width else rest[: width - 1] + "…"]


def _step_title(step: Step) -> str:
    lines = [f"step {step.index} ({step.who}): {step.label}"]
    lines += [f"  {e.text}" for e in step.events]
    lines.append("changed: " + (", ".join(step.changed) or "nothing CPython has"))
    if step.ghosts:
        lines.append("ghost (not in CPython): " + ", ".join(step.ghosts))
    return "\n".join(lines)


def _cell(tl: Timeline, t: int, k: int, cell: Cell, y: int) -> str:
    step = tl.steps[k - 1] if k else None
    events = [e for e in step.events if e.thread == t] if step else []
    dark = cell.phase in (Phase.HOLDING, Phase.EXITED, Phase.SWITCH_WAIT)
    hover = f"{thread_name(t)} after step {k}: {cell.text}" if k else f"{thread_name(t)}: "
    hover += cell.text if not k else ""
    if cell.breaker:
        hover += f"; eval breaker {{{', '.join(cell.breaker)}}}"
    if step:
        hover += "\n" + _step_title(step)
    badges = "".join(
        _badge(_x(k) + 12 + 19 * j, y + LANE_H - 13, e.kind) for j, e in enumerate(events[:5])
    )
    return (
        f'<g class="cell" data-step="{k}" data-phase="{cell.phase.name}">'
        f"<title>{escape(hover)}</title>"
        f'<rect x="{_x(k) + 2}" y="{y}" width="{COL_W - 4}" height="{LANE_H}" rx="4" '
        f'fill="{PHASE_FILL[cell.phase]}" stroke="#9e9e9e"/>'
        f'<text x="{_x(k) + 6}" y="{y + 17}" font-size="11.5" '
        f'fill="{"#ffffff" if dark else "#212121"}">{escape(cell.text)}</text>'
        + (
            f'<text x="{_x(k) + 6}" y="{y + 30}" font-size="9.5" '
            f'fill="{"#ffffff" if dark else "#424242"}">{escape(_short(events[0].text))}</text>'
            if events
            else ""
        )
        + f"{badges}</g>"
    )


def _short(raw: str, width: int = 20) -> str:
    return raw if len(raw) <= width else raw[: width - 1] + "…"


def _badge(cx: int, cy: int, kind: str) -> str:
    letter, colour = BADGE[kind]
    return (
        f'<g class="event" data-kind="{kind}"><circle cx="{cx}" cy="{cy}" r="8" '
        f'fill="{colour}" stroke="#ffffff"/><text x="{cx}" y="{cy + 4}" font-size="11" '
        f'font-weight="bold" text-anchor="middle" fill="#ffffff">{escape(letter)}</text></g>'
    )


def _arrows(tl: Timeline, lane_ys: list[int]) -> Iterator[str]:
    """An arrow from the thread that sets a drop request or posts an exception to its target."""
    for step in tl.steps:
        for e in step.events:
            if e.thread is None or e.target is None or e.target == e.thread:
                continue
            if e.kind not in ("drop-request", "async-exc"):
                continue
            x = _x(step.index) + COL_W - 14
            y0 = lane_ys[e.thread] + LANE_H // 2
            y1 = lane_ys[e.target] + (LANE_H // 2)
            y1 += -14 if y1 > y0 else 14
            yield (
                f'<line class="arrow" data-step="{step.index}" x1="{x}" y1="{y0}" x2="{x}" '
                f'y2="{y1}" stroke="#c62828" stroke-width="2.5" marker-end="url(#arrow)">'
                f"<title>{escape(e.text)}</title></line>"
            )


def _env_badges(tl: Timeline, y: int) -> Iterator[str]:
    """Events of the environment (a signal arriving) on the signals row."""
    for step in tl.steps:
        env = [e for e in step.events if e.thread is None]
        for j, e in enumerate(env[:4]):
            yield _badge(_x(step.index) + COL_W - 12 - 19 * j, y + ROW_H // 2, e.kind)


def _table(tl: Timeline) -> str:
    head = (
        "<table><thead><tr><th>step</th><th>thread</th><th>action</th><th>what happened</th>"
        '<th>changed</th><th class="ghost">ghost (not in CPython)</th></tr></thead><tbody>'
    )
    rows = []
    for s in tl.steps:
        in_loop = tl.loop is not None and s.index > tl.loop
        ghosts = "<br>".join(f'<span class="ghost-tag">ghost</span> {escape(g)}' for g in s.ghosts)
        rows.append(
            f'<tr data-step="{s.index}"{" class=in-loop" if in_loop else ""}>'
            f'<td class="n">{s.index}</td><td>{escape(s.who)}</td>'
            f"<td><code>{escape(s.label)}</code></td>"
            f"<td>{'<br>'.join(escape(e.text) for e in s.events)}</td>"
            f"<td>{'<br>'.join(escape(c) for c in s.changed)}</td>"
            f'<td class="ghost">{ghosts}</td></tr>'
        )
    return head + "".join(rows) + "</tbody></table>"


def write_pictures(tl: Timeline, stem: Path) -> tuple[Path, Path]:
    """``STEM.html`` and ``STEM.md`` for ``tl``; their paths."""
    html_path = stem.with_name(stem.name + ".html")
    md_path = stem.with_name(stem.name + ".md")
    html_path.write_text(html_page(tl), encoding="utf-8")
    md_path.write_text(markdown_report(tl), encoding="utf-8")
    return html_path, md_path
