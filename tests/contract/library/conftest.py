"""The public library API over every pair of adapters: memory, filesystem + SQLite, S3 + PostgreSQL.

Each test in this package takes ``nora``: a registry opened with
:func:`nora.open_registry` over one pair, fresh for the test (a new directory,
a new S3 prefix and a new PostgreSQL database), so the same assertions hold
whichever adapters an embedder swaps in. The moto and PostgreSQL servers are
shared by the whole package run.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from nora import Nora, Settings, open_registry
from nora.adapters import (
    MemoryBlobStore,
    MemoryMetadataStore,
    PostgresMetadataStore,
    S3BlobStore,
)
from tests.contract.test_metadata_postgres import fresh_database
from tests.moto_server import ACCESS_KEY, REGION, SECRET_KEY, create_bucket, moto_server
from tests.postgres_server import postgres_server

BACKENDS = ("memory", "filesystem+sqlite", "s3+postgres")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as url:
        create_bucket(url, "library")
        yield url


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=BACKENDS)
async def nora(
    request: pytest.FixtureRequest, tmp_path: Path, anyio_backend: str
) -> AsyncIterator[Nora]:
    """An open registry over one pair of adapters."""
    backend = request.param
    settings = Settings(storage_path=str(tmp_path / "data"))
    if backend == "memory":
        opened = open_registry(
            settings, blob_store=MemoryBlobStore(), metadata_store=MemoryMetadataStore()
        )
    elif backend == "filesystem+sqlite":
        opened = open_registry(settings)
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        database = await fresh_database(request.getfixturevalue("pg_server"))
        blobs = S3BlobStore(
            "library",
            prefix=f"run-{uuid.uuid4().hex[:8]}",
            endpoint=endpoint,
            region=REGION,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            path_style=True,
        )
        opened = open_registry(
            settings, blob_store=blobs, metadata_store=PostgresMetadataStore(database)
        )
    async with opened as registry:
        yield registry
