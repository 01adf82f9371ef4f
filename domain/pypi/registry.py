"""The PyPI registry: uploads, simple pages, JSON API, yank, delete and the pull-through cache.

Hosted projects live in a :class:`~domain.packages.PackageIndex` (format
``pypi``, names normalised per PEP 503). Per version it keeps the upload
form's metadata (:class:`ReleaseMeta`), per file its type, Python tag,
``Requires-Python`` and the sha256 of the wheel's extracted ``METADATA``
(:class:`FileMeta`), whose bytes are a content-addressed blob of their own.

Proxied projects come from the configured upstream simple indexes through
:class:`~domain.proxy.PullThrough`: pages are cached for the TTL, revalidated,
and served stale when every upstream is down; their files are fetched once,
verified against the upstream's sha256 and kept. A project that exists
locally shadows every upstream entirely (a dependency-confusion defence),
decided for pages and files alike by :func:`domain.shadowing.shadowed`.

Rendered pages are cached per ``(document, version, media type)`` in a
:class:`~domain.packages.RenderCache`, so repeats cost one small metadata
read; each release's entries are cached under the release's own document, so
a page is re-assembled after an upload, not rendered whole again. The root
page is rendered once per generation of the index (a change to any project),
and only filtered per caller.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec

from domain.codecs.multipart import MultipartReader, boundary_of
from domain.codecs.tar import read_member_async as read_tar_member
from domain.codecs.zipread import read_directory, read_member
from domain.digests import ALGORITHMS, Digest
from domain.downloads import Download
from domain.errors import Conflict, DigestMismatch, InvalidInput, NotFound, TooLarge
from domain.keys import blob_key, pypi_retired_key
from domain.packages import (
    NewFile,
    Package,
    PackageFile,
    PackageIndex,
    PackageVersion,
    RenderCache,
    Snapshot,
)
from domain.ports import BlobStore, Clock, MetadataStore
from domain.proxy import CachedDocument, PullThrough
from domain.pypi.grammar import (
    DistFilename,
    Version,
    check_filename,
    normalise,
    parse_filename,
    parse_name,
    parse_version,
    version_key,
)
from domain.pypi.metadata import (
    MAX_METADATA_BYTES,
    CoreMetadata,
    FileMeta,
    ReleaseMeta,
    form_fields,
    parse_core_metadata,
)
from domain.pypi.simple import (
    SimpleFile,
    SimpleProject,
    assemble_project,
    parse_project_page,
    render_files,
    render_index,
)
from domain.pypi.simple import render_project as _render_project
from domain.shadowing import hosted_unless, shadowed
from domain.streams import stream_blob
from domain.uploads import StoredBlob, UploadSessions

__all__ = [
    "FORMAT",
    "Download",
    "PypiRegistry",
    "Rendered",
    "new_pypi_index",
]

FORMAT: Final = "pypi"
_FIELD_LIMIT: Final = 1024 * 1024
_FORM_LIMIT: Final = 8 * 1024 * 1024
_UPSTREAM_ACCEPT: Final = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.1"
)
_PARSED_CACHE: Final = 256
_SDIST_INFLATED: Final = 4 * 1024**3
"""The most an sdist may inflate to while :meth:`PypiRegistry.publish_file` reads PKG-INFO."""
_MAGIC: Final = {"bdist_wheel": b"PK\x03\x04", ".zip": b"PK\x03\x04", ".tar.gz": b"\x1f\x8b"}
_CONTENT_TYPES: Final = {".whl": "application/zip", ".zip": "application/zip"}
_NOT_METADATA: Final = frozenset(
    {":action", "protocol_version", "md5_digest", "sha256_digest", "blake2_256_digest"}
)
_INDEX_KEY: Final = "pypi:/simple/"
"""The render cache key of the root page (never a document key: those have no colon)."""
_HOSTED_HERE: Final = hosted_unless("package")
"""A miss whose subject is not "package" lies inside a hosted project (PackageIndex.get said so)."""
_release_encoder = msgspec.msgpack.Encoder()
_release_decoder = msgspec.msgpack.Decoder(ReleaseMeta)
_file_decoder = msgspec.msgpack.Decoder(FileMeta)


def new_pypi_index(
    *, meta: MetadataStore, blobs: BlobStore, uploads: UploadSessions, clock: Clock
) -> PackageIndex:
    """The PackageIndex for PyPI: PEP 503 names, PEP 440 order, md5 kept for the JSON API."""

    def key_name(name: str) -> str:
        return normalise(parse_name(name))

    return PackageIndex(
        FORMAT,
        meta=meta,
        blobs=blobs,
        uploads=uploads,
        clock=clock,
        normalise=key_name,
        algorithms=("md5",),
        version_order=_version_key,
    )


class Rendered(msgspec.Struct, frozen=True, kw_only=True):
    """A rendered document and its strong ETag."""

    body: bytes
    etag: str


def file_content_type(filename: str) -> str:
    """What a distribution file is served as (never with a Content-Encoding)."""
    for suffix, kind in _CONTENT_TYPES.items():
        if filename.endswith(suffix):
            return kind
    if filename.endswith(".tar.gz"):
        return "application/x-tar+gzip"
    if filename.endswith(".metadata"):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


class _Extra:
    """Digests PyPI names that the upload session does not compute, plus the first bytes."""

    def __init__(self, with_sha256: bool) -> None:
        self.hashes: dict[str, Any] = {
            "md5": hashlib.md5(usedforsecurity=False),
            "blake2b_256": hashlib.blake2b(digest_size=32),
        }
        if with_sha256:
            self.hashes["sha256"] = hashlib.sha256()
        self.head = b""
        self.size = 0

    async def feed(self, chunks: AsyncIterable[bytes], limit: int) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            self.size += len(chunk)
            if self.size > limit:
                raise TooLarge("file is too large", subject="file")
            if len(self.head) < 8:
                self.head += chunk[: 8 - len(self.head)]
            for h in self.hashes.values():
                h.update(chunk)
            yield chunk

    def hexdigest(self, name: str) -> str | None:
        h = self.hashes.get(name)
        return None if h is None else str(h.hexdigest())


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _client_digest(fields: dict[str, list[str]], field: str, length: int) -> str | None:
    values = [value.strip().lower() for value in fields.get(field, []) if value.strip()]
    if not values:
        return None
    value = values[0]
    if len(value) != length or any(ch not in "0123456789abcdef" for ch in value):
        raise InvalidInput(f"{field} is not a valid hex digest", subject="digest")
    return value


class PypiRegistry:
    """Everything the PyPI HTTP edge asks for.

    Args:
        index: from :func:`new_pypi_index`.
        proxy: the pull-through cache, or None when no upstream is configured.
        upstreams: upstream simple-index base URLs (``.../simple``), tried in order.
        ttl: how long a proxied page is served before it is revalidated.
        max_file_bytes: largest accepted upload.
        meta: where deleted file names are remembered, so none is ever reused
            (as on PyPI: a name once published always meant the same bytes).
    """

    def __init__(
        self,
        *,
        index: PackageIndex,
        blobs: BlobStore,
        uploads: UploadSessions,
        clock: Clock,
        proxy: PullThrough | None = None,
        upstreams: Sequence[str] = (),
        ttl: timedelta = timedelta(minutes=10),
        renders: RenderCache | None = None,
        max_file_bytes: int = 10 * 1024**3,
        meta: MetadataStore | None = None,
    ) -> None:
        self.index = index
        self._meta = meta
        self.blobs = blobs
        self._uploads = uploads
        self._clock = clock
        self._proxy = proxy if upstreams else None
        self._upstreams = [url.rstrip("/") for url in upstreams]
        self._ttl = ttl
        self._renders = renders or RenderCache()
        self._max_file = max_file_bytes
        self._parsed: OrderedDict[str, tuple[int, list[SimpleFile]]] = OrderedDict()
        self._names: tuple[int, list[tuple[str, str]]] | None = None

    # ------------------------------------------------------------------ names

    @staticmethod
    def normalised(name: str) -> str:
        """The PEP 503 form of a project name from a URL; ``NotFound`` if it is no name."""
        try:
            return normalise(parse_name(name))
        except InvalidInput:
            raise NotFound(f"project {name[:100]!r} not found", subject="package") from None

    # ------------------------------------------------------------------ simple pages

    async def index_page(
        self, media_type: str, visible: Callable[[str], bool] | None = None
    ) -> Rendered:
        """/simple/: every hosted project the caller may read (proxied ones are not listed).

        The ``(name, normalised name)`` pairs are built once per generation of
        the index, and the page for callers who may read everything is cached
        under it too; a filtered page is rendered from the cached pairs.
        """
        listing = await self.index.listing()
        generation = listing.generation
        if generation is not None and self._names is not None and self._names[0] == generation:
            pairs = self._names[1]
        else:
            pairs = [(item.name, normalise(item.name)) for item in listing.packages]
            if generation is not None:
                self._names = (generation, pairs)
        if visible is not None:
            body = render_index([p for p in pairs if visible(p[1]) or visible(p[0])], media_type)
        elif generation is None:
            body = render_index(pairs, media_type)
        else:
            cached = self._renders.get(_INDEX_KEY, media_type, generation)
            body = cached or self._renders.put(
                _INDEX_KEY, media_type, generation, render_index(pairs, media_type)
            )
        return Rendered(body=body, etag=f'"{zlib.crc32(body):08x}-{len(body)}"')

    async def project_page(self, name: str, media_type: str) -> Rendered:
        """/simple/<project>/: hosted if the project exists here, else proxied."""
        normal = self.normalised(name)
        return await shadowed(
            lambda: self._hosted_project(normal, media_type),
            None if self._proxy is None else lambda: self._proxied_page(normal, media_type),
            hosted_here=_HOSTED_HERE,
        )

    async def _hosted_project(self, normal: str, media_type: str) -> Rendered:
        snap = await self.index.get(normal)
        etag = snap.etag(media_type.rsplit("/", 1)[-1])
        body = self._renders.get(snap.key, media_type, snap.version)
        if body is None:
            body = self._renders.put(
                snap.key, media_type, snap.version, self._hosted_page(snap, media_type)
            )
        return Rendered(body=body, etag=etag)

    def _hosted_page(self, snap: Snapshot, media_type: str) -> bytes:
        """The page from each release's entries, rendered once per release document."""
        versions = snap.package.versions
        parts = self._renders.parts(
            snap, media_type, lambda v: render_files(_simple_files(versions[v]), media_type)
        )
        ordered = sorted(versions, key=_version_key)
        return assemble_project(
            normalise(snap.package.name),
            [parts[v] for v in ordered],
            ordered,
            media_type,
            complete=True,
        )

    async def _upstream_doc(self, normal: str) -> CachedDocument:
        assert self._proxy is not None
        return await self._proxy.document(
            f"simple/{normal}",
            [f"{base}/{normal}/" for base in self._upstreams],
            ttl=self._ttl,
            headers={"Accept": _UPSTREAM_ACCEPT},
        )

    async def _upstream_files(self, normal: str, doc: CachedDocument) -> list[SimpleFile]:
        """The upstream page's files (cached per document version), unsafe names dropped."""
        cached = self._parsed.get(normal)
        if cached is not None and cached[0] == doc.version:
            self._parsed.move_to_end(normal)
            return cached[1]
        assert self._proxy is not None
        body = await self._proxy.read(doc)
        files: list[SimpleFile] = []
        for item in parse_project_page(body, doc.content_type, doc.url):
            try:
                parsed = parse_filename(item.filename)
            except InvalidInput:
                continue
            if normalise(parsed.name) != normal and not normalise(item.filename).startswith(
                normal + "-"
            ):
                continue
            files.append(item)
        self._parsed[normal] = (doc.version, files)
        self._parsed.move_to_end(normal)
        while len(self._parsed) > _PARSED_CACHE:
            self._parsed.popitem(last=False)
        return files

    async def _proxied_page(self, normal: str, media_type: str) -> Rendered:
        doc = await self._upstream_doc(normal)
        content = (doc.sha256 or "")[:16]  # versions start again in a restored store
        variant = media_type.rsplit("/", 1)[-1]
        etag = f'"p{zlib.crc32(normal.encode()):08x}-{doc.version}-{content}-{variant}"'
        cache_key = f"proxy/{normal}"
        body = self._renders.get(cache_key, media_type, doc.version)
        if body is not None:
            return Rendered(body=body, etag=etag)
        upstream = await self._upstream_files(normal, doc)
        files: list[SimpleFile] = []
        versions: dict[str, Version] = {}
        for item in upstream:
            with contextlib.suppress(InvalidInput):
                version = parse_filename(item.filename).version
                versions.setdefault(version.canonical, version)
            files.append(msgspec.structs.replace(item, url=item.filename))
        project = SimpleProject(
            name=normal,
            files=files,
            versions=[v.canonical for v in sorted(versions.values())],
        )
        body = self._renders.put(
            cache_key, media_type, doc.version, _render_project(project, media_type)
        )
        return Rendered(body=body, etag=etag)

    # ------------------------------------------------------------------ downloads

    async def download(self, name: str, filename: str) -> Download:
        """A distribution file, or its ``.metadata`` (PEP 658) when the name ends so.

        Without an upstream, a project never hosted answers as a missing file.
        That is done after :func:`shadowed`, which must see the package miss
        itself to know an upstream may be asked.
        """
        normal = self.normalised(name)
        try:
            return await shadowed(
                lambda: self._hosted_download(normal, filename),
                None if self._proxy is None else lambda: self._proxied_download(normal, filename),
                hosted_here=_HOSTED_HERE,
            )
        except NotFound as miss:
            if miss.subject != "package":
                raise
        raise NotFound(f"file {filename[:100]!r} not found", subject="file")

    async def _hosted_download(self, normal: str, filename: str) -> Download:
        snap = await self.index.get(normal)
        if filename.endswith(".metadata"):
            dist = filename[: -len(".metadata")]
            found = snap.find_file(dist)
            meta = _file_meta(found[1]) if found else None
            if meta is None or not meta.metadata_sha256:
                raise NotFound(f"no metadata for {dist[:100]!r}", subject="file")
            digest = Digest("sha256", meta.metadata_sha256)
            return Download(
                filename=filename,
                content_type=file_content_type(filename),
                etag=f'"{meta.metadata_sha256}"',
                key=blob_key(digest),
            )
        located = snap.find_file(filename)
        if located is None:
            raise NotFound(f"file {filename[:100]!r} not found", subject="file")
        item = located[1]
        return Download(
            filename=filename,
            content_type=item.content_type or file_content_type(filename),
            etag=f'"{item.sha256}"',
            key=item.blob_key,
            size=item.size,
        )

    async def _proxied_download(self, normal: str, filename: str) -> Download:
        assert self._proxy is not None
        cache_key = f"{normal}/{filename}"
        cached = await self._proxy.cached_file(cache_key)
        content_type = file_content_type(filename)
        if cached is not None:
            return Download(
                filename=filename,
                content_type=content_type,
                etag=f'"{cached.digests.get("sha256", "").partition(":")[2]}"',
                key=cached.key,
                size=cached.size,
            )
        dist = filename[: -len(".metadata")] if filename.endswith(".metadata") else filename
        doc = await self._upstream_doc(normal)
        item = next(
            (f for f in await self._upstream_files(normal, doc) if f.filename == dist), None
        )
        if item is None:
            raise NotFound(f"file {filename[:100]!r} not found", subject="file")
        hashes = item.hashes
        url = item.url
        if dist != filename:
            if item.core_metadata is None:
                raise NotFound(f"no metadata for {dist[:100]!r}", subject="file")
            hashes, url = item.core_metadata, url + ".metadata"
        expected = None
        for algorithm in ("sha256", "sha512", "sha1", "md5"):
            value = hashes.get(algorithm)
            if value and algorithm in ALGORITHMS:
                with contextlib.suppress(InvalidInput):
                    expected = Digest.of(algorithm, value)
                    break
        source = await self._proxy.file(cache_key, [url], expected=expected)
        if source.cached is not None:
            return Download(
                filename=filename,
                content_type=content_type,
                etag=f'"{source.cached.digests.get("sha256", "").partition(":")[2]}"',
                key=source.cached.key,
                size=source.cached.size,
            )
        return Download(
            filename=filename,
            content_type=content_type,
            etag=f'"{expected.hex}"' if expected and expected.algorithm == "sha256" else None,
            size=source.size,
            stream=source.stream,
        )

    # ------------------------------------------------------------------ upload

    async def upload(
        self,
        body: AsyncIterable[bytes],
        content_type: str | None,
        *,
        publisher: str = "",
        check_name: Callable[[str], None] | None = None,
    ) -> PackageFile:
        """POST /pypi/ with ``:action=file_upload``: verify, store and publish one file.

        The file part is streamed into an upload session while the digests
        are computed; the form's fields (before or after it) are then checked:
        the action, name and version against the file name, every digest the
        client sent, the file type. Wheels must be sound ZIP archives holding
        a METADATA that names the same project and version; it is extracted
        and kept for PEP 658. Any refusal leaves nothing stored.

        ``check_name`` is called with the normalised project name as soon as
        the form names it (before the file's bytes when the client sends the
        fields first, as twine and uv do); it raises to refuse the upload.
        """
        reader = MultipartReader(body, boundary_of(content_type))
        fields: dict[str, list[str]] = {}
        filename: str | None = None
        upload_id: str | None = None
        extra: _Extra | None = None
        form_bytes = 0
        try:
            while (part := await reader.next_part()) is not None:
                if part.filename is not None and part.name == "content":
                    if filename is not None:
                        raise InvalidInput("more than one file in the upload", subject="file")
                    filename = part.filename
                    upload_id, extra = await self._stage_file(
                        filename, part.chunks(), fields, check_name
                    )
                    continue
                value = await part.text(_FIELD_LIMIT)
                form_bytes += len(value)
                if form_bytes > _FORM_LIMIT:
                    raise TooLarge("upload form fields are too large", subject="multipart")
                fields.setdefault(part.name, []).append(value)
            if check_name is not None:
                check_name(normalise(parse_name(_first(fields, "name"))))
            return await self._finish_upload(fields, filename, upload_id, extra, publisher)
        except BaseException:
            if upload_id is not None:
                with contextlib.suppress(NotFound):
                    await self._uploads.cancel(upload_id)
            raise

    async def publish_file(
        self,
        filename: str,
        chunks: AsyncIterable[bytes],
        *,
        fields: Mapping[str, Sequence[str]] | None = None,
        sha256: str | None = None,
        publisher: str = "",
    ) -> PackageFile:
        """Publish one distribution file from plain arguments (what :meth:`upload` reduces to).

        ``fields`` are upload-form metadata fields (``summary``, ``requires_python``...)
        overriding what the file itself says: its METADATA (wheel) or PKG-INFO (sdist)
        is read once stored, as twine reads it before uploading, and must name the
        project and version of ``filename``. ``sha256``, when given, must match.
        The same checks as an upload apply, and a refusal leaves nothing stored.
        """
        given = {key: [str(v) for v in values] for key, values in (fields or {}).items()}
        if sha256:
            given["sha256_digest"] = [sha256]
        upload_id, extra = await self._stage_file(filename, chunks, given, None)
        try:
            return await self._finish_upload(
                given, filename, upload_id, extra, publisher, from_file=True
            )
        except BaseException:
            with contextlib.suppress(NotFound):
                await self._uploads.cancel(upload_id)
            raise

    async def _stage_file(
        self,
        filename: str,
        chunks: AsyncIterable[bytes],
        fields: dict[str, list[str]],
        check_name: Callable[[str], None] | None,
    ) -> tuple[str, _Extra]:
        """Check what the fields in hand allow, then stream the file into an upload session."""
        parse_filename(filename)
        self._early_checks(fields, filename, check_name)
        extra = _Extra(with_sha256="sha256_digest" not in fields)
        upload_id = (await self._uploads.start()).id
        try:
            await self._uploads.append(upload_id, 0, extra.feed(chunks, self._max_file))
        except BaseException:
            with contextlib.suppress(NotFound):
                await self._uploads.cancel(upload_id)
            raise
        return upload_id, extra

    def _early_checks(
        self,
        fields: dict[str, list[str]],
        filename: str,
        check_name: Callable[[str], None] | None,
    ) -> None:
        """Refuse before a byte is stored when the fields already in hand allow it."""
        name, version = _first(fields, "name"), _first(fields, "version")
        if name and check_name is not None:
            check_name(normalise(parse_name(name)))
        if name and version:
            check_filename(filename, name, version)

    async def _finish_upload(
        self,
        fields: dict[str, list[str]],
        filename: str | None,
        upload_id: str | None,
        extra: _Extra | None,
        publisher: str,
        *,
        from_file: bool = False,
    ) -> PackageFile:
        """Check and commit a staged file; ``from_file`` (:meth:`publish_file`): the name,
        version and release fields the form would carry come from the file itself."""
        action = _first(fields, ":action") or "file_upload"
        if action != "file_upload":
            raise InvalidInput(f"unsupported :action {action[:40]!r}", subject="action")
        if filename is None or upload_id is None or extra is None:
            raise InvalidInput("upload payload does not have a file", subject="file")
        given = fields
        if from_file:
            named = parse_filename(filename)
            fields = {"name": [named.name], "version": [named.version.text], **given}
        name = parse_name(_first(fields, "name"))
        version_text = _first(fields, "version")
        dist = check_filename(filename, name, version_text)
        filetype = _first(fields, "filetype")
        if filetype and filetype != dist.kind:
            raise InvalidInput(
                f"filetype {filetype[:40]!r} does not match {filename[:100]!r}", subject="filename"
            )
        magic = _MAGIC["bdist_wheel"] if dist.kind == "bdist_wheel" else None
        if magic is None:
            magic = _MAGIC[".zip"] if filename.endswith(".zip") else _MAGIC[".tar.gz"]
        if not extra.head.startswith(magic):
            raise InvalidInput(f"{filename[:100]} is not a valid {dist.kind}", subject="file")
        sha256 = _client_digest(fields, "sha256_digest", 64)
        md5 = _client_digest(fields, "md5_digest", 32)
        blake2 = _client_digest(fields, "blake2_256_digest", 64)
        if sha256 is None and md5 is None and blake2 is None and not from_file:
            raise InvalidInput("include at least one message digest", subject="digest")
        for client, ours in ((md5, "md5"), (blake2, "blake2b_256")):
            if client is not None and client != extra.hexdigest(ours):
                raise DigestMismatch(
                    "the digest supplied does not match a digest calculated from the uploaded file",
                    subject="digest",
                )
        computed = sha256 or extra.hexdigest("sha256")
        if computed is None:  # pragma: no cover - _Extra hashes sha256 when none was sent
            raise InvalidInput("include at least one message digest", subject="digest")
        snap = await self._existing(name)
        if snap is not None and snap.find_file(filename) is not None:
            raise Conflict(f"{filename} was uploaded before", subject="file")
        if await self._retired(name, filename):
            raise Conflict(
                f"{filename} was deleted; a file name is never used twice", subject="file"
            )
        existed = await self._exists(blob_key(Digest("sha256", computed)))
        try:
            stored = await self._uploads.commit(upload_id, Digest("sha256", computed))
        except DigestMismatch:
            raise DigestMismatch(
                "the digest supplied does not match a digest calculated from the uploaded file",
                subject="digest",
            ) from None
        new_keys = [] if existed else [stored.info.key]
        try:
            core: bytes | None = None
            if from_file and dist.kind == "sdist":
                core = await self._sdist_metadata(stored, dist, name)
                fields = {**form_fields(core), **given}
            meta = FileMeta(
                packagetype=dist.kind,
                python_version=_first(fields, "pyversion")
                or ("source" if dist.kind == "sdist" else dist.python_tag),
                requires_python=_first(fields, "requires_python"),
            )
            if dist.kind == "bdist_wheel":
                metadata = await self._wheel_metadata(stored, dist, name)
                meta.metadata_sha256, metadata_key, metadata_new, requires, core = metadata
                if metadata_new:
                    new_keys.append(metadata_key)
                if from_file:
                    fields = {**form_fields(core), **given}
                    meta.requires_python = _first(fields, "requires_python")
                if not meta.requires_python:
                    meta.requires_python = requires
            digests = dict(stored.digests)
            digests["md5"] = Digest("md5", str(extra.hexdigest("md5")))
            digests["blake2b_256"] = Digest("blake2b_256", str(extra.hexdigest("blake2b_256")))
            release = ReleaseMeta(
                fields={k: v for k, v in fields.items() if k not in _NOT_METADATA}
            )
            existing_version = _same_version(snap.package if snap else None, dist.version)
            if from_file:  # the project's name as its metadata spells it, as twine sends it
                name = parse_name(_first(fields, "name") or name)
            published = await self.index.publish(
                name,
                existing_version or version_text,
                [
                    NewFile(
                        filename=filename,
                        blob=StoredBlob(info=stored.info, digests=digests),
                        content_type=file_content_type(filename),
                        metadata=_release_encoder.encode(meta),
                    )
                ],
                metadata=_release_encoder.encode(release),
                publisher=publisher,
                description=release.one("summary") or None,
                extend=True,
            )
        except BaseException:
            for key in new_keys:
                with contextlib.suppress(NotFound):
                    await self.blobs.delete(key)
            raise
        found = published.find_file(filename)
        assert found is not None
        return found[1]

    async def _existing(self, name: str) -> Snapshot | None:
        try:
            return await self.index.get(name)
        except NotFound:
            return None

    async def _exists(self, key: str) -> bool:
        try:
            await self.blobs.stat(key)
        except NotFound:
            return False
        return True

    async def _wheel_metadata(
        self, stored: StoredBlob, dist: DistFilename, name: str
    ) -> tuple[str, str, bool, str, bytes]:
        """Extract and check the wheel's METADATA; returns (sha256, key, newly stored,
        requires, METADATA)."""
        key, size = stored.info.key, stored.info.size

        async def read(start: int, end: int) -> bytes:
            reader = await self.blobs.open(key, start, end)
            return b"".join([chunk async for chunk in reader])

        entries = await read_directory(read, size)
        names = {entry.name for entry in entries}
        candidates = [
            entry
            for entry in entries
            if entry.name.count("/") == 1 and entry.name.endswith(".dist-info/METADATA")
        ]
        wanted = normalise(dist.name)
        matching = [
            entry
            for entry in candidates
            if normalise(entry.name.split("/", 1)[0][: -len(".dist-info")].split("-", 1)[0])
            == wanted
        ]
        if len(matching) != 1:
            raise InvalidInput(
                f"{dist.filename[:100]} has no single .dist-info/METADATA for {dist.name[:100]}",
                subject="file",
            )
        entry = matching[0]
        if entry.name.rsplit("/", 1)[0] + "/WHEEL" not in names:
            raise InvalidInput(f"{dist.filename[:100]} has no .dist-info/WHEEL", subject="file")
        data = await read_member(read, size, entry, limit=MAX_METADATA_BYTES)
        core = _check_core(data, dist, name)
        metadata_key = blob_key(_sha256_of(data))
        existed = await self._exists(metadata_key)
        blob = await self._uploads.store(_once(data))
        return blob.sha256.hex, blob.info.key, not existed, core.requires_python, data

    async def _sdist_metadata(self, stored: StoredBlob, dist: DistFilename, name: str) -> bytes:
        """The sdist's ``<name>-<version>/PKG-INFO``, checked like a wheel's METADATA."""
        key, size = stored.info.key, stored.info.size

        async def read(start: int, end: int) -> bytes:
            reader = await self.blobs.open(key, start, end)
            return b"".join([chunk async for chunk in reader])

        def wanted(path: str) -> bool:
            return path.count("/") == 1 and path.endswith("/PKG-INFO")

        data: bytes | None = None
        if dist.filename.endswith(".zip"):
            entries = [e for e in await read_directory(read, size) if wanted(e.name)]
            if len(entries) == 1:
                data = await read_member(read, size, entries[0], limit=MAX_METADATA_BYTES)
        else:
            found = await read_tar_member(
                stream_blob(self.blobs, key), wanted, MAX_METADATA_BYTES, max_total=_SDIST_INFLATED
            )
            data = None if found is None else found[1]
        if data is None:
            raise InvalidInput(f"{dist.filename[:100]} has no PKG-INFO", subject="file")
        _check_core(data, dist, name)
        return data

    # ------------------------------------------------------------------ yank, delete

    async def yank(self, name: str, version: str, *, reason: str = "", yanked: bool = True) -> str:
        """Yank (PEP 592) or un-yank a release; returns the stored version string."""
        snap = await self.index.get(self.normalised(name))
        stored = _same_version(snap.package, _version_or_missing(version))
        if stored is None:
            raise NotFound(f"{name[:100]} {version[:50]} not found", subject="version")
        await self.index.yank(snap.package.name, stored, yanked=yanked, reason=reason[:1000])
        return stored

    async def delete_release(self, name: str, version: str) -> None:
        """Delete a release and its files (the project goes with its last release)."""
        snap = await self.index.get(self.normalised(name))
        stored = _same_version(snap.package, _version_or_missing(version))
        if stored is None:
            raise NotFound(f"{name[:100]} {version[:50]} not found", subject="version")
        filenames = [f.filename for f in snap.package.versions[stored].files]
        await self.index.delete_versions(snap.package.name, [stored])
        await self._retire(name, filenames)

    async def delete_file(self, name: str, version: str, filename: str) -> None:
        """Delete one file; an emptied release goes, and an emptied project too."""
        normal = self.normalised(name)
        wanted = _version_or_missing(version)
        now = self._clock.now()

        def change(current: Package | None) -> Package | None:
            if current is None:
                raise NotFound(f"project {name[:100]!r} not found", subject="package")
            stored = _same_version(current, wanted)
            release = current.versions.get(stored or "")
            if release is None or release.file(filename) is None:
                raise NotFound(f"file {filename[:100]!r} not found", subject="file")
            kept = [f for f in release.files if f.filename != filename]
            if kept:
                current.versions[release.version] = msgspec.structs.replace(release, files=kept)
            else:
                del current.versions[release.version]
            if not current.versions:
                return None
            current.modified = now
            return current

        await self.index.update(normal, change)
        await self._retire(name, [filename])

    async def _retire(self, name: str, filenames: Sequence[str]) -> None:
        if self._meta is None:
            return
        for filename in filenames:
            await self._meta.put(self._retired_key(name, filename), b"")

    async def _retired(self, name: str, filename: str) -> bool:
        if self._meta is None:
            return False
        try:
            await self._meta.get(self._retired_key(name, filename))
        except NotFound:
            return False
        return True

    def _retired_key(self, name: str, filename: str) -> str:
        return pypi_retired_key(self.normalised(name), filename)

    # ------------------------------------------------------------------ JSON API

    async def project_json(self, name: str, base_url: str, version: str | None = None) -> bytes:
        """/pypi/<project>/json and /pypi/<project>/<version>/json in PyPI's shape."""
        snap = await self.index.get(self.normalised(name))
        variant = f"json {base_url} {'' if version is None else version}"
        body = self._renders.get(snap.key, variant, snap.version)
        if body is not None:
            return body
        package = snap.package
        if version is None:
            chosen = _latest(package, sorted(package.versions, key=_version_key))
        else:
            found = _same_version(package, _version_or_missing(version))
            if found is None:
                raise NotFound(f"{name[:100]} {version[:50]} not found", subject="version")
            chosen = found
        body = self._project_json(snap, chosen, base_url, version)
        return self._renders.put(snap.key, variant, snap.version, body)

    def _project_json(
        self, snap: Snapshot, chosen: str, base_url: str, version: str | None
    ) -> bytes:
        package = snap.package
        files_url = f"{base_url}/simple/{normalise(package.name)}/"

        def render(v: str) -> bytes:
            release = package.versions[v]
            return msgspec.json.encode(
                [
                    _json_file(files_url, f, release.yanked, release.yank_reason)
                    for f in release.files
                ]
            )

        variant = f"json-files {files_url}"
        doc: dict[str, Any] = {
            "info": _info(package, chosen, base_url),
            "last_serial": snap.version,
            "urls": self._renders.part(snap, variant, chosen, render),
            "vulnerabilities": [],
        }
        if version is None:
            parts = self._renders.parts(snap, variant, render)
            doc["releases"] = {v: parts[v] for v in sorted(package.versions, key=_version_key)}
        return msgspec.json.encode(doc)


