"""Deliberately broken variants for the liveness-under-fairness engines.

Each one breaks one progress mechanism of :class:`~model.protocol.Cpython313`
that a temporal entry relies on, without breaking the finite quotient
(:mod:`model.quotient`): a fair lasso must exist, and both the explicit
engine and the z3 lasso BMC must find one (tests/model/test_fair_agreement.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from model.actions import Effect
from model.phases import Stage
from model.protocol import Cpython313
from model.state import State

S = State[Any, Any]


class WakeNeverAsks(Cpython313[Any, Any]):
    """A timed-out ``take_gil`` wait never sets the drop request: the holder is
    never asked to let a waiter in (breaks LIVE-FAIR-WAITER-ACQUIRES-TWO)."""

    def take_gil_wake(self, s: S, t: int, timed_out: bool) -> Effect:
        post = yield from super().take_gil_wake(s, t, False)
        return post


class DropKeepsGil(Cpython313[Any, Any]):
    """``handle_drop_request`` goes on with the pass without releasing the GIL
    (breaks LIVE-FAIR-DROP-REQUEST-HONOURED)."""

    def handle_drop_request(self, s: S, t: int, level: int) -> Effect:
        yield from super().handle_drop_request(s, t, level)
        return self.advance(s, t, level, Stage.DROP)


class DrainNeverPops(Cpython313[Any, Any]):
    """The pending-call drain goes on to the callback without popping the call: it
    never starts (breaks LIVE-FAIR-PENDING-CALL-RUNS-DETACHING)."""

    def pop_pending_call(self, s: S, t: int, level: int, q: int) -> Effect:
        post = yield from super().pop_pending_call(s, t, level, q)
        return self.with_queue(post, q, self.queue(s, q))


class ScanNeverHandles(Cpython313[Any, Any]):
    """The signal scan calls the handler but leaves the signal tripped
    (breaks LIVE-FAIR-SIGNAL-HANDLED)."""

    def call_signal_handler(self, s: S, t: int, level: int, sig: int) -> Effect:
        post = yield from super().call_signal_handler(s, t, level, sig)
        return dataclasses.replace(post, tripped=s.tripped)
