"""``--variant path/to/file.py:ClassName``: a variant from a file, not registered.

The README's five-line example (section "Writing a variant") is run as written,
and every way the spec can be wrong is one line on stderr with exit 150.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engines.verdicts import EXIT_BAD_CONFIG, EXIT_OK, EXIT_SAFETY
from gilcheck.replay import main as replay_main
from model.variants import VARIANTS
from tests.cli_helpers import ROOT, gilcheck, one_line


def _readme_file_example() -> tuple[str, str, list[str]]:
    """(file name, its text, the command's arguments) of the README's file-variant example."""
    section = (ROOT / "README.md").read_text().split("\n## Writing a variant\n", 1)[1]
    fence = r"((?:(?!```).)*)"  # a block's text: no fence inside
    pattern = rf"```python\n# (\S+\.py)\n{fence}```\n\n```\ngilcheck {fence}\n```"
    for name, text, command in re.findall(pattern, section, re.S):
        if f"--variant {name}:" in command:
            return name, text, command.split()
    raise AssertionError("README.md has no file-variant example (--variant FILE.py:Class)")


def test_readme_file_variant_runs_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, text, argv = _readme_file_example()
    text = f"# {name}\n{text}"
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 5, "the README promises five lines"
    (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = dict(VARIANTS)
    code, out, _ = gilcheck(capsys, *argv, "--no-parallel")
    assert code == EXIT_SAFETY, out
    assert "INV-QUEUE-BOUNDS" in out
    assert "violated" in out
    assert before == VARIANTS, "a variant from a file must not be registered"
    # The trace names the variant as given; replay resolves it the same way, and
    # gets as far as impl's own refusal of a configuration that is not CPython's.
    trace = tmp_path / "gilcheck-out" / "INV-QUEUE-BOUNDS.itf.json"
    assert argv[argv.index("--variant") + 1] in trace.read_text()
    capsys.readouterr()
    assert replay_main([str(trace)]) == EXIT_BAD_CONFIG
    assert "impl's queues are CPython's" in one_line(capsys.readouterr().err)


def test_replay_variant_overrides_the_traces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A faithful trace, read against a variant that refuses its steps, is not a behaviour."""
    monkeypatch.chdir(tmp_path)
    code, _, _ = gilcheck(capsys, "verify", "--only", "LIVE-FORCED-SWITCH-STRICT", "--no-parallel")
    assert code == EXIT_OK
    trace = tmp_path / "gilcheck-out" / "LIVE-FORCED-SWITCH-STRICT.itf.json"
    (tmp_path / "never.py").write_text(
        "from model.protocol import Cpython313\n"
        "class NoSwitchWake(Cpython313):\n"
        "    def switch_wake(self, s, t):\n"
        "        yield self.d.bool_(False)\n"
        "        return s\n",
        encoding="utf-8",
    )
    capsys.readouterr()
    assert replay_main([str(trace)]) == EXIT_OK
    capsys.readouterr()
    code = replay_main([str(trace), "--variant", "never.py:NoSwitchWake"])
    err = capsys.readouterr().err
    assert code == 152, err


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("mine.py:Nope", "cannot load mine.py:Nope: mine.py defines no Nope"),
        ("absent.py:X", "cannot load absent.py: FileNotFoundError: no such file 'absent.py'"),
        ("mine.py:1x", "cannot load mine.py:1x: '1x' is not a class name"),
        ("mine.py:helper", "cannot load mine.py:helper: helper is not a subclass of Cpython313"),
        ("broken.py:X", "cannot load broken.py: SyntaxError"),
    ],
)
def test_bad_file_variant_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spec: str,
    says: str,
) -> None:
    (tmp_path / "mine.py").write_text("def helper():\n    pass\n", encoding="utf-8")
    (tmp_path / "broken.py").write_text("class (:\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, err = gilcheck(capsys, "verify", "--variant", spec, "--only", "INV-TYPE-OK")
    assert code == EXIT_BAD_CONFIG
    assert out == ""
    line = one_line(err)
    assert line.startswith(f"gilcheck: verify: {says}"), line
    assert not (tmp_path / "gilcheck-out").exists(), "a refused run must leave no report"
