"""The Cargo registry facade: sparse index, publish, download, yank, owners, search, proxy.

Hosted crates are packages of a :class:`~domain.packages.PackageIndex` (format
``cargo``): a crate is a package, a release a version holding one ``.crate``
file, and the version's metadata is its :class:`CrateVersion`, from which the
index line is rendered once per version document. Names are keyed by their
normalised form (case and ``-``/``_`` folded), so two spellings are one crate.

Owners are NORA users. The first publisher owns a crate; only an owner (or an
admin) may publish new versions, yank, or change owners. With access control
off every caller is anonymous and these checks do not apply.

With an upstream (``NORA_CARGO_PROXY``, a sparse index URL), a crate never
hosted here is answered from the upstream through :class:`PullThrough`: its
index file cached for the TTL, revalidated and served stale; its ``.crate``
fetched once from the upstream config.json's ``dl`` template and verified
against the ``cksum`` its index line announces. A hosted name shadows the
upstream entirely (:func:`domain.shadowing.shadowed`).
"""

from __future__ import annotations

import tomllib
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from datetime import datetime, timedelta
from typing import Final

import msgspec

from domain.cargo.framing import PublishBody
from domain.cargo.grammar import (
    check_name,
    index_path,
    name_from_index_path,
    normalise,
    parse_version,
    version_order,
)
from domain.cargo.index_lines import checksums, encode_line
from domain.cargo.metadata import CrateVersion, decode_publish, from_manifest, to_version
from domain.codecs.tar import TarScanner
from domain.digests import Digest
from domain.downloads import Download
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge, Transient
from domain.keys import cargo_proxy_config_key, cargo_proxy_crate_key, cargo_proxy_index_key
from domain.packages import Package, PackageFile, PackageIndex, PackageVersion, RenderCache
from domain.ports import BlobStore, Clock, MetadataStore
from domain.proxy import PullThrough
from domain.shadowing import hosted_unless, shadowed
from domain.streams import limited
from domain.uploads import UploadSessions

__all__ = [
    "Actor",
    "CargoRegistry",
    "IndexFile",
    "SearchResult",
    "new_cargo_index",
]

_MAX_METADATA: Final = 8 * 1024 * 1024
_MAX_MANIFEST: Final = 1024 * 1024
_MAX_OWNERS: Final = 64
_FILES_KEPT: Final = 1024
_LATEST: Final = "latest"
_CRATE_TYPE: Final = "application/gzip"


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who asks for a change: a NORA user (``""`` when access control is off)."""

    name: str = ""
    admin: bool = False


class IndexFile(msgspec.Struct, frozen=True, kw_only=True):
    """A rendered sparse index file and its validators."""

    body: bytes
    etag: str
    last_modified: datetime | None = None
    max_age: int | None = None
    """Seconds a proxied file stays fresh (0 when served stale); None for hosted files."""


class SearchResult(msgspec.Struct, frozen=True, kw_only=True):
    """One crate of a search page."""

    name: str
    max_version: str
    description: str


_version_encoder = msgspec.msgpack.Encoder()
_version_decoder = msgspec.msgpack.Decoder(CrateVersion)
_config_decoder = msgspec.json.Decoder(dict[str, object])


def new_cargo_index(
    *, meta: MetadataStore, blobs: BlobStore, uploads: UploadSessions, clock: Clock
) -> PackageIndex:
    """The PackageIndex of hosted crates."""
    return PackageIndex(
        "cargo",
        meta=meta,
        blobs=blobs,
        uploads=uploads,
        clock=clock,
        normalise=lambda name: normalise(check_name(name)),
        version_order=version_order,
    )


def crate_filename(name: str, version: str) -> str:
    """The file name of a crate's release."""
    return f"{name}-{version}.crate"


