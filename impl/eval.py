"""A small eval loop with CPython 3.13's eval-breaker check points.

Code objects are tuples of a few instructions. The check points are those of
Python/bytecodes.c and Include/internal/pycore_opcode_metadata.h (CPython
3.13), where the check is ``if (eval_breaker & _PY_EVAL_EVENTS_MASK)
_Py_HandlePending(tstate)``:

==============================  ==================================================
instruction                     check point
==============================  ==================================================
``RESUME oparg``                yes iff ``oparg & 3 < 2`` (function start 0, after
                                ``yield`` 1; not after ``yield from`` 2 / ``await`` 3)
``JUMP_BACKWARD``               yes, each time the jump is taken
``JUMP_BACKWARD_NO_INTERRUPT``  never
``CALL_C``                      yes, *after* the C callee returns (``_CHECK_PERIODIC``);
                                if the check raises, the result is discarded and
                                the exception appears at this CALL
``CALL_PY``                     no (the callee's ``RESUME`` checks)
``WORK``, ``RETURN``            no
==============================  ==================================================

Loops: a jump's ``while_`` predicate stands for the loop's exit test. When it
returns true the jump is taken (and a ``JUMP_BACKWARD`` checks); when false the
jump falls through without a check, as a ``POP_JUMP_IF_FALSE`` out of the loop
would.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable
from dataclasses import dataclass

from impl.errors import GilProtocolError
from impl.thread import ThreadState, check_tstate
from impl.trace import TraceEvent


class Op(enum.IntEnum):
    """The instructions of the mini eval loop."""

    RESUME = 0
    WORK = 1
    CALL_C = 2
    CALL_PY = 3
    JUMP_BACKWARD = 4
    JUMP_BACKWARD_NO_INTERRUPT = 5
    RETURN = 6


RESUME_OPARG_LOCATION_MASK: typing.Final = 0x3
"""From Include/internal/pycore_opcode_utils.h (CPython 3.13)."""
RESUME_AFTER_YIELD_FROM: typing.Final = 2


def _always() -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Instr:
    """One instruction. Build them with the class methods."""

    op: Op
    arg: int = 0
    """RESUME: the oparg. Jumps: the target index."""
    fn: Callable[[], object] | None = None
    """WORK and CALL_C: the body or callee. Jumps: the ``while_`` predicate."""
    code: Code | None = None
    """CALL_PY: the callee."""

    @classmethod
    def resume(cls, oparg: int = 0) -> Instr:
        """``RESUME oparg``: 0 function start, 1 after yield, 2 after yield from, 3 after await."""
        return cls(Op.RESUME, oparg)

    @classmethod
    def work(cls, fn: Callable[[], object] | None = None) -> Instr:
        """An instruction that does work (``fn()``, if given) and never checks."""
        return cls(Op.WORK, fn=fn)

    @classmethod
    def call_c(cls, fn: Callable[[], object]) -> Instr:
        """``CALL`` of a C function: ``fn()``, then a check point."""
        return cls(Op.CALL_C, fn=fn)

    @classmethod
    def call_py(cls, code: Code) -> Instr:
        """``CALL`` of a Python function: run ``code`` in a new frame, no check here."""
        return cls(Op.CALL_PY, code=code)

    @classmethod
    def jump_backward(cls, target: int, while_: Callable[[], bool] = _always) -> Instr:
        """``JUMP_BACKWARD`` to ``target`` while ``while_()`` (a check point when taken)."""
        return cls(Op.JUMP_BACKWARD, target, fn=while_)

    @classmethod
    def jump_backward_no_interrupt(cls, target: int, while_: Callable[[], bool] = _always) -> Instr:
        """``JUMP_BACKWARD_NO_INTERRUPT`` to ``target`` while ``while_()`` (never checks)."""
        return cls(Op.JUMP_BACKWARD_NO_INTERRUPT, target, fn=while_)

    @classmethod
    def ret(cls) -> Instr:
        """``RETURN_VALUE``: return the last call's result (or ``None``)."""
        return cls(Op.RETURN)


_Row = tuple[int, int, Callable[[], object] | None, "Code | None"]


