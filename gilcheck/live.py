"""What ``gilcheck verify`` shows while it runs: the phase, and each verdict as it is settled.

On a terminal the current phase is one line updated in place (rich ``Live``,
refreshed on each event only: no refresh thread, so none is running when the
engines fork their workers). Elsewhere (a pipe, a CI log) each new phase is
one plain line. Settled verdicts are printed as lines either way. With
``--format json`` all of this goes to stderr, so stdout holds only the JSON.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from engines.progress import Event, Phase, Settled


def settled_text(s: Settled) -> str:
    if s.status == "proved":
        what = "proved" + (f" (k={s.k})" if s.k is not None else "")
    elif s.trace is not None and s.trace.loop is not None:
        what = f"violated: a fair lasso of {len(s.trace)} steps"
    else:
        what = f"violated at depth {s.depth}"
    shared = " shared" if s.shared else ""
    return f"settled: {s.id} {what} ({s.engine}, {s.seconds:.2f} s{shared})"


def _kind(text: str) -> str:
    """A phase without its count: ``"z3 BMC ..., to depth 13: depth 3 done"`` -> the head."""
    head, sep, _ = text.partition(": depth ")
    return head if sep else text


class Progress:
    """A listener for :func:`engines.verify.verify`; use it as a context manager."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.start = time.perf_counter()
        self.settled = 0
        self._live: Live | None = None
        self._shown: set[str] = set()

    def __enter__(self) -> Progress:
        if self.console.is_terminal:
            self._live = Live(Text(""), console=self.console, auto_refresh=False, transient=True)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, Settled):
            self.settled += 1
            self.console.print(escape(settled_text(event)), highlight=False)
            return
        assert isinstance(event, Phase)
        elapsed = time.perf_counter() - self.start
        if self._live is not None:
            line = f"[{elapsed:6.1f} s] {event.text}  ({self.settled} settled)"
            self._live.update(Text(line, style="dim"), refresh=True)
        elif _kind(event.text) not in self._shown:
            # Not a terminal: one line per phase (two workers interleave theirs).
            self._shown.add(_kind(event.text))
            self.console.print(f"[{elapsed:6.1f} s] {escape(_kind(event.text))}", highlight=False)
