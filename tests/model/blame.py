"""What the mutant and bug-variant tests share: a refutation must be the variant's fault."""

from __future__ import annotations

from engines.prove import violates
from model.config import Config
from model.properties import PROPERTIES
from model.trace import ReplayError, Trace, replay
from model.variants import DEFAULT, concrete_model


def assert_faithful_model_not_at_fault(pid: str, cfg: Config, trace: Trace) -> None:
    """The faithful model does not have ``trace``, or has it without violating ``pid``."""
    faithful = concrete_model(DEFAULT, cfg)
    try:
        replay(faithful, trace)
    except ReplayError:
        return
    assert not violates(faithful, PROPERTIES[pid], trace), f"the faithful model violates {pid}"
