"""z3's verdict on one entry, from what the z3 pipeline of :mod:`engines.verify` found.

Steps 1-4 of that module's docstring give a :class:`~engines.prove.ProofResult` and
the witnesses of the documented counterexamples; :func:`z3_verdict` turns them into
one :class:`~engines.verdicts.Verdict`, whose note says why whenever it is not as
expected (the bound reached, the query z3 gave up), and :func:`merge` lets an
exhaustive search that finished settle what z3 left bounded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from engines.exhaustive import SearchResult
from engines.prove import ProofResult, Witnessed
from engines.search_verify import verdict
from engines.verdicts import Verdict
from model.catalogue import Entry
from model.config import Config
from model.triggers import not_applicable


def join_notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def merge(v: Verdict, entry: Entry, searched: SearchResult) -> Verdict:
    """z3's verdict, unless the search settled what z3 left bounded: an exhaustive
    search is a proof for this configuration."""
    searched_it = entry.expected == "holds"  # the search before z3 checks only those
    if (
        v.status == "bounded"
        and searched_it
        and searched.complete
        and entry.id not in searched.violations
    ):
        s = verdict(entry, searched)
        return dataclasses.replace(s, note=f"{s.note}; z3: {v.note}", cti=v.cti)
    return v


def z3_verdict(
    entry: Entry,
    proof: ProofResult,
    witnessed: tuple[Mapping[str, Witnessed], Mapping[str, tuple[int, str]]],
    depth: int,
    cfg: Config,
) -> Verdict:
    pid = entry.id
    found, witness_depth = witnessed
    base = Verdict(
        pid, entry.kind, entry.lemma, entry.expected, "bounded", "z3",
        proof.seconds.get(pid, 0.0), shared=pid in proof.shared,
    )  # fmt: skip
    if pid in proof.violated:
        r = proof.violated[pid]
        return dataclasses.replace(
            base, status="violated", engine="z3 bmc", depth=r.depth, trace=r.trace
        )
    if pid in proof.proved:
        return dataclasses.replace(
            base, status="proved", engine="z3 k-induction", k=proof.proved[pid]
        )
    if pid in found:
        trace, note, seconds, shared, engine = found[pid]
        return dataclasses.replace(
            base,
            status="violated",
            engine=engine,
            depth=len(trace),
            trace=trace,
            note=note,
            seconds=seconds,
            shared=shared,
        )
    # The witness configuration is the smallest with the documented counterexample.
    short = not_applicable(entry.witness.items(), cfg)
    if entry.expected == "violated" and short is not None:
        return dataclasses.replace(
            base,
            status="inapplicable",
            engine="z3 bmc",
            note=f"the documented counterexample {short} (its witness configuration)",
        )
    if entry.expected == "violated":
        shallow = witness_depth.get(pid)
        if shallow is not None:
            return dataclasses.replace(
                base,
                engine="z3 bmc",
                depth=max(0, shallow[0]),
                note=f"the documented counterexample was not found within {shallow[0]} steps "
                f"in the entry's witness configuration; z3 gave up deeper: {shallow[1]}",
            )
        return dataclasses.replace(
            base,
            engine="z3 bmc",
            depth=depth,
            note=f"the documented counterexample was not found within {depth} steps in the "
            "entry's witness configuration (a fix? not proved: no induction is tried for it)",
        )
    why = "not inductive (see the CTI)" if pid in proof.ctis else "not proved"
    return dataclasses.replace(
        base,
        engine="z3 bmc + k-induction",
        depth=proof.bounded_depth,
        cti=proof.ctis.get(pid),
        note=join_notes(
            f"no violation within {proof.bounded_depth} steps; {why}",
            f"z3 gave up: {proof.gave_up[pid]}" if pid in proof.gave_up else "",
        ),
    )
