"""GoRegistry: the one facade the GOPROXY edge calls.

A module path is a package of the shared :class:`~domain.packages.PackageIndex`
(stored under its case-escaped form, so two paths differing only in case never
share a key on any storage) and each version holds three immutable files,
``<v>.info``, ``<v>.mod`` and ``<v>.zip``, stored through
:class:`~domain.uploads.UploadSessions`. A publish checks the zip the way the
go command does (:mod:`domain.gomod.modzip`), takes ``.mod`` from it and writes
``.info`` with the upload time; nothing of a refused zip is kept.

With upstream proxies configured (``NORA_GO_PROXY``), a module path never
hosted here is answered from them through :class:`~domain.proxy.PullThrough`:
``.info``, ``.mod`` and ``.zip`` are fetched once and kept, ``list`` and
``@latest`` are cached for the TTL and served stale while every upstream is
down. A hosted path shadows the upstreams entirely (:mod:`domain.shadowing`).
Checksum-database requests are proxied only when an upstream database is
configured, and never for a hosted module path.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

import msgspec

from domain.codecs.zipread import read_directory, read_member
from domain.digests import hash_bytes
from domain.errors import Conflict, InvalidInput, NotFound, TooLarge, Transient
from domain.gomod.gomodfile import GoMod, Retraction, parse_gomod
from domain.gomod.grammar import (
    Version,
    check_major,
    check_path,
    escape,
    is_pseudo,
    order_key,
    parse_version,
    unescape,
)
from domain.gomod.modzip import MAX_GO_MOD, check_directory
from domain.keys import blob_key
from domain.packages import NewFile, PackageIndex, PackageVersion, Snapshot
from domain.ports import BlobStore, Clock, MetadataStore
from domain.proxy import PullThrough
from domain.shadowing import hosted_unless, shadowed
from domain.streams import limited
from domain.uploads import StoredBlob, UploadSessions

__all__ = ["EXTENSIONS", "GoFile", "GoRegistry", "VersionMeta", "new_go_index"]

EXTENSIONS: Final = (".info", ".mod", ".zip")
_TYPES: Final = {
    ".info": "application/json",
    ".mod": "text/plain; charset=utf-8",
    ".zip": "application/zip",
}
_SUMDB_PARTS: Final = ("lookup", "tile", "latest")


class VersionMeta(msgspec.Struct, frozen=True, kw_only=True):
    """What a version's go.mod says that NORA uses: the versions it retracts."""

    retractions: tuple[Retraction, ...] = ()


class GoFile(msgspec.Struct, kw_only=True):
    """A file to send: stored bytes by key, or a live upstream stream that caches itself."""

    content_type: str
    size: int | None = None
    key: str | None = None
    etag: str | None = None
    stream: AsyncIterator[bytes] | None = None


class Info(msgspec.Struct, frozen=True):
    """The ``.info`` document of the GOPROXY protocol."""

    Version: str
    Time: str


_meta_encoder = msgspec.msgpack.Encoder()
_meta_decoder = msgspec.msgpack.Decoder(VersionMeta)


def new_go_index(
    *, meta: MetadataStore, blobs: BlobStore, uploads: UploadSessions, clock: Clock
) -> PackageIndex:
    """The PackageIndex of Go modules (module paths stored case-escaped)."""
    return PackageIndex(
        "go",
        meta=meta,
        blobs=blobs,
        uploads=uploads,
        clock=clock,
        normalise=escape,
        version_order=lambda text: order_key(parse_version(text)),
    )


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _latest_of(versions: Sequence[str], retractions: Sequence[Retraction]) -> str | None:
    """The go command's @latest: newest release, else pre-release, else pseudo-version.

    Retracted versions are skipped unless every version is retracted.
    """
    parsed = [parse_version(text) for text in versions]
    live = [v for v in parsed if not any(r.covers(v) for r in retractions)] or parsed
    for group in (
        [v for v in live if not v.prerelease and not v.pseudo],
        [v for v in live if not v.pseudo],
        live,
    ):
        if group:
            return max(group, key=order_key).text
    return None


