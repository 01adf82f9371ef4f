"""Every format's part of the dashboard, found rather than listed.

A format contributes pages with a module ``entrypoints/http/<package>/ui.py``
that defines ``UI`` (a :class:`~entrypoints.http.ui.section.UiSection`); adding
the module registers it, so nothing shared names a format. A format whose
package is absent from the build simply does not appear.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from pathlib import Path

import entrypoints.http as http
from entrypoints.http.ui.section import UiSection

__all__ = ["discover", "section"]


@functools.cache
def discover() -> tuple[UiSection, ...]:
    """Every format's ``UI``, by (order, word); found once per process."""
    found: dict[str, UiSection] = {}
    for module in sorted(pkgutil.iter_modules(http.__path__), key=lambda m: m.name):
        if not module.ispkg or not any(
            (Path(root) / module.name / "ui.py").is_file() for root in http.__path__
        ):
            continue
        loaded = importlib.import_module(f"{http.__name__}.{module.name}.ui")
        declared = getattr(loaded, "UI", None)
        if isinstance(declared, UiSection):
            if declared.word in found:
                raise ValueError(f"two dashboard sections use the word {declared.word!r}")
            found[declared.word] = declared
    return tuple(sorted(found.values(), key=lambda s: (s.order, s.word)))


def section(word: str) -> UiSection | None:
    """The section of format ``word``, if any."""
    for candidate in discover():
        if candidate.word == word:
            return candidate
    return None