@typing.final
class Code:
    """A named sequence of instructions ending in RETURN; jumps go backward."""

    __slots__ = ("_rows", "instrs", "name")

    def __init__(self, name: str, instrs: list[Instr] | tuple[Instr, ...]) -> None:
        instrs = tuple(instrs)
        if not instrs or instrs[-1].op is not Op.RETURN:
            raise ValueError(f"Code {name!r}: the last instruction must be RETURN")
        for pc, ins in enumerate(instrs):
            if ins.op in (Op.JUMP_BACKWARD, Op.JUMP_BACKWARD_NO_INTERRUPT) and not (
                0 <= ins.arg <= pc
            ):
                raise ValueError(
                    f"Code {name!r}: the jump at {pc} targets {ins.arg}, not an earlier instruction"
                )
            if ins.op in (Op.CALL_C, Op.JUMP_BACKWARD, Op.JUMP_BACKWARD_NO_INTERRUPT) and (
                ins.fn is None
            ):
                raise ValueError(f"Code {name!r}: the {ins.op.name} at {pc} has no callable")
            if ins.op is Op.CALL_PY and ins.code is None:
                raise ValueError(f"Code {name!r}: the CALL_PY at {pc} has no callee")
        self.name = name
        self.instrs = instrs
        self._rows: tuple[_Row, ...] = tuple((int(i.op), i.arg, i.fn, i.code) for i in instrs)

    @classmethod
    def loop(cls, name: str, body: Callable[[], object], while_: Callable[[], bool]) -> Code:
        """A CPU-bound loop: ``RESUME``, ``body()``, ``JUMP_BACKWARD`` while ``while_()``."""
        return cls(
            name, [Instr.resume(0), Instr.work(body), Instr.jump_backward(1, while_), Instr.ret()]
        )

    def __repr__(self) -> str:
        return f"<Code {self.name} ({len(self.instrs)} instructions)>"


_RESUME = int(Op.RESUME)
_WORK = int(Op.WORK)
_CALL_C = int(Op.CALL_C)
_CALL_PY = int(Op.CALL_PY)
_JUMP_BACKWARD = int(Op.JUMP_BACKWARD)
_JUMP_NO_INTERRUPT = int(Op.JUMP_BACKWARD_NO_INTERRUPT)


def run(ts: ThreadState, code: Code) -> object:
    """Run ``code`` on ``ts``, which must hold the GIL; return what RETURN returns.

    Mirrors ``_PyEval_EvalFrameDefault()`` in Python/ceval.c (CPython 3.13),
    reduced to the instructions above. An exception from a check point (a
    signal handler, a pending call, an asynchronous exception) propagates out
    of the instruction that checked.

    Raises:
        TypeError: ``"eval: tstate must be a ThreadState, not T"``.
        GilProtocolError: ``"eval: thread N does not hold the GIL"``.
    """
    check_tstate("eval", ts)
    if not ts.holds_gil:
        raise GilProtocolError(f"eval: thread {ts.id} does not hold the GIL")
    return _eval(ts, code)


def _check(ts: ThreadState, code: Code, pc: int) -> None:
    """The body of a check point that found an event bit set.

    The test itself, ``if (eval_breaker & _PY_EVAL_EVENTS_MASK)``, is inlined in
    :func:`_eval` as ``if breaker._events`` (the same value, see
    :mod:`impl.breaker`).
    """
    interp = ts.interp
    if interp._trace is not None:
        op = code.instrs[pc].op
        interp._trace(
            TraceEvent("eval.check_point", ts.id, {"code": code.name, "pc": pc, "op": op.name})
        )
    interp._handle_pending(ts)


def _eval(ts: ThreadState, code: Code) -> object:
    breaker = ts.breaker
    rows = code._rows
    pc = 0
    value: object = None
    while True:
        op, arg, fn, callee = rows[pc]
        if op == _WORK:
            if fn is not None:
                fn()
            pc += 1
        elif op == _JUMP_BACKWARD:
            if fn():  # type: ignore[misc]  # Code() guarantees a predicate
                if breaker._events:
                    _check(ts, code, pc)
                pc = arg
            else:
                pc += 1
        elif op == _CALL_C:
            result = fn()  # type: ignore[misc]  # Code() guarantees a callee
            if breaker._events:
                _check(ts, code, pc)
            value = result
            pc += 1
        elif op == _RESUME:
            if (arg & RESUME_OPARG_LOCATION_MASK) < RESUME_AFTER_YIELD_FROM and breaker._events:
                _check(ts, code, pc)
            pc += 1
        elif op == _CALL_PY:
            value = _eval(ts, callee)  # type: ignore[arg-type]  # Code() guarantees a callee
            pc += 1
        elif op == _JUMP_NO_INTERRUPT:
            pc = arg if fn() else pc + 1  # type: ignore[misc]  # Code() guarantees a predicate
        else:  # RETURN
            return value
