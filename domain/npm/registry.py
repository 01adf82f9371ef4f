"""The npm registry: packuments, tarballs, publish, unpublish, dist-tags, search, audit.

Hosted packages live in the format-neutral :class:`PackageIndex`; each
version's manifest (without ``dist``, which NORA renders from the stored
bytes) is its metadata blob. With an upstream configured, names that were
never published here are served through the shared pull-through policy:
packuments cached for the TTL and revalidated, tarball URLs rewritten to
NORA, tarballs verified against the upstream's integrity and kept for ever.
A name published here shadows the upstream entirely (no merging), the
defence against dependency confusion: every read that may go upstream
decides through :func:`domain.shadowing.shadowed`.

Rendered documents are cached per ``(document key, version, variant)``, so a
repeat GET costs one small metadata read and, with ``If-None-Match``, no body.
Each version's manifest is rendered once per version document and kept as a
JSON fragment, so the packument of a package with thousands of versions is
re-assembled after a publish, not re-rendered.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec

from domain.auth.delegation import ANONYMOUS_OWNER
from domain.codecs import json as bounded_json
from domain.codecs.tar import TarScanner
from domain.digests import Digest
from domain.downloads import Download
from domain.errors import Conflict, InvalidInput, NotFound, TooLarge, Transient
from domain.npm.grammar import NpmName, parse_name, parse_tag, parse_version, semver_key
from domain.npm.publish import (
    DOCUMENT_LIMIT,
    Maintainer,
    NpmDocument,
    PublishPlan,
    check_tarball,
    integrity_digests,
    plan_publish,
    plan_version,
    read_publish,
    tarball_filename,
)
from domain.numbers import is_digits
from domain.packages import (
    NewFile,
    Package,
    PackageFile,
    PackageIndex,
    PackageSummary,
    RenderCache,
    Snapshot,
)
from domain.ports import BlobStore, Clock, MetadataStore, Upstream
from domain.proxy import CachedDocument, PullThrough
from domain.shadowing import hosted_unless, shadowed
from domain.streams import limited
from domain.uploads import StagedBlob, UploadSessions

__all__ = [
    "ABBREVIATED",
    "AuditAnswer",
    "NpmRegistry",
    "Rendered",
    "empty_audit",
]

ABBREVIATED: Final = "application/vnd.npm.install-v1+json"
"""The Accept type of the abbreviated (install) packument."""

_JSON: Final = "application/json"
_ABBREVIATED_KEYS: Final = (
    "name",
    "version",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "bundleDependencies",
    "bundledDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "acceptDependencies",
    "bin",
    "directories",
    "engines",
    "os",
    "cpu",
    "libc",
    "funding",
    "license",
    "_hasShrinkwrap",
    "hasInstallScript",
    "deprecated",
)
_LIFTED_KEYS: Final = ("license", "author", "homepage", "repository", "bugs", "contributors")
_MAX_DOCUMENT: Final = 64 * 1024 * 1024
_HOSTED_HERE: Final = hosted_unless("package")
"""A miss whose subject is not "package" lies inside a hosted name (PackageIndex.get said so)."""


class NpmPackageMeta(msgspec.Struct, kw_only=True):
    """What npm keeps per package besides the index's fields (from the latest publish)."""

    readme: str = ""
    readme_filename: str = ""


class Rendered(msgspec.Struct, frozen=True, kw_only=True):
    """A rendered JSON document with its strong ETag."""

    body: bytes
    etag: str
    content_type: str = _JSON
    stale: bool = False
    max_age: int = 0
    """Seconds a client may use the document without revalidating: 0 for hosted
    packuments (a publish must show at once), what is left of the cache TTL for
    proxied ones (NORA would not look upstream before then anyway)."""


def _tarball(filename: str, key: str, size: int, sri: str | None) -> Download:
    """A stored tarball; its sha512 (when known) is its ETag, since tarballs never change."""
    etag = f'"{sri}"' if sri else None
    return Download(filename=filename, key=key, size=size, etag=etag)


class AuditAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """An audit answer to relay to the client."""

    status: int
    body: bytes
    content_type: str = _JSON


_meta_decoder = msgspec.json.Decoder(NpmPackageMeta)
_json = msgspec.json.Encoder()


class _UpstreamSearch(msgspec.Struct):
    objects: list[Any] = []
    total: int = 0


_MAX_SEARCH = 4 * 1024 * 1024
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _query(params: Mapping[str, str]) -> str:
    """A URL query string with every value percent-encoded (RFC 3986 unreserved kept)."""

    def encode(value: str) -> str:
        raw = value.encode("utf-8", "surrogatepass")
        return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in raw)

    return "&".join(f"{encode(key)}={encode(value)}" for key, value in params.items())


