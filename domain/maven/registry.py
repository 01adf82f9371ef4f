"""MavenRegistry: the one facade the HTTP edge calls for /maven2/.

Hosted files live in a :class:`~domain.paths.PathIndex` (repository
``hosted``): bytes content-addressed, one document per path. NORA computes
md5, sha1, sha256 and sha512 while a file streams in and serves them as the
checksum files; a checksum a client uploads is only compared. Every
``maven-metadata.xml`` is generated here after each deploy and delete (its
uploads are parsed without entity expansion and then ignored) and stored as a
derived path, so serving it is a plain file read. A SNAPSHOT version's
metadata entry also records, per classifier and extension, the newest
timestamped file, which is what ``a-1.0-SNAPSHOT.jar`` answers.

Upstreams (tried in order, a 404 moves on) are reached through
:class:`~domain.proxy.PullThrough`: metadata cached for a TTL and served stale
when every upstream fails, files fetched once and verified against the
upstream's ``.sha1`` (or ``.sha256``), misses remembered briefly. An artifact
hosted here shadows the upstream entirely (:func:`domain.shadowing.shadowed`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

import msgspec

from domain.digests import ALGORITHMS, Digest, hash_bytes
from domain.errors import Conflict, DigestMismatch, InvalidInput, NotFound, TooLarge, Transient
from domain.keys import (
    maven_missing_key,
    maven_proxy_checksum_key,
    maven_proxy_file_key,
    maven_proxy_metadata_key,
)
from domain.maven.grammar import (
    METADATA,
    SNAPSHOT,
    MavenPath,
    content_type_of,
    parse_directory,
    parse_path,
)
from domain.maven.metadata import (
    Plugin,
    SnapshotFile,
    artifact_metadata,
    group_metadata,
    newest_build,
    plugin_prefix,
    snapshot_metadata,
)
from domain.maven.safexml import MAX_XML_BYTES, read_texts
from domain.paths import DirEntry, Listing, Overwrite, PathEntry, PathIndex, Revision
from domain.ports import Clock, MetadataStore
from domain.proxy import PullThrough
from domain.shadowing import shadowed
from domain.streams import read_limited
from domain.uploads import UploadSessions

__all__ = ["ALGORITHMS_KEPT", "HOSTED", "Listing", "MavenFile", "MavenRegistry"]

HOSTED: Final = "hosted"
"""The PathIndex repository of deployed files."""
ALGORITHMS_KEPT: Final = ("md5", "sha1", "sha512")
"""Computed for every stored file besides sha256."""
_CHECKSUM_LIMIT: Final = 1024
_ATTEMPTS: Final = 64
_LEVEL: Final = "level"
_PREFIX: Final = "plugin-prefix"
_NAME: Final = "plugin-name"
_PACKAGING: Final = "packaging"


class MavenFile(msgspec.Struct, kw_only=True):
    """What a GET answers: stored bytes (``entry``), a small generated ``body``
    (a checksum, upstream metadata) or a live ``stream`` from an upstream."""

    filename: str
    content_type: str
    entry: Revision | None = None
    body: bytes | None = None
    stream: AsyncIterator[bytes] | None = None
    size: int | None = None
    etag: str | None = None
    modified: datetime | None = None


class _Missing(msgspec.Struct, frozen=True):
    at: datetime


_missing_codec = msgspec.json.Decoder(_Missing)


class MavenRegistry:
    """Hosted deploys and reads, generated metadata and the pull-through cache.

    Args:
        index: the path store (format ``maven``).
        uploads: for generated documents.
        meta: for the short-lived record of upstream misses.
        clock: upload and metadata times.
        proxy: the pull-through cache, None without upstreams.
        upstreams: repository base URLs, tried in order.
        metadata_ttl: how long upstream maven-metadata.xml is served before revalidation.
        missing_ttl: how long an upstream miss is remembered.
        snapshot_keep: timestamped builds kept per SNAPSHOT version (0: all).
        allow_redeploy: whether a released file may be overwritten.
    """

    def __init__(
        self,
        *,
        index: PathIndex,
        uploads: UploadSessions,
        meta: MetadataStore,
        clock: Clock,
        proxy: PullThrough | None = None,
        upstreams: list[str] | None = None,
        metadata_ttl: timedelta = timedelta(minutes=10),
        missing_ttl: timedelta = timedelta(minutes=1),
        snapshot_keep: int = 10,
        allow_redeploy: bool = False,
    ) -> None:
        self.index = index
        self._uploads = uploads
        self._meta = meta
        self._proxy = proxy if upstreams else None
        self._upstreams = list(upstreams or [])
        self._metadata_ttl = metadata_ttl
        self._missing_ttl = missing_ttl
        self._keep = snapshot_keep
        self._allow_redeploy = allow_redeploy
        self._clock = clock

    # ----------------------------------------------------------------- reads

    async def get(self, path: str, *, after: str | None = None) -> MavenFile | Listing:
        """A file, a checksum of one, or (for a directory) its listing from ``after`` on."""
        if path == "" or path.endswith("/"):
            return await self.listing(path, after=after)
        wanted = parse_path(path)
        try:
            return await shadowed(
                lambda: self._hosted(wanted),
                None if self._proxy is None else lambda: self._upstream(wanted),
                hosted_here=lambda _miss: self._hosted_here(wanted),
            )
        except NotFound:
            if wanted.checksum is None and wanted.kind == "file":
                with contextlib.suppress(NotFound):
                    return await self.listing(path, after=after)
            raise

    async def listing(
        self, directory: str, *, after: str | None = None, limit: int = 1000
    ) -> Listing:
        """The hosted children of ``directory``; ``NotFound`` for an empty one (not the root)."""
        clean = parse_directory(directory)
        page = await self.index.list_dir(HOSTED, clean, after=after, limit=limit)
        if not page.items and clean:
            raise NotFound(f"{clean} not found", subject="path")
        return Listing(directory=clean, items=page.items, next_after=page.next_after)

    async def _hosted(self, wanted: MavenPath) -> MavenFile:
        path = wanted.path
        if wanted.literal_snapshot:
            path = await self._resolve_snapshot(wanted)
        entry = await self.index.get(HOSTED, path)
        return _answer(wanted, path.rpartition("/")[2], entry)

    async def _resolve_snapshot(self, wanted: MavenPath) -> str:
        """The newest timestamped file for ``a-1.0-SNAPSHOT[-cls].ext`` (else the literal path)."""
        with contextlib.suppress(NotFound):
            meta = await self.index.get(HOSTED, f"{wanted.directory}/{METADATA}")
            name = meta.attributes.get(f"{wanted.classifier}:{wanted.extension}")
            if name:
                return f"{wanted.directory}/{name}"
        return wanted.path

    async def _hosted_here(self, wanted: MavenPath) -> bool:
        """Whether the artifact around ``wanted`` is hosted (so the upstream is never asked)."""
        directory = wanted.directory
        candidates = [directory, directory.rpartition("/")[0]]
        if wanted.kind != "metadata":
            candidates = [*candidates[1:], candidates[1].rpartition("/")[0]]
        for candidate in candidates:
            if not candidate:
                continue
            entry, _ = await self.index.lookup(HOSTED, f"{candidate}/{METADATA}")
            if entry is not None and entry.attributes.get(_LEVEL) == "artifact":
                return True
        return False

    # ---------------------------------------------------------------- upstream

    def _urls(self, path: str) -> list[str]:
        return [f"{base}/{path}" for base in self._upstreams]

    async def _upstream(self, wanted: MavenPath) -> MavenFile:
        assert self._proxy is not None
        if wanted.kind == "metadata":
            doc = await self._proxy.document(
                maven_proxy_metadata_key(wanted.path),
                self._urls(wanted.path),
                ttl=self._metadata_ttl,
            )
            body = await self._proxy.read(doc)
            read_texts(body, (), subject="upstream")
            if wanted.checksum is not None:
                return _checksum_text(wanted, hash_bytes(body, wanted.checksum))
            return MavenFile(
                filename=METADATA,
                content_type="application/xml",
                body=body,
                size=len(body),
                etag=f'"{doc.sha256}"' if doc.sha256 else None,
                modified=doc.fetched_at,
            )
        cached = await self._proxy.cached_file(maven_proxy_file_key(wanted.path))
        if cached is None:
            await self._check_missing(wanted.path)
            expected = await self._upstream_checksum(wanted.path)
            try:
                source = await self._proxy.file(
                    maven_proxy_file_key(wanted.path),
                    self._urls(wanted.path),
                    expected=expected,
                    algorithms=ALGORITHMS_KEPT,
                )
            except NotFound:
                await self._remember_missing(wanted.path)
                raise NotFound(f"{wanted.path} not found", subject="path") from None
            if source.cached is None:
                assert source.stream is not None
                if wanted.checksum is None:
                    return MavenFile(
                        filename=wanted.filename,
                        content_type=content_type_of(wanted.filename),
                        stream=source.stream,
                        size=source.size,
                    )
                async for _ in source.stream:  # store it, then answer its checksum
                    pass
                cached = await self._proxy.cached_file(maven_proxy_file_key(wanted.path))
                if cached is None:
                    raise Transient("upstream file could not be stored", subject="upstream")
            else:
                cached = source.cached
        digests = {alg: Digest.parse(text).hex for alg, text in cached.digests.items()}
        revision = Revision(
            sha256=digests.pop("sha256"),
            size=cached.size,
            uploaded=self._clock.now(),
            content_type=content_type_of(wanted.filename),
            digests=digests,
        )
        return _answer(wanted, wanted.filename, revision, modified=False)

    async def _upstream_checksum(self, path: str) -> Digest | None:
        """The upstream's own checksum of ``path`` (sha1, else sha256), or None if it has none."""
        assert self._proxy is not None
        for algorithm in ("sha1", "sha256"):
            key = maven_proxy_checksum_key(path, algorithm)
            try:
                doc = await self._proxy.document(
                    key,
                    self._urls(f"{path}.{algorithm}"),
                    ttl=self._metadata_ttl,
                    max_bytes=_CHECKSUM_LIMIT,
                )
            except NotFound:
                continue
            with contextlib.suppress(InvalidInput, UnicodeDecodeError):
                return _parse_checksum(await self._proxy.read(doc), algorithm)
        return None

    async def _check_missing(self, path: str) -> None:
        try:
            doc = await self._meta.get(maven_missing_key(path))
        except NotFound:
            return
        if self._clock.now() - _missing_codec.decode(doc.value).at < self._missing_ttl:
            raise NotFound(f"{path} not found", subject="path")

    async def _remember_missing(self, path: str) -> None:
        with contextlib.suppress(Conflict):
            await self._meta.put(
                maven_missing_key(path),
                msgspec.json.encode(_Missing(self._clock.now())),
            )

    # ----------------------------------------------------------------- writes

    def _overwrite(self, snapshot: bool) -> Overwrite:
        return Overwrite.ALWAYS if snapshot or self._allow_redeploy else Overwrite.NEVER

    async def check_writable(self, path: str) -> None:
        """``Conflict`` now if a deploy of ``path`` would be refused as a redeploy of a
        release, so a caller writing several files can refuse before storing any."""
        wanted = parse_path(path)
        await self.index.writable(HOSTED, wanted.path, self._overwrite(wanted.snapshot))

    async def deploy(
        self, path: str, chunks: AsyncIterable[bytes], *, expected: Sequence[Digest] = ()
    ) -> None:
        """PUT of a file, a checksum (compared, never stored) or a maven-metadata.xml
        (checked, then regenerated from what is stored).

        A file is stored only if it matches every ``expected`` digest (``DigestMismatch``).
        """
        wanted = parse_path(path)
        if wanted.checksum is not None:
            await self._verify_checksum(wanted, await _read(chunks, _CHECKSUM_LIMIT, "checksum"))
            return
        if wanted.kind == "metadata":
            data = await _read(chunks, MAX_XML_BYTES, "metadata")
            texts = read_texts(data, ("metadata",), subject="metadata")
            if not texts["metadata"]:
                raise InvalidInput(
                    "maven-metadata.xml must have a <metadata> root", subject="metadata"
                )
            await self._regenerate_around(wanted.directory)
            return
        overwrite = self._overwrite(wanted.snapshot)
        attributes: dict[str, str] = {}
        if wanted.kind == "artifact" and wanted.extension == "pom" and not wanted.classifier:
            await self.index.writable(HOSTED, wanted.path, overwrite)
            data = await _read(chunks, MAX_XML_BYTES, "pom")
            texts = read_texts(data, ("project/packaging", "project/name"), subject="pom")
            attributes[_PACKAGING] = (texts["project/packaging"] or ["jar"])[0][:100]
            if texts["project/name"]:
                attributes[_NAME] = texts["project/name"][0][:200]
            chunks = _once(data)
        known = False
        if wanted.kind == "artifact":  # a version already deployed keeps the artifact's list
            listed = await self.index.list_dir(HOSTED, wanted.directory, limit=1)
            known = bool(listed.items)
        try:
            await self.index.put(
                HOSTED,
                wanted.path,
                chunks,
                overwrite=overwrite,
                content_type=content_type_of(wanted.filename),
                expected=expected,
                attributes=attributes,
            )
        except Conflict:
            raise Conflict(
                f"{wanted.path} is released and cannot be redeployed", subject="release"
            ) from None
        if wanted.kind == "artifact":
            await self._after_artifact_change(wanted, attributes, known_version=known)

    async def _verify_checksum(self, wanted: MavenPath, body: bytes) -> None:
        assert wanted.checksum is not None
        try:
            claimed = _parse_checksum(body, wanted.checksum)
        except UnicodeDecodeError:
            raise InvalidInput("checksum is not text", subject="checksum") from None
        if wanted.kind == "metadata":
            return  # NORA's generated document has its own checksums
        path = wanted.path
        if wanted.literal_snapshot:
            path = await self._resolve_snapshot(wanted)
        try:
            entry = await self.index.get(HOSTED, path)
        except NotFound:
            raise InvalidInput(
                f"checksum for {wanted.filename}, which is not stored", subject="checksum"
            ) from None
        actual = entry.digest(wanted.checksum)
        if actual != claimed:
            raise DigestMismatch(
                f"{wanted.checksum} of {wanted.filename} is {actual.hex if actual else '?'}, "
                f"not {claimed.hex}",
                subject="checksum",
            )

    async def delete(self, path: str) -> list[str]:
        """DELETE a file or a directory (a version, an artifact); metadata follows."""
        clean = path.strip("/")
        if not clean:
            raise InvalidInput("refusing to delete the whole repository", subject="path")
        wanted = parse_path(clean)
        if wanted.checksum is not None or wanted.kind == "metadata":
            raise InvalidInput(f"{wanted.filename} is generated by NORA", subject="path")
        entry, _ = await self.index.lookup(HOSTED, wanted.path)
        if entry is not None:
            await self.index.delete(HOSTED, wanted.path)
            if wanted.kind == "artifact":
                await self._after_artifact_change(wanted, dict(entry.attributes))
            return [wanted.path]
        directory = parse_directory(clean)
        own, _ = await self.index.lookup(HOSTED, f"{directory}/{METADATA}")
        gone = await self.index.delete_tree(HOSTED, directory)
        parent = directory.rpartition("/")[0]
        if own is not None and own.attributes.get(_LEVEL) == "artifact":
            await self._regenerate_group(parent)  # an artifact went
            return gone
        above, _ = await self.index.lookup(HOSTED, f"{parent}/{METADATA}") if parent else (None, 0)
        if above is not None and above.attributes.get(_LEVEL) == "artifact":  # a version went
            await self._regenerate_artifact(parent, None)
            if _PREFIX in above.attributes:
                await self._regenerate_group(parent.rpartition("/")[0])
        return gone

    # ------------------------------------------------------- generated metadata

    async def _after_artifact_change(
        self, wanted: MavenPath, attributes: dict[str, str], *, known_version: bool = False
    ) -> None:
        """Regenerate the metadata a change of ``wanted`` affects.

        A file added to a version that already had files changes neither the
        artifact's version list nor the group's plugins: only a SNAPSHOT's own
        document is regenerated then (a POM may still make it a plugin).
        """
        if wanted.snapshot:
            await self._regenerate_snapshot(wanted.directory)
        plugin = attributes.get(_PACKAGING) == "maven-plugin"
        if known_version and not plugin:
            current, _ = await self.index.lookup(HOSTED, f"{wanted.artifact_dir}/{METADATA}")
            if current is not None:
                return
        await self._regenerate_artifact(wanted.artifact_dir, attributes if plugin else None)
        artifact_meta, _ = await self.index.lookup(HOSTED, f"{wanted.artifact_dir}/{METADATA}")
        if plugin or artifact_meta is None or _PREFIX in artifact_meta.attributes:
            await self._regenerate_group(wanted.artifact_dir.rpartition("/")[0])

    async def _regenerate_around(self, directory: str) -> None:
        """After a PUT of ``<directory>/maven-metadata.xml`` (mvn's own copy, discarded).

        Every file deploy already regenerated the documents it affects, so a
        document NORA holds stays as it is; a missing one is regenerated only
        at a level NORA knows from deployed files, so an upload into some other
        directory never invents an artifact (which would also shadow the upstream).
        """
        if not directory:
            return
        entry, _ = await self.index.lookup(HOSTED, f"{directory}/{METADATA}")
        if entry is not None:
            return
        parts = directory.split("/")
        if parts[-1].endswith(SNAPSHOT) and len(parts) >= 3:
            await self._regenerate_snapshot(directory)
            parent = directory.rpartition("/")[0]
            above, _ = await self.index.lookup(HOSTED, f"{parent}/{METADATA}")
            if above is None and await self._files(directory):
                await self._regenerate_artifact(parent, None)
            return
        await self._regenerate_group(directory)

    async def _regenerate_snapshot(self, directory: str) -> None:
        group_path, artifact, version = directory.rsplit("/", 2)
        entries = await self._files(directory)
        builds: list[SnapshotFile] = []
        for name, entry in entries.items():
            parsed = _parse_quiet(f"{directory}/{name}")
            if parsed is not None and parsed.kind == "artifact" and parsed.build:
                timestamp, _, number = parsed.build.rpartition("-")
                builds.append(
                    SnapshotFile(
                        classifier=parsed.classifier,
                        extension=parsed.extension,
                        timestamp=timestamp,
                        build_number=int(number),
                        filename=name,
                        uploaded=entry.uploaded,
                    )
                )
        if self._keep > 0:
            numbers = sorted({b.build_number for b in builds}, reverse=True)
            if len(numbers) > self._keep:
                kept = set(numbers[: self._keep])
                for item in [b for b in builds if b.build_number not in kept]:
                    with contextlib.suppress(NotFound):
                        await self.index.delete(HOSTED, f"{directory}/{item.filename}")
                builds = [b for b in builds if b.build_number in kept]
        build = newest_build(builds)
        has_files = any(name != METADATA for name in entries) or bool(builds)
        group = group_path.replace("/", ".")

        def derive() -> tuple[bytes, dict[str, str]] | None:
            if not has_files:
                return None
            updated = max((e.uploaded for n, e in entries.items() if n != METADATA), default=None)
            xml = snapshot_metadata(group, artifact, version, build, updated or self._clock.now())
            attrs = {_LEVEL: "snapshot"}
            if build is not None:
                attrs.update({f"{c}:{e}": f.filename for (c, e), f in build.files.items()})
            return xml, attrs

        await self._write_derived(f"{directory}/{METADATA}", derive)

    async def _regenerate_artifact(
        self, directory: str, plugin_attributes: dict[str, str] | None
    ) -> None:
        if directory.count("/") < 1:
            return
        group_path, _, artifact = directory.rpartition("/")
        path = f"{directory}/{METADATA}"
        for _ in range(_ATTEMPTS):
            previous, version = await self.index.lookup(HOSTED, path)
            versions = [item.name for item in await self._children(directory) if item.is_dir]
            if not versions:
                if previous is not None:
                    with contextlib.suppress(NotFound):
                        await self.index.delete(HOSTED, path)
                return
            attrs = {_LEVEL: "artifact"}
            if plugin_attributes is not None:
                attrs[_PREFIX] = plugin_prefix(artifact)
                attrs[_NAME] = plugin_attributes.get(_NAME, artifact)
            elif previous is not None:
                attrs.update(
                    {k: v for k, v in previous.attributes.items() if k in (_PREFIX, _NAME)}
                )
            xml = artifact_metadata(
                group_path.replace("/", "."), artifact, versions, self._clock.now()
            )
            if await self._put_derived(path, xml, attrs, version):
                return
        raise Transient("too much contention on maven-metadata.xml", subject="metadata")

    async def _regenerate_group(self, directory: str) -> None:
        if not directory:
            return

        async def plugins() -> list[Plugin]:
            found: list[Plugin] = []
            for item in await self._children(directory):
                if not item.is_dir:
                    continue
                entry, _ = await self.index.lookup(HOSTED, f"{directory}/{item.name}/{METADATA}")
                if entry is not None and _PREFIX in entry.attributes:
                    found.append(
                        Plugin(
                            artifact=item.name,
                            prefix=entry.attributes[_PREFIX],
                            name=entry.attributes.get(_NAME, item.name),
                        )
                    )
            return found

        path = f"{directory}/{METADATA}"
        for _ in range(_ATTEMPTS):
            previous, version = await self.index.lookup(HOSTED, path)
            if previous is not None and previous.attributes.get(_LEVEL) != "group":
                return  # an artifact's directory, not a group's
            found = await plugins()
            if not found:
                if previous is not None:
                    with contextlib.suppress(NotFound):
                        await self.index.delete(HOSTED, path)
                return
            if await self._put_derived(path, group_metadata(found), {_LEVEL: "group"}, version):
                return
        raise Transient("too much contention on maven-metadata.xml", subject="metadata")

    async def _write_derived(
        self, path: str, derive: Callable[[], tuple[bytes, dict[str, str]] | None]
    ) -> None:
        for _ in range(_ATTEMPTS):
            previous, version = await self.index.lookup(HOSTED, path)
            derived = derive()
            if derived is None:
                if previous is not None:
                    with contextlib.suppress(NotFound):
                        await self.index.delete(HOSTED, path)
                return
            if await self._put_derived(path, derived[0], derived[1], version):
                return
        raise Transient("too much contention on maven-metadata.xml", subject="metadata")

    async def _put_derived(
        self, path: str, data: bytes, attributes: dict[str, str], version: int
    ) -> bool:
        stored = await self._uploads.store(_once(data), algorithms=ALGORITHMS_KEPT)
        try:
            await self.index.put_blob(
                HOSTED,
                path,
                stored,
                overwrite=Overwrite.ALWAYS,
                content_type="application/xml",
                attributes=attributes,
                if_version=version,
            )
        except Conflict:
            return False
        return True

    async def _children(self, directory: str) -> list[DirEntry]:
        items: list[DirEntry] = []
        after: str | None = None
        while True:
            page = await self.index.list_dir(HOSTED, directory, after=after, limit=1000)
            items += page.items
            if page.next_after is None:
                return items
            after = page.next_after

    async def _files(self, directory: str) -> dict[str, PathEntry]:
        return {
            item.name: item.entry
            for item in await self._children(directory)
            if item.entry is not None
        }


