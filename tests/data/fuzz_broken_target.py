"""A fuzz target with a known bug, for tests/test_fuzz.py: HypoFuzz must find it.

Not collected by the main suite (the name does not start with ``test_``); named
on the command line (``hypothesis fuzz -- tests/data/fuzz_broken_target.py``),
pytest collects it. The state machine is :class:`conformance.machine.GilConformance`
driving ``no-notify-on-release`` (conformance/broken_impls.py): ``drop_gil`` does
not signal the condition a thread waits on in ``take_gil``. Pytest caught it in
under a second (tests/conformance/test_stateful_broken.py); a fuzzing run finds it,
and the failure it records, and that pytest replays from the same database, is the
same lock-step report.
"""

from __future__ import annotations

from hypothesis import settings

from conformance.machine import GilConformance


class NoNotifyOnRelease(GilConformance):
    impl_name = "no-notify-on-release"


TestNoNotifyOnRelease = NoNotifyOnRelease.TestCase
TestNoNotifyOnRelease.settings = settings(stateful_step_count=12)
"""Short programs (the profile's other settings, the database among them, kept):
the bug needs three steps, and a shorter program is a quicker test case."""