class CargoRegistry:
    """Everything the Cargo HTTP edge asks of the domain.

    Args:
        index: hosted crates.
        blobs: where .crate bytes are read from.
        clock: publish times.
        max_crate_bytes: the largest .crate accepted.
        proxy: the pull-through cache, or None without an upstream.
        upstream: the upstream sparse index URL (ending in ``/``).
        ttl: how long an upstream index file is served before revalidation.
    """

    def __init__(
        self,
        *,
        index: PackageIndex,
        blobs: BlobStore,
        clock: Clock,
        max_crate_bytes: int,
        proxy: PullThrough | None = None,
        upstream: str = "",
        ttl: timedelta = timedelta(minutes=10),
    ) -> None:
        self.index = index
        self.blobs = blobs
        """Where stored .crate bytes are read from (the edge sends them)."""
        self._clock = clock
        self._max_crate = max_crate_bytes
        self._proxy = proxy if upstream else None
        upstream = upstream.removeprefix("sparse+")
        self._upstream = upstream if upstream.endswith("/") else upstream + "/"
        self._ttl = ttl
        self._renders = RenderCache(16 * 1024 * 1024)
        self._files: OrderedDict[str, tuple[int, IndexFile]] = OrderedDict()
        """Each crate's whole index file at the head version it was rendered from."""

    # ------------------------------------------------------------------ index

    async def index_file(self, path: str) -> IndexFile:
        """GET /cargo/index/<path>: a crate's index file (``NotFound`` if unknown)."""
        name = name_from_index_path(path)
        return await shadowed(
            lambda: self._hosted_index(name),
            None if self._proxy is None else lambda: self._proxied_index(name),
            hosted_here=hosted_unless("package"),
        )

    async def _hosted(self, name: str) -> Package:
        snap = await self.index.get(name)
        return snap.package

    async def _hosted_index(self, name: str) -> IndexFile:
        snap = await self.index.get(name)
        package = snap.package
        if package.name.lower() != name.lower():
            # a crate whose name differs only by '-'/'_' is this one: it shadows the upstream
            raise NotFound(
                f"no crate named {name!r}; did you mean {package.name!r}?", subject="crate"
            )

        def render(version: str) -> bytes:
            entry = package.versions[version]
            stored = _version_decoder.decode(entry.metadata)
            cksum = entry.files[0].sha256 if entry.files else ""
            return encode_line(stored, cksum=cksum, yanked=entry.yanked)

        cached = self._files.get(snap.key)
        if cached is not None and cached[0] == snap.version:
            return cached[1]
        parts = self._renders.parts(snap, "index", render)
        found = IndexFile(
            body=b"".join(parts.values()),
            etag=snap.etag("index"),
            last_modified=package.modified,
        )
        self._files[snap.key] = (snap.version, found)
        while len(self._files) > _FILES_KEPT:
            self._files.popitem(last=False)
        return found

    async def _proxied_index(self, name: str) -> IndexFile:
        assert self._proxy is not None
        doc = await self._proxy.document(
            cargo_proxy_index_key(name), [self._upstream + index_path(name)], ttl=self._ttl
        )
        body = await self._proxy.read(doc)
        left = self._ttl - (self._clock.now() - doc.fetched_at)
        return IndexFile(
            body=body,
            etag=f'"p{doc.sha256[:24] if doc.sha256 else ""}-{doc.version}"',
            last_modified=doc.fetched_at,
            max_age=0 if doc.stale else max(0, int(left.total_seconds())),
        )

    # ---------------------------------------------------------------- publish

    async def publish(
        self,
        body: AsyncIterable[bytes],
        *,
        actor: Actor,
        authorize: Callable[[str], None] = lambda name: None,
    ) -> CrateVersion:
        """PUT /cargo/api/v1/crates/new: verify and release one crate version.

        ``authorize`` (the caller's scope check) runs once the JSON names
        the crate, before the .crate is read; the rest is :meth:`publish_crate`.
        """
        reader = PublishBody(body, max_metadata=_MAX_METADATA, max_crate=self._max_crate)
        version = to_version(decode_publish(await reader.metadata()))
        return await self.publish_crate(
            reader.crate(), version=version, actor=actor, authorize=authorize
        )

    async def publish_crate(
        self,
        crate: AsyncIterable[bytes],
        *,
        version: CrateVersion | None = None,
        own_index: str | None = None,
        default_registry: str | None = None,
        actor: Actor,
        authorize: Callable[[str], None] = lambda name: None,
    ) -> CrateVersion:
        """Verify and release one .crate, described by ``version`` or by its own Cargo.toml.

        With ``version`` (what ``cargo publish`` sent beside the .crate),
        ``authorize`` and the ownership and duplicate checks run before the
        .crate is read. Without, the version is what ``cargo publish`` would
        send for the crate's Cargo.toml (:func:`~domain.cargo.metadata.from_manifest`
        with ``own_index`` and ``default_registry``), checked once the .crate is
        staged. The .crate must be a gzip tar whose ``<name>-<version>/Cargo.toml``
        names the same crate and version; its sha256 becomes the index's
        ``cksum``. Nothing is kept of a refused crate; the index shows the
        version when this returns.
        """
        if version is not None:
            await self._admit(version, actor, authorize)
            expected = f"{version.name}-{version.vers}/Cargo.toml"
            wanted: Callable[[str], bool] = lambda path: path == expected  # noqa: E731
        else:
            wanted = lambda path: path.count("/") == 1 and path.endswith("/Cargo.toml")  # noqa: E731
        scanner = TarScanner(
            wanted,
            max_bytes=_MAX_MANIFEST,
            max_total=max(self._max_crate * 64, 64 * 1024 * 1024),
            max_found=1,
        )

        async def scanned() -> AsyncIterator[bytes]:
            async for chunk in crate:
                scanner.feed(chunk)
                yield chunk

        too_large = TooLarge(f"crate exceeds the limit of {self._max_crate} bytes", subject="crate")
        staged = await self.index.stage(limited(scanned(), self._max_crate, too_large))
        try:
            found = scanner.finish()
            if version is None:
                data = next(iter(found.values()), None)
                if data is None:
                    raise InvalidInput(
                        "the .crate holds no <name>-<version>/Cargo.toml", subject="crate"
                    )
                version = to_version(
                    from_manifest(data, own_index=own_index, default_registry=default_registry)
                )
                await self._admit(version, actor, authorize)
            manifest_path = f"{version.name}-{version.vers}/Cargo.toml"
            _check_manifest(found.get(manifest_path), version, manifest_path)
            stored = await self.index.commit_staged(staged, [])
        except BaseException:
            await self.index.discard(staged)
            raise
        semver = parse_version(version.vers)
        now = self._clock.now()
        file = PackageFile(
            filename=crate_filename(version.name, version.vers),
            size=stored.info.size,
            sha256=stored.sha256.hex,
            uploaded=now,
            content_type=_CRATE_TYPE,
        )
        release = PackageVersion(
            version=version.vers,
            uploaded=now,
            files=[file],
            metadata=_version_encoder.encode(version),
            publisher=actor.name,
        )
        words = list(dict.fromkeys([*version.keywords, *version.categories]))

        def change(package: Package | None) -> Package:
            if package is None:
                package = Package(
                    format="cargo",
                    name=version.name,
                    created=now,
                    modified=now,
                    owners=[actor.name] if actor.name else [],
                )
            else:
                _check_publish(package, version, semver.base, actor)
            package.versions[version.vers] = release
            package.dist_tags[_LATEST] = _max_version(package.versions)
            if package.dist_tags[_LATEST] == version.vers:
                package.description = version.description
                package.keywords = words
            package.modified = now
            return package

        await self.index.update(version.name, change)
        return version

    async def _admit(
        self, version: CrateVersion, actor: Actor, authorize: Callable[[str], None]
    ) -> None:
        """Refuse early what the commit would refuse: the scope, the owners, a duplicate."""
        authorize(version.name)
        semver = parse_version(version.vers)
        try:
            current: Package | None = await self._hosted(version.name)
        except NotFound:
            current = None
        if current is not None:
            _check_publish(current, version, semver.base, actor)

    # --------------------------------------------------------------- download

    async def download(self, name: str, version: str) -> Download:
        """GET /cargo/api/v1/crates/<name>/<version>/download (yanked versions too)."""
        check_name(name)
        parse_version(version)
        return await shadowed(
            lambda: self._hosted_download(name, version),
            None if self._proxy is None else lambda: self._proxied_download(name, version),
            hosted_here=hosted_unless("package"),
        )

    async def _hosted_download(self, name: str, version: str) -> Download:
        package = await self._hosted(name)
        entry = package.versions.get(version)
        if entry is None or not entry.files:
            raise NotFound(f"{name}@{version} not found", subject="version")
        file = entry.files[0]
        return Download(
            filename=file.filename,
            size=file.size,
            etag=f'"{file.sha256}"',
            key=file.blob_key,
            content_type=_CRATE_TYPE,
        )

    async def _proxied_download(self, name: str, version: str) -> Download:
        assert self._proxy is not None
        key = cargo_proxy_crate_key(name, version)
        filename = crate_filename(name, version)
        cached = await self._proxy.cached_file(key)
        if cached is None:
            doc = await self._proxy.document(
                cargo_proxy_index_key(name), [self._upstream + index_path(name)], ttl=self._ttl
            )
            cksum = checksums(await self._proxy.read(doc)).get(version)
            if cksum is None:
                raise NotFound(f"{name}@{version} not found upstream", subject="version")
            url = await self._upstream_download_url(name, version, cksum)
            source = await self._proxy.file(key, [url], expected=Digest("sha256", cksum))
            if source.stream is not None:
                return Download(
                    filename=filename,
                    size=source.size,
                    etag=f'"{cksum}"',
                    stream=source.stream,
                    content_type=_CRATE_TYPE,
                )
            cached = source.cached
        assert cached is not None
        sha256 = cached.digests.get("sha256", "").removeprefix("sha256:")
        return Download(
            filename=filename,
            size=cached.size,
            etag=f'"{sha256}"',
            key=cached.key,
            content_type=_CRATE_TYPE,
        )

    async def _upstream_download_url(self, name: str, version: str, cksum: str) -> str:
        assert self._proxy is not None
        doc = await self._proxy.document(
            cargo_proxy_config_key(), [self._upstream + "config.json"], ttl=self._ttl
        )
        try:
            config = _config_decoder.decode(await self._proxy.read(doc))
        except (msgspec.DecodeError, msgspec.ValidationError):
            raise Transient(
                "the upstream config.json is not readable", subject="upstream"
            ) from None
        template = config.get("dl")
        if not isinstance(template, str) or not template:
            raise Transient("the upstream config.json names no dl", subject="upstream")
        return download_url(template, name, version, cksum)

    # ------------------------------------------------------------- yank, owners

    async def yank(self, name: str, version: str, *, yanked: bool, actor: Actor) -> None:
        """DELETE …/yank and PUT …/unyank: a yanked version stays downloadable."""
        check_name(name)
        now = self._clock.now()

        def change(package: Package | None) -> Package:
            if package is None:
                raise NotFound(f"crate {name!r} not found", subject="package")
            _check_owner(package, actor)
            found = package.versions.get(version)
            if found is None:
                raise NotFound(f"{name}@{version[:100]} not found", subject="version")
            package.versions[version] = msgspec.structs.replace(found, yanked=yanked)
            package.modified = now
            return package

        await self.index.update(name, change)

    async def owners(self, name: str) -> list[str]:
        """GET …/owners."""
        check_name(name)
        return list((await self._hosted(name)).owners)

    async def change_owners(
        self,
        name: str,
        users: list[str],
        *,
        add: bool,
        actor: Actor,
        known: Callable[[str], bool] = lambda user: True,
    ) -> list[str]:
        """PUT (``add``) or DELETE …/owners; a crate keeps at least one owner.

        Owners are NORA users: ``known`` says whether a login is one, and an
        unknown login is refused when added.
        """
        check_name(name)
        if not users or len(users) > _MAX_OWNERS:
            raise InvalidInput("name between 1 and 64 users", subject="owner")
        for user in users:
            if not user or len(user) > 128 or not user.isprintable():
                raise InvalidInput(f"invalid user name {user[:64]!r}", subject="owner")
            if add and not known(user):
                raise InvalidInput(f"no NORA user is called {user[:64]!r}", subject="owner")
        now = self._clock.now()

        def change(package: Package | None) -> Package:
            if package is None:
                raise NotFound(f"crate {name!r} not found", subject="package")
            _check_owner(package, actor)
            if add:
                owners = list(dict.fromkeys([*package.owners, *users]))
            else:
                owners = [owner for owner in package.owners if owner not in users]
                if not owners:
                    raise InvalidInput("a crate needs at least one owner", subject="owner")
            if len(owners) > _MAX_OWNERS:
                raise InvalidInput(f"a crate has at most {_MAX_OWNERS} owners", subject="owner")
            package.owners = owners
            package.modified = now
            return package

        return (await self.index.update(name, change)).package.owners

    # ------------------------------------------------------------------ search

    async def search(
        self,
        text: str,
        *,
        per_page: int,
        page: int,
        visible: Callable[[str], bool] | None = None,
    ) -> tuple[list[SearchResult], int]:
        """GET /cargo/api/v1/crates?q=: hosted crates by name, description, keywords, categories."""
        per_page = min(max(per_page, 1), 100)
        page = max(page, 1)
        found = await self.index.search(
            text[:256], size=per_page, offset=(page - 1) * per_page, visible=visible
        )
        return [
            SearchResult(
                name=hit.package.name,
                max_version=hit.package.dist_tags.get(_LATEST, ""),
                description=hit.package.description,
            )
            for hit in found.items
        ], found.total


