"""CPython 3.13's GIL protocol as a pure state machine, checked by z3 and by explicit search.

The model is written once (:mod:`model.protocol`) against a domain of
operations (:mod:`model.domain`) and interpreted over Python values or z3
terms (:mod:`engines.symbolic`). :mod:`model.properties` holds the catalogue's
formulas; :mod:`engines` proves or refutes them; ``gilcheck`` is
:mod:`gilcheck.cli`.
"""

from __future__ import annotations

from model.config import Config
from model.domain import CONCRETE
from model.protocol import Cpython313

__all__ = ["CONCRETE", "Config", "Cpython313"]
