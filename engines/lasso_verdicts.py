"""Verdicts on the temporal entries from the z3 lasso BMC (:mod:`engines.lasso_bmc`).

The same entries, scopes and fairness as the explicit engine
(:func:`engines.fair_verify.temporal_verdicts`), with the other engine's
strengths and weaknesses: it finds the shortest fair lasso and needs no
reachable graph, but it never proves an entry. Without a lasso the verdict is
*bounded*, "no fair lasso up to length L", and never *proved*; that is what
the explicit engine is for.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from engines.fair_verify import by_scope, scope_text
from engines.lasso_bmc import LassoSearch
from engines.verdicts import ModelClass, Verdict
from engines.verify import Z3_QUERY_SECONDS
from model.catalogue import Entry
from model.config import Config
from model.properties.temporal import TEMPORAL
from model.variants import without

ENGINE = "z3 lasso bmc"
MAX_LENGTH = 12
"""The default bound on a lasso's total length (stem and loop)."""


def z3_temporal_verdicts(
    model_cls: ModelClass,
    entries: Mapping[str, Entry],
    *,
    max_length: int = MAX_LENGTH,
    deadline: float | None = None,
    query_seconds: float = Z3_QUERY_SECONDS,
    incremental: bool = False,
) -> list[Verdict]:
    """One verdict per temporal entry of ``entries``, each in its own scope:
    *violated* with the shortest fair lasso, or *bounded*.

    ``deadline`` is a ``time.monotonic()`` value; ``query_seconds`` bounds each
    z3 query. Entries with the same scope share one encoding.
    """
    out = []
    temporal = {p: e for p, e in entries.items() if e.kind == "temporal"}
    for group in by_scope(temporal).values():
        first = group[0]
        search = LassoSearch(
            without(model_cls, first.without),
            Config(**first.scope_config()),
            timeout_ms=int(query_seconds * 1000),
            incremental=incremental,
        )
        for e in group:
            out.append(_verdict(e, search, max_length, deadline))
    return out


def _verdict(e: Entry, search: LassoSearch, max_length: int, deadline: float | None) -> Verdict:
    start = time.perf_counter()
    prop = TEMPORAL[e.id]
    res = search.search(prop, e.fairness, max_length, deadline=deadline)
    seconds = time.perf_counter() - start
    under = f"under {', '.join(e.fairness)}; {scope_text(e)}"
    if res.found is not None:
        tr, at = res.found.trace, res.found.trigger_at
        loop = tr.loop or 0
        cycle = len(tr) - loop
        shape = f"{cycle} steps" if cycle else "stuttering"
        note = (
            f"shortest fair lasso for {prop.case_label(res.found.case)} ({len(tr)} steps): the "
            f"obligation starts at step {at}, the loop at step {loop} ({shape}), {under}"
        )
        return Verdict(e.id, e.kind, False, e.expected, "violated", ENGINE, seconds,
                       depth=len(tr), trace=tr, note=note)  # fmt: skip
    note = f"no fair lasso up to length {res.length} (z3 lasso BMC; not a proof), {under}"
    if res.gave_up:
        note += f"; stopped: {res.gave_up}"
    return Verdict(e.id, e.kind, False, e.expected, "bounded", ENGINE, seconds,
                   depth=res.length, note=note)  # fmt: skip
