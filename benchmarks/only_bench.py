"""Benchmark: ``verify --only ID`` costs no more than the full run it is part of.

Run from the repository root::

    python -m benchmarks.only_bench [--ids INV-TYPE-OK,LIVE-SIGNAL-HANDLED] [--bound 1.5]

Runs the real command as a user would, in a subprocess: once for the whole
catalogue, then once per id with ``--only ID``, all at the default
configuration with ``--no-vacuity`` (the guard is the same work in both). A
``--only`` run keeps the other entries as induction lemmas, so its time should
be at most about the full run's. Prints each ratio (``--only`` time / full
time) and exits 1 if one is above ``--bound``: a bound on the ratio, never on a
time, so the check does not depend on the machine's speed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

DEFAULT_IDS = ("INV-TYPE-OK", "INV-GIL-SINGLE-HOLDER", "LIVE-SIGNAL-HANDLED", "INV-NO-DEADLOCK")


def _run(argv: Sequence[str], out: Path) -> tuple[float, dict[str, str]]:
    """Wall time of one verify run, and its verdicts (id -> status)."""
    cmd = [sys.executable, "-m", "gilcheck", "verify", "--no-vacuity", "--out", str(out), *argv]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 14):
        raise SystemExit(f"only_bench: {' '.join(cmd)} exited {done.returncode}: {done.stderr}")
    report = json.loads((out / "report.json").read_text())
    return seconds, {v["id"]: v["verdict"] for v in report["verdicts"]}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--ids", default=",".join(DEFAULT_IDS))
    ap.add_argument("--bound", type=float, default=1.5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        full, verdicts = _run([], Path(tmp) / "full")
        print(f"full run: {full:.1f} s")
        worst = 0.0
        for pid in args.ids.split(","):
            only, mine = _run(["--only", pid], Path(tmp) / pid)
            ratio = only / full
            worst = max(worst, ratio)
            same = "same verdict" if mine.get(pid) == verdicts.get(pid) else "VERDICT DIFFERS"
            print(f"--only {pid}: {only:.1f} s, ratio {ratio:.2f}, {mine.get(pid)} ({same})")
            if mine.get(pid) != verdicts.get(pid):
                return 1
    print(f"worst ratio {worst:.2f} (bound {args.bound:g})")
    return 0 if worst <= args.bound else 1


if __name__ == "__main__":
    sys.exit(main())
