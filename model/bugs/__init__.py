"""Historical CPython GIL bugs brought back as registered protocol variants.

Importing this package registers each variant under its issue's name
(``gilcheck verify --variant gh-110693-off-by-one``). Each module is one bug or
a small family; each variant overrides one action of
:class:`~model.protocol.Cpython313`.
"""

from model.bugs import check_points, finalization, pending_ring, pending_signal

__all__ = ["check_points", "finalization", "pending_ring", "pending_signal"]
