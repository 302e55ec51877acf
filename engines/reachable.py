"""Where a trigger the vacuity guard did not reach is reached: what a *vacuous* verdict says.

A trigger's ``needs`` (:mod:`model.triggers`; tests/model/test_applicability.py
checks it against the trigger's definition: below it no reachable state
satisfies the trigger) gives the least configuration in which it can hold.
When the guard did not reach a trigger in the configuration checked, this
module searches the same variant breadth first (:func:`engines.exhaustive.exhaust`,
bounded by depth and states, never by time) in a short ladder of
configurations from that least one upward, and the verdict names the first one
that reaches it, as the options to pass to ``gilcheck verify``; or says that
none of them does, which points at the variant rather than the configuration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from engines.exhaustive import exhaust
from engines.verdicts import ModelClass
from model.config import MAX_SIGNALS, MAX_THREADS, Config
from model.properties.registry import Property
from model.triggers import TRIGGERS, option

DEPTH = 10
"""How deep each configuration of the ladder is searched."""
MAX_STATES = 50_000
"""Where the search of one configuration of the ladder stops."""


def least(needs: Iterable[tuple[str, int]], cfg: Config) -> Config:
    """The smallest configuration with what ``needs`` asks for (one-call queues, one
    thread, no signal, unless it asks for more); ``cfg``'s liveness bound."""
    sizes = {
        "threads": 1,
        "interp_capacity": 1,
        "interp_maxloop": 0,
        "main_capacity": 1,
        "main_maxloop": 0,
        "signals": 0,
    }
    for name, value in needs:
        sizes[name] = max(sizes[name], value)
    return Config(liveness_bound=cfg.liveness_bound, **sizes)


def ladder(needs: Iterable[tuple[str, int]], cfg: Config) -> list[Config]:
    """The configurations searched, smallest first: the least one, then queues of two
    calls (one a pass), then a signal more, a thread more, and both."""
    low = least(needs, cfg)
    queues = dataclasses.replace(low, interp_capacity=2, interp_maxloop=1, main_capacity=2)
    signals = min(MAX_SIGNALS, queues.signals + 1)
    threads = min(MAX_THREADS, queues.threads + 1)
    out: list[Config] = []
    for c in (
        low,
        queues,
        dataclasses.replace(queues, signals=signals),
        dataclasses.replace(queues, threads=threads),
        dataclasses.replace(queues, signals=signals, threads=threads),
    ):
        if c not in out:
            out.append(c)
    return out


def options(cfg: Config) -> str:
    """``cfg`` as the options of ``gilcheck verify`` (the liveness bound left out)."""
    return " ".join(
        option(f.name, getattr(cfg, f.name))
        for f in dataclasses.fields(Config)
        if f.name != "liveness_bound"
    )


def where_reached(model: ModelClass, trigger: str, cfg: Config) -> Config | None:
    """The first configuration of the ladder in which ``model`` reaches ``trigger``."""
    trig = TRIGGERS[trigger]
    # "The trigger does not hold" as a property: its violation is a state reaching it.
    never = Property(f"trigger:{trigger}", "safety", False, lambda m, s: m.d.not_(trig.holds(m, s)))
    for c in ladder(trig.needs, cfg):
        # No quotient and no symmetry: a trigger may read what they identify.
        res = exhaust(
            model, c, properties=[never], max_depth=DEPTH, max_states=MAX_STATES,
            quotient=False, symmetry=False,
        )  # fmt: skip
        if never.id in res.violations:
            return c
    return None


def vacuous_note(
    model: ModelClass, triggers: Sequence[str], cfg: Config, found: dict[str, Config | None]
) -> str:
    """Why a proof is vacuous: each trigger not reached, and where it is (``found``
    caches :func:`where_reached` across the entries of one run)."""
    parts = []
    for t in triggers:
        if t not in found:
            found[t] = where_reached(model, t, cfg)
        where = found[t]
        head = f"its trigger {t} ({TRIGGERS[t].description}) is not reached here"
        if where is not None:
            parts.append(f"{head}; this variant reaches it with {options(where)}")
        else:
            tried = ladder(TRIGGERS[t].needs, cfg)
            parts.append(
                f"{head}, nor within {DEPTH} steps in {len(tried)} smaller configurations, from "
                f"{options(tried[0])} to {options(tried[-1])}: this variant may never reach it"
            )
    return "proved, but " + "; ".join(parts)
