"""The eval-breaker word: bit values, accessors, bad input, atomicity; Bit's range."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Iterator

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


# -- Bit: only combinations of event bits ------------------------------------------------
def _bit_state() -> tuple[dict[str, Bit], list[int]]:
    """The observable state of the Bit class: its members and the values it has made."""
    return dict(Bit.__members__), sorted(Bit._value2member_map_)


@pytest.mark.parametrize("value", [1 << 8, 1 << 9, 0x1FF, 0x300 | 0x04, -1, -0x100])
def test_bit_refuses_a_value_outside_the_event_mask(value: int) -> None:
    Bit(0x05)  # a composite made beforehand stays
    before = _bit_state()
    message = f"Bit: {value} is not a combination of eval-breaker bits (the event mask is 0xff)"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$") as info:
        Bit(value)
    assert info.value.__context__ is None  # one line: no "During handling..." chain
    assert info.value.__cause__ is None
    assert _bit_state() == before
    assert value not in Bit._value2member_map_


def test_bit_refuses_a_non_int_with_the_same_error() -> None:
    before = _bit_state()
    with pytest.raises(ValueError, match=r"^Bit: 'x' is not a combination of eval-breaker bits"):
        Bit("x")  # type: ignore[arg-type]  # bad on purpose
    assert _bit_state() == before


def test_bit_accepts_every_combination_inside_the_mask() -> None:
    for value in range(EVENTS_MASK + 1):
        bit = Bit(value)
        assert type(bit) is Bit
        assert bit == value
    assert type(Bit(False)._value_) is int  # not False, though False == 0


W = 0x200  # a word with an instrumentation version and no event bit
C, G = Bit.CALLS_TO_DO, Bit.GC_SCHEDULED


OPERATIONS: list[tuple[str, Callable[[], int], int, type[int]]] = [
    ("W | C", lambda: W | C, 0x204, int),
    ("C | W", lambda: C | W, 0x204, int),
    ("C | -1", lambda: C | -1, -1, int),
    ("C | G", lambda: C | G, 0x14, Bit),
    ("1 | C", lambda: 1 | C, 0x05, Bit),
    ("W ^ C", lambda: W ^ C, 0x204, int),
    ("C ^ 0x300", lambda: C ^ 0x300, 0x304, int),
    ("C ^ G", lambda: C ^ G, 0x14, Bit),
    ("C ^ C", lambda: C ^ C, 0, Bit),
    ("0x204 & C", lambda: 0x204 & C, 0x04, Bit),
    ("C & 0x300", lambda: C & 0x300, 0, Bit),
    ("-1 & C", lambda: -1 & C, 0x04, Bit),
    ("~C", lambda: ~C, 0xFB, Bit),
    ("~Bit(0)", lambda: ~Bit(0), 0xFF, Bit),
    ("~Bit(0xff)", lambda: ~Bit(0xFF), 0, Bit),
    ("C + W", lambda: C + W, 0x204, int),
]


@pytest.mark.parametrize(
    ("expr", "got", "expected", "expected_type"),
    OPERATIONS,
    ids=[row[0] for row in OPERATIONS],
)
def test_bit_operators_give_a_bit_inside_the_mask_and_the_plain_word_outside(
    expr: str, got: Callable[[], int], expected: int, expected_type: type[int]
) -> None:
    before = _bit_state()
    result = got()
    assert result == expected
    assert type(result) is expected_type, expr
    assert (C.value, G.value) == (0x04, 0x10)  # the operands are untouched
    assert dict(Bit.__members__) == before[0]


def test_bit_operators_with_a_non_int_are_not_implemented() -> None:
    with pytest.raises(TypeError, match=r"unsupported operand type\(s\) for \|"):
        C | 1.0  # type: ignore[operator]  # bad on purpose
    with pytest.raises(TypeError, match=r"unsupported operand type\(s\) for \^"):
        "x" ^ C  # type: ignore[operator]  # bad on purpose


def test_a_word_with_version_bits_keeps_working_with_a_breaker() -> None:
    b = Breaker()
    b.set_version(0x200)
    b.set(C | G)
    word = b.load()
    assert word == 0x200 | C | G
    assert b.is_set(word & C)  # word & Bit is a Bit, inside the mask
    with pytest.raises(ValueError, match=r"^Breaker\.set: bits 0x204 are outside the event mask"):
        b.set(W | C)  # an int word, refused by the breaker as any other int
    assert b.load() == word