@functools.lru_cache(maxsize=65536)
def _version_key(text: str) -> Any:
    """:func:`version_key`, remembered: pages sort every release of a project per change."""
    return version_key(text)


@functools.lru_cache(maxsize=65536)
def _parsed(text: str) -> Version | None:
    """A stored version string parsed (None if it is not PEP 440), remembered."""
    try:
        return parse_version(text)
    except InvalidInput:
        return None


def _simple_files(release: PackageVersion) -> list[SimpleFile]:
    """A hosted release's files as the simple API lists them, by file name."""
    yanked: bool | str = (release.yank_reason or True) if release.yanked else False
    files: list[SimpleFile] = []
    for item in sorted(release.files, key=lambda f: f.filename):
        meta = _file_meta(item)
        files.append(
            SimpleFile(
                filename=item.filename,
                url=item.filename,
                hashes={"sha256": item.sha256},
                requires_python=meta.requires_python or None,
                yanked=yanked,
                core_metadata=({"sha256": meta.metadata_sha256} if meta.metadata_sha256 else None),
                size=item.size,
                upload_time=_iso(item.uploaded),
            )
        )
    return files


def _check_core(data: bytes, dist: DistFilename, name: str) -> CoreMetadata:
    """A file's core metadata, which must name the project and version its file name does."""
    core = parse_core_metadata(data)
    if normalise(core.name) != normalise(name):
        raise InvalidInput(
            f"METADATA names project {core.name[:100]!r}, not {name[:100]!r}",
            subject="filename",
        )
    try:
        same = parse_version(core.version) == dist.version
    except InvalidInput:
        same = False
    if not same:
        raise InvalidInput(
            f"METADATA says version {core.version[:50]!r}, the file name "
            f"{dist.version.text[:50]!r}",
            subject="filename",
        )
    return core


