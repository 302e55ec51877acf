"""How the checker shows events and model states, in a failure report and the final comparison."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from conformance.tracecheck.rulebase import ConcreteState
from impl import Snapshot, TraceEvent
from model.bits import EVENTS_MASK, bit_names
from model.phases import Phase, Stage
from model.state import NULL, live_calls


def show_event(event: TraceEvent, actor: int | None) -> str:
    """``name [thread t] k=v ...`` with callables and exceptions shortened."""
    who = "env" if actor is None else f"T{actor}"
    parts = []
    for k, v in event.fields.items():
        if callable(v) and not isinstance(v, type | BaseException):
            v = getattr(v, "__name__", "fn")
        elif k == "bits" and isinstance(v, int):
            v = "|".join(bit_names(v & EVENTS_MASK)) or "0"
        parts.append(f"{k}={v!r}" if not isinstance(v, str) else f"{k}={v}")
    return f"{event.name} [{who}] {' '.join(parts)}".rstrip()


def describe(s: ConcreteState, threads: Sequence[int], switch_base: int = 0) -> list[str]:
    """A few lines with the state's protocol variables and the named threads in detail."""
    lines = [
        f"locked={s.locked} last_holder={s.last_holder} "
        f"switch_number={s.switch_number} (impl {s.switch_number + switch_base}) "
        f"handling_thread={s.handling_thread} drain_npending={s.drain_npending}",
        f"interp queue: npending={s.interp_q.npending} head={list(live_calls(s.interp_q)[:3])} "
        f"added={s.interp_q.added}; main queue: npending={s.main_q.npending} "
        f"head={list(live_calls(s.main_q)[:3])} added={s.main_q.added}",
        f"signals: is_tripped={s.is_tripped} tripped={list(s.tripped)}",
        "phases: " + " ".join(f"T{k}={Phase(th.phase).name}" for k, th in enumerate(s.threads)),
    ]
    for t in threads:
        th = s.threads[t]
        frames = []
        for level, f in enumerate((th.f0, th.f1)[: th.depth]):
            frames.append(f"L{level}:{Stage(f.stage).name} snap={bit_names(f.snap)} idx={f.idx}")
        lines.append(
            f"T{t}: {Phase(th.phase).name} bits={bit_names(th.breaker & EVENTS_MASK)} "
            f"depth={th.depth} frames=[{', '.join(frames)}] adding={th.adding} "
            f"async_exc={th.async_exc} c_code={th.c_code} saved_switchnum={th.saved_switchnum} "
            f"drop_requested={th.drop_requested}"
        )
    return lines


def final_diff(
    s: ConcreteState, snap: Snapshot, signals: Mapping[int, int], base: int
) -> list[str]:
    """What differs between the model's ``s`` and impl's final ``snap`` (empty: they agree)."""
    out = []

    def same(what: str, model: object, impl: object) -> None:
        if model != impl:
            out.append(f"{what}: model {model!r}, impl {impl!r}")

    same("locked", s.locked, snap.locked)
    same("last_holder", s.last_holder, snap.last_holder)
    same("switch_number", s.switch_number + base, snap.switch_number)
    same(
        "handling_thread",
        None if s.handling_thread == NULL else s.handling_thread,
        snap.handling_thread,
    )
    same("interp npending", s.interp_q.npending, len(snap.pending))
    same("main npending", s.main_q.npending, len(snap.pending_main))
    same("is_tripped", s.is_tripped, snap.is_tripped)
    tripped = sorted(signals[n] for n in snap.tripped if n in signals)
    same("tripped", [k for k, v in enumerate(s.tripped) if v], tripped)
    for th, ith in zip(s.threads, snap.threads, strict=True):
        same(f"T{ith.id} phase", Phase(th.phase).name, ith.phase.name)
        same(
            f"T{ith.id} bits",
            bit_names(th.breaker & EVENTS_MASK),
            bit_names(ith.breaker & EVENTS_MASK),
        )
        same(f"T{ith.id} async_exc pending", th.async_exc != 0, ith.async_exc is not None)
    return out
