"""The MetadataStore contract: every sentence of the port's docstring, as tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import anyio
import anyio.lowlevel
import pytest

from domain.errors import Conflict, InvalidKey, NotFound
from domain.ports import ANY_VERSION, MUST_NOT_EXIST, MetadataStore
from tests.contract.blob_store_contract import BAD_KEYS


class MetadataStoreContract:
    """Tests every MetadataStore adapter must pass unchanged."""

    @pytest.fixture
    def make_store(self) -> Callable[[], MetadataStore]:
        raise NotImplementedError

    @pytest.fixture
    def store(self, make_store: Callable[[], MetadataStore]) -> MetadataStore:
        return make_store()

    @pytest.fixture
    def prefix(self) -> str:
        return f"t{uuid.uuid4().hex[:8]}/"

    @pytest.mark.anyio
    async def test_missing_key(self, store: MetadataStore, prefix: str) -> None:
        with pytest.raises(NotFound):
            await store.get(prefix + "missing")
        with pytest.raises(NotFound):
            await store.delete(prefix + "missing")
        with pytest.raises(NotFound):
            await store.delete(prefix + "missing", expected=3)
        with pytest.raises(Conflict):
            await store.put(prefix + "missing", b"v", expected=1)

    @pytest.mark.anyio
    @pytest.mark.parametrize("key", BAD_KEYS)
    async def test_invalid_keys_are_rejected(self, store: MetadataStore, key: str) -> None:
        with pytest.raises(InvalidKey):
            await store.get(key)
        with pytest.raises(InvalidKey):
            await store.put(key, b"v")
        with pytest.raises(InvalidKey):
            await store.delete(key)

    @pytest.mark.anyio
    async def test_versions_grow_by_one(self, store: MetadataStore, prefix: str) -> None:
        key = prefix + "doc"
        assert await store.put(key, b"one", expected=MUST_NOT_EXIST) == 1
        doc = await store.get(key)
        assert (doc.key, doc.value, doc.version) == (key, b"one", 1)
        assert await store.put(key, b"two", expected=1) == 2
        assert await store.put(key, b"three") == 3
        assert (await store.get(key)).value == b"three"

    @pytest.mark.anyio
    async def test_cas_conflicts(self, store: MetadataStore, prefix: str) -> None:
        key = prefix + "doc"
        await store.put(key, b"one", expected=MUST_NOT_EXIST)
        with pytest.raises(Conflict):
            await store.put(key, b"again", expected=MUST_NOT_EXIST)
        with pytest.raises(Conflict):
            await store.put(key, b"stale", expected=7)
        assert (await store.get(key)).value == b"one"
        with pytest.raises(Conflict):
            await store.delete(key, expected=2)
        assert (await store.get(key)).version == 1

    @pytest.mark.anyio
    async def test_binary_values_round_trip(self, store: MetadataStore, prefix: str) -> None:
        value = bytes(range(256)) * 4
        await store.put(prefix + "bin", value)
        assert (await store.get(prefix + "bin")).value == value
        await store.put(prefix + "empty", b"")
        assert (await store.get(prefix + "empty")).value == b""

    @pytest.mark.anyio
    async def test_delete(self, store: MetadataStore, prefix: str) -> None:
        await store.put(prefix + "a", b"1")
        await store.put(prefix + "b", b"1")
        await store.delete(prefix + "a")
        with pytest.raises(NotFound):
            await store.get(prefix + "a")
        await store.delete(prefix + "b", expected=1)
        assert (await store.scan(prefix)).items == []
        assert await store.put(prefix + "a", b"again", expected=MUST_NOT_EXIST) == 1

    @pytest.mark.anyio
    async def test_scan_and_pagination(self, store: MetadataStore, prefix: str) -> None:
        names = ["b", "a/z", "a-b", "a", "c/d/e", "a/y", "ab", "é", "a0"]
        keys = [prefix + n for n in names]
        for key in keys:
            await store.put(key, key.encode())
        await store.put("zz-outside/" + prefix + "x", b"x")
        await store.put(prefix[:-1], b"sibling without the slash")
        page = await store.scan(prefix)
        assert [d.key for d in page.items] == sorted(keys)
        assert all(d.value == d.key.encode() and d.version == 1 for d in page.items)
        assert page.next_after is None
        collected: list[str] = []
        after: str | None = None
        while True:
            page = await store.scan(prefix, after=after, limit=3)
            assert len(page.items) <= 3
            collected += [d.key for d in page.items]
            if page.next_after is None:
                break
            after = page.next_after
        assert collected == sorted(keys)
        assert [d.key for d in (await store.scan(prefix + "a/")).items] == [
            prefix + "a/y",
            prefix + "a/z",
        ]
        assert (await store.scan(prefix + "nothing")).items == []
        assert (await store.scan(prefix, after=prefix + "\uffff")).items == []
        assert [d.key for d in (await store.scan(prefix, after="")).items] == sorted(keys)
        await store.delete("zz-outside/" + prefix + "x")
        await store.delete(prefix[:-1])

    @pytest.mark.anyio
    async def test_fifty_concurrent_cas_writers(
        self, make_store: Callable[[], MetadataStore], prefix: str
    ) -> None:
        key = prefix + "counter"
        stores = [make_store() for _ in range(5)]
        await stores[0].put(key, b"0", expected=MUST_NOT_EXIST)
        conflicts = 0

        async def increment(store: MetadataStore) -> None:
            nonlocal conflicts
            while True:
                doc = await store.get(key)
                await anyio.lowlevel.checkpoint()  # let the others read the same version
                try:
                    await store.put(key, str(int(doc.value) + 1).encode(), expected=doc.version)
                    return
                except Conflict:
                    conflicts += 1

        async with anyio.create_task_group() as tg:
            for i in range(50):
                tg.start_soon(increment, stores[i % len(stores)])
        doc = await stores[1].get(key)
        assert doc.value == b"50"
        assert doc.version == 51
        assert conflicts > 0, "the writers never raced; the test proves nothing"

    @pytest.mark.anyio
    async def test_unconditional_put_and_delete(self, store: MetadataStore, prefix: str) -> None:
        key = prefix + "u"
        assert await store.put(key, b"1", expected=ANY_VERSION) == 1
        assert await store.put(key, b"2", expected=ANY_VERSION) == 2
        await store.delete(key, expected=ANY_VERSION)
        with pytest.raises(NotFound):
            await store.get(key)

    @pytest.mark.anyio
    async def test_check_passes(self, store: MetadataStore) -> None:
        await store.check()
