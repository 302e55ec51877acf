"""``verify --junit FILE``: the report as JUnit XML, for CI systems that show test results.

One test case per catalogue entry checked (classname the variant, name the
entry id). A verdict that is not as expected is a ``<failure>`` whose text is
the entry's note and, if it has a trace, the step table as plain text; an
entry not checked or not applicable is ``<skipped>``.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console

from engines.verdicts import Report, Verdict
from gilcheck.report import step_table, verdict_text

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


def write_junit(report: Report, path: Path) -> None:
    tree = junit_tree(report)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
