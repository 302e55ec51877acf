"""How verdicts and counterexamples are shown: a terminal report, JSON, files.

A counterexample is a step table in the manner of TLC and mypyvy: step,
thread, action, and only the variables that changed, with breaker words as
bit names, phases and stages by name, and queues as lists. Ghost variables
(ones CPython does not have) are shown apart, dimmed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from engines.induction import Cti
from engines.reachable import options
from engines.verdicts import Report, Verdict
from gilcheck.changes import changes, fmt_value
from gilcheck.itf import write_itf
from gilcheck.pictures import write_pictures
from gilcheck.timeline import describe
from model.config import Config
from model.trace import ConcreteState, Trace, leaves_with_paths


def step_table(trace: Trace, title: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("step", justify="right")
    table.add_column("thread")
    table.add_column("action")
    table.add_column("changed")
    for k, inst in enumerate(trace.steps):
        if k == trace.loop:
            table.add_row("", "", f"[bold]loop: steps {k + 1}..{len(trace)} repeat for ever[/]", "")
        real, ghost = changes(trace.states[k], trace.states[k + 1])
        text = ", ".join(real)
        if ghost:
            text += ("  " if text else "") + "[dim]" + ", ".join(ghost) + "[/dim]"
        table.add_row(
            str(k + 1),
            "env" if inst.actor is None else f"T{inst.actor}",
            inst.label,
            text or "(no change)",
        )
    if trace.loop == len(trace):
        table.add_row("", "", f"[bold]loop: state {len(trace)} stays for ever (stutters)[/]", "")
    return table


def verdict_text(v: Verdict) -> str:
    if v.status == "proved" and v.states is not None:
        return f"proved (exhaustive, {v.states:,} states)"
    if v.status == "proved":
        return f"proved (k={v.k})"
    if v.status == "violated":
        tail = " (expected)" if v.expected == "violated" else ""
        if v.trace is not None and v.trace.loop is not None:
            loop = len(v.trace) - v.trace.loop
            return f"violated: lasso {v.trace.loop}+{loop or 'stutter'}{tail}"
        return f"violated at depth {v.depth}{tail}"
    if v.status == "vacuous":
        return "vacuous"
    if v.status == "unchecked":
        return "not checked"
    if v.status == "inapplicable":
        return "not applicable"
    return f"bounded to {v.depth}"


SHARED_LEGEND = (
    "seconds marked shared: the time into one search that settled several rows at once, "
    "not the row's own"
)


def seconds_text(v: Verdict) -> str:
    """A row's seconds, marked when they are a search's shared with other rows."""
    return f"{v.seconds:.2f} shared" if v.shared else f"{v.seconds:.2f}"


def why_text(v: Verdict) -> str:
    """Why a row is what it is, for one not as expected, or a bound or "not applicable"
    (its note); "" for a row that needs no word."""
    if v.status == "proved" and v.expected == "violated":
        # The engines checked could not refute what CPython is documented to do.
        return "proved, but the catalogue documents a counterexample in CPython" + (
            f"; {v.note}" if v.note else ""
        )
    if v.status == "proved":
        return ""
    return v.note


def _style(v: Verdict) -> str:
    if v.as_expected:
        return "green" if v.status == "proved" else "yellow"
    return "red"


def render_header(
    variant: str, cfg: Config, engine: str, depth: int, max_k: int, console: Console
) -> None:
    """The run's first line: what is checked, printed before the engines start."""
    console.print(
        f"[bold]gilcheck verify[/bold]  variant={variant}  threads={cfg.threads}  "
        f"interp={cfg.interp_capacity}/{cfg.interp_loop}  "
        f"main={cfg.main_capacity}/{cfg.main_loop}  "
        f"signals={cfg.signals}  engine={engine}  depth={depth}  max-k={max_k}"
    )


