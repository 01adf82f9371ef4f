"""The MetadataStore contract against the SQLite adapter (one file, several connections)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.metadata.sqlite import SqliteMetadataStore
from domain.ports import MetadataStore
from tests.contract.metadata_store_contract import MetadataStoreContract


class TestSqliteMetadataStore(MetadataStoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[Callable[[], MetadataStore]]:
        opened: list[SqliteMetadataStore] = []

        def make() -> MetadataStore:
            opened.append(SqliteMetadataStore(tmp_path / "nora.db"))
            return opened[-1]

        yield make
        for store in opened:
            store._db.close()

    def test_database_is_in_wal_mode(self, tmp_path: Path) -> None:
        SqliteMetadataStore(tmp_path / "nora.db")
        mode = sqlite3.connect(tmp_path / "nora.db").execute("PRAGMA journal_mode").fetchone()
        assert mode == ("wal",)
