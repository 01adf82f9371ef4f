"""Pull-through cache of upstream registries for names not hosted here.

Built on :class:`domain.proxy.PullThrough`: manifests by tag are documents
(cached for the metadata TTL, then revalidated, served stale when every
upstream is down); manifests by digest and blobs are immutable files (fetched
once, verified against their digest, single-flight, kept forever). Blobs are
cached per repository name, like everything else here: a blob fetched for one
name is served under another only once an upstream has answered for that
name too, so a digest learnt elsewhere opens nothing. Upstreams are tried in
order. A 401 with a ``Bearer`` challenge is answered the way
registries expect: a token from the challenge's realm, anonymously or with the
upstream URL's credentials, then the request again with that token.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import timedelta
from typing import Final

import msgspec

from domain.codecs.json import decode as decode_json
from domain.digests import Digest, hash_bytes
from domain.errors import InvalidInput, NotFound, Transient
from domain.keys import blob_key
from domain.numbers import is_digits
from domain.oci.manifests import MAX_MANIFEST_SIZE
from domain.oci.media import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST
from domain.oci.service import StoredManifest
from domain.ports import BlobReader, BlobStore, Clock, Upstream, UpstreamResponse
from domain.proxy import FileSource, PullThrough
from domain.uploads import StoredBlob

__all__ = ["OciProxy", "ProxiedBlob", "UpstreamRegistry", "parse_challenge"]

_ACCEPT: Final = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST))
_TOKEN_LIMIT: Final = 64 * 1024
_HEAD_HOPS: Final = 4
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_SAFE: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/")


class UpstreamRegistry(msgspec.Struct, frozen=True):
    """One upstream: its base URL (no credentials) and optional ``user:password``."""

    base: str
    credentials: str | None = None

    @classmethod
    def parse(cls, url: str) -> UpstreamRegistry:
        """Split ``scheme://user:pass@host/...`` into a base URL and credentials."""
        scheme, sep, rest = url.rstrip("/").partition("://")
        if not sep:
            return cls(url.rstrip("/"))
        authority, slash, path = rest.partition("/")
        userinfo, at, host = authority.rpartition("@")
        if not at:
            return cls(url.rstrip("/"))
        return cls(f"{scheme}://{host}{slash}{path}", _unquote(userinfo))


class ProxiedBlob(msgspec.Struct, kw_only=True):
    """A blob from the cache (``key``) or streaming from upstream (``stream``)."""

    size: int | None
    key: str | None = None
    stream: AsyncIterator[bytes] | None = None


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="..."`` -> ``("bearer", {...})``; lenient on spacing."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    text = rest.strip()
    while text:
        key, eq, text = text.partition("=")
        if not eq:
            break
        text = text.lstrip()
        if text.startswith('"'):
            value, _, text = text[1:].partition('"')
        else:
            value, _, text = text.partition(",")
            value = value.strip()
        params[key.strip().strip(",").strip().lower()] = value
        text = text.lstrip().lstrip(",").lstrip()
    return scheme.lower(), params