class NpmRegistry:
    """npm's registry API over a :class:`PackageIndex` and an optional upstream.

    Args:
        meta, blobs, uploads, clock: the ports.
        upstream: used for the pull-through cache and audit forwarding.
        upstream_url: the upstream registry's base URL; empty for hosted only.
        metadata_ttl: how long a proxied packument is served before revalidation.
    """

    def __init__(
        self,
        *,
        meta: MetadataStore,
        blobs: BlobStore,
        uploads: UploadSessions,
        clock: Clock,
        upstream: Upstream | None = None,
        upstream_url: str = "",
        metadata_ttl: timedelta = timedelta(minutes=5),
        render_cache: RenderCache | None = None,
    ) -> None:
        self.index = PackageIndex(
            "npm",
            meta=meta,
            blobs=blobs,
            uploads=uploads,
            clock=clock,
            algorithms=("sha1", "sha512"),
            latest_tag="latest",
            version_order=semver_key,
        )
        self.blobs = blobs
        self._clock = clock
        self._upstream = upstream
        self._upstream_url = upstream_url.rstrip("/")
        self._ttl = metadata_ttl
        self._cache = render_cache or RenderCache()
        self._proxy = (
            PullThrough(
                "npm", upstream=upstream, meta=meta, blobs=blobs, uploads=uploads, clock=clock
            )
            if upstream is not None and self._upstream_url
            else None
        )

    # ---------------------------------------------------------------- reads

    async def packument(
        self, name: str, base: str, *, abbreviated: bool = False, hosted_only: bool = False
    ) -> Rendered:
        """GET /npm/<name>: the full or abbreviated package document.

        ``hosted_only`` (writes: publish, unpublish, deprecate read the document
        first) never consults the upstream, so a name that exists upstream can
        still be published here, after which it shadows the upstream.
        """
        npm_name = parse_name(name)
        return await shadowed(
            lambda: self._hosted_packument(npm_name, base, abbreviated=abbreviated),
            None
            if self._proxy is None or hosted_only
            else lambda: self._proxied_packument(npm_name, base, abbreviated=abbreviated),
            hosted_here=_HOSTED_HERE,
        )

    async def version_document(self, name: str, spec: str, base: str) -> bytes:
        """GET /npm/<name>/<version|dist-tag>: one version's manifest."""
        npm_name = parse_name(name)
        return await shadowed(
            lambda: self._hosted_version(npm_name, spec, base),
            None if self._proxy is None else lambda: self._proxied_version(npm_name, spec, base),
            hosted_here=_HOSTED_HERE,
        )

    async def tarball(self, name: str, filename: str) -> Download:
        """GET /npm/<name>/-/<file>.tgz: from the index, or through the cache.

        Without an upstream, a name never hosted answers as a missing file
        (what npm expects). That is done after :func:`shadowed`, which must see
        the package miss itself to know an upstream may be asked.
        """
        npm_name = parse_name(name)
        filename = filename.rsplit("/", 1)[-1]
        try:
            return await shadowed(
                lambda: self._hosted_tarball(npm_name, filename),
                None if self._proxy is None else lambda: self._proxied_tarball(npm_name, filename),
                hosted_here=_HOSTED_HERE,
            )
        except NotFound as miss:
            if miss.subject != "package":
                raise
        raise NotFound(f"{filename[:100]} not found", subject="file")

    async def dist_tags(self, name: str) -> dict[str, str]:
        """GET /npm/-/package/<name>/dist-tags."""
        npm_name = parse_name(name)
        return await shadowed(
            lambda: self._hosted_dist_tags(npm_name),
            None if self._proxy is None else lambda: self._proxied_dist_tags(npm_name),
            hosted_here=_HOSTED_HERE,
        )

    async def _hosted_packument(self, name: NpmName, base: str, *, abbreviated: bool) -> Rendered:
        snap = await self.index.get(name.full)
        variant = ("abbreviated " if abbreviated else "full ") + base
        body = self._cache.get(snap.key, variant, snap.version)
        if body is None:
            document = self._abbreviated(snap, base) if abbreviated else self._full(snap, base)
            body = self._cache.put(snap.key, variant, snap.version, _json.encode(document))
        return Rendered(
            body=body,
            etag=snap.etag("a" if abbreviated else "f"),
            content_type=ABBREVIATED if abbreviated else _JSON,
        )

    async def _hosted_version(self, name: NpmName, spec: str, base: str) -> bytes:
        snap = await self.index.get(name.full)
        version = snap.package.dist_tags.get(spec, spec)
        if version not in snap.package.versions:
            raise NotFound(f"version {spec[:100]!r} not found", subject="version")
        return self._manifest(snap, version, base)

    async def _hosted_tarball(self, name: NpmName, filename: str) -> Download:
        snap = await self.index.get(name.full)
        found = snap.find_file(filename)
        if found is None:
            raise NotFound(f"{filename[:100]} not found", subject="file")
        file = found[1]
        return _tarball(filename, file.blob_key, file.size, _sri(file))

    async def _hosted_dist_tags(self, name: NpmName) -> dict[str, str]:
        snap = await self.index.get(name.full)
        return dict(snap.package.dist_tags)

    async def search(
        self,
        text: str,
        *,
        size: int,
        offset: int,
        base: str,
        visible: Callable[[str], bool] | None = None,
    ) -> bytes:
        """GET /npm/-/v1/search in the public registry's response shape.

        Hosted packages come first; with an upstream configured, its results
        fill the rest of the page (names hosted here are left out, as they
        shadow the upstream everywhere). An upstream that fails or answers
        badly only means hosted results. Names ``visible`` rejects (the caller
        may not read them) appear nowhere.
        """
        size = max(0, min(size, 250))
        offset = max(0, offset)
        page = await self.index.search(text, size=size, offset=offset, visible=visible)
        now = _iso(self._clock.now())
        objects: list[Any] = [_search_object(hit.package, hit.score, base) for hit in page.items]
        total = page.total
        if self._upstream is not None and self._upstream_url and len(objects) < size:
            upstream_objects, upstream_total = await self._upstream_search(
                text, size=size - len(objects), offset=max(0, offset - page.total), visible=visible
            )
            objects += upstream_objects
            total += upstream_total
        return _json.encode({"objects": objects, "total": total, "time": now})

    async def _upstream_search(
        self, text: str, *, size: int, offset: int, visible: Callable[[str], bool] | None
    ) -> tuple[list[Any], int]:
        assert self._upstream is not None
        query = _query({"text": text, "size": str(size), "from": str(offset)})
        try:
            async with self._upstream.fetch(
                f"{self._upstream_url}/-/v1/search?{query}", {"Accept": _JSON}
            ) as response:
                if response.status != 200:
                    return [], 0
                data = b""
                async for chunk in response.body():
                    data += chunk
                    if len(data) > _MAX_SEARCH:
                        return [], 0
        except Transient:
            return [], 0
        try:
            answer = bounded_json.decode(data, _UpstreamSearch)
        except InvalidInput:
            return [], 0
        kept: list[Any] = []
        for item in answer.objects[:size]:
            name = item.get("package", {}).get("name") if isinstance(item, dict) else None
            if not isinstance(name, str) or (visible is not None and not visible(name)):
                continue
            try:
                await self.index.get(name)
            except (NotFound, InvalidInput):
                kept.append(item)  # not hosted here: the upstream's package
        return kept, max(0, answer.total)

    # --------------------------------------------------------------- writes

    async def put(
        self,
        name: str,
        body: AsyncIterable[bytes],
        *,
        rev: str | None = None,
        publisher: str = "",
    ) -> Snapshot | None:
        """PUT /npm/<name>[/-rev/<rev>]: publish (with attachments) or edit the document.

        The body is parsed as it streams; an attachment's bytes go straight to
        the upload area and become visible only once the whole body has been
        checked (and are discarded otherwise). Returns None when an edit
        removed the last version (the package is gone).
        """
        npm_name = parse_name(name)
        staged: list[StagedBlob] = []

        async def stage(attachment: str, data: AsyncIterator[bytes]) -> StagedBlob:
            if staged:
                raise InvalidInput(
                    "a publish must carry exactly one version and one tarball", subject="body"
                )
            blob = await self.index.stage(data)
            staged.append(blob)
            return blob

        committed = False
        try:
            doc, tarballs = await read_publish(body, stage)
            if doc.attachments or tarballs:
                if rev is not None:
                    raise InvalidInput("a publish cannot carry a revision", subject="body")
                snap = await self._publish(npm_name, doc, tarballs, publisher)
                committed = True
                return snap
            return await self._edit(npm_name, doc, rev)
        finally:
            if not committed:
                for blob in staged:
                    await self.index.discard(blob)

    async def _publish(
        self,
        name: NpmName,
        doc: NpmDocument,
        tarballs: Mapping[str, StagedBlob],
        publisher: str,
    ) -> Snapshot:
        plan = plan_publish(name, doc)
        staged = tarballs.get(plan.attachment)
        if staged is None or len(tarballs) != 1:
            raise InvalidInput("the attachment carries no data", subject="body")
        return await self._release(plan, staged, publisher)

    async def publish_tarball(
        self,
        chunks: AsyncIterable[bytes],
        *,
        tag: str = "latest",
        integrity: str | None = None,
        shasum: str | None = None,
        publisher: str = "",
    ) -> tuple[Snapshot, str]:
        """Publish a package tarball (``npm pack``'s .tgz) as ``npm publish <tarball>`` does.

        The version manifest is the tarball's ``package/package.json`` (and its
        README the package's readme), read while the bytes stream to the upload
        area; ``integrity`` (SRI) and ``shasum``, when given, must match. Then the
        same checks and commit as a publish body (:meth:`put`). Returns the
        package and the version published.
        """
        scanner = TarScanner(
            _packed_file, max_bytes=DOCUMENT_LIMIT, max_total=_MAX_UNPACKED, max_found=8
        )

        async def scanned() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                scanner.feed(chunk)
                yield chunk

        tag = parse_tag(tag)
        declared = integrity_digests(integrity, shasum)
        staged = await self.index.stage(
            limited(
                scanned(),
                TARBALL_LIMIT,
                TooLarge(
                    f"a package tarball is limited to {TARBALL_LIMIT >> 20} MiB", subject="body"
                ),
            )
        )
        try:
            members = scanner.finish()
            raw = members.get(_PACKAGE_JSON)
            if raw is None:
                raise InvalidInput("the tarball has no package/package.json", subject="body")
            if sum(len(data) for data in members.values()) > DOCUMENT_LIMIT:
                # the packument a publish body would carry them in has this limit
                raise TooLarge("package.json and its readme are too large", subject="body")
            # two levels below the top of the document the packument holds it in
            manifest = bounded_json.decode(raw, max_depth=bounded_json.MAX_DEPTH - 2)
            if not isinstance(manifest, dict) or not isinstance(manifest.get("name"), str):
                raise InvalidInput("package.json does not name the package", subject="body")
            if not isinstance(manifest.get("version"), str):
                raise InvalidInput("package.json has no version", subject="body")
            readme = next((k for k in members if k != _PACKAGE_JSON), None)
            plan = plan_version(
                parse_name(manifest["name"], new=True),
                manifest["version"],
                manifest,
                declared=declared,
                tags={tag: manifest["version"]},
                readme=None if readme is None else members[readme].decode("utf-8", "replace"),
                readme_filename="" if readme is None else readme.split("/", 1)[1],
            )
            # as an anonymous HTTP publish: the package always has an owner to edit it by
            snap = await self._release(plan, staged, publisher or ANONYMOUS_OWNER)
        except BaseException:
            await self.index.discard(staged)
            raise
        return snap, plan.version

    async def _release(self, plan: PublishPlan, staged: StagedBlob, publisher: str) -> Snapshot:
        """Check a planned version's staged tarball and commit it (every publish ends here)."""
        check_tarball(plan, staged.size, staged.digests)
        try:
            current = await self.index.get(plan.name.full)
        except NotFound:
            current = None
        if current is not None and plan.version in current.package.versions:
            raise Conflict(
                f"cannot publish over the previously published versions: {plan.version}",
                subject="version",
            )
        for tag, target in plan.tags.items():
            known = current is not None and target in current.package.versions
            if target != plan.version and not known:
                raise InvalidInput(f"dist-tag {tag!r} names an unknown version", subject="tag")
        stored = await self.index.commit_staged(staged, plan.declared)
        meta = NpmPackageMeta(readme=plan.readme, readme_filename=plan.readme_filename)
        return await self.index.publish(
            plan.name.full,
            plan.version,
            [NewFile(filename=plan.filename, blob=stored, content_type="application/octet-stream")],
            metadata=plan.manifest,
            tags=plan.tags,
            publisher=publisher,
            description=plan.description,
            keywords=plan.keywords,
            package_metadata=_json.encode(meta),
        )

    async def _edit(self, name: NpmName, doc: NpmDocument, rev: str | None) -> Snapshot | None:
        """Deprecations, owners, and with a revision the removal of versions left out.

        A body without ``versions`` (``npm owner add|rm``) leaves the versions
        alone; one with them removes, under a revision, those it left out
        (``npm unpublish <pkg>@<version>``).
        """
        versions = doc.versions
        for version in versions or {}:
            parse_version(version)
        deprecations: dict[str, str] = {}
        for version, manifest in (versions or {}).items():
            message = manifest.get("deprecated", "")
            if not isinstance(message, str):
                raise InvalidInput("deprecated must be a string", subject="body")
            deprecations[version] = message
        tags = {parse_tag(tag): target for tag, target in doc.dist_tags.items()}
        owners = _owners(doc.maintainers) if doc.maintainers is not None else None
        revision = _parse_rev(rev) if rev is not None else None
        now = self._clock.now()

        def change(current: Package | None) -> Package | None:
            if current is None:
                raise NotFound(f"package {name.full!r} not found", subject="package")
            for version in versions or {}:
                if version not in current.versions:
                    raise InvalidInput(
                        f"version {version!r} has no tarball; publish it instead", subject="body"
                    )
            _deprecate(current, deprecations)
            if owners is not None:
                current.owners = owners
            if revision is not None and versions is not None:
                for version in [v for v in current.versions if v not in versions]:
                    del current.versions[version]
                if not current.versions:
                    return None
                current.dist_tags = {
                    tag: target
                    for tag, target in current.dist_tags.items()
                    if target in current.versions
                }
                for tag, target in tags.items():
                    if target in current.versions:
                        current.dist_tags[tag] = target
                if "latest" not in current.dist_tags:
                    current.dist_tags["latest"] = max(current.versions, key=semver_key)
            current.modified = now
            return current

        snap = await self.index.update(name.full, change, revision=revision)
        return None if snap.package.deleted else snap

    async def deprecate(self, name: str, version: str, message: str) -> Snapshot:
        """Deprecate ``version`` with ``message`` (empty: no longer deprecated), as
        ``npm deprecate`` does (its edited document comes through :meth:`put`)."""
        npm_name = parse_name(name)
        now = self._clock.now()

        def change(current: Package | None) -> Package:
            if current is None:
                raise NotFound(f"package {npm_name.full!r} not found", subject="package")
            if version not in current.versions:
                raise NotFound(f"version {version[:100]!r} not found", subject="version")
            _deprecate(current, {version: message})
            current.modified = now
            return current

        return await self.index.update(npm_name.full, change)

    async def unpublish_version(self, name: str, version: str) -> Snapshot | None:
        """Remove one version (dist-tags naming it go, ``latest`` moves to the newest left);
        None when it was the last, and the package is gone."""
        return await self.index.delete_versions(parse_name(name).full, [version])

    async def unpublish(self, name: str, rev: str) -> None:
        """DELETE /npm/<name>/-rev/<rev>: remove the whole package."""
        npm_name = parse_name(name)
        await self.index.delete(npm_name.full, revision=_parse_rev(rev))

    async def delete_tarball(self, name: str, filename: str, rev: str) -> None:
        """DELETE /npm/<name>/-/<file>/-rev/<rev>: the last step of npm's unpublish.

        npm has already removed the version with a revision-checked PUT; a
        tarball still referenced by a version removes that version.
        """
        npm_name = parse_name(name)
        _parse_rev(rev)
        filename = filename.rsplit("/", 1)[-1]
        snap = await self.index.get(npm_name.full)
        found = snap.find_file(filename)
        if found is not None:
            await self.unpublish_version(npm_name.full, found[0].version)

    async def set_dist_tag(self, name: str, tag: str, body: bytes) -> dict[str, str]:
        """PUT /npm/-/package/<name>/dist-tags/<tag> with a JSON version string."""
        npm_name = parse_name(name)
        tag = parse_tag(tag)
        try:
            version = bounded_json.decode(body, str)
        except InvalidInput:
            raise InvalidInput(
                "the body must be a JSON string naming a version", subject="body"
            ) from None
        return await self.tag_version(npm_name.full, tag, version)

    async def tag_version(self, name: str, tag: str, version: str) -> dict[str, str]:
        """Point dist-tag ``tag`` at ``version``; the package's dist-tags after."""
        npm_name = parse_name(name)
        snap = await self.index.set_tag(npm_name.full, parse_tag(tag), parse_version(version))
        return dict(snap.package.dist_tags)

    async def remove_dist_tag(self, name: str, tag: str) -> dict[str, str]:
        """DELETE /npm/-/package/<name>/dist-tags/<tag> (never ``latest``)."""
        npm_name = parse_name(name)
        snap = await self.index.remove_tag(npm_name.full, parse_tag(tag))
        return dict(snap.package.dist_tags)

    # ---------------------------------------------------------------- audit

    async def audit(self, path: str, body: bytes, headers: Mapping[str, str]) -> AuditAnswer:
        """POST /npm/-/npm/v1/security/...: the upstream's answer, else a valid empty one."""
        if self._upstream is not None and self._upstream_url:
            try:
                async with self._upstream.fetch(
                    f"{self._upstream_url}/-/npm/v1/security/{path}",
                    headers,
                    method="POST",
                    content=body,
                ) as response:
                    data = b"".join([chunk async for chunk in response.body()])
                    if response.status == 200:
                        kind = response.headers.get("content-type", _JSON)
                        return AuditAnswer(status=200, body=data, content_type=kind)
            except Transient:
                pass
        return AuditAnswer(status=200, body=empty_audit(path))

    # ---------------------------------------------------------------- proxy

    async def _proxied_doc(self, name: NpmName, *, abbreviated: bool) -> CachedDocument:
        assert self._proxy is not None
        key = ("abbreviated/" if abbreviated else "full/") + name.full
        url = f"{self._upstream_url}/{_upstream_path(name)}"
        accept = f"{ABBREVIATED}; q=1.0, application/json; q=0.8" if abbreviated else _JSON
        return await self._proxy.document(
            key, [url], ttl=self._ttl, headers={"Accept": accept}, max_bytes=_MAX_DOCUMENT
        )

    async def _proxied_document(self, name: NpmName, *, abbreviated: bool) -> dict[str, Any]:
        assert self._proxy is not None
        cached = await self._proxied_doc(name, abbreviated=abbreviated)
        return _decode_upstream(await self._proxy.read(cached))

    async def _proxied_packument(self, name: NpmName, base: str, *, abbreviated: bool) -> Rendered:
        assert self._proxy is not None
        cached = await self._proxied_doc(name, abbreviated=abbreviated)
        key = "proxy:" + ("abbreviated/" if abbreviated else "full/") + name.full
        body = self._cache.get(key, base, cached.version)
        if body is None:
            document = _decode_upstream(await self._proxy.read(cached))
            versions = document.get("versions")
            if isinstance(versions, dict):
                for manifest in versions.values():
                    if isinstance(manifest, dict):
                        _rewrite_dist(manifest, name, base)
            document.pop("_rev", None)
            body = self._cache.put(key, base, cached.version, _json.encode(document))
        tag = f"p{cached.sha256[:16] if cached.sha256 else ''}-{cached.version}"
        left = self._ttl - (self._clock.now() - cached.fetched_at)
        return Rendered(
            body=body,
            etag=f'"{tag}-{"a" if abbreviated else "f"}"',
            content_type=ABBREVIATED if abbreviated else _JSON,
            stale=cached.stale,
            max_age=0 if cached.stale else max(0, int(left.total_seconds())),
        )

    async def _proxied_version(self, name: NpmName, spec: str, base: str) -> bytes:
        document = await self._proxied_document(name, abbreviated=False)
        versions = document.get("versions") or {}
        tags = document.get("dist-tags") or {}
        version = tags.get(spec, spec) if isinstance(tags, dict) else spec
        manifest = versions.get(version) if isinstance(versions, dict) else None
        if not isinstance(manifest, dict):
            raise NotFound(f"version {spec[:100]!r} not found", subject="version")
        _rewrite_dist(manifest, name, base)
        return _json.encode(manifest)

    async def _proxied_dist_tags(self, name: NpmName) -> dict[str, str]:
        document = await self._proxied_document(name, abbreviated=True)
        tags = document.get("dist-tags")
        if not isinstance(tags, dict):
            return {}
        return {k: v for k, v in tags.items() if isinstance(v, str)}

    async def _proxied_tarball(self, name: NpmName, filename: str) -> Download:
        assert self._proxy is not None
        key = f"tarballs/{name.full}/{filename}"
        cached = await self._proxy.cached_file(key)
        if cached is None:
            url, expected = await self._upstream_tarball(name, filename)
            source = await self._proxy.file(
                key, [url], expected=expected, algorithms=("sha1", "sha512")
            )
        else:
            source = None
        if source is not None and source.stream is not None:
            return Download(filename=filename, size=source.size, stream=source.stream)
        found = cached if source is None else source.cached
        assert found is not None
        sha512 = found.digests.get("sha512")
        sri = Digest.parse(sha512).sri() if sha512 else None
        return _tarball(filename, found.key, found.size, sri)

    async def _upstream_tarball(self, name: NpmName, filename: str) -> tuple[str, Digest | None]:
        for abbreviated in (True, False):
            document = await self._proxied_document(name, abbreviated=abbreviated)
            versions = document.get("versions")
            if not isinstance(versions, dict):
                continue
            for manifest in versions.values():
                dist = manifest.get("dist") if isinstance(manifest, dict) else None
                if not isinstance(dist, dict):
                    continue
                tarball = dist.get("tarball")
                if not isinstance(tarball, str) or tarball.rsplit("/", 1)[-1] != filename:
                    continue
                integrity, shasum = dist.get("integrity"), dist.get("shasum")
                try:
                    digests = integrity_digests(
                        integrity if isinstance(integrity, str) else None,
                        shasum if isinstance(shasum, str) else None,
                    )
                except InvalidInput:
                    digests = []
                strongest = sorted(digests, key=lambda d: _STRENGTH.get(d.algorithm, 0))
                return tarball, (strongest[-1] if strongest else None)
        raise NotFound(f"{filename[:100]} not found", subject="file")

    # ------------------------------------------------------------ rendering

    def _render_part(self, snap: Snapshot, kind: str, base: str) -> Callable[[str], bytes]:
        """Renders one version's fragment: ``full`` or ``abbreviated`` manifest, or ``time``."""

        def render(version: str) -> bytes:
            if kind == "time":
                return _json.encode(_iso(snap.package.versions[version].uploaded))
            manifest = _version_manifest(snap, version, base)
            if kind == "abbreviated":
                short: dict[str, Any] = {k: manifest[k] for k in _ABBREVIATED_KEYS if k in manifest}
                short["dist"] = manifest["dist"]
                manifest = short
            return _json.encode(manifest)

        return render

    def _parts(self, snap: Snapshot, kind: str, base: str) -> dict[str, msgspec.Raw]:
        """Every version's fragment, cached per version document (see :meth:`RenderCache.parts`)."""
        return self._cache.parts(snap, f"{kind} {base}", self._render_part(snap, kind, base))

    def _manifest(self, snap: Snapshot, version: str, base: str) -> bytes:
        """GET /npm/<name>/<version>: the version's full manifest, as in the packument."""
        render = self._render_part(snap, "full", base)
        return bytes(self._cache.part(snap, f"full {base}", version, render))

    def _full(self, snap: Snapshot, base: str) -> dict[str, Any]:
        package = snap.package
        meta = _meta_decoder.decode(package.metadata) if package.metadata else NpmPackageMeta()
        versions = self._parts(snap, "full", base)
        time: dict[str, Any] = {
            "created": _iso(package.created),
            "modified": _iso(package.modified),
        }
        time.update(self._parts(snap, "time", base))
        document: dict[str, Any] = {
            "_id": package.name,
            "_rev": self._rev(snap),
            "name": package.name,
            "dist-tags": package.dist_tags,
            "versions": versions,
            "time": time,
            "maintainers": [{"name": owner, "email": ""} for owner in package.owners],
        }
        if package.description:
            document["description"] = package.description
        if package.keywords:
            document["keywords"] = package.keywords
        latest = package.dist_tags.get("latest", "")
        if latest in versions:
            manifest = msgspec.json.decode(self._manifest(snap, latest, base))
            for key in _LIFTED_KEYS:
                if key in manifest:
                    document[key] = manifest[key]
        document["readme"] = meta.readme
        if meta.readme_filename:
            document["readmeFilename"] = meta.readme_filename
        return document

    def _abbreviated(self, snap: Snapshot, base: str) -> dict[str, Any]:
        package = snap.package
        return {
            "name": package.name,
            "modified": _iso(package.modified),
            "dist-tags": package.dist_tags,
            "versions": self._parts(snap, "abbreviated", base),
        }

    @staticmethod
    def _rev(snap: Snapshot) -> str:
        return f"{snap.version}-{snap.etag().strip(chr(34)).split('-')[0]}"


