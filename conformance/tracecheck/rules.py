"""The event table: each impl event name to the rule that checks it.

:data:`RULES` maps an event name to the model steps it may be, and to the
checks its fields impose on the step (the rules are in :mod:`.gil_rules`,
:mod:`.pass_rules` and :mod:`.request_rules`). A few events are
*confirmations* (:func:`r_confirm` and its stricter kin): they follow a step
already taken in the same critical section and only check fields.
"""

from __future__ import annotations

from typing import Final

from conformance.tracecheck.gil_rules import (
    r_drop_gil,
    r_drop_request_set,
    r_finalize,
    r_must_exit,
    r_switch_wait,
    r_switch_wake,
    r_take_gil_acquire,
    r_take_gil_wait,
    r_take_gil_wake,
)
from conformance.tracecheck.pass_rules import (
    r_async_none,
    r_async_raise,
    r_busy,
    r_callback,
    r_end,
    r_handle_pending,
    r_handle_signals,
    r_handler_raise,
    r_loop_end,
    r_pop,
    r_resignal,
    r_signal_handler,
)
from conformance.tracecheck.request_rules import r_async_set, r_push, r_signal, r_tripped
from conformance.tracecheck.rulebase import ConcreteState, Ctx, Rule, one, pass_step


def r_confirm(c: Ctx, s: ConcreteState) -> list[tuple[str, ConcreteState]]:
    return one("(confirmation)", s)


ENVIRONMENT: Final = frozenset({"signal.tripped"})
"""Events with no acting thread."""

WAKE_CLOSERS: Final = frozenset(
    {"take_gil.wait", "take_gil.acquire", "take_gil.must_exit", "drop_request.set"}
)
"""Events that take the step of a buffered ``take_gil.wake`` (see :mod:`.gil_rules`)."""

RULES: Final[dict[str, Rule]] = {
    "take_gil.wait": r_take_gil_wait,
    "take_gil.wake": r_take_gil_wake,
    "take_gil.acquire": r_take_gil_acquire,
    "take_gil.must_exit": r_must_exit,
    "drop_request.set": r_drop_request_set,
    "drop_request.reset": r_confirm,
    "drop_gil": r_drop_gil,
    "drop_gil.switch_wait": r_switch_wait,
    "drop_gil.switch_wake": r_switch_wake,
    "eval.check_point": r_confirm,
    "handle_pending": r_handle_pending,
    "handle_signals": r_handle_signals,
    "signal.handler": r_signal_handler,
    "signal.scan_done": pass_step("scan_done"),
    "signal.handler_raise": r_handler_raise,
    "signal.tripped": r_tripped,
    "make_pending_calls.start": pass_step("make_pending_calls"),
    "make_pending_calls.busy": r_busy,
    "make_pending_calls.pop": r_pop,
    "callback.return": r_callback(True),
    "callback.raise": r_callback(False),
    "make_pending_calls.loop_end": r_loop_end,
    "make_pending_calls.resignal": r_resignal,
    "make_pending_calls.end": r_end,
    "add_pending_call.push": r_push,
    "add_pending_call.signal": r_signal,
    "async_exc.set": r_async_set,
    "async_exc.raise": r_async_raise,
    "async_exc.none": r_async_none,
    "gc.run": pass_step("handle_gc"),
    "finalize": r_finalize,
}