class OciProxy:
    """Serve names that are not hosted from the configured upstreams."""

    def __init__(
        self,
        upstreams: Sequence[str],
        *,
        pull: PullThrough,
        upstream: Upstream,
        blobs: BlobStore,
        clock: Clock,
        ttl: timedelta,
    ) -> None:
        self._registries = [UpstreamRegistry.parse(url) for url in upstreams]
        self._pull = pull
        self._upstream = upstream
        self._blobs = blobs
        self._clock = clock
        self._ttl = ttl
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}

    def _urls(self, path: str) -> list[str]:
        return [f"{registry.base}/v2/{path}" for registry in self._registries]

    async def manifest(self, name: str, reference: str | Digest) -> StoredManifest:
        """A manifest by tag (TTL, revalidation, stale on outage) or digest (forever)."""
        if isinstance(reference, Digest):
            source = await self._pull.file(
                f"{name}/manifests/{reference}",
                self._urls(f"{name}/manifests/{reference}"),
                expected=reference,
                headers={"Accept": _ACCEPT},
                authorize=self._authorize,
            )
            body = await self._drain(source)
            media_type = _media_type(source.content_type, body)
            return StoredManifest(
                digest=reference, media_type=media_type, size=len(body), body=body
            )
        doc = await self._pull.document(
            f"{name}/manifests/{reference}",
            self._urls(f"{name}/manifests/{reference}"),
            ttl=self._ttl,
            headers={"Accept": _ACCEPT},
            max_bytes=MAX_MANIFEST_SIZE,
            authorize=self._authorize,
        )
        body = await self._pull.read(doc)
        return StoredManifest(
            digest=hash_bytes(body),
            media_type=_media_type(doc.content_type, body),
            size=len(body),
            body=body,
        )

    async def tags(self, name: str) -> list[str]:
        """The upstream's tag list (cached like any document)."""
        doc = await self._pull.document(
            f"{name}/tags/list",
            self._urls(f"{name}/tags/list"),
            ttl=self._ttl,
            authorize=self._authorize,
        )
        try:
            listed = decode_json(await self._pull.read(doc), subject="upstream")
        except InvalidInput:
            raise Transient("upstream tag list is not JSON", subject="upstream") from None
        tags = listed.get("tags") if isinstance(listed, dict) else None
        return sorted(t for t in tags or [] if isinstance(t, str))

    async def blob(self, name: str, digest: Digest) -> ProxiedBlob:
        """A blob: cached bytes, or a verified stream that caches itself."""
        await self._adopt(name, digest)
        source = await self._pull.file(
            f"{name}/blobs/{digest}",
            self._urls(f"{name}/blobs/{digest}"),
            expected=digest,
            authorize=self._authorize,
        )
        if source.cached is not None:
            return ProxiedBlob(size=source.cached.size, key=source.cached.key)
        return ProxiedBlob(size=source.size, stream=source.stream)

    async def _adopt(self, name: str, digest: Digest) -> None:
        """Bytes already stored (fetched for another name) join ``name``'s cache once
        an upstream's HEAD confirms ``name`` has them: no second download, and no
        serving them under ``name`` on the strength of another name alone."""
        key = f"{name}/blobs/{digest}"
        if digest.algorithm != "sha256" or await self._pull.cached_file(key) is not None:
            return
        try:
            info = await self._blobs.stat(blob_key(digest))
        except NotFound:
            return
        for url in self._urls(f"{name}/blobs/{digest}"):
            try:
                status, _ = await self._head(url)
            except Transient:
                continue
            if status == 200:
                stored = StoredBlob(info=info, digests={"sha256": digest})
                await self._pull.remember_file(key, stored, url)
                return

    async def blob_size(self, name: str, digest: Digest) -> int | None:
        """Size of a blob for a HEAD: the cached copy's, else what an upstream's HEAD says.

        Nothing is downloaded or cached: a client probing for blobs it may
        never pull must not make the registry fetch gigabytes. None when the
        upstream has the blob but does not say its size. ``NotFound`` when
        every upstream says 404, ``Transient`` when none answers.
        """
        cached = await self._pull.cached_file(f"{name}/blobs/{digest}")
        if cached is not None:
            return cached.size
        saw_not_found = False
        for url in self._urls(f"{name}/blobs/{digest}"):
            try:
                status, length = await self._head(url)
            except Transient:
                continue
            if status == 200:
                return _length(length)
            saw_not_found = saw_not_found or status == 404
        if saw_not_found:
            raise NotFound(f"blob {digest} is not on any upstream", subject="upstream")
        raise Transient("no upstream answered", subject="upstream")

    async def _head(self, url: str) -> tuple[int, str | None]:
        """HEAD ``url``: a 401 is answered once, redirects (to storage) followed a few hops."""
        headers: Mapping[str, str] = {}
        for _ in range(_HEAD_HOPS):
            try:
                async with self._upstream.fetch(url, headers, method="HEAD") as response:
                    status, location = response.status, response.headers.get("location")
                    if status == 401 and not headers:
                        extra = await self._authorize(url, response)
                        if extra:
                            headers = extra
                            continue
                    length = response.headers.get("content-length")
            except InvalidInput as exc:
                raise Transient(f"bad upstream URL: {exc.detail}", subject="upstream") from exc
            if status in _REDIRECTS and location:
                url, headers = _follow(url, location), {}  # storage URLs carry their own grant
                continue
            if status >= 500:
                raise Transient(f"upstream answered {status}", subject="upstream")
            return status, length
        raise Transient("too many redirects from upstream", subject="upstream")

    async def open_cached(self, key: str, start: int = 0, end: int | None = None) -> BlobReader:
        return await self._blobs.open(key, start, end)

    async def _drain(self, source: FileSource) -> bytes:
        if source.cached is not None:
            reader = await self._blobs.open(source.cached.key)
            return b"".join([chunk async for chunk in reader])
        if source.stream is None:
            raise NotFound("manifest is not on any upstream", subject="manifest")
        parts: list[bytes] = []
        size = 0
        async for chunk in source.stream:
            size += len(chunk)
            if size > MAX_MANIFEST_SIZE:
                raise Transient("upstream manifest is too large", subject="upstream")
            parts.append(chunk)
        return b"".join(parts)

    async def _authorize(self, url: str, response: UpstreamResponse) -> Mapping[str, str] | None:
        """Answer a 401: Basic with configured credentials, or a Bearer token from the realm."""
        registry = next((r for r in self._registries if url.startswith(r.base)), None)
        challenge = response.headers.get("www-authenticate", "")
        scheme, params = parse_challenge(challenge)
        basic = None
        if registry is not None and registry.credentials:
            basic = "Basic " + base64.b64encode(registry.credentials.encode()).decode()
        if scheme == "basic":
            return {"Authorization": basic} if basic else None
        realm = params.get("realm")
        if scheme != "bearer" or not realm:
            return None
        cache_key = (realm, params.get("service", ""), params.get("scope", ""))
        now = self._clock.now().timestamp()
        cached = self._tokens.get(cache_key)
        if cached is not None and cached[1] > now:
            return {"Authorization": f"Bearer {cached[0]}"}
        query = "&".join(
            f"{key}={_quote(params[key])}" for key in ("service", "scope") if params.get(key)
        )
        token_url = f"{realm}{'&' if '?' in realm else '?'}{query}" if query else realm
        headers = {"Authorization": basic} if basic else {}
        async with self._upstream.fetch(token_url, headers) as answer:
            if answer.status != 200:
                return None
            raw = bytearray()
            async for chunk in answer.body():
                raw += chunk
                if len(raw) > _TOKEN_LIMIT:
                    return None
        try:
            payload = decode_json(bytes(raw), subject="upstream")
        except InvalidInput:
            return None
        if not isinstance(payload, dict):
            return None
        token = payload.get("token") or payload.get("access_token")
        if not isinstance(token, str) or not token:
            return None
        expires = payload.get("expires_in")
        lifetime = float(expires) if isinstance(expires, int | float) and expires > 0 else 60.0
        self._tokens[cache_key] = (token, now + max(lifetime - 10.0, 1.0))
        return {"Authorization": f"Bearer {token}"}


