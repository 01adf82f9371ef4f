"""Dashboard logins: a browser's session, held server-side and ended by logging out.

A login turns a proof (a user's password, or an API token typed as the
password) into a random secret the browser keeps in a cookie. The store holds
only the secret's hash, so a leaked metadata store yields no usable cookie, and
logging out deletes the record, so a copied cookie dies with the session. The
session remembers what the proof was worth when it was made (role, scopes, the
token behind it and that token's expiry); the authenticator re-checks the
user, the token and the role on every request, so a removed user, a revoked
token or a demotion ends or shrinks it at once. Each session also carries its
own CSRF secret, so a form token is bound to one session.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Final

import msgspec

from domain.auth.model import Principal, Role, Scope
from domain.errors import NotFound, Unauthenticated
from domain.keys import LOGIN_PREFIX, login_key
from domain.ports import MUST_NOT_EXIST, Clock, MetadataStore

__all__ = ["LOGIN_VIA", "MAX_PER_USER", "Login", "LoginSessions", "csrf_token", "csrf_valid"]

LOGIN_VIA: Final = "login"
"""``Principal.via`` of a dashboard login (it is written in audit records)."""

MAX_PER_USER: Final = 20
"""Sessions one user may hold at once (browsers, machines); the oldest end first."""
_SECRET_BYTES: Final = 32
_MAX_SECRET: Final = 128


class Login(msgspec.Struct, frozen=True, kw_only=True):
    """One dashboard session as stored (under the hash of its secret)."""

    user: str
    role: Role
    scopes: tuple[Scope, ...] = ()
    token_id: str | None = None
    """The API token typed at login, if any: it must stay live."""
    credential_expires: datetime | None = None
    """When that token expires (None for a password): bounds what the session may mint."""
    password_stamp: str | None = None
    """The user directory's stamp of the password signed in with: a new password ends the
    session (None when a token was used; the token's own liveness is checked instead)."""
    created: datetime
    expires: datetime
    csrf: str
    """This session's own secret for form tokens."""

    def principal(self) -> Principal:
        """What the session stands for, before the authenticator's live checks."""
        return Principal(
            name=self.user,
            role=self.role,
            scopes=self.scopes,
            token_id=self.token_id,
            via=LOGIN_VIA,
            expires=self.credential_expires,
        )


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Login)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


class LoginSessions:
    """Start, find and end dashboard sessions."""

    def __init__(
        self, meta: MetadataStore, clock: Clock, *, lifetime: timedelta = timedelta(hours=12)
    ) -> None:
        self._meta = meta
        self._clock = clock
        self.lifetime = lifetime

    async def start(
        self, proven: Principal, *, password_stamp: str | None = None
    ) -> tuple[str, Login]:
        """A new session for a caller who just proved who they are; returns its secret.

        Only a password or an API token starts one: a registry session token is a
        credential for one registry conversation and manages nothing, so it must not
        become a session that does. A user keeps at most ``MAX_PER_USER`` sessions: the
        oldest end as new ones start.
        """
        if proven.role is None or proven.from_session:
            raise Unauthenticated("sign in with a password or an API token", subject="login")
        await self._make_room(proven.name)
        now = self._clock.now()
        expires = now + self.lifetime
        if proven.expires is not None:
            expires = min(expires, proven.expires)
        login = Login(
            user=proven.name,
            role=proven.role,
            scopes=proven.scopes,
            token_id=proven.token_id,
            credential_expires=proven.expires,
            password_stamp=password_stamp if proven.token_id is None else None,
            created=now,
            expires=expires,
            csrf=secrets.token_urlsafe(_SECRET_BYTES),
        )
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        await self._meta.put(
            login_key(_hash(secret)), _encoder.encode(login), expected=MUST_NOT_EXIST
        )
        return secret, login

    async def _make_room(self, user: str) -> None:
        """End ``user``'s oldest sessions so that one more fits under the cap."""
        mine: list[tuple[datetime, str]] = []
        after: str | None = None
        while True:
            page = await self._meta.scan(LOGIN_PREFIX, after=after, limit=500)
            for doc in page.items:
                login = _decoder.decode(doc.value)
                if login.user == user:
                    mine.append((login.created, doc.key))
            if page.next_after is None:
                break
            after = page.next_after
        mine.sort()
        for _, key in mine[: max(0, len(mine) - MAX_PER_USER + 1)]:
            with contextlib.suppress(NotFound):
                await self._meta.delete(key)

    async def find(self, secret: str) -> Login:
        """The live session behind a cookie; ``Unauthenticated`` when unknown or expired."""
        if not secret or len(secret) > _MAX_SECRET or not secret.isascii():
            raise Unauthenticated("not a session", subject="session")
        key = login_key(_hash(secret))
        try:
            doc = await self._meta.get(key)
        except NotFound:
            raise Unauthenticated(
                "the session has ended; sign in again", subject="session"
            ) from None
        login = _decoder.decode(doc.value)
        if login.expires <= self._clock.now():
            with contextlib.suppress(NotFound):
                await self._meta.delete(key)
            raise Unauthenticated("the session has expired; sign in again", subject="session")
        return login

    async def end(self, secret: str) -> None:
        """Log out: the cookie's session stops working everywhere."""
        if secret and len(secret) <= _MAX_SECRET and secret.isascii():
            with contextlib.suppress(NotFound):
                await self._meta.delete(login_key(_hash(secret)))

    async def sweep(self, *, limit: int = 1000) -> int:
        """Delete expired sessions (a browser that never logged out); returns how many."""
        now = self._clock.now()
        removed = 0
        after: str | None = None
        while removed < limit:
            page = await self._meta.scan(LOGIN_PREFIX, after=after, limit=200)
            for doc in page.items:
                if removed < limit and _decoder.decode(doc.value).expires <= now:
                    with contextlib.suppress(NotFound):
                        await self._meta.delete(doc.key)
                    removed += 1
            if page.next_after is None:
                break
            after = page.next_after
        return removed


def csrf_token(login_csrf: str, binding: str) -> str:
    """The form token for a session secret and what it is bound to (see :func:`csrf_valid`)."""
    return hmac.new(login_csrf.encode(), binding.encode(), hashlib.sha256).hexdigest()


def csrf_valid(login_csrf: str, binding: str, presented: str) -> bool:
    """Constant-time check of a presented form token."""
    if not presented or len(presented) > _MAX_SECRET or not presented.isascii():
        return False
    return hmac.compare_digest(csrf_token(login_csrf, binding), presented)
