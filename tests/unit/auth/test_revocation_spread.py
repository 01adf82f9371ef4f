"""A revocation on one replica empties every other replica's cache of proven credentials."""

from __future__ import annotations

import pytest

from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.auth.model import Principal, Role
from domain.auth.tokens import TokenService
from entrypoints.http.access import _CredentialCache

pytestmark = pytest.mark.anyio


class _NoUsers:
    def __init__(self) -> None:
        self.value = 0

    def generation(self) -> int:
        return self.value


async def test_a_revocation_elsewhere_clears_this_cache_at_the_next_poll() -> None:
    meta, clock = MemoryMetadataStore(), FixedClock()
    here, there = TokenService(meta, clock), TokenService(meta, clock)
    created = await here.create("alice", Role.WRITE)
    cache = _CredentialCache(revocation_poll=0.0)
    principal = Principal(name="alice", role=Role.WRITE)
    await cache.follow_revocations(here, _NoUsers())
    cache.put("Bearer x", principal)
    await cache.follow_revocations(here, _NoUsers())
    assert cache.get("Bearer x") == principal, "nothing was revoked: the entry stays"
    await there.revoke(created[1].id)
    await cache.follow_revocations(here, _NoUsers())
    assert cache.get("Bearer x") is None


async def test_the_mark_is_read_at_most_once_per_poll_interval() -> None:
    meta, clock = MemoryMetadataStore(), FixedClock()
    tokens = TokenService(meta, clock)
    created = await tokens.create("alice", Role.WRITE)
    cache = _CredentialCache(revocation_poll=3600.0)
    await cache.follow_revocations(tokens, _NoUsers())
    cache.put("Bearer x", Principal(name="alice", role=Role.WRITE))
    await tokens.revoke(created[1].id)
    await cache.follow_revocations(tokens, _NoUsers())
    assert cache.get("Bearer x") is not None, "within the interval the store is not asked"


async def test_a_change_of_users_clears_the_cache_at_once() -> None:
    tokens, users = TokenService(MemoryMetadataStore(), FixedClock()), _NoUsers()
    cache = _CredentialCache(revocation_poll=3600.0)
    await cache.follow_revocations(tokens, users)
    cache.put("Basic x", Principal(name="alice", role=Role.WRITE))
    await cache.follow_revocations(tokens, users)
    assert cache.get("Basic x") is not None
    users.value += 1  # a password changed in the htpasswd file
    await cache.follow_revocations(tokens, users)
    assert cache.get("Basic x") is None