_STRENGTH: Final = {"sha1": 1, "sha256": 2, "sha512": 3}
_PACKAGE_JSON: Final = "package/package.json"
_README: Final = re.compile(r"package/readme(\.(md|markdown|txt))?", re.IGNORECASE)
_MAX_UNPACKED: Final = 4 * 1024**3
"""The most a tarball published by :meth:`NpmRegistry.publish_tarball` may inflate to."""
TARBALL_LIMIT: Final = 384 * 1024 * 1024
"""The largest tarball a publish from a tarball takes: what fits, base64-encoded (4/3
larger), in the 512 MiB publish body the HTTP edge accepts."""


def _packed_file(path: str) -> bool:
    """The members of a packed tarball a publish reads: package.json and the README."""
    return path == _PACKAGE_JSON or _README.fullmatch(path) is not None


def _deprecate(package: Package, messages: Mapping[str, str]) -> None:
    """Set each version's deprecation message (empty: not deprecated)."""
    for version, message in messages.items():
        package.versions[version] = msgspec.structs.replace(
            package.versions[version], deprecated=message
        )


_MAX_OWNERS: Final = 100


def _owners(maintainers: list[Maintainer]) -> list[str]:
    """The owner names of a ``maintainers`` list (npm refuses to remove the last one too)."""
    names = list(dict.fromkeys(m.name for m in maintainers))
    if not names:
        raise InvalidInput("a package needs at least one owner", subject="owner")
    if len(names) > _MAX_OWNERS:
        raise InvalidInput(f"a package has at most {_MAX_OWNERS} owners", subject="owner")
    for owner in names:
        if not owner or len(owner) > 214 or not owner.isprintable():
            raise InvalidInput(f"invalid owner name {owner[:100]!r}", subject="owner")
    return names


