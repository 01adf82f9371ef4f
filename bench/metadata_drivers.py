"""asyncpg against psycopg 3 (async) behind the PostgreSQL MetadataStore: which driver to keep.

Run by hand, never in tests::

    .venv/bin/pip install "psycopg[binary]" psycopg_pool   # the candidate, not a dependency
    .venv/bin/python bench/metadata_drivers.py [--url postgresql://…] [--seconds 2] [--rounds 5]

Without ``--url`` it starts a throwaway PostgreSQL 15 (``tests.postgres_server``,
fsync off, loopback only). Each driver serves the same three calls over the same
table: ``get`` of a random key among 1000, ``put`` with compare-and-swap on a
document per task (no lost races, so it is the write path itself) and ``scan``
of a 50-document page. asyncpg runs through the real adapter; psycopg through
:class:`PsycopgStore` below, the same SQL with psycopg's pool. Each (driver, call,
concurrency) runs ``--seconds`` per round; rounds are interleaved so machine noise
hits both drivers alike, and the table shows medians of calls/s and per-call
latency (p50, p99), and the client process's CPU time per call.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table

from adapters.metadata.postgres import PostgresMetadataStore, _prefix_end
from domain.errors import Conflict, NotFound
from domain.keys import check_key
from domain.ports import ANY_VERSION, MUST_NOT_EXIST, DocPage, Document

DOCS = 1000
PAGE = 50
VALUE = bytes(range(200))


class Store(Protocol):
    async def get(self, key: str) -> Document: ...

    async def put(self, key: str, value: bytes, *, expected: int | None = ANY_VERSION) -> int: ...

    async def scan(
        self, prefix: str = "", *, after: str | None = None, limit: int = 1000
    ) -> DocPage: ...

    async def close(self) -> None: ...


class PsycopgStore:
    """The adapter's get/put/scan over psycopg 3's async pool: the candidate to beat."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        from psycopg_pool import AsyncConnectionPool

        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"autocommit": True, "connect_timeout": 10},
        )

    async def open(self) -> None:
        await self._pool.open(wait=True)

    async def get(self, key: str) -> Document:
        check_key(key)
        async with self._pool.connection() as con:
            cur = await con.execute(
                "SELECT value, version FROM nora_documents WHERE key = %s", (key,)
            )
            row = await cur.fetchone()
        if row is None:
            raise NotFound(key)
        return Document(key, bytes(row[0]), row[1])

    async def put(self, key: str, value: bytes, *, expected: int | None = ANY_VERSION) -> int:
        check_key(key)
        async with self._pool.connection() as con:
            if expected is None:
                sql = (
                    "INSERT INTO nora_documents (key, value, version) VALUES (%s, %s, 1) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                    "version = nora_documents.version + 1 RETURNING version"
                )
                cur = await con.execute(sql, (key, value))
            elif expected == MUST_NOT_EXIST:
                sql = (
                    "INSERT INTO nora_documents (key, value, version) VALUES (%s, %s, 1) "
                    "ON CONFLICT (key) DO NOTHING RETURNING version"
                )
                cur = await con.execute(sql, (key, value))
            else:
                sql = (
                    "UPDATE nora_documents SET value = %s, version = version + 1 "
                    "WHERE key = %s AND version = %s RETURNING version"
                )
                cur = await con.execute(sql, (value, key, expected))
            row = await cur.fetchone()
        if row is None:
            raise Conflict(key)
        return int(row[0])

    async def scan(
        self, prefix: str = "", *, after: str | None = None, limit: int = 1000
    ) -> DocPage:
        check_key(prefix, allow_empty=True)
        lower = prefix if after is None or after < prefix else after
        op = ">" if lower == after else ">="
        upper = _prefix_end(prefix)
        assert upper is not None
        async with self._pool.connection() as con:
            cur = await con.execute(
                f"SELECT key, value, version FROM nora_documents WHERE key {op} %s "
                "AND key < %s ORDER BY key LIMIT %s",
                (lower, upper, limit + 1),
            )
            rows = await cur.fetchall()
        items = [Document(k, bytes(v), ver) for k, v, ver in rows[:limit]]
        return DocPage(items=items, next_after=items[-1].key if len(rows) > limit else None)

    async def close(self) -> None:
        await self._pool.close()


