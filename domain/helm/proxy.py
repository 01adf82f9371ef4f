"""The upstream classic repository behind /helm/ (``NORA_HELM_PROXY``).

Its ``index.yaml`` is a :class:`~domain.proxy.PullThrough` document: cached
for the TTL, revalidated, served stale while the upstream is down. It is
parsed as YAML within bounds (size, nodes, depth; anchors cannot expand) into
entries by chart and version; only entries with a valid name, a SemVer
version and an http(s) URL are kept. In NORA's own ``index.yaml`` each keeps
every field but ``urls``, which points at NORA (``charts/<name>-<version>.tgz``);
the chart itself is fetched from the upstream once, verified against the
index's ``digest`` (sha256), and served from storage after.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Final

import msgspec

from domain.digests import Digest
from domain.downloads import Download
from domain.errors import InvalidInput, NotFound
from domain.helm.chart import load_yaml
from domain.helm.grammar import parse_name, parse_version
from domain.keys import helm_proxy_chart_key, helm_proxy_index_key
from domain.proxy import PullThrough

__all__ = ["UpstreamCharts", "UpstreamIndex"]

MAX_INDEX: Final = 64 * 1024 * 1024
MAX_INDEX_NODES: Final = 5_000_000
_HEX64: Final = re.compile(r"[0-9a-f]{64}")


class UpstreamIndex(msgspec.Struct, frozen=True, kw_only=True):
    """The upstream's charts: name -> version -> (its entry rewritten for NORA, source URL)."""

    source: str
    """What the index was parsed from (the cached body's sha256): a key for renders."""
    charts: dict[str, dict[str, tuple[bytes, str]]]


class UpstreamCharts:
    """The upstream repository at ``url`` (the URL its ``index.yaml`` lives under)."""

    def __init__(self, proxy: PullThrough, url: str, *, ttl: timedelta) -> None:
        self._proxy = proxy
        self._base = url.rstrip("/") + "/"
        self._ttl = ttl
        self._parsed: UpstreamIndex | None = None

    async def index(self) -> UpstreamIndex:
        """The upstream index (parsed once per upstream content, per process)."""
        doc = await self._proxy.document(
            helm_proxy_index_key(),
            [self._base + "index.yaml"],
            ttl=self._ttl,
            max_bytes=MAX_INDEX,
        )
        source = doc.sha256 or ""
        parsed = self._parsed
        if parsed is not None and parsed.source == source:
            return parsed
        parsed = UpstreamIndex(
            source=source, charts=_parse(await self._proxy.read(doc), self._base)
        )
        self._parsed = parsed
        return parsed

    async def chart(self, name: str, version: str) -> Download:
        """The upstream's chart archive, fetched once and verified against its digest."""
        versions = (await self.index()).charts.get(name)
        found = None if versions is None else versions.get(version)
        if found is None:
            raise NotFound(f"{name}-{version}.tgz is not upstream", subject="file")
        entry, url = found
        digest = msgspec.json.decode(entry).get("digest")
        expected = (
            Digest("sha256", digest)
            if isinstance(digest, str) and _HEX64.fullmatch(digest)
            else None
        )
        source = await self._proxy.file(
            helm_proxy_chart_key(name, version), [url], expected=expected
        )
        filename = f"{name}-{version}.tgz"
        if source.cached is not None:
            cached = source.cached
            return Download(
                filename=filename,
                content_type="application/gzip",
                etag=f'"{cached.digests.get("sha256", "").removeprefix("sha256:")}"',
                key=cached.key,
                size=cached.size,
            )
        return Download(
            filename=filename,
            content_type="application/gzip",
            stream=source.stream,
            size=source.size,
        )


def _parse(body: bytes, base: str) -> dict[str, dict[str, tuple[bytes, str]]]:
    doc = load_yaml(
        body, what="the upstream index.yaml", max_bytes=MAX_INDEX, max_nodes=MAX_INDEX_NODES
    )
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, dict):
        raise InvalidInput("the upstream index.yaml has no entries", subject="upstream")
    charts: dict[str, dict[str, tuple[bytes, str]]] = {}
    for name, listed in entries.items():
        if not isinstance(listed, list):
            continue
        try:
            parse_name(name)
        except InvalidInput:
            continue
        versions: dict[str, tuple[bytes, str]] = {}
        for entry in listed:
            kept = _entry(name, entry, base)
            if kept is not None and kept[0] not in versions:
                versions[kept[0]] = (kept[1], kept[2])
        if versions:
            charts[name] = versions
    return charts


def _resolve(base: str, url: str) -> str | None:
    """``url`` against the repository ``base`` (absolute http(s), host-relative or relative)."""
    if any(c in url for c in "\x00\r\n \\") or len(url) > 2048:
        return None
    lowered = url.lower()
    if lowered.startswith(("http://", "https://")):
        return url
    if ":" in url.split("/", 1)[0]:  # another scheme (file:, ftp:...)
        return None
    if url.startswith("//"):
        return base.split("//", 1)[0] + url
    if url.startswith("/"):
        scheme, _, rest = base.partition("//")
        return scheme + "//" + rest.split("/", 1)[0] + url
    return base + url.removeprefix("./")


def _entry(name: str, entry: Any, base: str) -> tuple[str, bytes, str] | None:
    if not isinstance(entry, dict) or entry.get("name", name) != name:
        return None
    try:
        version = parse_version(entry.get("version"))
    except InvalidInput:
        return None
    urls = entry.get("urls")
    if not isinstance(urls, list) or not urls or not isinstance(urls[0], str):
        return None
    url = _resolve(base, urls[0])
    if url is None:
        return None
    rewritten = dict(entry)
    rewritten["urls"] = [f"charts/{name}-{version}.tgz"]
    return version, msgspec.json.encode(rewritten), url
