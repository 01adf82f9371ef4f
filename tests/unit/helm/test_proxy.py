"""The Helm pull-through cache: the upstream index merged (hosted names shadow it), its
chart URLs rewritten to NORA, each chart fetched once and verified against its digest."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DigestMismatch, NotFound
from domain.helm.proxy import UpstreamCharts
from domain.helm.registry import HelmRegistry
from domain.proxy import PullThrough
from tests.contract.helpers import read_all
from tests.unit.fakes import FakeUpstream
from tests.unit.helm.conftest import Repo, chart

pytestmark = pytest.mark.anyio

UP = "http://upstream.test/charts"


class Proxied(Repo):
    def __init__(self) -> None:
        super().__init__()
        self.upstream = FakeUpstream()
        proxy = PullThrough(
            "helm",
            upstream=self.upstream,  # type: ignore[arg-type]
            meta=self.meta,
            blobs=self.blobs,
            uploads=self.uploads,
            clock=self.clock,
        )
        self.registry = HelmRegistry(
            index=self.index,
            blobs=self.blobs,
            clock=self.clock,
            upstream=UpstreamCharts(proxy, UP, ttl=timedelta(minutes=5)),
        )


def upstream_index(entries: dict[str, list[dict[str, object]]]) -> bytes:
    lines = ["apiVersion: v1", "entries:"]
    for name, versions in entries.items():
        lines.append(f"  {name}:")
        for entry in versions:
            first = True
            for key, value in entry.items():
                lead = "  - " if first else "    "
                lines.append(f"  {lead}{key}: {msgspec.json.encode(value).decode()}")
                first = False
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def proxied() -> Proxied:
    repo = Proxied()
    ext = chart("ext", "1.0.0")
    repo.upstream.serve(f"{UP}/ext-1.0.0.tgz", ext)
    repo.upstream.serve("http://files.test/ext-2.0.0.tgz", chart("ext", "2.0.0"))
    repo.upstream.serve(f"{UP}/bad-1.0.0.tgz", b"tampered")
    index = upstream_index(
        {
            "ext": [
                {
                    "name": "ext",
                    "version": "1.0.0",
                    "urls": ["ext-1.0.0.tgz"],
                    "digest": hashlib.sha256(ext).hexdigest(),
                    "description": "from upstream",
                },
                {"name": "ext", "version": "2.0.0", "urls": ["http://files.test/ext-2.0.0.tgz"]},
                {"name": "ext", "version": "junk", "urls": ["x.tgz"]},
                {"name": "ext", "version": "3.0.0", "urls": ["file:///etc/passwd"]},
            ],
            "bad": [
                {"name": "bad", "version": "1.0.0", "urls": ["bad-1.0.0.tgz"], "digest": "0" * 64}
            ],
            "mine": [{"name": "mine", "version": "9.0.0", "urls": ["mine-9.0.0.tgz"]}],
        }
    )
    repo.upstream.serve(f"{UP}/index.yaml", index, etag='"v1"')
    return repo


async def test_index_merges_upstream_and_rewrites_urls(proxied: Proxied) -> None:
    await proxied.upload(chart("mine", "1.0.0"))
    doc = msgspec.json.decode((await proxied.registry.index_yaml()).body)
    assert sorted(doc["entries"]) == ["bad", "ext", "mine"]
    ext = doc["entries"]["ext"]
    assert [e["version"] for e in ext] == ["2.0.0", "1.0.0"]  # junk and file: URLs dropped
    assert ext[1]["urls"] == ["charts/ext-1.0.0.tgz"]
    assert ext[1]["description"] == "from upstream"
    assert [e["version"] for e in doc["entries"]["mine"]] == ["1.0.0"]  # hosted shadows


async def test_index_is_cached_for_the_ttl(proxied: Proxied) -> None:
    first = await proxied.registry.index_yaml()
    assert await proxied.registry.index_yaml() is first
    assert proxied.upstream.count(f"{UP}/index.yaml") == 1


async def test_chart_fetched_once_and_verified(proxied: Proxied) -> None:
    download = await proxied.registry.chart_file("ext-1.0.0.tgz")
    assert download.stream is not None
    assert b"".join([c async for c in download.stream]) == chart("ext", "1.0.0")
    again = await proxied.registry.chart_file("ext-1.0.0.tgz")
    assert again.key is not None
    assert await read_all(await proxied.blobs.open(again.key)) == chart("ext", "1.0.0")
    assert proxied.upstream.count(f"{UP}/ext-1.0.0.tgz") == 1
    other = await proxied.registry.chart_file("ext-2.0.0.tgz")
    assert other.stream is not None
    assert b"".join([c async for c in other.stream]) == chart("ext", "2.0.0")
    tampered = await proxied.registry.chart_file("bad-1.0.0.tgz")
    assert tampered.stream is not None
    with pytest.raises(DigestMismatch):
        b"".join([c async for c in tampered.stream])
    with pytest.raises(NotFound):
        await proxied.registry.chart_file("ext-9.9.9.tgz")


async def test_hosted_name_never_reaches_upstream(proxied: Proxied) -> None:
    await proxied.upload(chart("mine", "1.0.0"))
    with pytest.raises(NotFound):
        await proxied.registry.chart_file("mine-9.0.0.tgz")
    assert proxied.upstream.count(f"{UP}/mine-9.0.0.tgz") == 0


async def test_upstream_down_still_serves_hosted(proxied: Proxied) -> None:
    await proxied.upload(chart("mine", "1.0.0"))
    proxied.upstream.down = True
    doc = msgspec.json.decode((await proxied.registry.index_yaml()).body)
    assert list(doc["entries"]) == ["mine"]


def test_upstream_urls_resolve_against_the_repository() -> None:
    from domain.helm.proxy import _resolve

    base = "http://up.test/charts/"
    assert _resolve(base, "a-1.0.0.tgz") == "http://up.test/charts/a-1.0.0.tgz"
    assert _resolve(base, "./a.tgz") == "http://up.test/charts/a.tgz"
    assert _resolve(base, "/dl/a.tgz") == "http://up.test/dl/a.tgz"
    assert _resolve(base, "//cdn.test/a.tgz") == "http://cdn.test/a.tgz"
    assert _resolve(base, "HTTPS://cdn.test/a.tgz") == "HTTPS://cdn.test/a.tgz"
    for bad in ("file:///etc/passwd", "ftp://x/a.tgz", "javascript:alert(1)", "a b.tgz", "a\n"):
        assert _resolve(base, bad) is None


@given(st.text(max_size=100))
def test_any_upstream_url_is_http_or_refused(url: str) -> None:
    from domain.helm.proxy import _resolve

    found = _resolve("http://up.test/charts/", url)
    assert found is None or found.lower().startswith(("http://", "https://"))
