"""The checked properties, one function per catalogue id (model/invariants.toml).

A *state* property is a predicate of one state; a *step* property relates a
state and its successor (an action property, in TLA+ terms). Both are written
against the model's domain, like the transitions, so the explicit search
evaluates them on Python values and the prover on z3 terms. Bounded liveness
properties are safety properties over ghost counters (see ``*_missed`` and
``must_yield`` in :mod:`model.state`).

The prose of each property lives once, in the catalogue; here each function's
docstring only names it.

The checks are split by subject, one module each: :mod:`.gil`, :mod:`.breaker`
(the eval breaker), :mod:`.pending` (pending calls), :mod:`.signals` (signals and
async exceptions), :mod:`.liveness` (bounded liveness) and :mod:`.lemmas`. They
share :mod:`.vocabulary` and register with :mod:`.registry`; importing this
package imports them in that order, which is the order of ``PROPERTIES``.
"""

from __future__ import annotations

from model.properties.registry import (
    PROPERTIES,
    Kind,
    M,
    Property,
    S,
    state_property,
    step_property,
)

# The subject modules register their checks on import, in this order, which is the
# order of PROPERTIES: keep it unsorted.
# isort: off
from model.properties import gil
from model.properties import breaker
from model.properties import pending
from model.properties import signals
from model.properties import liveness
from model.properties import lemmas
# isort: on

__all__ = [
    "PROPERTIES",
    "Kind",
    "M",
    "Property",
    "S",
    "breaker",
    "gil",
    "lemmas",
    "liveness",
    "pending",
    "signals",
    "state_property",
    "step_property",
]
