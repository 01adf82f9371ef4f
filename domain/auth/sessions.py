"""Short-lived signed bearer tokens for the OCI token flow.

``GET /v2/token`` hands these out after checking credentials; the registry
then accepts them without a lookup. They are HMAC-SHA256 signed with a secret
kept in the MetadataStore (created once, shared by every replica), carry the
caller, their role and the repositories and actions granted, and expire fast.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Final

import msgspec

from domain.auth.model import SESSION_VIA, Principal, Role, Scope
from domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from domain.keys import SESSION_SECRET_KEY
from domain.ports import MUST_NOT_EXIST, Clock, MetadataStore

__all__ = ["Grant", "SessionTokens"]

_PREFIX: Final = "nts."


class Grant(msgspec.Struct, frozen=True):
    """Access to one repository: its name and the actions (pull, push, delete, *)."""

    name: str
    actions: tuple[str, ...]


class _Claims(msgspec.Struct, frozen=True):
    sub: str
    role: int
    grants: tuple[Grant, ...]
    exp: int
    tid: str | None = None
    """The API token the session was issued to, if any: it must stay live."""
    bounds: tuple[str, ...] = ()
    """That credential's own scopes, which bound listings (the catalog)."""


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_Claims)


def _limit(actions: tuple[str, ...]) -> Role:
    if "*" in actions or "delete" in actions or "push" in actions:
        return Role.WRITE
    return Role.READ


def _bound(text: str) -> Scope:
    try:
        return Scope.parse(text)
    except InvalidInput:  # signed by us, so never; still, an unreadable bound allows nothing
        return Scope("docker", "", Role.READ)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionTokens:
    """Issue and verify signed session tokens."""

    def __init__(
        self, meta: MetadataStore, clock: Clock, *, lifetime: timedelta = timedelta(minutes=15)
    ) -> None:
        self._meta = meta
        self._clock = clock
        self.lifetime = lifetime
        self._secret: bytes | None = None

    async def issue(
        self,
        subject: str,
        role: Role | None,
        grants: tuple[Grant, ...],
        *,
        not_after: datetime | None = None,
        token_id: str | None = None,
        bounds: tuple[Scope, ...] = (),
    ) -> str:
        """A token for ``subject`` (role None: anonymous) with ``grants``.

        It never outlives the credential it was issued to (``not_after``), and
        names the API token behind it (``token_id``) so revoking that ends it.
        """
        expires = self._clock.now() + self.lifetime
        if not_after is not None:
            expires = min(expires, not_after)
        claims = _Claims(
            sub=subject,
            role=int(role or 0),
            grants=grants,
            exp=int(expires.timestamp()),
            tid=token_id,
            bounds=tuple(str(scope) for scope in bounds),
        )
        payload = _b64(_encoder.encode(claims))
        signature = _b64(hmac.new(await self._key(), payload.encode(), sha256).digest())
        return f"{_PREFIX}{payload}.{signature}"

    async def verify(self, token: str) -> Principal:
        """The principal a valid, unexpired token stands for; ``Unauthenticated`` otherwise."""
        if (
            not token.startswith(_PREFIX)
            or token.count(".") != 2
            or len(token) > 8192
            or not token.isascii()
        ):
            raise Unauthenticated("not a session token", subject="token")
        payload, signature = token[len(_PREFIX) :].split(".")
        expected = _b64(hmac.new(await self._key(), payload.encode(), sha256).digest())
        if not hmac.compare_digest(expected, signature):
            raise Unauthenticated("bad token signature", subject="token")
        try:
            claims = _decoder.decode(_unb64(payload))
        except (msgspec.DecodeError, ValueError):
            raise Unauthenticated("bad token payload", subject="token") from None
        if claims.exp <= int(self._clock.now().timestamp()):
            raise Unauthenticated("token has expired", subject="token")
        role = Role(claims.role) if claims.role else None
        scopes = tuple(
            Scope("docker", grant.name, _limit(grant.actions)) for grant in claims.grants
        )
        return Principal(
            name=claims.sub,
            role=role,
            # no grant at all still restricts: a scope nothing can match
            scopes=scopes or (Scope("docker", "", Role.READ),),
            token_id=claims.tid,
            bounds=tuple(_bound(text) for text in claims.bounds),
            via=SESSION_VIA,
            expires=datetime.fromtimestamp(claims.exp, UTC),
        )

    async def _key(self) -> bytes:
        if self._secret is None:
            try:
                self._secret = (await self._meta.get(SESSION_SECRET_KEY)).value
            except NotFound:
                candidate = secrets.token_bytes(32)
                try:
                    await self._meta.put(SESSION_SECRET_KEY, candidate, expected=MUST_NOT_EXIST)
                    self._secret = candidate
                except Conflict:  # another replica created it first
                    self._secret = (await self._meta.get(SESSION_SECRET_KEY)).value
        return self._secret
