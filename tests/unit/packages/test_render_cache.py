"""RenderCache: whole documents per source version, fragments per version document."""

from __future__ import annotations

import msgspec
import pytest

from domain.packages import Package, RenderCache, Snapshot
from tests.unit.packages.conftest import Harness

pytestmark = pytest.mark.anyio


def test_render_cache_keys_on_version() -> None:
    cache = RenderCache(max_bytes=100)
    cache.put("k", "full", 1, b"x" * 10)
    assert cache.get("k", "full", 1) == b"x" * 10
    assert cache.get("k", "full", 2) is None
    assert cache.get("k", "abbr", 1) is None
    cache.put("k", "full", 2, b"y" * 10)
    assert cache.get("k", "full", 1) is None
    cache.put("big", "full", 1, b"z" * 60)
    assert cache.get("big", "full", 1) is None
    for i in range(12):
        cache.put(f"k{i}", "full", 1, b"w" * 10)
    assert len(cache) <= 10
    assert cache.get("k11", "full", 1) == b"w" * 10


class Renderer:
    """Renders a version as its name plus its yank flag, counting calls."""

    def __init__(self, cache: RenderCache) -> None:
        self.cache = cache
        self.rendered: list[str] = []

    def all(self, snap: Snapshot) -> dict[str, bytes]:
        def render(version: str) -> bytes:
            self.rendered.append(version)
            entry = snap.package.versions[version]
            return msgspec.json.encode([version, entry.yanked])

        parts = self.cache.parts(snap, "v", render)
        return {version: bytes(part) for version, part in parts.items()}


async def test_a_change_renders_only_the_versions_it_touched(harness: Harness) -> None:
    renderer = Renderer(RenderCache())
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        await harness.publish("pkg", version)
    first = renderer.all(await harness.index.get("pkg"))
    assert list(first) == ["1.0.0", "1.1.0", "1.2.0"]
    assert renderer.rendered == ["1.0.0", "1.1.0", "1.2.0"]
    renderer.rendered.clear()
    await harness.publish("pkg", "2.0.0")
    await harness.index.yank("pkg", "1.1.0")
    second = renderer.all(await harness.index.get("pkg"))
    assert sorted(renderer.rendered) == ["1.1.0", "2.0.0"]
    assert second["1.1.0"] == b'["1.1.0",true]'
    assert list(second) == ["1.0.0", "1.1.0", "1.2.0", "2.0.0"]
    renderer.rendered.clear()
    await harness.index.delete_versions("pkg", ["1.0.0"])
    third = renderer.all(await harness.index.get("pkg"))
    assert renderer.rendered == []
    assert list(third) == ["1.1.0", "1.2.0", "2.0.0"]


async def test_fragments_follow_a_reordering(harness: Harness) -> None:
    renderer = Renderer(RenderCache())
    for version in ("1.0.0", "1.1.0"):
        await harness.publish("pkg", version)
    renderer.all(await harness.index.get("pkg"))

    def reorder(current: Package | None) -> Package | None:
        assert current is not None
        current.versions = dict(reversed(current.versions.items()))
        return current

    await harness.index.update("pkg", reorder)
    assert list(renderer.all(await harness.index.get("pkg"))) == ["1.1.0", "1.0.0"]


async def test_one_fragment_is_shared_with_the_whole(harness: Harness) -> None:
    cache = RenderCache()
    renderer = Renderer(cache)
    for version in ("1.0.0", "1.1.0"):
        await harness.publish("pkg", version)
    snap = await harness.index.get("pkg")
    one = cache.part(snap, "v", "1.1.0", lambda version: b"[1]")
    assert bytes(one) == b"[1]"
    assert renderer.all(snap)["1.1.0"] == b"[1]"  # taken from the cache, not rendered again
    assert renderer.rendered == ["1.0.0"]
    assert bytes(cache.part(snap, "v", "1.0.0", lambda version: b"never")) == b'["1.0.0",false]'


async def test_fragments_count_against_the_bound(harness: Harness) -> None:
    cache = RenderCache(max_bytes=400)
    for i in range(20):
        await harness.publish(f"p{i}", "1.0.0")
        snap = await harness.index.get(f"p{i}")
        cache.parts(snap, "v", lambda version: b"x" * 50)
    assert len(cache) == 8  # 50 bytes each: the 8 most recent packages
    again = cache.parts(snap, "v", lambda version: b"not rendered again")
    assert bytes(again["1.0.0"]) == b"x" * 50
