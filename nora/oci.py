"""OCI images and artifacts: push an image layout, list, resolve, read, fetch and delete.

The same operations ``docker``, ``skopeo`` and ``oras`` reach under ``/v2/``,
through the same registry facade (hosted repositories, verified uploads, the
pull-through cache for names not hosted here), without HTTP. An image goes in
as an OCI image layout directory (``oci-layout``, ``index.json``,
``blobs/<algorithm>/<hex>``, what ``skopeo copy``, ``umoci`` and ``buildah``
write), or blob by blob and manifest by manifest; it comes out as typed
manifests and blob bytes.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import anyio
import msgspec

from domain.codecs.json import decode as decode_json
from domain.digests import Digest, hash_bytes
from domain.errors import DigestMismatch, InvalidInput, NotFound, TooLarge
from domain.oci import OciRegistry, parse_digest, parse_manifest, parse_name, parse_tag
from domain.oci.grammar import Reference, parse_reference
from domain.oci.manifests import MAX_MANIFEST_SIZE
from domain.oci.registry import BlobSource
from domain.oci.service import Page
from domain.streams import read_limited
from nora._content import Content, chunks_of, stream_blob

__all__ = ["REF_NAME", "BlobInfo", "Descriptor", "Manifest", "ManifestInfo", "Oci", "Platform"]

REF_NAME: Final = "org.opencontainers.image.ref.name"
"""The annotation of an image layout's ``index.json`` naming an image (its tag)."""

_MAX_NESTING: Final = 8
"""How deep indexes may nest in a layout (an index of indexes of images is 2)."""
_MAX_INDEX_JSON: Final = MAX_MANIFEST_SIZE


class Platform(msgspec.Struct, frozen=True, kw_only=True):
    """The system an image of an index runs on."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()


class Descriptor(msgspec.Struct, frozen=True, kw_only=True):
    """Content a manifest points at: a config, a layer, an index's child, a subject."""

    media_type: str
    digest: str
    """``sha256:<hex>`` (or ``sha512:<hex>``): the content's address."""
    size: int
    artifact_type: str | None = None
    annotations: dict[str, str] = msgspec.field(default_factory=dict)
    urls: tuple[str, ...] = ()
    """Where a non-distributable layer is fetched from (the registry need not hold it)."""
    platform: Platform | None = None
    """For the children of an index: the system each image is for."""


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """A stored manifest, read: an image (config and layers) or an index (child manifests)."""

    name: str
    """The repository it was read from."""
    digest: str
    media_type: str
    size: int
    """The manifest's own bytes (the layers' sizes are in :attr:`layers`)."""
    artifact_type: str | None = None
    config: Descriptor | None = None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    """An index's children, each with its :attr:`Descriptor.platform` when the index says."""
    subject: Descriptor | None = None
    """The manifest this one refers to (a signature, an SBOM), if any."""
    annotations: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        """Whether it lists other manifests (a multi-platform image) rather than layers."""
        return self.config is None


class ManifestInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Where a reference leads: the manifest's digest, type and size."""

    name: str
    """The repository."""
    tag: str | None
    """The tag asked for or pushed; None for a manifest named by its digest."""
    digest: str
    media_type: str
    size: int


class BlobInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A blob stored in a repository."""

    name: str
    digest: str
    size: int


# --- the documents read: manifests and an image layout's index.json ------------------------


class _WireDescriptor(msgspec.Struct, rename="camel"):
    media_type: str = ""
    digest: str = ""
    size: int = 0
    artifact_type: str | None = None
    annotations: dict[str, str] | None = None
    urls: list[str] | None = None
    platform: Any = None


class _WireManifest(msgspec.Struct, rename="camel"):
    media_type: str | None = None
    artifact_type: str | None = None
    config: _WireDescriptor | None = None
    layers: list[_WireDescriptor] = []
    manifests: list[_WireDescriptor] = []
    subject: _WireDescriptor | None = None
    annotations: dict[str, str] | None = None


class _LayoutMarker(msgspec.Struct, rename="camel"):
    image_layout_version: str


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def _stored_platform(value: Any) -> Platform | None:
    if not isinstance(value, dict):
        return None
    features = value.get("os.features")
    return Platform(
        os=_text(value.get("os")),
        architecture=_text(value.get("architecture")),
        variant=_text(value.get("variant")),
        os_version=_text(value.get("os.version")),
        os_features=tuple(f for f in features if isinstance(f, str))
        if isinstance(features, list)
        else (),
    )


def _stored_descriptor(value: Any) -> Descriptor | None:
    if not isinstance(value, dict):
        return None
    size = value.get("size")
    urls = value.get("urls")
    return Descriptor(
        media_type=_text(value.get("mediaType")),
        digest=_text(value.get("digest")),
        size=size if isinstance(size, int) and not isinstance(size, bool) else 0,
        artifact_type=_text(value.get("artifactType")) or None,
        annotations=_texts(value.get("annotations")),
        urls=tuple(u for u in urls if isinstance(u, str)) if isinstance(urls, list) else (),
        platform=_stored_platform(value.get("platform")),
    )


def _stored_descriptors(value: Any) -> tuple[Descriptor, ...]:
    if not isinstance(value, list):
        return ()
    found = (_stored_descriptor(item) for item in value)
    return tuple(d for d in found if d is not None)


def _ref_name(entry: _WireDescriptor) -> str | None:
    return (entry.annotations or {}).get(REF_NAME)


def _bad_layout(detail: str) -> InvalidInput:
    return InvalidInput(detail, subject="layout")


class _Layout:
    """An image layout on disk, checked before anything is pushed.

    Walking from the images to push, every manifest is read (bounded) and
    checked against its descriptor (size, digest, a manifest NORA accepts),
    and every blob it needs must be a file of the size it claims. The result
    is what to push, in the order a registry accepts it: blobs, then
    manifests with every child before its index.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs: dict[Digest, Path] = {}
        self.manifests: dict[Digest, tuple[str, bytes]] = {}
        """Digest -> (media type, bytes), children before the indexes listing them."""

    def path(self, digest: Digest) -> Path:
        return self.root / "blobs" / digest.algorithm / digest.hex

    async def entries(self) -> list[_WireDescriptor]:
        """The images ``index.json`` names, once ``oci-layout`` says this is a layout."""
        marker = await self._small(self.root / "oci-layout", 4096, "oci-layout")
        try:
            msgspec.json.decode(marker, type=_LayoutMarker)
        except msgspec.DecodeError:
            raise _bad_layout(f"{self.root} has no valid oci-layout file") from None
        body = await self._small(self.root / "index.json", _MAX_INDEX_JSON, "index.json")
        return decode_json(body, _WireManifest, subject="layout").manifests

    async def _small(self, path: Path, limit: int, what: str) -> bytes:
        try:
            # read past the limit by one byte, not the size stat gives: a file that grows,
            # a FIFO or a device reports a size that says nothing of what it yields
            async with await anyio.open_file(path, "rb") as handle:
                data = await handle.read(limit + 1)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise _bad_layout(f"{self.root} is not an OCI image layout: no {what}") from None
        if len(data) > limit:
            raise TooLarge(f"{what} exceeds {limit} bytes", subject="layout")
        return data

    async def _size(self, digest: Digest) -> int:
        try:
            stat = await anyio.Path(self.path(digest)).stat()
        except (FileNotFoundError, NotADirectoryError):
            raise _bad_layout(f"the layout lacks {digest}") from None
        return stat.st_size

    async def add(self, entry: _WireDescriptor, depth: int = 0) -> tuple[Digest, str, bytes]:
        """Check the manifest ``entry`` describes, and what it needs; returns it."""
        digest = parse_digest(entry.digest)
        known = self.manifests.get(digest)
        if known is not None:
            return digest, known[0], known[1]
        if depth > _MAX_NESTING:
            raise _bad_layout(f"indexes nest deeper than {_MAX_NESTING} levels")
        if entry.size > MAX_MANIFEST_SIZE:
            raise TooLarge(f"manifest {digest} exceeds {MAX_MANIFEST_SIZE} bytes", subject="layout")
        size = await self._size(digest)
        if size != entry.size:
            raise _bad_layout(
                f"manifest {digest} has {size} bytes, its descriptor says {entry.size}"
            )
        body = await anyio.Path(self.path(digest)).read_bytes()
        if hash_bytes(body, digest.algorithm) != digest:
            raise DigestMismatch(
                f"the layout's manifest {digest} hashes otherwise", subject="digest"
            )
        parsed = parse_manifest(body, entry.media_type or None)
        for child in decode_json(body, _WireManifest, subject="manifest").manifests:
            await self.add(child, depth + 1)
        for blob in parsed.blobs:
            found = await self._size(blob.digest)
            if found != blob.size:
                raise _bad_layout(
                    f"blob {blob.digest} has {found} bytes, its descriptor says {blob.size}"
                )
            self.blobs.setdefault(blob.digest, self.path(blob.digest))
        self.manifests[digest] = (parsed.media_type, body)
        return digest, parsed.media_type, body


async def _bounded(content: Content, limit: int) -> bytes:
    """``content`` whole, or ``TooLarge`` past ``limit`` bytes (read no further)."""
    error = TooLarge(f"a manifest is limited to {limit} bytes", subject="manifest")
    return await read_limited(chunks_of(content), limit, error)


