"""PostgreSQL MetadataStore for replicas that share one database (asyncpg).

asyncpg is chosen by measurement (``bench/metadata_drivers.py``, PostgreSQL 15 on
loopback, pool 10, medians of 5 x 2 s on a shared 2-core machine; calls/s, then
the client's CPU µs per call; a busier run ranked them the same)::

    call       tasks  asyncpg       psycopg 3
    get            1  2271 / 317    2096 / 307
    get           32  4060 / 242    1978 / 380
    put-cas        1  2050 / 323    1508 / 334
    put-cas       32  2476 / 272    1955 / 376
    scan (50)      1  1725 / 415    1176 / 538
    scan (50)     32  2107 / 366    1378 / 561

asyncpg is ahead on every call and well ahead on writes and pages (binary
protocol, statements always prepared, less CPU per call under load). Its lead
needs the pool told not to send its reset query on release: with the default
reset (a second round trip per call) asyncpg lost single-task gets to psycopg
(620 against 1047 calls/s) and only tied on writes.

Every operation is one statement in autocommit on a pooled connection, so
compare-and-swap is atomic in PostgreSQL itself: a versioned put is an ``UPDATE
... WHERE version = $n``, a create is ``INSERT ... ON CONFLICT DO NOTHING``.
Keys are ``COLLATE "C"`` so scans come back in byte order, the order of every
other adapter, and a prefix is a range on the primary key (no ``LIKE``, so no
wildcard to escape). The pool is opened lazily inside the running event loop,
applying pending migrations (``_pg_migrations``) first. Every driver failure is
``Transient`` and names the server as host:port/db only: the password never
reaches a message.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
import asyncpg

from adapters.metadata._pg_migrations import migrate
from domain.errors import Conflict, NotFound, Transient
from domain.keys import check_key
from domain.ports import ANY_VERSION, MUST_NOT_EXIST, DocPage, Document

__all__ = ["PostgresMetadataStore"]

_log = logging.getLogger("nora.metadata")

_GET = "SELECT value, version FROM nora_documents WHERE key = $1"
_CREATE = (
    "INSERT INTO nora_documents (key, value, version) VALUES ($1, $2, 1) "
    "ON CONFLICT (key) DO NOTHING RETURNING version"
)
_UPSERT = (
    "INSERT INTO nora_documents (key, value, version) VALUES ($1, $2, 1) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
    "version = nora_documents.version + 1 RETURNING version"
)
_REPLACE = (
    "UPDATE nora_documents SET value = $2, version = version + 1 "
    "WHERE key = $1 AND version = $3 RETURNING version"
)
# One snapshot: the CTE deletes, the outer query still sees the row it deleted (or
# the one it refused to), so "nothing deleted" splits into NotFound and Conflict.
_DELETE = (
    "WITH gone AS (DELETE FROM nora_documents "
    "WHERE key = $1 AND ($2::bigint IS NULL OR version = $2) RETURNING 1) "
    "SELECT EXISTS (SELECT 1 FROM gone), "
    "EXISTS (SELECT 1 FROM nora_documents WHERE key = $1)"
)
# A prefix is a key range on the primary key, ordered by it; a prefix with no
# successor (empty, or only U+10FFFF) needs no upper bound at all.
_SCAN_RANGE = (
    "SELECT key, value, version FROM nora_documents "
    "WHERE key {op} $1 AND key < $2 ORDER BY key LIMIT $3"
)
_SCAN_FROM = (
    "SELECT key, value, version FROM nora_documents WHERE key {op} $1 ORDER BY key LIMIT $2"
)

_DRIVER_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


class PostgresMetadataStore:
    """MetadataStore over one PostgreSQL table; several instances are several replicas."""

    def __init__(
        self,
        url: str,
        pool_size: int = 10,
        *,
        connect_timeout: float = 10.0,
        command_timeout: float = 10.0,
        acquire_timeout: float = 10.0,
    ) -> None:
        parts = urlsplit(url)
        self._url = url
        self._where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"
        self._secrets = {s for s in (parts.password, unquote(parts.password or "")) if s}
        self._pool_size = max(pool_size, 1)
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._acquire_timeout = acquire_timeout
        self._pool: asyncpg.Pool | None = None
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"PostgresMetadataStore({self._where})"

    async def get(self, key: str) -> Document:
        check_key(key)
        async with self._connection("get") as con:
            row = await con.fetchrow(_GET, key)
        if row is None:
            raise NotFound(f"no document at {key}")
        return Document(key, row[0], row[1])

    async def put(self, key: str, value: bytes, *, expected: int | None = ANY_VERSION) -> int:
        check_key(key)
        blob = bytes(value)
        async with self._connection("put") as con:
            if expected is None:
                version = await con.fetchval(_UPSERT, key, blob)
            elif expected == MUST_NOT_EXIST:
                version = await con.fetchval(_CREATE, key, blob)
            else:
                version = await con.fetchval(_REPLACE, key, blob, expected)
        if version is None:
            if expected == MUST_NOT_EXIST:
                raise Conflict(f"{key} exists already")
            raise Conflict(f"{key} changed meanwhile")
        return int(version)

    async def delete(self, key: str, *, expected: int | None = ANY_VERSION) -> None:
        check_key(key)
        async with self._connection("delete") as con:
            row = await con.fetchrow(_DELETE, key, expected)
        deleted, existed = row
        if deleted:
            return
        if not existed:
            raise NotFound(f"no document at {key}")
        raise Conflict(f"{key} changed meanwhile")

    async def scan(
        self, prefix: str = "", *, after: str | None = None, limit: int = 1000
    ) -> DocPage:
        check_key(prefix, allow_empty=True)
        lower = prefix if after is None or after < prefix else after
        op = ">" if lower == after else ">="
        upper = _prefix_end(prefix)
        limit = max(limit, 0)
        async with self._connection("scan") as con:
            if upper is None:
                rows = await con.fetch(_SCAN_FROM.format(op=op), lower, limit + 1)
            else:
                rows = await con.fetch(_SCAN_RANGE.format(op=op), lower, upper, limit + 1)
        items = [Document(k, v, ver) for k, v, ver in rows[:limit]]
        more = len(rows) > limit
        return DocPage(items=items, next_after=items[-1].key if more and items else None)

    async def check(self) -> None:
        async with self._connection("check") as con:
            await con.fetchval("SELECT 1")

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            with anyio.fail_after(self._command_timeout):
                await pool.close()
        except (TimeoutError, *_DRIVER_ERRORS):
            pool.terminate()

    @asynccontextmanager
    async def _connection(self, action: str) -> AsyncIterator[Any]:
        """A pooled connection; every driver failure inside becomes ``Transient``."""
        try:
            pool = self._pool or await self._open()
        except _DRIVER_ERRORS as exc:
            raise self._transient("cannot be reached or set up", exc) from self._cause(exc)
        try:
            # not acquire(timeout=): on Python 3.11 its wait_for costs a task and a loop turn
            with anyio.fail_after(self._acquire_timeout):
                con = await pool.acquire()
        except _DRIVER_ERRORS as exc:
            what = f"had no free connection for {action} within {self._acquire_timeout:g} s"
            raise self._transient(what, exc) from self._cause(exc)
        try:
            yield con
        except _DRIVER_ERRORS as exc:
            raise self._transient(f"{action} failed", exc) from self._cause(exc)
        finally:
            await pool.release(con)

    async def _open(self) -> asyncpg.Pool:
        """Create the pool once per store and bring the schema up to date."""
        async with self._lock:
            if self._pool is not None:
                return self._pool
            pool = await asyncpg.create_pool(
                self._url,
                min_size=1,
                max_size=self._pool_size,
                timeout=self._connect_timeout,
                command_timeout=self._command_timeout,
                reset=_keep_session,
            )
            try:
                async with pool.acquire(timeout=self._acquire_timeout) as con, con.transaction():
                    applied = await migrate(con)
            except BaseException:
                pool.terminate()
                raise
            if applied:
                _log.info("metadata database %s: applied %d migrations", self._where, applied)
            self._pool = pool
            return pool

    def _cause(self, exc: BaseException) -> BaseException | None:
        """``exc`` to chain, unless its text would show the password."""
        return None if any(secret in str(exc) for secret in self._secrets) else exc

    def _transient(self, what: str, exc: BaseException) -> Transient:
        reason = str(exc) or ("timed out" if isinstance(exc, TimeoutError) else "no detail")
        for secret in self._secrets:
            reason = reason.replace(secret, "***")
        return Transient(f"metadata database {self._where} {what} ({type(exc).__name__}: {reason})")


async def _keep_session(connection: object) -> None:
    """Skip asyncpg's reset query on release (a second round trip per call).

    The store never changes session state: no ``SET``, ``LISTEN``, cursors or
    session advisory locks. asyncpg still rolls back an open transaction first.
    """


def _prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``.

    Trailing U+10FFFF (the greatest character) are dropped first: every key at or
    above ``q + U+10FFFF`` and below ``q``'s successor starts with it. None when
    nothing is left: then every key at or above ``prefix`` starts with it.
    """
    stem = prefix.rstrip("\U0010ffff")
    if not stem:
        return None
    successor = ord(stem[-1]) + 1
    if 0xD800 <= successor <= 0xDFFF:
        successor = 0xE000
    return stem[:-1] + chr(successor)
