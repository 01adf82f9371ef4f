"""``nora mirror``: filling NORA's pull-through cache ahead of time; the part no format owns.

A format adds ``entrypoints/http/<package>/mirror.py`` with ``MIRROR =
MirrorSource(...)`` (see :mod:`entrypoints.mirror.core` for the contract);
:mod:`entrypoints.mirror.runner` runs the plan, :mod:`entrypoints.mirror.client`
does the GETs with retries, :mod:`entrypoints.mirror.inprocess` serves
``--local``, and ``entrypoints/cli_mirror.py`` is the command.
"""

from entrypoints.mirror.client import Document, Expected, FileRead, MirrorClient
from entrypoints.mirror.core import Failed, MirrorSource, Outcome, Want, cached, fetched

__all__ = [
    "Document",
    "Expected",
    "Failed",
    "FileRead",
    "MirrorClient",
    "MirrorSource",
    "Outcome",
    "Want",
    "cached",
    "fetched",
]
