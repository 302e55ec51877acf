"""Protocol designs to compare with CPython's: variants a reviewer writes in a few lines.

Importing this package registers each under its name (``gilcheck verify
--variant fair-gil``). Unlike model/bugs/, these are not CPython's history but
proposals; ``gilcheck verify`` says what each one proves and breaks.
"""

from model.designs import fair_gil

__all__ = ["fair_gil"]
