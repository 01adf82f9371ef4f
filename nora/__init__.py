"""NORA as a Python library: every format's registry, in-process, typed.

>>> async with open_registry(Settings(storage_path="data")) as nora:  # doctest: +SKIP
...     await nora.raw.put("notes/hello.txt", b"hello")

This package is NORA's public API and follows semantic versioning: the names in
each module's ``__all__`` (here, :mod:`nora.adapters`, :mod:`nora.errors` and
one module per format) keep their meaning within a major version. Everything
under ``domain``, ``adapters`` and ``entrypoints`` is internal and may change
in any release.
"""

from __future__ import annotations

from entrypoints import __version__
from entrypoints.config import Settings
from nora._registry import Nora, open_registry

__all__ = ["Nora", "Settings", "__version__", "open_registry"]
