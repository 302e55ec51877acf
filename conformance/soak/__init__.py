"""Free-running load on ``impl``, its event log checked against the model.

K host threads each play one ``ThreadState`` (thread 0 is impl's main thread;
the host's main thread plays none: it only receives the real signals, whose
host handler trips impl's, and checks the log). Each runs a real eval-loop
program (:func:`impl.run`) whose check points are a ``RESUME``, a C ``CALL``
and a ``JUMP_BACKWARD``; the C call takes one random step:

* nothing (the check point after it still acts on whatever bits are set);
* an allow-threads section (``Py_BEGIN_ALLOW_THREADS``), in which the thread
  may add pending calls from C and send a signal;
* add pending calls to either queue, one or two, or a burst that can fill a
  queue (refused adds);
* post an asynchronous exception to any thread;
* send SIGUSR1 or SIGUSR2 with ``os.kill`` or ``signal.pthread_kill``;
* some host work, so that waiters time out and ask for the GIL.

The pending calls record themselves, and some fail, add another call, release
the GIL, post an asynchronous exception, or run a small program of their own
(a check point nested in the drain: the model's level-1 pass). Signal handlers
record and sometimes raise; they never reach a check point of their own, as the
model requires of handlers that may run in a nested pass.

The log (a :class:`conformance.tracecheck.Recorder`) is checked in batches by
the host's main thread. While the load runs, the host's main thread only
watches; when :attr:`LoadSpec.backlog` events wait (or the time is up) a gate
closes, each thread parks, detached, in an allow-threads section at its next
step, and the checker checks every event recorded; then the gate opens again. So the run is
a sequence of free-running bursts, each with the host to itself, and the log
of all of them is one behaviour. At the end every thread detaches and the
model's final state is compared with impl's snapshot.

Modules: :mod:`.spec` (:class:`LoadSpec`, the counts, the signals and the
exceptions raised on purpose), :mod:`.traffic` (what the threads do),
:mod:`.gate` (the pause for the checker) and :mod:`.load` (:class:`Load`, the
run). The command, ``gilcheck soak``, is :mod:`gilcheck.soak`.
"""

from conformance.soak.gate import Gate
from conformance.soak.load import Load, Stalled
from conformance.soak.spec import (
    MAX_INTERVAL,
    MAX_SECONDS,
    MAX_THREADS,
    MIN_INTERVAL,
    SIGNALS,
    AsyncPoke,
    CallbackFailure,
    HandlerFailure,
    LoadCounts,
    LoadSpec,
)
from conformance.soak.traffic import Traffic

__all__ = [
    "MAX_INTERVAL",
    "MAX_SECONDS",
    "MAX_THREADS",
    "MIN_INTERVAL",
    "SIGNALS",
    "AsyncPoke",
    "CallbackFailure",
    "Gate",
    "HandlerFailure",
    "Load",
    "LoadCounts",
    "LoadSpec",
    "Stalled",
    "Traffic",
]
