"""The backend wrapper times every port call and counts only the backend's own failures."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from adapters.blobstore.filesystem import FilesystemBlobStore
from adapters.metadata.memory import MemoryMetadataStore
from domain.errors import NotFound, Transient
from domain.ports import BlobStore, LocalFiles, MetadataStore
from entrypoints.backend_metrics import BACKEND_ERRORS, BACKEND_LATENCY, measured

pytestmark = pytest.mark.anyio


def _count(metric: object, backend: str, adapter: str, operation: str) -> float:
    name = (
        "nora_backend_duration_seconds_count"
        if metric is BACKEND_LATENCY
        else ("nora_backend_errors_total")
    )
    labels = {"backend": backend, "adapter": adapter, "operation": operation}
    return REGISTRY.get_sample_value(name, labels) or 0.0


class _Down(MemoryMetadataStore):
    async def get(self, key: str):  # type: ignore[no-untyped-def]
        raise Transient("the server went away")


async def test_calls_are_timed_and_ordinary_answers_are_not_failures() -> None:
    store = measured(MemoryMetadataStore(), "metadata", "unit-a")
    timed = _count(BACKEND_LATENCY, "metadata", "unit-a", "get")
    with pytest.raises(NotFound):
        await store.get("missing")
    await store.put("k", b"v")
    assert (await store.get("k")).value == b"v"
    assert _count(BACKEND_LATENCY, "metadata", "unit-a", "get") == timed + 2
    assert _count(BACKEND_ERRORS, "metadata", "unit-a", "get") == 0
    assert isinstance(store, MetadataStore)


async def test_transient_failures_are_counted() -> None:
    store = measured(_Down(), "metadata", "unit-b")
    for _ in range(2):
        with pytest.raises(Transient):
            await store.get("k")
    assert _count(BACKEND_ERRORS, "metadata", "unit-b", "get") == 2


def test_optional_capabilities_stay_visible(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = measured(FilesystemBlobStore(tmp_path), "blobs", "unit-c")
    assert isinstance(store, BlobStore)
    assert isinstance(store, LocalFiles)
    assert store.local_path("a/b").is_relative_to(tmp_path)
    assert not isinstance(measured(MemoryMetadataStore(), "metadata", "unit-d"), LocalFiles)
