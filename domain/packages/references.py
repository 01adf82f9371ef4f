"""Which blobs the packages of one format hold: the package core's part of ``nora gc``.

Every version document under ``pkgv/<fmt>/`` counts, not only those a head
names: a publish writes its version documents before it swaps the head, so a
document no head names yet may be a publish in flight, and its files must
survive. Heads of the first layout (versions inline) count too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable

import msgspec

from domain.keys import package_head_prefix, package_versions_prefix
from domain.packages.layout import StoredHead
from domain.packages.model import PackageFile, PackageVersion
from domain.ports import MetadataStore

__all__ = ["FileExtras", "package_references"]

FileExtras = Callable[[PackageFile], Iterable[str]]
"""A format's own blob keys kept in a file's opaque ``metadata`` (PyPI's METADATA file)."""

_PAGE = 500
_version_decoder = msgspec.msgpack.Decoder(PackageVersion)
_head_decoder = msgspec.msgpack.Decoder(StoredHead)


async def package_references(
    meta: MetadataStore, fmt: str, extras: FileExtras | None = None
) -> AsyncIterator[str]:
    """Yield the blob key of every file of every stored version of ``fmt`` (repeats possible)."""
    async for value in _values(meta, package_versions_prefix(fmt)):
        for key in _file_keys(_version_decoder.decode(value).files, extras):
            yield key
    async for value in _values(meta, package_head_prefix(fmt)):
        head = _head_decoder.decode(value)
        for version in head.versions.values():
            for key in _file_keys(version.files, extras):
                yield key


def _file_keys(files: Iterable[PackageFile], extras: FileExtras | None) -> Iterable[str]:
    for file in files:
        yield file.blob_key
        if extras is not None:
            yield from extras(file)


async def _values(meta: MetadataStore, prefix: str) -> AsyncIterator[bytes]:
    after: str | None = None
    while True:
        page = await meta.scan(prefix, after=after, limit=_PAGE)
        for doc in page.items:
            yield doc.value
        if page.next_after is None:
            return
        after = page.next_after