class Oci:
    """The OCI repositories of an open registry (``nora.oci``).

    Names follow the distribution spec (``org/team/image``: lower case,
    any depth), tags ``[A-Za-z0-9_][A-Za-z0-9._-]{0,127}``, digests
    ``sha256:<hex>``; anything else is ``InvalidInput``. Reads of a name not
    hosted here go to the configured upstream registries, as a pull does.
    """

    def __init__(self, part: Any) -> None:
        self._oci: OciRegistry = part.registry()

    # --- push -------------------------------------------------------------------------

    async def push_layout(
        self,
        name: str,
        layout: str | os.PathLike[str],
        *,
        ref: str | None = None,
        tag: str | None = None,
    ) -> list[ManifestInfo]:
        """Push images of an OCI image layout directory, as ``skopeo copy --all oci:DIR``.

        Every blob is pushed (verified against its digest while it streams;
        those the repository already holds are skipped), then every manifest,
        each index after its children, all platforms of an index included.

        Args:
            name: the repository to push to.
            layout: the layout directory.
            ref: push only the image ``index.json`` names so (its
                ``org.opencontainers.image.ref.name``), like ``oci:DIR:ref``.
            tag: the tag to push it under (default: its ref name). Without
                ``ref`` the layout must hold exactly one image.

        Returns:
            Each image pushed, with the tag it got. Without ``ref`` and ``tag``,
            every image the layout lists is pushed, tagged with its ref name;
            one without a ref name is pushed by digest only (``tag`` None).

        Raises:
            InvalidInput: not a layout, a manifest NORA refuses, a missing blob,
                a size or a ref name that is no tag; nothing is pushed then.
            NotFound: no image is named ``ref``.
            DigestMismatch: bytes that do not hash to their digest. A manifest's is
                found before anything is pushed; a blob's while it streams, and
                then no manifest or tag is written (the blobs pushed before it
                stay, unreferenced, as after an interrupted push).
        """
        name = parse_name(name)
        source = _Layout(Path(layout))
        entries = await source.entries()
        targets: list[tuple[str | None, _WireDescriptor]]
        if ref is not None:
            named = [entry for entry in entries if _ref_name(entry) == ref]
            if not named:
                raise NotFound(f"the layout has no image named {ref[:80]!r}", subject="reference")
            targets = [(parse_tag(tag if tag is not None else ref), named[0])]
        elif tag is not None:
            if len(entries) != 1:
                raise _bad_layout(f"the layout holds {len(entries)} images: say which one with ref")
            targets = [(parse_tag(tag), entries[0])]
        else:
            if not entries:
                raise _bad_layout("the layout holds no image")
            targets = [
                (None if (ref_name := _ref_name(entry)) is None else parse_tag(ref_name), entry)
                for entry in entries
            ]
        tops = [(tag_, await source.add(entry)) for tag_, entry in targets]
        tagged: dict[Digest, list[str]] = {}
        for tag_, (digest, _, _) in tops:
            if tag_ is not None:
                tagged.setdefault(digest, []).append(tag_)

        hosted = await self._oci.is_hosted(name)
        for digest, path in source.blobs.items():
            if hosted and await self._holds(name, digest):
                continue
            await self._oci.push_blob(name, chunks_of(path), digest)
        for digest, (media_type, body) in source.manifests.items():
            tags = tagged.get(digest, [])
            if not tags or digest.algorithm != "sha256":  # an index lists children by digest
                await self._oci.put_manifest(name, digest, body, media_type)
            for each in tags:
                await self._oci.put_manifest(name, each, body, media_type)
        return [
            ManifestInfo(
                name=name, tag=tag_, digest=str(digest), media_type=media_type, size=len(body)
            )
            for tag_, (digest, media_type, body) in tops
        ]

    async def _holds(self, name: str, digest: Digest) -> bool:
        """Whether hosted ``name`` already has ``digest`` (a push's HEAD before the bytes)."""
        try:
            await self._oci.blob(name, digest, head=True)
        except NotFound:
            return False
        return True

    async def push_blob(self, name: str, content: Content, digest: str) -> BlobInfo:
        """Store a blob (a layer, a config, an artifact's file) in ``name``.

        Raises:
            DigestMismatch: the bytes do not hash to ``digest``; nothing is stored.
        """
        name = parse_name(name)
        expected = parse_digest(digest)
        stored = await self._oci.push_blob(name, chunks_of(content), expected)
        return BlobInfo(name=name, digest=str(expected), size=stored.info.size)

    async def push_manifest(
        self, name: str, manifest: Content, *, tag: str | None = None, media_type: str | None = None
    ) -> ManifestInfo:
        """Store a manifest's exact bytes (their sha256 is its digest), tagged or by digest.

        Its config, layers or child manifests must be in ``name`` already.
        ``media_type`` is needed only when the manifest does not name its own.

        Raises:
            InvalidInput: not a manifest NORA accepts, or one that points at
                content ``name`` lacks; nothing is stored.
            TooLarge: over 4 MiB.
        """
        name = parse_name(name)
        body = await _bounded(manifest, MAX_MANIFEST_SIZE)
        reference: Reference = parse_tag(tag) if tag is not None else hash_bytes(body)
        parsed = await self._oci.put_manifest(name, reference, body, media_type)
        return ManifestInfo(
            name=name,
            tag=tag,
            digest=str(parsed.digest),
            media_type=parsed.media_type,
            size=parsed.size,
        )

    # --- read -------------------------------------------------------------------------

    async def repositories(self) -> list[str]:
        """Every hosted repository, sorted (names only proxied are not listed)."""
        return await _all_pages(lambda last: self._oci.catalog(None, last))

    async def tags(self, name: str) -> list[str]:
        """The tags of ``name``, sorted; ``NotFound`` for a repository never pushed."""
        name = parse_name(name)
        return await _all_pages(lambda last: self._oci.tags(name, None, last))

    async def resolve(self, name: str, reference: str) -> ManifestInfo:
        """The manifest a tag (or a digest) names, without reading it.

        Raises:
            NotFound: no such repository, tag or manifest.
        """
        name = parse_name(name)
        parsed = parse_reference(reference)
        found = await self._oci.manifest(name, parsed, head=True)
        return ManifestInfo(
            name=name,
            tag=parsed if isinstance(parsed, str) else None,
            digest=str(found.digest),
            media_type=found.media_type,
            size=found.size,
        )

    async def manifest(self, name: str, reference: str) -> Manifest:
        """The manifest a tag or digest names, read: config and layers, or an index's children.

        An index is returned as it is stored (no platform is picked); read a
        child with its :attr:`Descriptor.digest`. The exact bytes are
        ``await oci.blob(name, manifest.digest)``.
        """
        name = parse_name(name)
        found = await self._oci.manifest(name, parse_reference(reference))
        # read leniently: the registry keeps what clients pushed, odd optional fields too
        stored = decode_json(found.body, subject="manifest")
        doc: dict[str, Any] = stored if isinstance(stored, dict) else {}
        return Manifest(
            name=name,
            digest=str(found.digest),
            media_type=found.media_type,
            size=found.size,
            artifact_type=_text(doc.get("artifactType")) or None,
            config=_stored_descriptor(doc.get("config")),
            layers=_stored_descriptors(doc.get("layers")),
            manifests=_stored_descriptors(doc.get("manifests")),
            subject=_stored_descriptor(doc.get("subject")),
            annotations=_texts(doc.get("annotations")),
        )

    async def blob(self, name: str, digest: str) -> bytes:
        """A blob's bytes at once (stream large layers with :meth:`stream_blob`)."""
        return b"".join([chunk async for chunk in self.stream_blob(name, digest)])

    async def stream_blob(self, name: str, digest: str) -> AsyncIterator[bytes]:
        """A blob's bytes (or a manifest's, by its digest), chunk by chunk.

        Raises:
            NotFound: ``name`` holds no such blob.
        """
        source: BlobSource = await self._oci.blob(parse_name(name), parse_digest(digest))
        if source.key is not None:
            async for chunk in stream_blob(self._oci.blobs, source.key):
                yield chunk
            return
        stream = source.stream
        if stream is None:  # pragma: no cover - only a HEAD answers without either
            raise NotFound(f"blob {digest[:80]} has no bytes to read", subject="blob")
        try:  # an upstream's bytes, cached while they are read
            async for chunk in stream:
                yield chunk
        finally:
            closing = getattr(stream, "aclose", None)
            if closing is not None:
                await closing()

    # --- delete -----------------------------------------------------------------------

    async def delete_tag(self, name: str, tag: str) -> None:
        """Remove a tag; its manifest stays, reachable by digest.

        Raises:
            NotFound: no such tag.
            Unsupported: deleting is switched off (``NORA_DOCKER_DELETE_ENABLED``).
        """
        await self._oci.delete_manifest(parse_name(name), parse_tag(tag))

    async def delete_manifest(self, name: str, digest: str) -> None:
        """Remove a manifest with every tag pointing at it (its blobs go at the next GC).

        Raises:
            NotFound: no such manifest.
            Unsupported: deleting is switched off (``NORA_DOCKER_DELETE_ENABLED``).
        """
        await self._oci.delete_manifest(parse_name(name), parse_digest(digest))


async def _all_pages(read: Callable[[str | None], Awaitable[Page]]) -> list[str]:
    """Every name of a paged listing."""
    items: list[str] = []
    last: str | None = None
    while True:
        page = await read(last)
        items.extend(page.items)
        if not page.more or not page.items:
            return items
        last = page.items[-1]
