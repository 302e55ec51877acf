"""Verdicts: what the engines concluded about each catalogue entry, and the exit codes.

One :class:`Verdict` per entry, gathered in a :class:`Report` with the coverage
of the vacuity guard. The report's exit code is the command's: the classes
(deadlock 11, safety 12, liveness 13, inconclusive 14) follow TLC's habit of one code per
kind of finding; 150-153 are the command's own errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from engines.induction import Cti
from model.config import Config
from model.properties.gil import DEADLOCK
from model.protocol import Cpython313
from model.trace import Trace
from model.variants import variant_name

ModelClass = type[Cpython313[Any, Any]]

Status = Literal["proved", "violated", "bounded", "vacuous", "unchecked", "inapplicable"]
Engine = Literal["z3", "explicit", "both", "search"]

EXIT_OK = 0
EXIT_DEADLOCK = 11
"""INV-NO-DEADLOCK violated: TLC's class of its own."""
EXIT_SAFETY = 12
EXIT_LIVENESS = 13
EXIT_INCONCLUSIVE = 14
EXIT_BAD_CONFIG = 150
EXIT_BAD_INPUT = 151
EXIT_INTERNAL = 153
EXIT_INTERRUPTED = 128
"""Plus the signal's number: 130 for SIGINT, 143 for SIGTERM (the shell's convention)."""


@dataclass
class Verdict:
    """What the engines concluded about one catalogue entry."""

    id: str
    kind: str
    lemma: bool
    expected: str
    status: Status
    engine: str
    seconds: float
    k: int | None = None
    """The induction depth of a proof."""
    depth: int | None = None
    """The length of a counterexample, or the bound explored."""
    trace: Trace | None = None
    cti: Cti | None = None
    note: str = ""
    states: int | None = None
    """States an exhaustive search reached (its proof's size, or how far it got)."""
    shared: bool = False
    """``seconds`` are those of one search that settled several entries at once (the time
    into it when this one was settled), not this entry's own."""
    config: Config | None = None
    """The configuration the verdict (and its trace) is about, when not the report's: a
    temporal entry's scope."""
    without: tuple[str, ...] = ()
    """The actions the scope leaves out (:func:`model.variants.without`)."""

    @property
    def as_expected(self) -> bool:
        """Proved when expected to hold; violated when expected to be violated; or not
        applicable in this configuration (its trigger or witness needs more)."""
        if self.status == "inapplicable":
            return True
        return self.status == ("proved" if self.expected == "holds" else "violated")


@dataclass
class Report:
    model: ModelClass
    """The model class checked (a variant of :class:`model.protocol.Cpython313`)."""
    config: Config
    engine: str
    depth: int
    max_k: int
    verdicts: list[Verdict] = field(default_factory=list)
    triggers_missing: dict[str, list[str]] = field(default_factory=dict)
    """Trigger name -> ids of the entries that need it, for triggers not reached."""
    triggers_where: dict[str, Config | None] = field(default_factory=dict)
    """For a trigger in ``triggers_missing``: the smallest configuration tried in which the
    variant reaches it, or None (:mod:`engines.reachable`)."""
    triggers_undecided: dict[str, list[str]] = field(default_factory=dict)
    """As ``triggers_missing``, for triggers not reached when a vacuity query gave up."""
    vacuity_gave_up: str | None = None
    """Why the vacuity guard's BMC stopped early (a z3 query reached its timeout)."""
    instances_dead: list[str] = field(default_factory=list)
    """Transition instances never seen enabled that are not dead by design."""
    triggers_reached: int = 0
    triggers_inapplicable: int = 0
    """Triggers this configuration cannot have (a signal with ``signals=0``)."""
    instances_covered: int = 0
    instances_by_design: int = 0
    seconds: float = 0.0
    vacuity_checked: bool = True
    """False when the vacuity guard was skipped (``check_vacuity=False``)."""
    disagreements: list[str] = field(default_factory=list)
    """With ``engine="both"``: where z3 and the explicit search disagree (a gilcheck bug)."""
    explicit_summary: str = ""
    variant: str = ""
    """The name the variant was asked for by (a class may be registered under two)."""
    ended: str = ""
    """Why the run ended before every entry was settled ("" when it did not)."""
    interrupted: int = 0
    """The signal that interrupted the run, or 0."""
    search: dict[str, object] = field(default_factory=dict)
    """The exhaustive search's figures (states, seconds, depth, complete, ...), if it ran."""

    def __post_init__(self) -> None:
        self.variant = self.variant or variant_name(self.model)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED + self.interrupted
        if self.disagreements:
            return EXIT_INTERNAL
        unexpected = [v for v in self.verdicts if v.expected == "holds" and v.status == "violated"]
        if any(v.id == DEADLOCK for v in unexpected):
            return EXIT_DEADLOCK
        if any(v.kind == "safety" for v in unexpected):
            return EXIT_SAFETY
        if unexpected:
            return EXIT_LIVENESS
        if (
            any(not v.as_expected for v in self.verdicts)
            or self.triggers_missing
            or self.triggers_undecided
            or self.vacuity_gave_up
            or self.instances_dead
        ):
            return EXIT_INCONCLUSIVE
        return EXIT_OK
