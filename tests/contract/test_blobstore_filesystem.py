"""The BlobStore contract against the filesystem adapter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.blobstore.filesystem import FilesystemBlobStore
from domain.ports import BlobStore
from tests.contract.blob_store_contract import BlobStoreContract


class TestFilesystemBlobStore(BlobStoreContract):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[Callable[[], BlobStore]]:
        yield lambda: FilesystemBlobStore(tmp_path / "data")
        leftovers = list((tmp_path / "data" / "tmp").iterdir())
        assert leftovers == [], "a put left a temporary file behind"

    def test_no_file_outside_root(self, tmp_path: Path) -> None:
        store = FilesystemBlobStore(tmp_path / "data")
        assert store.local_path("a/b").is_relative_to(tmp_path / "data")
