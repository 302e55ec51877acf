"""gh-88811 (bpo-44645): a tight loop whose backward jump is not a check point.

https://github.com/python/cpython/issues/88811 (a 3.10 release blocker, fixed
by PR #27167): "Under some trivial circumstances, GIL not released". Some of 3.10's
backward jumps did not test the eval breaker, so a loop that calls nothing
never reached a check point: it never
honoured a drop request (other threads starved) nor ran a signal handler
(Ctrl-C did nothing). The fix checks for interrupts on every potentially
backward edge, which is 3.13's ``JUMP_BACKWARD``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from model.passes import INSTRUCTIONS_313, Instruction
from model.protocol import Cpython313
from model.variants import register


class LoopWithoutCheckPoint(Cpython313[Any, Any]):
    """gh-88811: ``JUMP_BACKWARD`` does not test the eval breaker.

    Refuted by LIVE-FAIR-DROP-REQUEST-HONOURED-IN-LOOPS: a holder that loops
    for ever, taking only back edges, keeps the GIL while a drop request stays
    set. LIVE-FAIR-DROP-REQUEST-HONOURED, which assumes check points rather
    than loops, cannot tell: it takes the program to reach them.
    """

    refuted_by = "LIVE-FAIR-DROP-REQUEST-HONOURED-IN-LOOPS"

    INSTRUCTIONS: ClassVar[tuple[Instruction, ...]] = tuple(
        dataclasses.replace(i, checks=False, note="3.10 before PR #27167: no check")
        if i.name == "JUMP_BACKWARD"
        else i
        for i in INSTRUCTIONS_313
    )
    """3.13's instruction table with the loop back edge as no check point (CPython 3.10
    before PR #27167)."""


register("gh-88811", LoopWithoutCheckPoint)
