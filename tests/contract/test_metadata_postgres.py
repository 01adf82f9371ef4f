"""The MetadataStore contract against a real PostgreSQL, plus what only a server can break.

One server per module. The contract keeps each test under its own random prefix
and never scans the whole store, so its tests share one database; tests that
need an empty database (migrations, whole-store scans) create their own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import anyio
import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.metadata._pg_migrations import MIGRATIONS, migrate
from adapters.metadata.postgres import PostgresMetadataStore
from domain.errors import Conflict, InvalidKey, NotFound, Transient
from domain.ports import MUST_NOT_EXIST, MetadataStore
from tests.contract.metadata_store_contract import MetadataStoreContract
from tests.e2e.server import free_port
from tests.postgres_server import postgres_server


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


async def fresh_database(url: str) -> str:
    """Create an empty database on the server of ``url``; return its URL."""
    name = f"t{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_with_database(url, "postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return _with_database(url, name)


class TestPostgresMetadataStore(MetadataStoreContract):
    @pytest.fixture
    async def make_store(
        self, pg_url: str, anyio_backend: str
    ) -> AsyncIterator[Callable[[], MetadataStore]]:
        opened: list[PostgresMetadataStore] = []

        def make() -> MetadataStore:
            opened.append(PostgresMetadataStore(pg_url, pool_size=4))
            return opened[-1]

        yield make
        for store in opened:
            await store.close()


@pytest.mark.anyio
async def test_replicas_starting_at_once_migrate_once(pg_url: str) -> None:
    url = await fresh_database(pg_url)
    stores = [PostgresMetadataStore(url, pool_size=2) for _ in range(5)]
    try:
        async with anyio.create_task_group() as tg:
            for store in stores:
                tg.start_soon(store.check)
        await stores[0].put("k", b"v", expected=MUST_NOT_EXIST)
        admin = await asyncpg.connect(url)
        try:
            rows = await admin.fetch("SELECT version FROM nora_schema_version ORDER BY version")
            assert [r[0] for r in rows] == [m[0] for m in MIGRATIONS]
            async with admin.transaction():
                assert await migrate(admin) == 0
        finally:
            await admin.close()
        again = PostgresMetadataStore(url)
        try:
            assert (await again.get("k")).value == b"v"
        finally:
            await again.close()
    finally:
        for store in stores:
            await store.close()


@pytest.mark.anyio
async def test_two_replicas_lose_no_increment(pg_url: str) -> None:
    key = f"c{uuid.uuid4().hex[:8]}/counter"
    stores = [PostgresMetadataStore(pg_url, pool_size=8) for _ in range(2)]
    await stores[0].put(key, b"0", expected=MUST_NOT_EXIST)

    async def increment(store: MetadataStore) -> None:
        while True:
            doc = await store.get(key)
            try:
                await store.put(key, str(int(doc.value) + 1).encode(), expected=doc.version)
                return
            except Conflict:
                continue

    try:
        async with anyio.create_task_group() as tg:
            for i in range(100):
                tg.start_soon(increment, stores[i % 2])
        doc = await stores[1].get(key)
        assert (doc.value, doc.version) == (b"100", 101)
    finally:
        for store in stores:
            await store.close()


@pytest.mark.anyio
async def test_like_metacharacters_are_plain_characters(pg_url: str) -> None:
    base = f"m{uuid.uuid4().hex[:8]}/"
    names = ["p%", "p%/x", "pa", "p_", "p_b", "pxb", "p", "q%"]
    store = PostgresMetadataStore(pg_url)
    try:
        for name in names:
            await store.put(base + name, b"1")
        for prefix in ("p%", "p_", "p", "%", "_"):
            page = await store.scan(base + prefix)
            expected = sorted(base + n for n in names if n.startswith(prefix))
            assert [d.key for d in page.items] == expected, prefix
        with pytest.raises(InvalidKey):
            await store.scan(base + "p\\")
    finally:
        await store.close()


@pytest.mark.anyio
async def test_whole_store_scan_pages_in_byte_order(pg_url: str) -> None:
    store = PostgresMetadataStore(await fresh_database(pg_url))
    keys = ["b", "a/z", "é", "Z", "a-b", "\U0010ffff", "\U0010ffff/x", "\uffff", "a"]
    keys += ["a\U0010ffff", "a\U0010ffff\U0010ffff", "a\U0010ffff/c", "a\U0010fffe"]
    try:
        for key in keys:
            await store.put(key, key.encode())
        collected: list[str] = []
        after: str | None = None
        while True:
            page = await store.scan("", after=after, limit=2)
            collected += [d.key for d in page.items]
            if page.next_after is None:
                break
            after = page.next_after
        assert collected == sorted(keys)
        assert [d.key for d in (await store.scan("\U0010ffff")).items] == [
            "\U0010ffff",
            "\U0010ffff/x",
        ]
        assert [d.key for d in (await store.scan("a\U0010ffff")).items] == [
            "a\U0010ffff",
            "a\U0010ffff/c",
            "a\U0010ffff\U0010ffff",
        ]
    finally:
        await store.close()


@pytest.mark.anyio
async def test_unreachable_server_is_transient_without_password() -> None:
    secret = "s3cret-Pa55"
    store = PostgresMetadataStore(
        f"postgresql://nora:{secret}@127.0.0.1:{free_port()}/registry", connect_timeout=2
    )
    try:
        calls: list[Callable[[], Awaitable[object]]] = [
            store.check,
            lambda: store.get("a"),
            lambda: store.scan("a/"),
        ]
        for call in calls:
            with pytest.raises(Transient) as caught:
                await call()
            assert not isinstance(caught.value, NotFound)
            assert secret not in str(caught.value)
            assert secret not in repr(caught.value.__cause__)
            assert "127.0.0.1:" in str(caught.value)
        assert secret not in repr(store)
    finally:
        await store.close()


@pytest.mark.anyio
async def test_error_mid_call_is_transient_and_the_pool_recovers(pg_url: str) -> None:
    key = f"x{uuid.uuid4().hex[:8]}/doc"
    store = PostgresMetadataStore(pg_url, pool_size=1, command_timeout=0.5)
    admin = await asyncpg.connect(pg_url)
    try:
        await store.put(key, b"1")
        # a statement that times out on the server's lock
        async with admin.transaction():
            await admin.execute("LOCK TABLE nora_documents IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(Transient):
                await store.put(key, b"2")
        assert (await store.get(key)).value == b"1"
        # a connection killed under a running statement
        result: list[BaseException] = []

        async def blocked_put() -> None:
            try:
                await store.put(key, b"3")
            except Transient as exc:
                result.append(exc)

        async with admin.transaction():
            await admin.execute("LOCK TABLE nora_documents IN ACCESS EXCLUSIVE MODE")
            async with anyio.create_task_group() as tg:
                tg.start_soon(blocked_put)
                pid = None
                with anyio.fail_after(5):
                    while pid is None:
                        await anyio.sleep(0.01)
                        pid = await admin.fetchval(
                            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND query LIKE 'INSERT INTO nora_documents%'"
                        )
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
        assert len(result) == 1
        assert (await store.get(key)).value == b"1"
        assert await store.put(key, b"4") == 2
    finally:
        await admin.close()
        await store.close()


_SEGMENT = st.text(alphabet="ab%_-Zé\uffff\U0010ffff", min_size=1, max_size=4)
_KEYS = st.lists(st.lists(_SEGMENT, min_size=1, max_size=3).map("/".join), max_size=30, unique=True)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=_KEYS, prefix=st.text(alphabet="ab%_/\U0010ffff", max_size=3), limit=st.integers(1, 7))
def test_scan_pages_return_exactly_the_sorted_keys(
    pg_url: str, keys: list[str], prefix: str, limit: int
) -> None:
    base = f"h{uuid.uuid4().hex[:8]}/"
    full_prefix = base + prefix
    if "//" in full_prefix:
        return  # not a valid prefix (empty segment)

    async def scenario() -> list[str]:
        store = PostgresMetadataStore(pg_url, pool_size=1)
        try:
            for key in keys:
                await store.put(base + key, b"")
            collected: list[str] = []
            after: str | None = None
            while True:
                page = await store.scan(full_prefix, after=after, limit=limit)
                assert len(page.items) <= limit
                collected += [d.key for d in page.items]
                if page.next_after is None:
                    return collected
                after = page.next_after
        finally:
            await store.close()

    expected = sorted(base + k for k in keys if (base + k).startswith(full_prefix))
    assert anyio.run(scenario) == expected


@pytest.mark.anyio
async def test_refused_connections_and_pool_timeouts_are_transient(pg_url: str) -> None:
    admin = await asyncpg.connect(pg_url)
    role = f"r{uuid.uuid4().hex[:8]}"
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
        parts = urlsplit(pg_url)
        secret = "An0ther-s3cret"
        url = urlunsplit(parts._replace(netloc=f"{role}:{secret}@{parts.hostname}:{parts.port}"))
        refused = PostgresMetadataStore(url)
        with pytest.raises(Transient) as caught:
            await refused.check()
        assert "TooManyConnections" in str(caught.value)
        assert secret not in str(caught.value)
        await refused.close()

        key = f"p{uuid.uuid4().hex[:8]}/doc"
        store = PostgresMetadataStore(pg_url, pool_size=1, acquire_timeout=0.2)
        await store.put(key, b"1")

        async def hold_the_only_connection() -> None:
            with pytest.raises(anyio.get_cancelled_exc_class()):
                await store.get(key)  # waits on the lock below

        async with admin.transaction():
            await admin.execute("LOCK TABLE nora_documents IN ACCESS EXCLUSIVE MODE")
            async with anyio.create_task_group() as tg:
                tg.start_soon(hold_the_only_connection)
                await anyio.sleep(0.1)
                with pytest.raises(Transient, match="no free connection"):
                    await store.get(key)  # no connection within 0.2 s
                tg.cancel_scope.cancel()
        assert (await store.get(key)).value == b"1"
        await store.close()
    finally:
        await admin.close()
