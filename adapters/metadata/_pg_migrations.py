"""Schema migrations of the PostgreSQL MetadataStore, applied when a pool first opens.

Several replicas may start at once, so the whole check-and-apply runs in one
transaction holding a transaction-level advisory lock: the first replica applies
what is pending and records it, the others wait on the lock, then find nothing
left to do. DDL is transactional in PostgreSQL, so a failed migration leaves
nothing half-applied. Migrations are append-only: never edit a released one.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["LOCK_ID", "MIGRATIONS", "SCHEMA_TABLE", "Migration", "migrate"]

LOCK_ID = 0x4E4F5241_4D455441  # "NORAMETA": one advisory lock id for every replica
"""The ``pg_advisory_xact_lock`` key that serialises migrations across replicas."""

SCHEMA_TABLE = "nora_schema_version"

Migration = tuple[int, str, str]
"""(version, description, SQL): versions count up from 1 without gaps."""

MIGRATIONS: tuple[Migration, ...] = (
    (
        1,
        "documents keyed in byte order, versioned for compare-and-swap",
        """
        CREATE TABLE nora_documents (
            key text COLLATE "C" PRIMARY KEY,
            value bytea NOT NULL,
            version bigint NOT NULL CHECK (version > 0)
        )
        """,
    ),
)


class _Connection(Protocol):
    """The slice of an asyncpg connection the migrator uses."""

    async def execute(self, query: str, *args: object) -> str: ...

    async def fetchval(self, query: str, *args: object) -> object: ...


async def migrate(connection: _Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Apply pending ``migrations`` under the advisory lock; return how many ran.

    The caller opens the transaction (so the lock is released at its end).
    """
    await connection.execute("SELECT pg_advisory_xact_lock($1)", LOCK_ID)
    await connection.execute(
        f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} ("
        " version integer PRIMARY KEY,"
        " description text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    current = await connection.fetchval(f"SELECT coalesce(max(version), 0) FROM {SCHEMA_TABLE}")
    assert isinstance(current, int)
    applied = 0
    for version, description, sql in migrations:
        if version <= current:
            continue
        await connection.execute(sql)
        await connection.execute(
            f"INSERT INTO {SCHEMA_TABLE} (version, description) VALUES ($1, $2)",
            version,
            description,
        )
        applied += 1
    return applied