def _answer(
    wanted: MavenPath, filename: str, entry: Revision, *, modified: bool = True
) -> MavenFile:
    if wanted.checksum is not None:
        digest = entry.digest(wanted.checksum)
        if digest is None:
            raise NotFound(f"{wanted.checksum} of {filename} is not known", subject="path")
        return _checksum_text(wanted, digest)
    return MavenFile(
        filename=filename,
        content_type=entry.content_type or content_type_of(filename),
        entry=entry,
        size=entry.size,
        etag=f'"{entry.sha256}"',
        modified=entry.uploaded if modified else None,
    )


def _checksum_text(wanted: MavenPath, digest: Digest) -> MavenFile:
    body = digest.hex.encode("ascii")
    return MavenFile(
        filename=f"{wanted.filename}.{wanted.checksum}",
        content_type="text/plain",
        body=body,
        size=len(body),
        etag=f'"{digest.algorithm}-{digest.hex}"',
    )


def _parse_checksum(body: bytes, algorithm: str) -> Digest:
    """A checksum file: the hex digest, maybe followed by a file name."""
    words = body.decode("ascii").split()
    if not words:
        raise InvalidInput("checksum file is empty", subject="checksum")
    value = words[0].lower()
    if len(value) != ALGORITHMS[algorithm]:
        raise InvalidInput(f"not a {algorithm} checksum", subject="checksum")
    return Digest.of(algorithm, value)


def _parse_quiet(path: str) -> MavenPath | None:
    try:
        return parse_path(path)
    except InvalidInput:
        return None


async def _read(chunks: AsyncIterable[bytes], limit: int, what: str) -> bytes:
    return await read_limited(
        chunks, limit, TooLarge(f"{what} is larger than {limit} bytes", subject=what)
    )


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