def _sha256_of(data: bytes) -> Digest:
    """sha256 of a small byte string as a Digest."""
    return Digest("sha256", hashlib.sha256(data).hexdigest())


def _first(fields: dict[str, list[str]], name: str) -> str:
    values = fields.get(name)
    return values[0].strip() if values else ""


def _file_meta(item: PackageFile) -> FileMeta:
    if not item.metadata:
        return FileMeta(packagetype="")
    try:
        return _file_decoder.decode(item.metadata)
    except msgspec.DecodeError:
        return FileMeta(packagetype="")


def _release_meta(raw: bytes) -> ReleaseMeta:
    if not raw:
        return ReleaseMeta()
    try:
        return _release_decoder.decode(raw)
    except msgspec.DecodeError:
        return ReleaseMeta()


def _version_or_missing(text: str) -> Version | str:
    try:
        return parse_version(text)
    except InvalidInput:
        return text


def _same_version(package: Package | None, wanted: Version | str) -> str | None:
    """The stored version string equal to ``wanted`` under PEP 440 (or literally)."""
    if package is None:
        return None
    if isinstance(wanted, str):
        return wanted if wanted in package.versions else None
    if wanted.text in package.versions:
        return wanted.text
    key = (1, wanted.key)
    for stored in package.versions:
        if _version_key(stored) == key:
            return stored
    return None


