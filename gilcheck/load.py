"""``--load MODULE`` and ``--variant FILE.py:Class``: a user's variant, from a file.

A ``--load`` module calls :func:`model.variants.register` for a protocol variant
of its own; ``verify``, ``mutants`` and ``replay`` import it before they look the
variant up. ``--variant path/to/file.py:ClassName`` names a class in a file
directly, with no registration (:func:`resolve_variant`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from model.protocol import Cpython313
from model.variants import model_class


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
        if _is_path(spec):
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


def _is_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or os.sep in spec


def resolve_variant(spec: str) -> type[Cpython313[Any, Any]]:
    """The model class ``spec`` names: a registered name, or ``path/to/file.py:ClassName``.

    The file form imports the file (as ``--load`` does) and takes the class from it
    without registering it; the class must subclass :class:`~model.protocol.Cpython313`.
    Raises :class:`~model.variants.UnknownVariant` for an unknown name and
    :class:`LoadError` for a file or class that cannot be used.
    """
    path, colon, attr = spec.rpartition(":")
    if not colon or not _is_path(path):
        return model_class(spec)
    if not attr.isidentifier():
        raise LoadError(f"cannot load {spec}: {attr!r} is not a class name")
    module = load_module(path)
    cls = getattr(module, attr, None)
    if cls is None:
        raise LoadError(f"cannot load {spec}: {path} defines no {attr}")
    if not (isinstance(cls, type) and issubclass(cls, Cpython313)):
        raise LoadError(f"cannot load {spec}: {attr} is not a subclass of Cpython313")
    return cls