async def open_store(driver: str, url: str, pool_size: int) -> Store:
    if driver == "asyncpg":
        store = PostgresMetadataStore(url, pool_size=pool_size)
        await store.check()  # opens the pool and applies the schema
        return store
    psycopg_store = PsycopgStore(url, pool_size=pool_size)
    await psycopg_store.open()
    return psycopg_store


async def seed(url: str) -> None:
    store = PostgresMetadataStore(url)
    try:
        for i in range(DOCS):
            await store.put(f"bench/docs/{i:04d}", VALUE)
    finally:
        await store.close()


async def measure(
    store: Store, call: str, tasks: int, seconds: float
) -> tuple[float, float, list[float]]:
    """Run ``call`` from ``tasks`` tasks for ``seconds``.

    Returns calls/s, this process's CPU seconds per call (the driver's own cost,
    steadier than wall time on a shared machine) and the per-call latencies.
    """
    latencies: list[float] = []
    versions: dict[int, int] = {}
    for task in range(tasks):
        versions[task] = await store.put(f"bench/cas/{task}", VALUE)

    def one(task: int) -> Callable[[], Awaitable[Any]]:
        if call == "get":
            return lambda: store.get(f"bench/docs/{random.randrange(DOCS):04d}")
        if call == "scan":
            return lambda: store.scan(
                "bench/docs/", after=f"bench/docs/{random.randrange(DOCS - PAGE):04d}", limit=PAGE
            )

        async def cas() -> None:
            versions[task] = await store.put(f"bench/cas/{task}", VALUE, expected=versions[task])

        return cas

    deadline = time.perf_counter() + seconds

    async def worker(task: int) -> None:
        run = one(task)
        while (start := time.perf_counter()) < deadline:
            await run()
            latencies.append(time.perf_counter() - start)

    begin, cpu = time.perf_counter(), time.process_time()
    async with anyio.create_task_group() as tg:
        for task in range(tasks):
            tg.start_soon(worker, task)
    calls = len(latencies)
    return calls / (time.perf_counter() - begin), (time.process_time() - cpu) / calls, latencies


async def bench(url: str, seconds: float, rounds: int, pool_size: int) -> None:
    await seed(url)
    drivers = ("asyncpg", "psycopg")
    calls = ("get", "put-cas", "scan")
    concurrency = (1, 32)
    rates: dict[tuple[str, str, int], list[float]] = {}
    cpus: dict[tuple[str, str, int], list[float]] = {}
    lat: dict[tuple[str, str, int], list[float]] = {}
    stores = {d: await open_store(d, url, pool_size) for d in drivers}
    try:
        for _ in range(rounds):
            for call in calls:
                for tasks in concurrency:
                    for driver in drivers:
                        cell = (driver, call, tasks)
                        rate, cpu, samples = await measure(stores[driver], call, tasks, seconds)
                        rates.setdefault(cell, []).append(rate)
                        cpus.setdefault(cell, []).append(cpu)
                        lat.setdefault(cell, []).extend(samples)
    finally:
        for store in stores.values():
            await store.close()
    rows = []
    for call in calls:
        for tasks in concurrency:
            for driver in drivers:
                samples = sorted(lat[(driver, call, tasks)])
                rows.append(
                    (
                        call,
                        tasks,
                        driver,
                        f"{statistics.median(rates[(driver, call, tasks)]):.0f}",
                        f"{samples[len(samples) // 2] * 1e6:.0f}",
                        f"{samples[int(len(samples) * 0.99)] * 1e6:.0f}",
                        f"{statistics.median(cpus[(driver, call, tasks)]) * 1e6:.0f}",
                    )
                )
    print_table(
        f"MetadataStore on PostgreSQL: {rounds} x {seconds:g} s, pool {pool_size}, asyncio",
        ("call", "tasks", "driver", "calls/s", "p50 µs", "p99 µs", "CPU µs/call"),
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="an existing database (default: start one)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()
    with ExitStack() as stack:
        url = args.url
        if url is None:
            from tests.postgres_server import postgres_server

            url = stack.enter_context(postgres_server())
        anyio.run(bench, url, args.seconds, args.rounds, args.pool_size)


if __name__ == "__main__":
    main()