def _parse_rev(rev: str) -> int:
    head = rev.split("-", 1)[0]
    if not is_digits(head) or len(head) > 18:
        raise InvalidInput(f"invalid revision {rev[:40]!r}", subject="revision")
    return int(head)


def _upstream_path(name: NpmName) -> str:
    """Scoped names go upstream as ``@scope%2fname``, as npm sends them (names are URL-safe)."""
    return name.full.replace("/", "%2f")


def _decode_upstream(raw: bytes) -> dict[str, Any]:
    try:
        document = bounded_json.decode(raw)
    except InvalidInput:
        raise Transient(
            "the upstream sent an invalid package document", subject="upstream"
        ) from None
    if not isinstance(document, dict):
        raise Transient("the upstream sent an invalid package document", subject="upstream")
    return document


def _tarball_url(name: NpmName, filename: str, base: str) -> str:
    return f"{base}/npm/{name.full}/-/{filename}"


def _rewrite_dist(manifest: dict[str, Any], name: NpmName, base: str) -> None:
    dist = manifest.get("dist")
    if isinstance(dist, dict) and isinstance(dist.get("tarball"), str):
        filename = dist["tarball"].rsplit("/", 1)[-1]
        dist["tarball"] = _tarball_url(name, filename, base)


def _iso(moment: datetime) -> str:
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _sri(file: PackageFile) -> str | None:
    digest = file.digest("sha512")
    return digest.sri() if digest else None


