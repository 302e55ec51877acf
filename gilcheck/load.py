"""``--load MODULE``: import a user's module (a dotted name or a .py file) first.

Such a module calls :func:`model.variants.register` for a protocol variant of
its own; ``verify`` and ``replay`` import it before they look the variant up.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType


class LoadError(Exception):
    """A ``--load`` module that cannot be imported; the message is ``cannot load SPEC: why``."""


def load_module(spec: str) -> ModuleType:
    """Import ``spec``: a path (it ends in ``.py`` or has a ``/``), or else a dotted name.

    A file is imported under a name derived from its resolved path, once per
    process (as :func:`importlib.import_module` imports a name once); its
    directory is not added to ``sys.path``.
    """
    try:
        path = Path(spec)
        if spec.endswith(".py") or "/" in spec or os.sep in spec:
            resolved = path.resolve()
            if not resolved.is_file():
                raise FileNotFoundError(f"no such file {str(path)!r}")
            name = "_gilcheck_load_" + "".join(
                c if c.isalnum() else "_" for c in str(resolved.with_suffix(""))
            )
            if name in sys.modules:
                return sys.modules[name]
            file_spec = importlib.util.spec_from_file_location(name, resolved)
            if file_spec is None or file_spec.loader is None:
                raise ImportError(f"{str(path)!r} is not an importable Python file")
            module = importlib.util.module_from_spec(file_spec)
            sys.modules[name] = module
            try:
                file_spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
            return module
        return importlib.import_module(spec)
    except Exception as exc:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise LoadError(f"cannot load {spec}: {reason}") from exc
