"""Upkeep through the composition root: providers overridden, one pass sweeps what expired."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from domain.auth.model import Principal, Role
from domain.keys import LOGIN_PREFIX
from entrypoints.config import Settings
from entrypoints.container import build_container

pytestmark = pytest.mark.anyio


async def test_an_expired_session_is_swept_and_its_owner_pruned() -> None:
    container = build_container(
        Settings(storage_mode="memory", metadata_url="memory://", upload_ttl_hours=1)
    )
    clock = FixedClock()
    container.core.clock.override(clock)  # every format's services see the same clock
    container.core.blob_store.override(MemoryBlobStore(clock=clock))
    uploads, oci = container.core.uploads(), container.docker.manifests()
    session = await uploads.start()
    await oci.bind_upload(session.id, "team/app")
    fresh = await uploads.start()
    clock.advance(timedelta(minutes=30))
    assert (await container.upkeep().run()).uploads_removed == 0
    await uploads.append(fresh.id, 0, _chunks(b"still going"))
    clock.advance(timedelta(minutes=45))
    report = await container.upkeep().run()
    assert report.uploads_removed == 1
    assert report.owners_pruned == 1
    assert not await uploads.exists(session.id)
    assert await uploads.exists(fresh.id)


async def _chunks(data: bytes):  # type: ignore[no-untyped-def]
    yield data


async def test_expired_dashboard_sessions_are_swept() -> None:
    container = build_container(
        Settings(storage_mode="memory", metadata_url="memory://", ui_session_hours=1)
    )
    clock = FixedClock()
    container.core.clock.override(clock)
    logins = container.auth.logins()
    await logins.start(Principal(name="bob", role=Role.WRITE, via="password"))
    clock.advance(timedelta(minutes=45))
    young, _ = await logins.start(Principal(name="bob", role=Role.WRITE, via="password"))
    clock.advance(timedelta(minutes=30))
    assert (await container.upkeep().run()).expired == 1
    assert len((await container.core.metadata_store().scan(LOGIN_PREFIX)).items) == 1
    await logins.find(young)