def _dist(snap: Snapshot, version: str, extra: Any, base: str) -> dict[str, Any]:
    name = parse_name(snap.package.name)
    entry = snap.package.versions[version]
    dist: dict[str, Any] = dict(extra) if isinstance(extra, dict) else {}
    file = entry.file(tarball_filename(name, version)) or (entry.files[0] if entry.files else None)
    if file is not None:
        sha1 = file.digest("sha1")
        dist["tarball"] = _tarball_url(name, file.filename, base)
        if sha1 is not None:
            dist["shasum"] = sha1.hex
        integrity = _sri(file)
        if integrity is not None:
            dist["integrity"] = integrity
    return dist


def _version_manifest(snap: Snapshot, version: str, base: str) -> dict[str, Any]:
    entry = snap.package.versions[version]
    manifest = msgspec.json.decode(entry.metadata) if entry.metadata else {}
    if not isinstance(manifest, dict):
        manifest = {}
    manifest["name"] = snap.package.name
    manifest["version"] = version
    manifest.setdefault("_id", f"{snap.package.name}@{version}")
    manifest["dist"] = _dist(snap, version, manifest.get("dist"), base)
    if entry.deprecated:
        manifest["deprecated"] = entry.deprecated
    return manifest


def _search_object(package: PackageSummary, score: float, base: str) -> dict[str, Any]:
    name = parse_name(package.name)
    publisher = package.owners[0] if package.owners else "anonymous"
    return {
        "package": {
            "name": package.name,
            "scope": name.scope or "unscoped",
            "version": package.dist_tags.get("latest", ""),
            "description": package.description,
            "keywords": package.keywords,
            "date": _iso(package.modified),
            "links": {"npm": f"{base}/npm/{package.name}"},
            "publisher": {"username": publisher},
            "maintainers": [{"username": owner} for owner in package.owners],
        },
        "score": {
            "final": score,
            "detail": {"quality": score, "popularity": score, "maintenance": score},
        },
        "searchScore": score,
        "flags": {},
    }


def empty_audit(path: str) -> bytes:
    """A valid audit answer reporting nothing, for registries without an upstream."""
    if path.startswith("audits"):
        return _json.encode(
            {
                "actions": [],
                "advisories": {},
                "muted": [],
                "metadata": {
                    "vulnerabilities": {
                        "info": 0,
                        "low": 0,
                        "moderate": 0,
                        "high": 0,
                        "critical": 0,
                    },
                    "dependencies": 0,
                    "devDependencies": 0,
                    "optionalDependencies": 0,
                    "totalDependencies": 0,
                },
            }
        )
    return b"{}"
