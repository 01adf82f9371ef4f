"""The package core's reads for browsing: paged heads and version counts."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput
from tests.unit.packages.conftest import Harness

pytestmark = pytest.mark.anyio


async def _seeded() -> Harness:
    harness = Harness()
    for name in ("delta", "alpha", "charlie", "bravo", "echo", "foxtrot"):
        await harness.publish(name, "1.0.0")
    await harness.publish("alpha", "2.0.0")
    await harness.index.delete("charlie")
    return harness


async def test_pages_walk_every_live_package_once_in_key_order() -> None:
    index = (await _seeded()).index
    first, more = await index.page(limit=2)
    assert [p.name for p in first] == ["alpha", "bravo"]
    assert more
    second, more = await index.page(after="bravo", limit=2)
    assert [p.name for p in second] == ["delta", "echo"]  # the tombstone is skipped
    assert more
    last, more = await index.page(after="echo", limit=2)
    assert [p.name for p in last] == ["foxtrot"]
    assert not more
    exact, more = await index.page(after="bravo", limit=3)
    assert [p.name for p in exact] == ["delta", "echo", "foxtrot"]
    assert not more


async def test_pages_leave_out_what_visible_rejects() -> None:
    index = (await _seeded()).index
    found, more = await index.page(limit=2, visible=lambda name: name in {"bravo", "foxtrot"})
    assert [p.name for p in found] == ["bravo", "foxtrot"]
    assert not more
    after_a_name_that_is_gone, _ = await index.page(after="charlie", limit=10)
    assert [p.name for p in after_a_name_that_is_gone] == ["delta", "echo", "foxtrot"]


async def test_a_cursor_that_is_no_name_is_invalid_input() -> None:
    index = (await _seeded()).index
    with pytest.raises(InvalidInput):
        await index.page(after="a/../b", limit=2)


async def test_version_counts_follow_changes() -> None:
    harness = await _seeded()
    counts = await harness.index.version_counts()
    assert dict(counts) == {"alpha": 2, "bravo": 1, "delta": 1, "echo": 1, "foxtrot": 1}
    await harness.publish("golf", "0.1.0")
    await harness.index.delete_versions("alpha", ["1.0.0"])
    counts = await harness.index.version_counts()
    assert counts["golf"] == 1
    assert counts["alpha"] == 1
