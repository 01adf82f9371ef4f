"""The BlobStore contract against the memory adapter."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.blobstore.memory import MemoryBlobBackend, MemoryBlobStore
from domain.ports import BlobStore
from tests.contract.blob_store_contract import BlobStoreContract


class TestMemoryBlobStore(BlobStoreContract):
    @pytest.fixture
    def make_store(self) -> Callable[[], BlobStore]:
        backend = MemoryBlobBackend()
        return lambda: MemoryBlobStore(backend)
