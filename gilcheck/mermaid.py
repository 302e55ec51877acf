"""A counterexample as Markdown: a Mermaid sequence diagram and a step table.

GitHub renders a fenced ```` ```mermaid ```` block in a pull request, an issue or a
file. The participants are the threads (``T0`` is ``thread 0 (main)``), the
``GIL``, the pending-call ``queues`` and, when the trace has any, the
``signals``. Each event of a step (:mod:`gilcheck.timeline`) is one message or
note, numbered by its step; a lasso's repeating steps sit in a ``loop`` block
whose label says where the loop starts.

Mermaid reads ``;`` as the end of a statement, ``#`` as the start of an
entity code and ``%%`` as a comment, so message text keeps letters, digits,
spaces and a few safe marks, and every other character becomes its entity
code (``#59;`` for ``;``), which Mermaid renders as the character.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from gilcheck.timeline import (
    GIL,
    PENDING_ADD,
    PENDING_REFUSED,
    PENDING_RUN,
    SIGNAL,
    WAIT,
    Event,
    Step,
    Timeline,
    thread_name,
)

_SAFE: Final = re.compile(r"[A-Za-z0-9 _.,()\[\]'=+/-]")


def text(raw: str) -> str:
    """``raw`` as Mermaid message text: unsafe characters as entity codes (``#59;``)."""
    return "".join(c if _SAFE.fullmatch(c) else f"#{ord(c)};" for c in raw)


def _who(thread: int | None) -> str:
    return "signals" if thread is None else f"T{thread}"


def sequence_diagram(tl: Timeline) -> str:
    """The ``sequenceDiagram`` source (without the fence)."""
    env = any(e.thread is None for s in tl.steps for e in s.events)
    lines = ["sequenceDiagram"]
    lines += [f"    participant T{t} as {text(thread_name(t))}" for t in range(tl.threads)]
    lines.append("    participant GIL")
    lines.append("    participant queues as pending queues")
    if tl.signals or env:
        lines.append("    participant signals")
    for step in tl.steps:
        if tl.loop is not None and step.index == tl.loop + 1:
            lines.append(f"    loop {text(tl.loop_text().removeprefix('loop '))}")
        indent = "        " if tl.loop is not None and step.index > tl.loop else "    "
        lines += [indent + line for line in _messages(step)]
    if tl.loop is not None:
        lines.append("    end")
    return "\n".join(lines)


def _messages(step: Step) -> Iterator[str]:
    for e in step.events:
        yield _message(step, e)


def _message(step: Step, e: Event) -> str:
    """One event as one Mermaid statement."""
    who = _who(e.thread)
    say = text(f"{step.index}. {e.text}")
    if e.kind == GIL:
        return f"{who}->>GIL: {say}"
    if e.kind == WAIT:
        return f"{who}-->>GIL: {say}"
    if e.thread is not None and e.target is not None and e.target != e.thread:
        return f"{who}-){_who(e.target)}: {say}"
    if e.kind == PENDING_ADD and e.target is None:
        return f"{who}->>queues: {say}"
    if e.kind == PENDING_RUN:
        return f"queues->>{who}: {say}"
    if e.kind == PENDING_REFUSED:
        return f"{who}-xqueues: {say}"
    if e.kind == SIGNAL and e.thread is None:
        return f"Note over signals: {say}"
    return f"Note over {who}: {say}"


def _cell(raw: str) -> str:
    """Text for a Markdown table cell: no pipe, no newline, code spans kept literal."""
    return raw.replace("|", "\\|").replace("\n", " ")


def markdown_report(tl: Timeline) -> str:
    """The whole report: title, what it is about, the diagram, the step table."""
    out = [f"# {_cell(tl.title)}", "", f"{_cell(tl.about)}: {tl.n_steps} steps, "]
    out[-1] += f"{tl.threads} threads."
    if tl.loop is not None:
        out += ["", f"**{tl.loop_text()}**"]
    out += ["", "```mermaid", sequence_diagram(tl), "```", ""]
    out.append("| step | thread | action | what happened | changed | ghost (not in CPython) |")
    out.append("|---:|---|---|---|---|---|")
    for s in tl.steps:
        ghosts = "<br>".join(f"*ghost* `{_cell(g)}`" for g in s.ghosts)
        mark = " (loop)" if tl.loop is not None and s.index > tl.loop else ""
        out.append(
            f"| {s.index}{mark} | {s.who} | `{_cell(s.label)}` | "
            f"{'<br>'.join(_cell(e.text) for e in s.events)} | "
            f"{'<br>'.join(f'`{_cell(c)}`' for c in s.changed)} | {ghosts} |"
        )
    return "\n".join(out) + "\n"
