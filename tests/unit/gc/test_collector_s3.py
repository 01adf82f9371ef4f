"""The collector over the S3 adapter on a moto server: exactly the unnamed blobs go, checked
unchanged through S3's own listing and HEAD times before each delete."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from adapters.blobstore.s3 import S3BlobStore
from adapters.clock import FixedClock
from domain.digests import hash_bytes
from domain.gc import GarbageCollector
from domain.keys import blob_key
from tests.moto_server import ACCESS_KEY, REGION, SECRET_KEY, create_bucket, moto_server

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        create_bucket(url, "gc-bucket")
        yield url


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_exactly_the_unnamed_blobs_go_on_s3(endpoint: str) -> None:
    store = S3BlobStore(
        bucket="gc-bucket",
        prefix=f"run-{uuid.uuid4().hex[:8]}",
        endpoint=endpoint,
        region=REGION,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        path_style=True,
    )
    try:
        keys = {}
        for name in (b"named", b"garbage one", b"garbage two"):
            keys[name] = blob_key(hash_bytes(name))
            await store.put(keys[name], _once(name))
        named = keys[b"named"]

        async def walk() -> AsyncIterator[str]:
            yield named

        later = FixedClock(datetime.now(UTC) + timedelta(days=1))
        collector = GarbageCollector(store, later, references={"raw": walk})
        dry = await collector.collect(grace=timedelta(hours=1), dry_run=True)
        assert set(dry.candidates) == {keys[b"garbage one"], keys[b"garbage two"]}
        plan = await collector.collect(grace=timedelta(hours=1))
        assert plan.candidates == dry.candidates
        left = [item.key for item in (await store.list("blobs/")).items]
        assert left == [named]
    finally:
        await store.close()
