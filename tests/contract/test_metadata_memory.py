"""The MetadataStore contract against the memory adapter."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from adapters.metadata.memory import MemoryMetadataStore
from domain.ports import MetadataStore
from tests.contract.metadata_store_contract import MetadataStoreContract


class TestMemoryMetadataStore(MetadataStoreContract):
    @pytest.fixture
    def make_store(self) -> Callable[[], MetadataStore]:
        shared = MemoryMetadataStore()
        return lambda: shared
