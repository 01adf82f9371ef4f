"""Every registered format tells GC what it names; the composed job runs over all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import msgspec
import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from domain.digests import hash_bytes
from domain.gc import GC_JOB, samples, sweep_expired_leases, sweep_stale_files
from domain.keys import blob_key, lease_key, proxy_file_key
from domain.leases import Leases
from domain.proxy import CachedFile
from domain.reports import Reports, read_reports, render_reports
from domain.upkeep import Chores
from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.registry import FORMATS

pytestmark = pytest.mark.anyio

HOUR = timedelta(hours=1)


def _container():  # type: ignore[no-untyped-def]
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    clock = FixedClock()
    container.core.clock.override(clock)
    container.core.blob_store.override(MemoryBlobStore(clock=clock))
    return container, clock


def test_every_registered_format_names_its_blobs() -> None:
    container, _ = _container()
    with_container = [fmt for fmt in FORMATS.formats if fmt.container is not None]
    assert {fmt.name for fmt in with_container} >= {"docker", "npm", "pypi", "raw"}
    for fmt in with_container:
        assert "chores" in fmt.container.providers, f"{fmt.name} gives GC no chores"
        chores = container.chores()[fmt.name]
        assert isinstance(chores, Chores)
        assert chores.references is not None, f"{fmt.name} does not say which blobs it holds"


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_the_composed_job_keeps_what_formats_name_and_publishes_its_figures() -> None:
    container, clock = _container()
    uploads = container.core.uploads()
    raw = container.raw.registry()
    await raw.put("tools/kept.bin", _once(b"a raw file"))
    await raw.put("tools/deleted.bin", _once(b"a deleted raw file"))
    await raw.delete("tools/deleted.bin")
    loose = await uploads.store(_once(b"bytes nobody names"))
    clock.advance(2 * HOUR)
    job = container.gc()

    report = await job.run(grace=HOUR)

    assert set(report.plan.candidates) == {
        blob_key(hash_bytes(b"a deleted raw file")),
        loose.info.key,
    }
    assert report.plan.storage["raw"].objects == 1
    blobs = container.core.blob_store()
    assert [i.key for i in (await blobs.list("blobs/")).items] == [
        blob_key(hash_bytes(b"a raw file"))
    ]
    meta = container.core.metadata_store()
    await Reports(meta, clock).publish(GC_JOB, samples(report))
    await Reports(meta, clock).publish(GC_JOB, samples(report))
    text = render_reports(await read_reports(meta)).decode()
    assert "nora_gc_runs_total 2.0" in text
    assert 'nora_storage_bytes{format="raw"} 10.0' in text
    assert f"nora_gc_deleted_objects_total {2 * report.plan.deleted}.0" in text


async def test_stale_cache_records_and_expired_leases_are_swept() -> None:
    container, clock = _container()
    meta, blobs = container.core.metadata_store(), container.core.blob_store()
    stored = await container.core.uploads().store(_once(b"cached layer"))
    present = CachedFile(url="u", key=stored.info.key, size=12, digests={})
    gone = CachedFile(url="u", key=blob_key(hash_bytes(b"gone")), size=4, digests={})
    await meta.put(proxy_file_key("npm", "tarballs/a/a-1.tgz"), msgspec.json.encode(present))
    await meta.put(proxy_file_key("npm", "tarballs/b/b-1.tgz"), msgspec.json.encode(gone))
    leases = Leases(meta, clock, ttl=timedelta(seconds=30))
    dead = await leases.acquire(lease_key("proxy", "dead"))
    clock.advance(HOUR)
    alive = await leases.acquire(lease_key("proxy", "alive"))
    assert dead is not None
    assert alive is not None

    assert await sweep_stale_files(meta, blobs, dry_run=True) == 1
    assert await sweep_expired_leases(meta, clock, dry_run=True) == 1
    assert len((await meta.scan("proxy/")).items) == 2
    assert len((await meta.scan("lease/")).items) == 2

    assert await sweep_stale_files(meta, blobs, dry_run=False) == 1
    assert await sweep_expired_leases(meta, clock, dry_run=False) == 1
    assert [d.key for d in (await meta.scan("proxy/")).items] == [
        proxy_file_key("npm", "tarballs/a/a-1.tgz")
    ]
    assert [d.key for d in (await meta.scan("lease/")).items] == [lease_key("proxy", "alive")]
