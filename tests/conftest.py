"""Hypothesis profiles for the whole suite.

``dev`` is fast for local runs, ``ci`` is the default when the ``CI``
environment variable is set, ``nightly`` is for long fuzzing campaigns.
``fuzz`` is ``ci`` with an example database that several fuzzing processes
and machines share (README, "Fuzzing with HypoFuzz"): HypoFuzz
(``hypothesis fuzz``) writes what it finds there, and pytest under the same
profile replays it. ``fuzz-replay`` only replays what that database holds (no
new examples, no shrinking), which is quick.
Choose one explicitly with ``HYPOTHESIS_PROFILE=name``.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import (
    DirectoryBasedExampleDatabase,
    ExampleDatabase,
    MultiplexedDatabase,
    ReadOnlyDatabase,
)

ROOT = Path(__file__).resolve().parents[1]

DB_ENV = "GILCHECK_HYPOTHESIS_DB"
"""The shared example database's directory (default: the repository's
``.hypothesis/examples``, where the other profiles keep theirs when pytest runs
from the repository's root)."""

DB_READONLY_ENV = "GILCHECK_HYPOTHESIS_DB_READONLY"
"""Directories read but never written, separated by ``os.pathsep``: e.g. a copy of
CI's database, so that a machine replays what CI found without changing it."""


def fuzz_database() -> ExampleDatabase:
    """The ``fuzz`` profile's database, from :data:`DB_ENV` and :data:`DB_READONLY_ENV`."""
    shared: ExampleDatabase = DirectoryBasedExampleDatabase(
        os.environ.get(DB_ENV) or ROOT / ".hypothesis" / "examples"
    )
    readonly = [p for p in os.environ.get(DB_READONLY_ENV, "").split(os.pathsep) if p]
    if not readonly:
        return shared
    copies = (ReadOnlyDatabase(DirectoryBasedExampleDatabase(p)) for p in readonly)
    return MultiplexedDatabase(shared, *copies)


settings.register_profile(
    "dev",
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
)
settings.register_profile(
    "ci",
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "nightly",
    max_examples=5000,
    stateful_step_count=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)

settings.register_profile("fuzz", settings.get_profile("ci"), database=fuzz_database())
settings.register_profile(
    "fuzz-replay",
    settings.get_profile("fuzz"),
    phases=[Phase.explicit, Phase.reuse],
)

_default = "ci" if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))
