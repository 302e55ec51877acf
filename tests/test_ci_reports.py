"""``verify --junit`` and report.json's schema, as CI reads them.

The real command runs on the faithful model and on a mutant; report.json is
validated against specs/report.schema.json with ``jsonschema`` (and a broken
report is shown to fail it), and the JUnit file is parsed with ``junitparser``
and compared with the report's verdicts.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from junitparser import Failure, JUnitXml, Skipped

from engines.verdicts import EXIT_BAD_CONFIG, EXIT_SAFETY
from gilcheck.report import SCHEMA_VERSION
from tests.cli_helpers import (
    ROOT,
    SAFETY_MUTANT,
    gilcheck,
    mutant_argv,
    one_line,
    run_program,
    verify_argv,
    write_mutant_module,
)

SCHEMA = json.loads((ROOT / "specs" / "report.schema.json").read_text(encoding="utf-8"))
FAITHFUL_IDS = "INV-GIL-SINGLE-HOLDER,INV-NO-LOST-WAKEUP-STRICT"


def valid(report: dict[str, Any]) -> None:
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)


def read_report(out: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    valid(report)
    return report


def junit_results(path: Path, variant: str) -> dict[str, str]:
    """id -> "failure", "skipped" or "passed", from the JUnit file; checks its shape."""
    xml = JUnitXml.fromfile(str(path))
    results: dict[str, str] = {}
    for suite in xml:
        for case in suite:
            assert case.classname == variant
            kinds = {type(r) for r in case.result}
            assert len(kinds) <= 1, kinds
            results[case.name] = (
                "failure" if Failure in kinds else "skipped" if Skipped in kinds else "passed"
            )
    return results


def expected_results(report: dict[str, Any]) -> dict[str, str]:
    """id -> what the JUnit file must say, from the report's verdicts."""
    out = {}
    for v in report["verdicts"]:
        if v["verdict"] in ("unchecked", "inapplicable"):
            out[v["id"]] = "skipped"
        else:
            out[v["id"]] = "passed" if v["as_expected"] else "failure"
    return out


def test_faithful_model_report_is_valid_and_junit_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "junit.xml"
    argv = verify_argv("--only", FAITHFUL_IDS, "--junit", str(junit), out=tmp_path / "out")
    code, out, _ = gilcheck(capsys, *argv)
    report = read_report(tmp_path / "out")
    assert report["schema_version"] == SCHEMA_VERSION
    assert code == report["exit_code"], out
    assert [v["id"] for v in report["verdicts"]] == FAITHFUL_IDS.split(",")
    assert junit_results(junit, "cpython-3.13") == expected_results(report)
    xml = JUnitXml.fromfile(str(junit))
    assert xml.time == pytest.approx(report["seconds"], abs=0.001)
    (suite,) = list(xml)
    times = {c.name: c.time for c in suite}
    assert times == pytest.approx({v["id"]: v["seconds"] for v in report["verdicts"]}, abs=0.001)
    for pid, path in report["traces"].items():
        assert Path(path) == tmp_path / "out" / f"{pid}.itf.json"
        assert Path(path).is_file()
    assert set(report["pictures"]) == set(report["traces"])
    for pid, pictures in report["pictures"].items():
        assert pictures == {
            "html": str(tmp_path / "out" / f"{pid}.html"),
            "md": str(tmp_path / "out" / f"{pid}.md"),
        }
        assert all(Path(p).is_file() for p in pictures.values())


def test_mutant_violation_is_a_failure_with_the_plain_step_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = write_mutant_module(tmp_path)
    junit = tmp_path / "junit.xml"
    argv = mutant_argv(
        module, SAFETY_MUTANT, "INV-GIL-SINGLE-HOLDER", "--junit", str(junit), out=tmp_path
    )
    code, out, _ = gilcheck(capsys, *argv)
    assert code == EXIT_SAFETY, out
    report = read_report(tmp_path)
    trace = tmp_path / "INV-GIL-SINGLE-HOLDER.itf.json"
    assert report["traces"] == {"INV-GIL-SINGLE-HOLDER": str(trace)}
    html, md = tmp_path / "INV-GIL-SINGLE-HOLDER.html", tmp_path / "INV-GIL-SINGLE-HOLDER.md"
    assert report["pictures"] == {"INV-GIL-SINGLE-HOLDER": {"html": str(html), "md": str(md)}}
    assert 'data-thread="1"' in html.read_text(encoding="utf-8")
    assert "```mermaid\nsequenceDiagram\n" in md.read_text(encoding="utf-8")
    assert junit_results(junit, SAFETY_MUTANT) == {"INV-GIL-SINGLE-HOLDER": "failure"}
    (case,) = next(iter(JUnitXml.fromfile(str(junit))))
    (failure,) = case.result
    text = failure.text
    assert "┃ step ┃ thread ┃ action" in text, text
    assert "\x1b[" not in text, "colour codes in the JUnit text"
    steps = report["verdicts"][0]["trace"]
    assert all(label in text for label in steps)


def test_a_partial_run_still_writes_the_junit_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = write_mutant_module(tmp_path)
    junit = tmp_path / "junit.xml"
    argv = verify_argv(
        "--load", str(module), "--variant", SAFETY_MUTANT, "--stop-on-violation",
        "--junit", str(junit), out=tmp_path,
    )  # fmt: skip
    code, out, _ = gilcheck(capsys, *argv)
    assert code == EXIT_SAFETY, out
    report = read_report(tmp_path)
    assert report["ended"].startswith("stopped at the first violation")
    results = junit_results(junit, SAFETY_MUTANT)
    assert results == expected_results(report)
    assert "skipped" in results.values()
    assert "failure" in results.values()


@pytest.mark.parametrize(
    "break_it",
    [
        lambda r: r.pop("schema_version"),
        lambda r: r["verdicts"][0].update(verdict="maybe"),
        lambda r: r.update(traces={"X": 1}),
        lambda r: r.update(extra=True),
        lambda r: r.update(pictures={"X": {"html": "X.html"}}),
    ],
    ids=["missing-field", "wrong-status", "wrong-trace-path", "unknown-field", "no-md-picture"],
)
def test_a_broken_report_fails_the_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], break_it: Any
) -> None:
    gilcheck(capsys, *verify_argv("--only", "INV-GIL-SINGLE-HOLDER", out=tmp_path))
    report = read_report(tmp_path)
    broken = copy.deepcopy(report)
    break_it(broken)
    with pytest.raises(jsonschema.ValidationError):
        valid(broken)


def test_an_unwritable_junit_path_is_one_line_and_exit_150_before_any_work(
    tmp_path: Path,
) -> None:
    junit = tmp_path / "no-such-dir" / "junit.xml"
    proc = run_program(*verify_argv("--junit", str(junit), out=tmp_path / "out"))
    assert proc.returncode == EXIT_BAD_CONFIG, proc.stderr
    line = one_line(proc.stderr)
    assert line.startswith(f"gilcheck: verify: --junit {junit}: cannot write there"), line
    assert proc.stdout == "", "verify started"
    assert not (tmp_path / "out" / "report.json").exists()
