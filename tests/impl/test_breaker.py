"""The eval-breaker word: bit values, accessors, bad input, atomicity."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from conformance.support import join_thread
from impl import EVENTS_BITS, EVENTS_MASK, Bit, Breaker


def test_bit_values_equal_pycore_ceval_h() -> None:
    # Include/internal/pycore_ceval.h (CPython 3.13; JIT_INVALIDATE_COLD from main).
    assert {b.name: b.value for b in Bit} == {
        "GIL_DROP_REQUEST": 0x01,
        "SIGNALS_PENDING": 0x02,
        "CALLS_TO_DO": 0x04,
        "ASYNC_EXCEPTION": 0x08,
        "GC_SCHEDULED": 0x10,
        "EVAL_PLEASE_STOP": 0x20,
        "EXPLICIT_MERGE": 0x40,
        "JIT_INVALIDATE_COLD": 0x80,
    }
    assert EVENTS_BITS == 8
    assert EVENTS_MASK == 0xFF


def test_set_clear_load_is_set() -> None:
    b = Breaker()
    assert b.load() == 0
    b.set(Bit.CALLS_TO_DO | Bit.GIL_DROP_REQUEST)
    assert b.load() == 0x05
    assert b.is_set(Bit.CALLS_TO_DO)
    assert not b.is_set(Bit.SIGNALS_PENDING)
    b.set(Bit.CALLS_TO_DO)  # a flag, not a counter
    b.clear(Bit.CALLS_TO_DO)
    assert b.load() == Bit.GIL_DROP_REQUEST
    b.clear(Bit.SIGNALS_PENDING)  # clearing an unset bit changes nothing
    assert b.load() == Bit.GIL_DROP_REQUEST


def test_version_is_kept_by_set_and_clear() -> None:
    b = Breaker()
    b.set(Bit.ASYNC_EXCEPTION)
    b.set_version(3 * 256)
    assert b.load() == 0x300 | 0x08
    assert b.version == 0x300
    b.set(Bit.GC_SCHEDULED)
    b.clear(Bit.ASYNC_EXCEPTION)
    assert b.load() == 0x300 | 0x10
    b.set_version(0)
    assert b.load() == 0x10


@pytest.mark.parametrize(
    ("method", "arg", "exc_type", "message"),
    [
        ("set", 0x100, ValueError, r"^Breaker\.set: bits 0x100 are outside the event mask 0xff$"),
        ("set", -1, ValueError, r"^Breaker\.set: bits -0x1 are outside the event mask 0xff$"),
        ("set", "1", TypeError, r"^Breaker\.set: bits must be an int, not str$"),
        ("set", True, TypeError, r"^Breaker\.set: bits must be an int, not bool$"),
        ("set", 1.0, TypeError, r"^Breaker\.set: bits must be an int, not float$"),
        (
            "clear",
            0x101,
            ValueError,
            r"^Breaker\.clear: bits 0x101 are outside the event mask 0xff$",
        ),
        ("clear", None, TypeError, r"^Breaker\.clear: bits must be an int, not NoneType$"),
        ("is_set", 0x200, ValueError, r"^Breaker\.is_set: bits 0x200 are outside the event mask"),
        ("is_set", "x", TypeError, r"^Breaker\.is_set: bits must be an int, not str$"),
        ("set_version", 0x101, ValueError, r"^Breaker\.set_version: version 0x101 is not a non-"),
        ("set_version", -256, ValueError, r"^Breaker\.set_version: version -0x100 is not a non-"),
        (
            "set_version",
            1.5,
            TypeError,
            r"^Breaker\.set_version: version must be an int, not float$",
        ),
    ],
)
def test_bad_input_raises_and_changes_nothing(
    method: str, arg: object, exc_type: type[Exception], message: str
) -> None:
    b = Breaker()
    b.set(Bit.CALLS_TO_DO)
    b.set_version(0x200)
    with pytest.raises(exc_type, match=message):
        getattr(b, method)(arg)
    assert b.load() == 0x200 | Bit.CALLS_TO_DO


@pytest.fixture
def tiny_host_switch_interval() -> Iterator[None]:
    """Make the host switch threads as often as it can, to expose lost updates."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


@pytest.mark.usefixtures("tiny_host_switch_interval")
def test_concurrent_set_clear_loses_no_bit() -> None:
    """Each thread owns one bit and toggles it; no other thread's write may undo it.

    A non-atomic read-modify-write would sooner or later write back a stale word
    and lose (or resurrect) another thread's bit. On a host with a GIL that only
    happens if the read-modify-write contains a host check point (a call); on a
    free-threaded host any unlocked read-modify-write can fail here.
    """
    b = Breaker()
    b.set_version(0x7700)
    rounds = 5000
    bits = [1 << i for i in range(EVENTS_BITS)]
    start = threading.Barrier(len(bits))
    failures: list[str] = []

    def toggle(bit: int) -> None:
        start.wait()
        for n in range(rounds):
            b.set(bit)
            if not b.is_set(bit):
                failures.append(f"bit {bit:#x} lost after set in round {n}")
                return
            b.clear(bit)
            if b.is_set(bit):
                failures.append(f"bit {bit:#x} came back after clear in round {n}")
                return

    threads = [threading.Thread(target=toggle, args=(bit,)) for bit in bits]
    for t in threads:
        t.start()
    for t in threads:
        join_thread(t)
    assert failures == []
    assert b.load() == 0x7700