class GoRegistry:
    """Hosted Go modules plus the pull-through cache of upstream module proxies."""

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
        sumdb: str = "",
        sumdb_name: str = "",
        max_zip_bytes: int = 500 << 20,
    ) -> None:
        self.index = index
        self.blobs = blobs
        self._uploads = uploads
        self._clock = clock
        self._proxy = proxy
        self._upstreams = [url.rstrip("/") for url in upstreams]
        self._ttl = ttl
        self._sumdb = sumdb.rstrip("/")
        self._sumdb_name = sumdb_name if self._sumdb else ""
        self.max_zip_bytes = max_zip_bytes

    # ------------------------------------------------------------------ reads

    async def version_list(self, module: str) -> bytes:
        """``@v/list``: known versions, one a line, pseudo-versions left out."""
        check_path(module)

        async def hosted() -> bytes:
            snap = await self.index.get(module)
            versions = sorted(
                (v for v in snap.package.versions if not is_pseudo(v)),
                key=lambda text: order_key(parse_version(text)),
            )
            return "".join(f"{v}\n" for v in versions).encode()

        return await shadowed(
            hosted,
            self._upstream_doc(module, "@v/list"),
            hosted_here=hosted_unless("package"),
        )

    async def latest(self, module: str) -> bytes:
        """``@latest``: the ``.info`` of the version the go command would pick."""
        check_path(module)

        async def hosted() -> bytes:
            snap = await self.index.get(module)
            chosen = _latest_of(list(snap.package.versions), self._retractions(snap))
            if chosen is None:
                raise NotFound(f"module {module[:100]} has no versions", subject="version")
            stored = snap.package.versions[chosen].file(chosen + ".info")
            if stored is None:
                return _info(snap.package.versions[chosen])
            reader = await self.index.open(stored)
            return b"".join([chunk async for chunk in reader])

        return await shadowed(
            hosted, self._upstream_doc(module, "@latest"), hosted_here=hosted_unless("package")
        )

    async def retracted(self, module: str) -> list[str]:
        """The hosted versions the module's newest go.mod retracts."""
        snap = await self.index.get(check_path(module))
        retractions = self._retractions(snap)
        return [
            v for v in snap.package.versions if any(r.covers(parse_version(v)) for r in retractions)
        ]

    async def file(self, module: str, version: str, ext: str) -> GoFile:
        """``@v/<version>.info|.mod|.zip``; ``NotFound`` for a version that is not known.

        A version that is not a canonical semantic version (a branch name, a
        commit) is simply not found, so the go command moves on to the next proxy.
        """
        check_path(module)
        if ext not in EXTENSIONS:
            raise NotFound(f"no such file type {ext[:20]!r}", subject="file")
        try:
            parse_version(version)
        except InvalidInput:
            raise NotFound(
                f"{module[:100]}@{version[:60]}: invalid version: unknown revision",
                subject="version",
            ) from None

        async def hosted() -> GoFile:
            snap = await self.index.get(module)
            entry = snap.package.versions.get(version)
            stored = entry.file(version + ext) if entry is not None else None
            if stored is None:
                raise NotFound(
                    f"{module[:100]}@{version[:60]}: unknown revision", subject="version"
                )
            return GoFile(
                content_type=_TYPES[ext],
                size=stored.size,
                key=stored.blob_key,
                etag=f'"{stored.sha256}"',
            )

        upstream = None
        if self._proxy is not None and self._upstreams:
            upstream = lambda: self._upstream_file(module, version, ext)  # noqa: E731
        return await shadowed(hosted, upstream, hosted_here=hosted_unless("package"))

    # ------------------------------------------------------------------ publish

    async def publish(
        self, module: str, version: str, chunks: AsyncIterable[bytes], *, publisher: str = ""
    ) -> PackageVersion:
        """Check and publish a module zip as ``module@version``.

        Refuses (nothing stored) a bad path or version, a version that exists,
        a zip the go command would refuse, and a go.mod naming another module.
        """
        check_path(module)
        parsed = parse_version(version)
        check_major(module, parsed)
        with contextlib.suppress(NotFound):
            if version in (await self.index.get(module)).package.versions:
                raise Conflict(f"{module[:100]}@{version} exists already", subject="version")
        staged = await self.index.stage(
            limited(
                chunks,
                self.max_zip_bytes,
                TooLarge(f"module zip is larger than {self.max_zip_bytes} bytes", subject="zip"),
            )
        )
        existed = await self._exists(blob_key(staged.digests["sha256"]))
        zip_blob = await self.index.commit_staged(staged, ())
        new_keys = [] if existed else [zip_blob.info.key]
        try:
            gomod_bytes, gomod = await self._check_zip(zip_blob, module, parsed)
            now = self._clock.now()
            info = msgspec.json.encode(Info(version, _rfc3339(now)))
            files: list[NewFile] = []
            for ext, data in ((".info", info), (".mod", gomod_bytes)):
                blob = await self._store_new(data, new_keys)
                files.append(NewFile(filename=version + ext, blob=blob, content_type=_TYPES[ext]))
            files.append(
                NewFile(filename=version + ".zip", blob=zip_blob, content_type=_TYPES[".zip"])
            )
            metadata = _meta_encoder.encode(VersionMeta(retractions=gomod.retractions))
            snap = await self.index.publish(
                module, version, files, metadata=metadata, publisher=publisher
            )
        except BaseException:
            for key in new_keys:
                with contextlib.suppress(NotFound, Transient):
                    await self.blobs.delete(key)
            raise
        return snap.package.versions[version]

    async def _check_zip(
        self, blob: StoredBlob, module: str, version: Version
    ) -> tuple[bytes, GoMod]:
        key, size = blob.info.key, blob.info.size

        async def read(start: int, end: int) -> bytes:
            reader = await self.blobs.open(key, start, end)
            return b"".join([chunk async for chunk in reader])

        try:
            entries = await read_directory(read, size)
        except InvalidInput as exc:
            raise InvalidInput(exc.detail, subject="zip") from None
        entry = check_directory(entries, module, version.text)
        if entry is None:
            data = f"module {module}\n".encode()
        else:
            if version.incompatible:
                raise InvalidInput(
                    f"{version.text}: +incompatible is not allowed for a module with a go.mod "
                    "(use a /vN module path)",
                    subject="version",
                )
            try:
                data = await read_member(read, size, entry, limit=MAX_GO_MOD)
            except InvalidInput as exc:
                raise InvalidInput(exc.detail, subject="zip") from None
        gomod = parse_gomod(data)
        if gomod.module != module:
            raise InvalidInput(
                f"go.mod says module {gomod.module[:100]!r}, not {module[:100]!r}",
                subject="gomod",
            )
        return data, gomod

    async def _store_new(self, data: bytes, new_keys: list[str]) -> StoredBlob:
        existed = await self._exists(blob_key(hash_bytes(data)))
        blob = await self.index.store(_once(data))
        if not existed:
            new_keys.append(blob.info.key)
        return blob

    async def _hosted(self, module: str) -> bool:
        try:
            await self.index.get(module)
        except NotFound:
            return False
        return True

    async def _exists(self, key: str) -> bool:
        try:
            await self.blobs.stat(key)
        except NotFound:
            return False
        return True

    # ------------------------------------------------------------------ checksum database

    async def sumdb_supported(self, name: str) -> bool:
        """Whether ``/sumdb/<name>/`` is proxied: only the configured upstream database."""
        return bool(self._sumdb_name) and name == self._sumdb_name

    async def sumdb(self, name: str, rest: str) -> bytes:
        """A checksum-database answer from the upstream database, cached like a document.

        A lookup of a module path hosted here is never sent upstream.
        """
        if not await self.sumdb_supported(name) or self._proxy is None:
            raise NotFound("no checksum database is proxied here", subject="sumdb")
        parts = rest.split("/", 1)
        if parts[0] not in _SUMDB_PARTS or any(p in ("", ".", "..") for p in rest.split("/")):
            raise NotFound("no such checksum database endpoint", subject="sumdb")
        if parts[0] == "lookup":
            target = parts[1] if len(parts) > 1 else ""
            module = target.rsplit("@", 1)[0]
            path = unescape(module)
            check_path(path)
            if await self._hosted(path):
                raise NotFound(f"{path[:100]} is hosted here", subject="sumdb")
        doc = await self._proxy.document(
            f"sumdb/{name}/{rest}", [f"{self._sumdb}/{rest}"], ttl=self._ttl
        )
        return await self._proxy.read(doc)

    # ------------------------------------------------------------------ helpers

    def _retractions(self, snap: Snapshot) -> list[Retraction]:
        """Retractions of the newest non-pseudo version's go.mod (else the newest's)."""
        versions = list(snap.package.versions)
        if not versions:
            return []
        tagged = [v for v in versions if not is_pseudo(v)] or versions
        newest = max(tagged, key=lambda text: order_key(parse_version(text)))
        raw = snap.package.versions[newest].metadata
        return list(_meta_decoder.decode(raw).retractions) if raw else []

    def _upstream_doc(self, module: str, tail: str) -> Callable[[], Awaitable[bytes]] | None:
        if self._proxy is None or not self._upstreams:
            return None
        proxy = self._proxy
        escaped = escape(module)
        urls = [f"{base}/{escaped}/{tail}" for base in self._upstreams]

        async def fetch() -> bytes:
            doc = await proxy.document(f"{escaped}/{tail}", urls, ttl=self._ttl)
            return await proxy.read(doc)

        return fetch

    async def _upstream_file(self, module: str, version: str, ext: str) -> GoFile:
        assert self._proxy is not None
        escaped = f"{escape(module)}/@v/{escape(version)}{ext}"
        urls = [f"{base}/{escaped}" for base in self._upstreams]
        source = await self._proxy.file(escaped, urls)
        if source.cached is not None:
            sha256 = source.cached.digests.get("sha256", "")
            return GoFile(
                content_type=_TYPES[ext],
                size=source.cached.size,
                key=source.cached.key,
                etag=f'"{sha256.split(":", 1)[-1]}"' if sha256 else None,
            )
        return GoFile(content_type=_TYPES[ext], size=source.size, stream=source.stream)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _info(entry: PackageVersion) -> bytes:
    return msgspec.json.encode(Info(entry.version, _rfc3339(entry.uploaded)))
