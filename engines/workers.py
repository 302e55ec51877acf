"""Run engine tasks in worker processes that report progress and never outlive the run.

``concurrent.futures.ProcessPoolExecutor`` waits for running tasks when it is
shut down, so an interrupted verify either hung until the proofs ended or, on
SIGTERM, left its workers running. Here each task is one forked process; the
parent reads one queue for progress events (:mod:`engines.progress`), results
and errors, and whatever ends the wait (a result for every task, an
exception, an interrupt, a stop requested by a listener) ends with every
worker terminated and joined.

Workers are forked, so a variant loaded from a file (``--load``) is there
without pickling; they ignore SIGINT (a Ctrl-C on the terminal goes to the
whole process group: the parent decides) and die on SIGTERM.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any

from engines import progress

Task = tuple[Callable[..., Any], tuple[Any, ...]]

POLL_SECONDS = 0.25
"""How often the parent looks for a worker that died without a word."""

JOIN_SECONDS = 5.0
"""How long a terminated worker gets to exit before it is killed."""


class TimeLimit(Exception):
    """The deadline passed before every task had its result; the workers were stopped."""


class WorkerError(RuntimeError):
    """A task raised (the message holds its traceback) or its process died."""


def _child(index: int, fn: Callable[..., Any], args: tuple[Any, ...], out: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with progress.listening(lambda event: out.put(("event", index, event))):
        try:
            out.put(("result", index, fn(*args)))
        except BaseException:
            out.put(("error", index, traceback.format_exc()))


def _stop(procs: Sequence[BaseProcess]) -> None:
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(JOIN_SECONDS)
        if p.is_alive():
            p.kill()
            p.join()


def run_all(
    tasks: Sequence[Task],
    listener: progress.Listener | None = None,
    deadline: float | None = None,
) -> list[Any]:
    """Each task's result, in order; the workers' events go to ``listener`` meanwhile.

    An exception from ``listener`` (or a KeyboardInterrupt) ends the wait: the
    workers are terminated and the exception propagates. So does
    :class:`TimeLimit` once ``time.monotonic()`` passes ``deadline``.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        # No fork (Windows): run in this process, in order.
        with progress.listening(listener):
            return [fn(*args) for fn, args in tasks]
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_child, args=(k, fn, args, out), daemon=True)
        for k, (fn, args) in enumerate(tasks)
    ]
    try:
        for p in procs:
            p.start()
        results: dict[int, Any] = {}
        silent: set[int] = set()
        while len(results) < len(tasks):
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeLimit()
            try:
                kind, index, payload = out.get(timeout=POLL_SECONDS)
            except queue.Empty:
                # A worker seen ended at two polls in a row with no result never sent one.
                ended = {
                    k for k, p in enumerate(procs) if k not in results and p.exitcode is not None
                }
                for k in ended & silent:
                    raise WorkerError(
                        f"verify: worker {k} ended with exit code {procs[k].exitcode} and no result"
                    ) from None
                silent = ended
                continue
            if kind == "event":
                if listener is not None:
                    listener(payload)
            elif kind == "result":
                results[index] = payload
            else:
                raise WorkerError(f"verify: worker {index} failed:\n{payload}")
        return [results[k] for k in range(len(tasks))]
    finally:
        _stop(procs)
        out.close()
        out.join_thread()
