"""Leases: one holder at a time for a job, across every process and replica over one store.

Single-flight inside a process needs only an event; across replicas the holder
must be written where every replica looks, so a lease is a MetadataStore
document created with ``MUST_NOT_EXIST`` and carrying an expiry. A holder that
dies simply stops renewing: once its lease expires, the next caller takes it
over by compare-and-swap, so a killed replica never blocks a job for longer
than the lease's lifetime. Nothing here waits; callers decide how to wait.
"""

from __future__ import annotations

import contextlib
import secrets
from datetime import datetime, timedelta

import msgspec

from domain.errors import Conflict, NotFound
from domain.ports import MUST_NOT_EXIST, Clock, MetadataStore

__all__ = ["Lease", "Leases"]


class _LeaseDoc(msgspec.Struct, frozen=True):
    holder: str
    expires: datetime


_decoder = msgspec.json.Decoder(_LeaseDoc)
_encoder = msgspec.json.Encoder()


class Lease(msgspec.Struct, kw_only=True):
    """A lease this process holds."""

    key: str
    holder: str
    version: int
    expires: datetime


class Leases:
    """Take, renew and release leases stored as documents."""

    def __init__(self, meta: MetadataStore, clock: Clock, ttl: timedelta) -> None:
        self._meta = meta
        self._clock = clock
        self.ttl = ttl

    async def acquire(self, key: str) -> Lease | None:
        """The lease on ``key``, or None while another live holder has it."""
        holder = secrets.token_hex(8)
        for _ in range(3):
            expires = self._clock.now() + self.ttl
            payload = _encoder.encode(_LeaseDoc(holder, expires))
            try:
                version = await self._meta.put(key, payload, expected=MUST_NOT_EXIST)
            except Conflict:
                pass
            else:
                return Lease(key=key, holder=holder, version=version, expires=expires)
            try:
                current = await self._meta.get(key)
            except NotFound:
                continue  # released in between: try to create it again
            if _decoder.decode(current.value).expires > self._clock.now():
                return None
            try:  # the holder stopped renewing: take it over
                version = await self._meta.put(key, payload, expected=current.version)
            except (Conflict, NotFound):
                continue
            return Lease(key=key, holder=holder, version=version, expires=expires)
        return None

    def due(self, lease: Lease) -> bool:
        """True once half the lease's life has passed: time to renew it."""
        return self._clock.now() >= lease.expires - self.ttl / 2

    async def renew(self, lease: Lease) -> bool:
        """Extend ``lease``; False when it was lost (taken over after it expired)."""
        expires = self._clock.now() + self.ttl
        payload = _encoder.encode(_LeaseDoc(lease.holder, expires))
        try:
            lease.version = await self._meta.put(lease.key, payload, expected=lease.version)
        except (Conflict, NotFound):
            return False
        lease.expires = expires
        return True

    async def release(self, lease: Lease) -> None:
        """Give the lease up, unless someone else has taken it over already."""
        with contextlib.suppress(Conflict, NotFound):
            await self._meta.delete(lease.key, expected=lease.version)
