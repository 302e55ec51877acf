"""``--junit FILE``: results as JUnit XML, for CI systems that show test results.

``verify``: one test case per catalogue entry checked (classname the variant,
name the entry id). A verdict that is not as expected is a ``<failure>`` whose
text is the entry's note and, if it has a trace, the step table as plain text;
an entry not checked or not applicable is ``<skipped>``.

``mutants``: one test case per row of the kill matrix (classname ``mutants``,
name the row). A row that fails is a ``<failure>``; an incomplete control is
``<skipped>``; every cell's sentence is the case's ``<system-out>``.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from engines.verdicts import Report, Verdict
from gilcheck.report import step_table, verdict_text

if TYPE_CHECKING:  # verify should not import the conformance layer the matrix needs
    from engines.kill import Cell
    from gilcheck.matrix import Row

SKIPPED = ("unchecked", "inapplicable")


def _plain_table(v: Verdict) -> str:
    assert v.trace is not None
    buf = io.StringIO()
    # No terminal and no colour: the CI shows the text as it is.
    console = Console(file=buf, width=200, color_system=None, force_terminal=False)
    console.print(step_table(v.trace, f"{v.id}: {verdict_text(v)}"))
    return buf.getvalue()


def is_failure(v: Verdict) -> bool:
    return not v.as_expected and v.status not in SKIPPED


def junit_tree(report: Report) -> ET.ElementTree[ET.Element]:
    failures = sum(is_failure(v) for v in report.verdicts)
    skipped = sum(v.status in SKIPPED for v in report.verdicts)
    counts = {
        "tests": str(len(report.verdicts)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
        "time": f"{report.seconds:.3f}",
    }
    root = ET.Element("testsuites", counts)
    suite = ET.SubElement(
        root, "testsuite", {"name": f"gilcheck verify {report.variant}", **counts}
    )
    for v in report.verdicts:
        case = ET.SubElement(
            suite, "testcase", classname=report.variant, name=v.id, time=f"{v.seconds:.3f}"
        )
        if v.shared:
            # The time is a search's that settled several cases: said so, not summed as own.
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="seconds_shared", value="true")
        if v.status in SKIPPED:
            ET.SubElement(case, "skipped", message=verdict_text(v)).text = v.note or None
        elif is_failure(v):
            text = v.note + ("\n\n" + _plain_table(v) if v.trace is not None else "")
            failure = ET.SubElement(
                case, "failure", message=f"{verdict_text(v)}, expected {v.expected}", type=v.status
            )
            failure.text = text or None
    if report.ended:
        ET.SubElement(suite, "system-out").text = report.ended
    return ET.ElementTree(root)


def matrix_tree(results: Sequence[tuple[Row, str, Sequence[Cell]]]) -> ET.ElementTree[ET.Element]:
    from gilcheck.matrix import cell_text

    failures = sum(v == "FAIL" for _, v, _ in results)
    skipped = sum(v == "incomplete" for _, v, _ in results)
    seconds = sum(c.seconds for _, _, cells in results for c in cells)
    counts = {
        "tests": str(len(results)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
        "time": f"{seconds:.3f}",
    }
    root = ET.Element("testsuites", counts)
    suite = ET.SubElement(root, "testsuite", {"name": "gilcheck mutants", **counts})
    for r, v, cells in results:
        took = sum(c.seconds for c in cells)
        case = ET.SubElement(
            suite, "testcase", classname="mutants", name=r.name, time=f"{took:.3f}"
        )
        lines = "\n".join(f"{c.engine}: {cell_text(c, r.refuted_by)}" for c in cells)
        if v == "FAIL":
            what = "the control is wrong" if r.control else "no engine kills it"
            ET.SubElement(case, "failure", message=f"{what} (expected: {r.expected})",
                          type="survived").text = lines  # fmt: skip
        elif v == "incomplete":
            ET.SubElement(case, "skipped", message="no model engine finished the control")
        ET.SubElement(case, "system-out").text = lines or None
    return ET.ElementTree(root)


def write_junit(report: Report, path: Path) -> None:
    write_tree(junit_tree(report), path)


def write_tree(tree: ET.ElementTree[ET.Element], path: Path) -> None:
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written, checked before a run; None if it can."""
    # Opened for appending, so an existing file is not truncated before the run ends.
    try:
        existed = path.exists()
        with path.open("a", encoding="utf-8"):
            pass
        if not existed:
            path.unlink()
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None
