"""SQLite MetadataStore, the default: one file in WAL mode under the data dir.

Statements are single-row primary-key operations that take microseconds, so
they run on the event loop thread: a thread hop would cost more than the
query. Compare-and-swap is one conditional ``UPDATE``/``INSERT``, atomic in
SQLite, so several worker processes can share the file safely; the busy
timeout covers the brief moments another process holds the write lock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from domain.errors import Conflict, NotFound, Transient
from domain.keys import check_key
from domain.ports import ANY_VERSION, MUST_NOT_EXIST, DocPage, Document

__all__ = ["SqliteMetadataStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    version INTEGER NOT NULL
) WITHOUT ROWID
"""


class SqliteMetadataStore:
    """MetadataStore over one SQLite database file (or ``:memory:``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise Transient(f"cannot open the metadata database: {exc}") from exc

    async def get(self, key: str) -> Document:
        check_key(key)
        row = self._run("SELECT value, version FROM documents WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise NotFound(f"no document at {key}")
        return Document(key, bytes(row[0]), row[1])

    async def put(self, key: str, value: bytes, *, expected: int | None = ANY_VERSION) -> int:
        check_key(key)
        blob = bytes(value)
        if expected == MUST_NOT_EXIST:
            try:
                self._run(
                    "INSERT INTO documents (key, value, version) VALUES (?, ?, 1)", (key, blob)
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"{key} exists already") from None
            return 1
        if expected is None:
            row = self._run(
                "INSERT INTO documents (key, value, version) VALUES (?, ?, 1) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = version + 1 "
                "RETURNING version",
                (key, blob),
            ).fetchone()
            return int(row[0])
        row = self._run(
            "UPDATE documents SET value = ?, version = version + 1 "
            "WHERE key = ? AND version = ? RETURNING version",
            (blob, key, expected),
        ).fetchone()
        if row is None:
            raise Conflict(f"{key} changed meanwhile")
        return int(row[0])

    async def delete(self, key: str, *, expected: int | None = ANY_VERSION) -> None:
        check_key(key)
        if expected is None:
            cursor = self._run("DELETE FROM documents WHERE key = ?", (key,))
        else:
            cursor = self._run(
                "DELETE FROM documents WHERE key = ? AND version = ?", (key, expected)
            )
        if cursor.rowcount == 0:
            exists = self._run("SELECT 1 FROM documents WHERE key = ?", (key,)).fetchone()
            if exists is None:
                raise NotFound(f"no document at {key}")
            raise Conflict(f"{key} changed meanwhile")

    async def scan(
        self, prefix: str = "", *, after: str | None = None, limit: int = 1000
    ) -> DocPage:
        check_key(prefix, allow_empty=True)
        lower = prefix if after is None or after < prefix else after
        operator = ">" if lower == after else ">="
        params: tuple[object, ...]
        upper = _prefix_end(prefix)
        if upper is not None:
            bound, params = "AND key < ? ", (lower, upper)
        else:
            bound, params = "AND substr(key, 1, ?) = ? ", (lower, len(prefix), prefix)
        rows = self._run(
            f"SELECT key, value, version FROM documents WHERE key {operator} ? {bound}"
            "ORDER BY key LIMIT ?",
            (*params, max(limit, 0) + 1),
        ).fetchall()
        items = [Document(k, bytes(v), ver) for k, v, ver in rows[:limit]]
        more = len(rows) > limit
        return DocPage(items=items, next_after=items[-1].key if more and items else None)

    async def check(self) -> None:
        self._run("SELECT 1").fetchone()

    async def close(self) -> None:
        self._db.close()

    def _run(self, sql: str, params: tuple[object, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, params)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise Transient(f"metadata database error: {exc}") from exc


def _prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix``."""
    if not prefix or prefix[-1] == "\U0010ffff":
        return None
    successor = ord(prefix[-1]) + 1
    if 0xD800 <= successor <= 0xDFFF:
        successor = 0xE000
    return prefix[:-1] + chr(successor)