def download_url(template: str, name: str, version: str, cksum: str) -> str:
    """A .crate's URL from a config.json ``dl`` template (markers, or the default suffix)."""
    markers = ("{crate}", "{version}", "{prefix}", "{lowerprefix}", "{sha256-checksum}")
    if not any(marker in template for marker in markers):
        return f"{template.rstrip('/')}/{name}/{version}/download"
    prefix = index_path(name).rsplit("/", 1)[0]
    original = _prefix_of(name)
    return (
        template.replace("{crate}", name)
        .replace("{version}", version)
        .replace("{prefix}", original)
        .replace("{lowerprefix}", prefix)
        .replace("{sha256-checksum}", cksum)
    )


def _prefix_of(name: str) -> str:
    if len(name) <= 2:
        return str(len(name))
    if len(name) == 3:
        return f"3/{name[0]}"
    return f"{name[0:2]}/{name[2:4]}"


def _max_version(versions: Iterable[str]) -> str:
    """The newest release, else the newest pre-release (as cargo's public registry does)."""
    ordered = sorted(versions, key=version_order)
    releases = [v for v in ordered if not parse_version(v).pre]
    return (releases or ordered)[-1]


def _check_owner(package: Package, actor: Actor) -> None:
    """Only owners (or admins) change a crate; no checks with access control off."""
    if not actor.name or actor.admin or not package.owners or actor.name in package.owners:
        return
    raise Forbidden(f"{actor.name} is not an owner of crate {package.name!r}", subject="owner")


