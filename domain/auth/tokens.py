"""API tokens: created with a role, an optional expiry and scopes; stored as hashes.

A token reads ``nora_<id>_<secret>``. The id finds the stored record in one
lookup; the secret (32 random bytes) is compared as a SHA-256 hash in constant
time. A slow password hash is unnecessary for secrets with 256 bits of entropy.
The last-used time is written at most once per ``touch_interval``, so a busy
token does not turn every read into a write.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import msgspec

from domain.auth.model import ApiToken, Role, Scope
from domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from domain.keys import REVOCATIONS_KEY, token_key
from domain.ports import MUST_NOT_EXIST, Clock, MetadataStore

__all__ = ["TOKEN_PREFIX", "TokenService"]

TOKEN_PREFIX: Final = "nora_"
_TOKEN = re.compile(r"nora_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_LONGEST: Final = timedelta(days=36500)
_MAX_LINEAGE: Final = 16
"""Tokens minted through tokens, at most this deep (each level is one lookup)."""
_decoder = msgspec.json.Decoder(ApiToken)
_encoder = msgspec.json.Encoder()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


class TokenService:
    """Create, list, revoke and verify API tokens."""

    def __init__(
        self,
        meta: MetadataStore,
        clock: Clock,
        *,
        touch_interval: timedelta = timedelta(minutes=5),
    ) -> None:
        self._meta = meta
        self._clock = clock
        self._touch_interval = touch_interval

    async def create(
        self,
        owner: str,
        role: Role,
        *,
        scopes: Sequence[Scope] = (),
        expires_in: timedelta | None = None,
        expires_at: datetime | None = None,
        description: str = "",
        parent: str | None = None,
    ) -> tuple[str, ApiToken]:
        """A new token; returns the secret (shown once) and the stored record.

        ``expires_at`` (an issuer's own expiry, see ``domain.auth.delegation``)
        and ``expires_in`` both apply; the earlier wins. ``parent`` is the
        token that asked for this one.
        """
        if expires_in is not None and not timedelta(0) < expires_in <= _LONGEST:
            raise InvalidInput("expiry must be between now and 100 years", subject="token")
        if len(description) > 200:
            raise InvalidInput("description is too long", subject="token")
        now = self._clock.now()
        expires = None if expires_in is None else now + expires_in
        if expires_at is not None:
            if expires_at <= now:
                raise InvalidInput("expiry must be in the future", subject="token")
            expires = expires_at if expires is None else min(expires, expires_at)
        if parent is not None and len(await self._lineage(parent)) >= _MAX_LINEAGE:
            raise InvalidInput("tokens are nested too deeply", subject="token")
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        record = ApiToken(
            id=token_id,
            owner=owner,
            role=role,
            scopes=tuple(scopes),
            description=description,
            created=now,
            expires=expires,
            secret_sha256=_hash(secret),
            parent=parent,
        )
        await self._meta.put(self._key(token_id), _encoder.encode(record), expected=MUST_NOT_EXIST)
        return f"{TOKEN_PREFIX}{token_id}_{secret}", record

    async def list(self, owner: str | None = None) -> list[ApiToken]:
        """Every token (of ``owner`` if given), oldest first, secrets never included."""
        found: list[ApiToken] = []
        after: str | None = None
        while True:
            page = await self._meta.scan("auth/tokens/", after=after, limit=500)
            for doc in page.items:
                record = _decoder.decode(doc.value)
                if owner is None or record.owner == owner:
                    found.append(record)
            if page.next_after is None:
                break
            after = page.next_after
        return sorted(found, key=lambda t: t.created)

    async def get(self, token_id: str) -> ApiToken:
        """The record of ``token_id``; ``NotFound`` if unknown."""
        if not re.fullmatch(r"[0-9a-f]{16}", token_id or ""):
            raise NotFound("unknown token", subject="token")
        try:
            return _decoder.decode((await self._meta.get(self._key(token_id))).value)
        except NotFound:
            raise NotFound("unknown token", subject="token") from None

    async def revoke(self, token_id: str) -> ApiToken:
        """Mark the token revoked (kept for the audit trail); ``NotFound`` if unknown."""
        while True:
            if not re.fullmatch(r"[0-9a-f]{16}", token_id or ""):
                raise NotFound("unknown token", subject="token")
            try:
                doc = await self._meta.get(self._key(token_id))
            except NotFound:
                raise NotFound("unknown token", subject="token") from None
            record = _decoder.decode(doc.value)
            if record.revoked is None:
                record.revoked = self._clock.now()
            try:
                await self._meta.put(
                    self._key(token_id), _encoder.encode(record), expected=doc.version
                )
            except Conflict:
                continue
            await self._meta.put(REVOCATIONS_KEY, token_id.encode())
            return record

    async def revocations(self) -> int:
        """A number that moves with every revocation, in every process over this store.

        Caches of proven credentials compare it to drop what a revocation on
        another replica ended.
        """
        try:
            return (await self._meta.get(REVOCATIONS_KEY)).version
        except NotFound:
            return 0

    async def verify(self, presented: str) -> ApiToken:
        """The live token matching ``presented``; ``Unauthenticated`` otherwise."""
        match = _TOKEN.fullmatch(presented or "")
        if match is None:
            raise Unauthenticated("not a NORA token", subject="token")
        token_id, secret = match.groups()
        try:
            doc = await self._meta.get(self._key(token_id))
        except NotFound:
            _hash(secret)  # same work as a hit, so timing says nothing
            raise Unauthenticated("unknown token", subject="token") from None
        record = _decoder.decode(doc.value)
        if not hmac.compare_digest(record.secret_sha256, _hash(secret)):
            raise Unauthenticated("unknown token", subject="token")
        now = self._clock.now()
        if record.revoked is not None:
            raise Unauthenticated("token was revoked", subject="token")
        if record.expires is not None and now >= record.expires:
            raise Unauthenticated("token has expired", subject="token")
        if record.parent is not None:
            for ancestor in await self._lineage(record.parent):
                if ancestor.revoked is not None or (
                    ancestor.expires is not None and now >= ancestor.expires
                ):
                    raise Unauthenticated(
                        "the token that created this one is no longer valid", subject="token"
                    )
        if record.last_used is None or now - record.last_used >= self._touch_interval:
            record.last_used = now
            with contextlib.suppress(Conflict):
                await self._meta.put(
                    self._key(token_id), _encoder.encode(record), expected=doc.version
                )
        return record

    async def live(self, token_id: str) -> bool:
        """True when ``token_id`` and every token above it are neither revoked nor expired."""
        now = self._clock.now()
        try:
            chain = await self._lineage(token_id)
        except Unauthenticated:
            return False
        return all(t.revoked is None and (t.expires is None or now < t.expires) for t in chain)

    async def _lineage(self, token_id: str) -> builtins.list[ApiToken]:
        """``token_id``'s record and its ancestors; ``Unauthenticated`` if one is gone."""
        chain: builtins.list[ApiToken] = []
        current: str | None = token_id
        while current is not None and len(chain) <= _MAX_LINEAGE:
            try:
                chain.append(await self.get(current))
            except NotFound:
                raise Unauthenticated("an issuing token is gone", subject="token") from None
            current = chain[-1].parent
        return chain

    @staticmethod
    def looks_like_token(text: str) -> bool:
        """Cheap test used to tell tokens from passwords in Basic credentials."""
        return text.startswith(TOKEN_PREFIX)

    @staticmethod
    def _key(token_id: str) -> str:
        return token_key(token_id)
