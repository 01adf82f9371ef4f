"""Which blobs the paths of one format hold: the path core's part of ``nora gc``.

A stored path holds its current content and every revision kept in its
``history`` (``Overwrite.KEEP``), in every repository of the format.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec

from domain.digests import Digest
from domain.keys import blob_key, path_format_prefix
from domain.paths.model import PathEntry
from domain.ports import MetadataStore

__all__ = ["path_references"]

_PAGE = 500
_entry_decoder = msgspec.msgpack.Decoder(PathEntry)


async def path_references(meta: MetadataStore, fmt: str) -> AsyncIterator[str]:
    """Yield the blob key of every content and kept revision of ``fmt``'s paths."""
    after: str | None = None
    prefix = path_format_prefix(fmt)
    while True:
        page = await meta.scan(prefix, after=after, limit=_PAGE)
        for doc in page.items:
            entry = _entry_decoder.decode(doc.value)
            yield blob_key(Digest("sha256", entry.sha256))
            for revision in entry.history:
                yield blob_key(Digest("sha256", revision.sha256))
        if page.next_after is None:
            return
        after = page.next_after
