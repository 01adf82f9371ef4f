"""How packages are stored: a small head document per package, one document per version.

- ``pkg/<format>/<normalised name>``: the head (:class:`StoredHead`): the
  package's own fields plus ``refs``, which names the document of each
  version. It is the commit point: a change writes new version documents
  first, under fresh random ids, then swaps the head with a compare-and-swap;
  documents no head refers to are invisible and removed after the swap.
  Version documents are never rewritten, so a reader that has a version's id
  has its content for good, and a head plus the documents it names is always
  one consistent package.
- ``pkgv/<format>/<normalised name>/<id>``: one :class:`PackageVersion`.
- ``pkg-generation/<format>``: see :mod:`domain.packages.generation`.

Layout 1 (the first releases) kept every version inside the head, under
``versions``; a head whose ``versions`` is not empty is such a document. It is
still read as it is, rewritten in layout 2 by its next change, and
:meth:`PackageIndex.migrate` rewrites all of them at start-up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from domain.packages.model import PackageVersion

__all__ = ["LAYOUT", "StoredHead"]

LAYOUT: Final = 2
"""The storage layout this code writes."""


class StoredHead(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The head document (both layouts decode into it)."""

    format: str
    name: str
    created: datetime
    modified: datetime
    refs: dict[str, int] = {}
    """Version -> id of its document, in publish order (layout 2)."""
    dist_tags: dict[str, str] = {}
    owners: list[str] = []
    description: str = ""
    keywords: list[str] = []
    metadata: bytes = b""
    deleted: bool = False
    versions: dict[str, PackageVersion] = {}
    """Layout 1 only: every version inline. Never written any more."""
