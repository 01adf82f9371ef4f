"""What the pull-through cache names, and the records a GC run sweeps besides blobs.

The cache (:mod:`domain.proxy`) is shared by every format: one walk over
``proxy/`` names every cached document's body and every cached file, each
attributed to the format owning its namespace. Two kinds of record outlive
their use and are swept here: a cached file record whose bytes are gone
(the cache would refetch it anyway; the record is only noise) and a lease
whose holder stopped renewing it long ago.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import datetime
from typing import Final

import msgspec

from domain.errors import Conflict, NotFound
from domain.keys import LEASE_PREFIX, PROXY_PREFIX
from domain.ports import BlobStore, Clock, Document, MetadataStore

__all__ = ["PulledReferences", "sweep_expired_leases", "sweep_stale_files"]

_PAGE: Final = 500
_CONTENT_KEY: Final = re.compile(rb"blobs/sha256/[0-9a-f]{2}/[0-9a-f]{64}")


class _Record(msgspec.Struct):
    """The fields of a cache record that name bytes: a document's ``body_key``
    (:class:`domain.proxy.CachedDocument`) and a file's ``key`` (``CachedFile``).

    Read leniently: formats keep records of their own under ``proxy/`` too (Maven's
    "no upstream had it" notes), which name no bytes.
    """

    body_key: str | None = None
    key: str | None = None


_record_decoder = msgspec.json.Decoder(_Record)


class _LeaseDoc(msgspec.Struct, frozen=True):
    """A lease's stored fields (:mod:`domain.leases`), read to find expired ones."""

    holder: str
    expires: datetime


_lease_decoder = msgspec.json.Decoder(_LeaseDoc)


class PulledReferences:
    """The blobs the pull-through cache names, as (format, blob key).

    Args:
        meta: where the cache records live.
        formats: namespace -> the format word to attribute it to (``oci`` -> ``docker``);
            a namespace not given is attributed under its own name.
    """

    def __init__(self, meta: MetadataStore, formats: Mapping[str, str] | None = None) -> None:
        self._meta = meta
        self._formats = dict(formats or {})

    async def references(self) -> AsyncIterator[tuple[str, str]]:
        """Yield (format, blob key) for every cached document body and cached file."""
        async for doc in _scan(self._meta, PROXY_PREFIX):
            namespace, kind = _parts(doc.key)
            label = self._formats.get(namespace, namespace)
            for key in _named(kind, doc.value):
                yield label, key


def _named(kind: str, value: bytes) -> Iterator[str]:
    """The blob keys one record names; one this version cannot read names every
    content key written in it (guessing more is harmless, guessing less loses data)."""
    try:
        record = _record_decoder.decode(value)
    except msgspec.DecodeError:
        yield from (match.decode() for match in _CONTENT_KEY.findall(value))
        return
    named = record.body_key if kind == "docs" else record.key if kind == "files" else None
    if named is not None:
        yield named


def _parts(key: str) -> tuple[str, str]:
    """``proxy/<namespace>/<kind>/...`` -> (namespace, kind)."""
    parts = key.split("/", 3)
    return (parts[1], parts[2]) if len(parts) > 3 else ("", "")


async def sweep_stale_files(meta: MetadataStore, blobs: BlobStore, *, dry_run: bool) -> int:
    """Remove cached file records whose bytes are gone; returns how many (would) go.

    Each record is deleted only at the version read, so a record an upstream fetch
    rewrote meanwhile (with fresh bytes) stays.
    """
    removed = 0
    async for doc in _scan(meta, PROXY_PREFIX):
        if _parts(doc.key)[1] != "files":
            continue
        try:
            key = _record_decoder.decode(doc.value).key
        except msgspec.DecodeError:
            continue  # not a record this version knows: leave it
        if key is None:
            continue
        try:
            await blobs.stat(key)
        except NotFound:
            if not dry_run:
                with contextlib.suppress(NotFound, Conflict):
                    await meta.delete(doc.key, expected=doc.version)
            removed += 1
    return removed


async def sweep_expired_leases(meta: MetadataStore, clock: Clock, *, dry_run: bool) -> int:
    """Remove leases that expired (their holder died); returns how many (would) go.

    A live lease is never touched; one renewed between the read and the delete
    has a new version, so the compare-and-swap delete leaves it.
    """
    removed = 0
    now = clock.now()
    async for doc in _scan(meta, LEASE_PREFIX):
        try:
            expires = _lease_decoder.decode(doc.value).expires
        except msgspec.DecodeError:
            continue  # not a lease this version knows: leave it
        if expires < now:
            if not dry_run:
                with contextlib.suppress(NotFound, Conflict):
                    await meta.delete(doc.key, expected=doc.version)
            removed += 1
    return removed


async def _scan(meta: MetadataStore, prefix: str) -> AsyncIterator[Document]:
    after: str | None = None
    while True:
        page = await meta.scan(prefix, after=after, limit=_PAGE)
        for doc in page.items:
            yield doc
        if page.next_after is None:
            return
        after = page.next_after