def _follow(url: str, location: str) -> str:
    """Where a redirect points: absolute, or a path on the same origin."""
    if location.startswith(("http://", "https://")):
        return location
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    if location.startswith("/"):
        return f"{scheme}://{host}{location}"
    return url.rsplit("/", 1)[0] + "/" + location


def _media_type(content_type: str | None, body: bytes) -> str:
    if content_type:
        value = content_type.split(";", 1)[0].strip()
        if value and value != "application/json":
            return value
    try:
        doc = decode_json(body, subject="upstream")
    except InvalidInput:
        return OCI_MANIFEST
    declared = doc.get("mediaType") if isinstance(doc, dict) else None
    if isinstance(declared, str) and declared:
        return declared
    return OCI_INDEX if isinstance(doc, dict) and "manifests" in doc else OCI_MANIFEST


def _quote(value: str) -> str:
    return "".join(ch if ch in _SAFE else "".join(f"%{b:02X}" for b in ch.encode()) for ch in value)


def _unquote(value: str) -> str:
    out = bytearray()
    index = 0
    while index < len(value):
        if value[index] == "%" and _is_hex(value[index + 1 : index + 3]):
            out.append(int(value[index + 1 : index + 3], 16))
            index += 3
        else:
            out += value[index].encode()
            index += 1
    return out.decode("utf-8", "replace")


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(ch in "0123456789abcdefABCDEF" for ch in text)


def _length(value: str | None) -> int | None:
    """An upstream's Content-Length, trusted no further than a plain, bounded number."""
    if value is None or not is_digits(value) or len(value) > 18:
        return None
    return int(value)
