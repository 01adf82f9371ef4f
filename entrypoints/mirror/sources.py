"""Every format ``nora mirror`` can fill, found rather than listed.

A format offers mirroring with a module ``entrypoints/http/<package>/mirror.py``
that defines ``MIRROR`` (a :class:`~entrypoints.mirror.core.MirrorSource`);
adding the module registers it, so nothing shared names a format. The
packages are looked for on disk first and imported only when asked for:
importing every format's HTTP package costs about a second, which no other
``nora`` command should pay.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

import entrypoints.http as http
from entrypoints.mirror.core import MirrorSource

__all__ = ["discover", "packages"]


def packages() -> list[str]:
    """The packages under ``entrypoints/http/`` that hold a ``mirror`` module, without importing."""
    found: list[str] = []
    for module in sorted(pkgutil.iter_modules(http.__path__), key=lambda m: m.name):
        if module.ispkg and any(
            (Path(root) / module.name / "mirror.py").is_file() for root in http.__path__
        ):
            found.append(module.name)
    return found


def discover() -> dict[str, MirrorSource[Any]]:
    """Every format's ``MIRROR`` by its word, in word order."""
    found: dict[str, MirrorSource[Any]] = {}
    for package in packages():
        module = importlib.import_module(f"{http.__name__}.{package}.mirror")
        source = getattr(module, "MIRROR", None)
        if isinstance(source, MirrorSource):
            found[source.word] = source
    return dict(sorted(found.items()))