def _check_publish(package: Package, version: CrateVersion, base: str, actor: Actor) -> None:
    if package.name != version.name:
        raise Conflict(
            f"crate {version.name!r} collides with the existing crate {package.name!r} "
            "(names are compared ignoring case and '-'/'_')",
            subject="name",
        )
    _check_owner(package, actor)
    for existing in package.versions:
        if existing == version.vers or existing.split("+", 1)[0] == base:
            raise Conflict(
                f"crate version {version.name}@{existing} is already uploaded", subject="version"
            )


def _check_manifest(data: bytes | None, version: CrateVersion, path: str) -> None:
    """The .crate's Cargo.toml must name the crate and version the JSON names."""
    if data is None:
        raise InvalidInput(f"the .crate holds no {path}", subject="crate")
    try:
        manifest = tomllib.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8, not TOML, or an integer past 4300 digits
        raise InvalidInput(f"{path} in the .crate is not valid TOML", subject="crate") from None
    package = manifest.get("package")
    if not isinstance(package, dict):
        raise InvalidInput(f"{path} has no [package] table", subject="crate")
    if package.get("name") != version.name or package.get("version") != version.vers:
        raise InvalidInput(
            f"the .crate's Cargo.toml names {str(package.get('name'))[:64]}@"
            f"{str(package.get('version'))[:64]}, not {version.name}@{version.vers}",
            subject="crate",
        )
