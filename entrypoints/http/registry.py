"""Every format the HTTP edge serves, found rather than listed.

A format is a package under ``entrypoints/http/`` whose ``__init__`` defines
``FORMAT`` (an :class:`HttpFormat`); adding the package registers it, so no
shared module names a format. NORA's own surfaces (operations, its API) are
modules beside them and come first and last.
"""

from __future__ import annotations

import importlib
import pkgutil

import entrypoints.http as http
from entrypoints.http import api, ops
from entrypoints.http.formats import Formats, HttpFormat

__all__ = ["FORMATS", "discover"]


def discover() -> list[HttpFormat]:
    """The ``FORMAT`` of every package under entrypoints/http/, in name order."""
    found: list[HttpFormat] = []
    modules = sorted(pkgutil.iter_modules(http.__path__), key=lambda module: module.name)
    for module in modules:
        if not module.ispkg:
            continue
        package = importlib.import_module(f"{http.__name__}.{module.name}")
        fmt = getattr(package, "FORMAT", None)
        if isinstance(fmt, HttpFormat):
            found.append(fmt)
    return found


FORMATS = Formats((ops.FORMAT, *discover(), api.FORMAT))
"""Registered in order: their routers are added to the app in this order."""
