"""ManifestCache: least recently used out first, never over budget, and the service still
resolves tags and deletes through the metadata when the bytes are cached."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import NotFound
from domain.keys import blob_key
from domain.oci.cache import ManifestCache
from tests.unit.oci.test_service import Registry


def test_least_recently_used_goes_first() -> None:
    cache = ManifestCache(400)
    for key in "abcd":
        cache.put(key, key.encode() * 100)
    assert len(cache) == 4
    assert cache.get("a") == b"a" * 100  # a is now the most recent
    cache.put("e", b"e" * 100)
    assert cache.get("b") is None
    assert [cache.get(k) is not None for k in "acde"] == [True, True, True, True]
    assert cache.size == 400


def test_oversized_bodies_and_a_zero_budget_keep_nothing() -> None:
    cache = ManifestCache(400)
    cache.put("big", b"x" * 101)
    assert cache.get("big") is None
    off = ManifestCache(0)
    off.put("a", b"")
    off.put("b", b"b")
    assert (off.get("b"), off.size) == (None, 0)


@settings(deadline=None)
@given(
    budget=st.integers(0, 64),
    ops=st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(0, 40)), max_size=60),
)
def test_never_over_budget_and_hits_are_what_was_put(
    budget: int, ops: list[tuple[str, int]]
) -> None:
    cache = ManifestCache(budget)
    first: dict[str, bytes] = {}
    for key, length in ops:
        body = first.setdefault(key, key.encode() * length)  # one body per digest, as in life
        cache.put(key, body)
        assert cache.size <= budget
        assert cache.size == sum(len(first[k]) for k in first if cache.get(k) is not None)
        hit = cache.get(key)
        assert hit is None or hit == first[key]


@pytest.fixture
def reg() -> Registry:
    return Registry()


@pytest.mark.anyio
async def test_cached_bytes_never_outlive_tags_or_deletes(reg: Registry) -> None:
    body, digest = await reg.image("cache/app", "v1", layer=b"one")
    assert (await reg.oci.get_manifest("cache/app", "v1")).body == body
    assert reg.oci.manifest_cache.get(str(digest)) == body
    # the bytes are served from memory even when the store no longer has them ...
    await reg.blobs.delete(blob_key(digest))
    assert (await reg.oci.get_manifest("cache/app", digest)).body == body
    # ... but a moved tag and a deleted manifest resolve through the metadata
    moved, moved_digest = await reg.image("cache/app", "v1", layer=b"two")
    got = await reg.oci.get_manifest("cache/app", "v1")
    assert (got.digest, got.body) == (moved_digest, moved)
    await reg.oci.delete_manifest("cache/app", digest)
    with pytest.raises(NotFound):
        await reg.oci.get_manifest("cache/app", digest)