def _latest(package: Package, ordered: list[str]) -> str:
    """PyPI's choice: the newest final release not yanked, else the newest not yanked."""
    live = [v for v in ordered if not package.versions[v].yanked] or ordered
    finals = []
    for v in live:
        parsed = _parsed(v)
        if parsed is not None and not parsed.is_prerelease:
            finals.append(v)
    return (finals or live)[-1]


def _info(package: Package, version: str, base_url: str) -> dict[str, Any]:
    release = package.versions[version]
    meta = _release_meta(release.metadata)
    normal = normalise(package.name)
    project_urls: dict[str, str] = {}
    for entry in meta.many("project_urls"):
        label, _, url = entry.partition(",")
        if url.strip():
            project_urls[label.strip()] = url.strip()
    requires_dist = meta.many("requires_dist")
    return {
        "name": package.name,
        "version": version,
        "summary": meta.one("summary") or None,
        "description": meta.one("description"),
        "description_content_type": meta.one("description_content_type") or None,
        "author": meta.one("author") or None,
        "author_email": meta.one("author_email") or None,
        "maintainer": meta.one("maintainer") or None,
        "maintainer_email": meta.one("maintainer_email") or None,
        "license": meta.one("license") or None,
        "license_expression": meta.one("license_expression") or None,
        "keywords": meta.one("keywords") or None,
        "classifiers": meta.many("classifiers"),
        "platform": meta.one("platform") or None,
        "home_page": meta.one("home_page") or None,
        "download_url": meta.one("download_url") or None,
        "project_urls": project_urls or None,
        "requires_python": meta.one("requires_python") or None,
        "requires_dist": requires_dist or None,
        "provides_extra": meta.many("provides_extra") or None,
        "dynamic": meta.many("dynamic") or None,
        "yanked": release.yanked,
        "yanked_reason": (release.yank_reason or None) if release.yanked else None,
        "package_url": f"{base_url}/pypi/{normal}/",
        "project_url": f"{base_url}/pypi/{normal}/",
        "release_url": f"{base_url}/pypi/{normal}/{version}/",
        "bugtrack_url": None,
        "docs_url": None,
    }


def _json_file(files_url: str, item: PackageFile, yanked: bool, reason: str) -> dict[str, Any]:
    meta = _file_meta(item)
    digests = {"sha256": item.sha256}
    for algorithm in ("md5", "blake2b_256"):
        value = item.digests.get(algorithm)
        if value:
            digests[algorithm] = value
    return {
        "filename": item.filename,
        "url": files_url + item.filename,
        "digests": digests,
        "md5_digest": item.digests.get("md5"),
        "size": item.size,
        "packagetype": meta.packagetype,
        "python_version": meta.python_version,
        "requires_python": meta.requires_python or None,
        "upload_time": item.uploaded.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": _iso(item.uploaded),
        "yanked": yanked,
        "yanked_reason": (reason or None) if yanked else None,
        "has_sig": False,
        "comment_text": "",
        "core_metadata": {"sha256": meta.metadata_sha256} if meta.metadata_sha256 else False,
    }
