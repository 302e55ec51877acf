"""CPython 3.13's GIL protocol as one model class.

:class:`Cpython313` is every action of :mod:`model.gil`, :mod:`model.passes`,
:mod:`model.pending`, :mod:`model.signals` and :mod:`model.lifecycle`. A
protocol variant is a subclass that overrides one action or one class
attribute::

    class NoDropReset(Cpython313):
        '''gh-96387: an exiting waiter leaves its drop request behind.'''

        def take_gil_wake(self, s, t, timed_out):
            ...

and is checked by every engine without further work.
"""

from __future__ import annotations

from model.domain import B, I
from model.lifecycle import LifecycleActions


class Cpython313(LifecycleActions[B, I]):
    """The GIL, eval breaker, pending calls and signal bridge of CPython 3.13.0."""
