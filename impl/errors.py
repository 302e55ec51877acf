"""Exceptions raised by ``impl``.

``GilProtocolError`` is misuse of the protocol, where CPython would call
``Py_FatalError`` or deadlock; ``MustExit`` is ``PyThread_exit_thread()``;
``PendingFull`` is ``_Py_ADD_PENDING_FULL``.
"""

from __future__ import annotations

import typing


@typing.final
class GilProtocolError(RuntimeError):
    """A protocol operation was used in a state where CPython forbids it.

    The message starts with the operation and then states the violated
    condition in CPython's words, e.g. ``"drop_gil: GIL is not locked"``. The
    state is left unchanged.
    """


@typing.final
class MustExit(SystemExit):
    """The calling thread must stop: the interpreter is finalizing.

    Mirrors ``PyThread_exit_thread()`` as called from ``take_gil()`` in
    Python/ceval_gil.c (CPython 3.13) when ``_PyThreadState_MustExit()`` is
    true. It subclasses :class:`SystemExit` because that is what
    ``_thread.exit()`` raises and what ``threading.excepthook`` ignores, so a
    worker thread that lets it propagate ends quietly, as the OS thread does in
    CPython.

    Deviates: CPython's thread stops at once, without unwinding; here the
    exception unwinds the calling thread's stack (``finally`` blocks run).
    """


@typing.final
class PendingFull(Exception):
    """A pending-call queue refused a call because it holds ``max`` calls.

    Mirrors ``_Py_ADD_PENDING_FULL`` from ``_push_pending_call()`` in
    Python/ceval_gil.c (CPython 3.13). Nothing was added.
    """