def render_text(
    report: Report, console: Console, *, show_expected_traces: bool = False, header: bool = True
) -> None:
    if header:
        render_header(
            report.variant, report.config, report.engine, report.depth, report.max_k, console
        )
    table = Table(show_lines=False)
    for col, just in (
        ("id", "left"),
        ("kind", "left"),
        ("verdict", "left"),
        ("engine", "left"),
        ("seconds", "right"),
    ):
        # A verdict is read whole (a test greps it); the id gives way with an ellipsis.
        wrap = col not in ("verdict", "seconds")
        table.add_column(col, justify=just, no_wrap=not wrap)  # type: ignore[arg-type]
    for v in report.verdicts:
        kind = "lemma" if v.lemma else v.kind
        table.add_row(v.id, kind, f"[{_style(v)}]{verdict_text(v)}[/]", v.engine, seconds_text(v))
    console.print(table)
    if any(v.shared for v in report.verdicts):
        console.print(SHARED_LEGEND)
    for v in report.verdicts:
        if v.trace is not None and (not v.as_expected or show_expected_traces):
            console.print(step_table(v.trace, f"{v.id}: {verdict_text(v)}"))
            if v.note:
                console.print(f"  {v.note}")
        elif v.status == "violated" and v.note:
            console.print(f"[yellow]{v.id}[/]: {v.note}")
        if v.status in ("bounded", "vacuous", "inapplicable", "proved") and (why := why_text(v)):
            # Every row that is not as expected says why (exit 14 explains itself).
            console.print(f"[yellow]{v.id}[/]: {why}")
        if v.status == "bounded" and v.cti is not None:
            _render_cti(console, v.cti)
    if report.triggers_missing:
        for trig, ids in sorted(report.triggers_missing.items()):
            where = report.triggers_where.get(trig)
            console.print(
                f"[red]vacuity[/]: trigger {trig} not reached (needed by {', '.join(ids)})"
                + (f"; reached with {options(where)}" if where is not None else "")
            )
    if report.vacuity_gave_up:
        console.print(f"[yellow]vacuity[/]: undecided, z3 gave up: {report.vacuity_gave_up}")
        for trig, ids in sorted(report.triggers_undecided.items()):
            console.print(
                f"[yellow]vacuity[/]: trigger {trig} not reached before z3 gave up "
                f"(needed by {', '.join(ids)})"
            )
    if report.instances_dead:
        console.print(f"[red]vacuity[/]: never enabled: {', '.join(report.instances_dead)}")
    unchecked = [v.id for v in report.verdicts if v.status == "unchecked"]
    if unchecked:
        console.print(f"[yellow]{len(unchecked)} entries not checked[/]: {report.ended}")
    if report.ended:
        console.print(f"[red]vacuity guard: not completed ({report.ended})[/]")
    elif report.vacuity_checked:
        console.print(
            f"vacuity guard: {report.triggers_reached} triggers reached"
            + (
                f" ({report.triggers_inapplicable} not applicable here)"
                if report.triggers_inapplicable
                else ""
            )
            + "; "
            f"{report.instances_covered} transition instances seen enabled, "
            f"{report.instances_by_design} dead by design, "
            f"{len(report.instances_dead)} never enabled"
        )
    else:
        console.print("vacuity guard: skipped (--no-vacuity)")
    if report.explicit_summary:
        console.print(report.explicit_summary)
    if report.search:
        console.print(f"exhaustive search: {report.search['summary']}")
    for problem in report.disagreements:
        console.print(f"[red]engines disagree[/]: {problem}")
    counts: dict[str, int] = {}
    for v in report.verdicts:
        key = v.status + (" as expected" if v.status == "violated" and v.as_expected else "")
        counts[key] = counts.get(key, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    ended = f"; {report.ended}" if report.ended else ""
    console.print(f"{summary}; {report.seconds:.1f} s{ended}; exit {report.exit_code}")


def _render_cti(console: Console, cti: Cti) -> None:
    real, ghost = changes(cti.pre, cti.post)
    console.print(
        f"[red]{cti.pid}[/] is not inductive (k={cti.k}): step {cti.step.label} from a state "
        "satisfying every other property breaks it; it changes "
        f"{', '.join(real + ghost) or 'nothing'}"
    )
    pre = [
        f"{p}={fmt_value(p, v)}" for p, v, _ in leaves_with_paths(cti.pre) if v not in (0, False)
    ]
    console.print("  pre-state (non-zero variables): " + ", ".join(pre))


def _state_json(s: ConcreteState) -> Any:
    return dataclasses.asdict(s)


SCHEMA_VERSION = "1.3"
"""report.json's schema (specs/report.schema.json): the minor number grows when a field is
added, the major one when a field is removed, renamed or changes its meaning."""


def report_json(
    report: Report,
    traces: dict[str, str] | None = None,
    pictures: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The JSON report; ``traces`` maps an id to the ITF file written for it, ``pictures``
    to its ``{"html": path, "md": path}`` (:func:`write_outputs`)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "variant": report.variant,
        "config": dataclasses.asdict(report.config),
        "engine": report.engine,
        "depth": report.depth,
        "max_k": report.max_k,
        "exit_code": report.exit_code,
        "seconds": round(report.seconds, 3),
        "verdicts": [
            {
                "id": v.id,
                "kind": v.kind,
                "lemma": v.lemma,
                "expected": v.expected,
                "verdict": v.status,
                "as_expected": v.as_expected,
                "engine": v.engine,
                "seconds": round(v.seconds, 3),
                "seconds_shared": v.shared,
                "k": v.k,
                "depth": v.depth,
                "states": v.states,
                "note": v.note,
                "trace": [i.label for i in v.trace.steps] if v.trace is not None else None,
                "loop": v.trace.loop if v.trace is not None else None,
                "cti": None
                if v.cti is None
                else {
                    "k": v.cti.k,
                    "step": v.cti.step.label,
                    "pre": _state_json(v.cti.pre),
                    "post": _state_json(v.cti.post),
                },
            }
            for v in report.verdicts
        ],
        "vacuity": {
            "checked": report.vacuity_checked,
            "triggers_missing": report.triggers_missing,
            "triggers_undecided": report.triggers_undecided,
            "triggers_reached_with": {
                t: None if c is None else options(c) for t, c in report.triggers_where.items()
            },
            "gave_up": report.vacuity_gave_up,
            "instances_dead": report.instances_dead,
            "triggers_reached": report.triggers_reached,
            "instances_covered": report.instances_covered,
            "instances_dead_by_design": report.instances_by_design,
        },
        "explicit": report.explicit_summary,
        "search": report.search or None,
        "disagreements": report.disagreements,
        "ended": report.ended,
        "interrupted": report.interrupted,
        "traces": dict(traces or {}),
        "pictures": {pid: dict(p) for pid, p in (pictures or {}).items()},
    }


TRACE_FILES = (".itf.json", ".html", ".md")
"""What :func:`write_outputs` writes for a counterexample ``ID``: ``ID`` and each suffix."""


def stale_traces(out_dir: Path, ids: Iterable[str]) -> list[Path]:
    """The files ``ID.itf.json``, ``ID.html`` and ``ID.md`` in ``out_dir`` for the given ids:
    what an earlier run wrote."""
    return sorted(
        p
        for pid in set(ids)
        for suffix in TRACE_FILES
        if (p := out_dir / f"{pid}{suffix}").is_file()
    )


def written_index(written: Iterable[Path]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """From what :func:`write_outputs` wrote: id -> its ITF file, id -> its pictures."""
    traces: dict[str, str] = {}
    pictures: dict[str, dict[str, str]] = {}
    for p in written:
        if p.name.endswith(".itf.json"):
            traces[p.name.removesuffix(".itf.json")] = str(p)
        elif p.suffix in (".html", ".md"):
            pictures.setdefault(p.stem, {})[p.suffix[1:]] = str(p)
    return traces, pictures


def write_outputs(report: Report, out_dir: Path) -> list[Path]:
    """``report.json`` and, per counterexample, its ITF file and pictures, in ``out_dir``.

    The pictures of ``ID.itf.json`` are ``ID.html`` and ``ID.md``
    (:func:`gilcheck.pictures.write_pictures`).

    An earlier run's ITF file of an id this run checked is removed first, so
    that ``ID.itf.json`` is this run's counterexample for ID if it has one; the
    traces of ids this run did not check (an earlier run without ``--only``)
    are kept.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in stale_traces(out_dir, (v.id for v in report.verdicts)):
        stale.unlink()
    written = []
    for v in report.verdicts:
        if v.trace is not None:
            path = out_dir / f"{v.id}.itf.json"
            write_itf(
                path,
                v.trace,
                variant=report.variant,
                config=v.config or report.config,
                property_id=v.id,
                description=f"{v.id} {verdict_text(v)}",
                without=v.without,
            )
            written.append(path)
            tl = describe(
                v.trace,
                title=f"{v.id}: {verdict_text(v)}",
                variant=report.variant,
                config=v.config or report.config,
            )
            written.extend(write_pictures(tl, out_dir / v.id))
    traces, pictures = written_index(written)
    path = out_dir / "report.json"
    doc = report_json(report, traces, pictures)
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    written.append(path)
    return written
