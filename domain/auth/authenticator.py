"""Turning what a client presents (Basic or Bearer) into a Principal."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from domain.auth.delegation import ANONYMOUS_OWNER
from domain.auth.logins import Login
from domain.auth.model import Principal, Role
from domain.auth.sessions import SessionTokens
from domain.auth.tokens import TokenService
from domain.errors import Unauthenticated
from domain.ports import UserDirectory

__all__ = ["TOKEN_USERNAMES", "Authenticator"]

TOKEN_USERNAMES = frozenset({"__token__", "token", "oauth2accesstoken"})
"""Basic-auth user names that mean "the password is a token" (twine, uv, others)."""


class Authenticator:
    """Checks passwords against the user directory and tokens against their stores."""

    def __init__(
        self,
        users: UserDirectory,
        tokens: TokenService,
        sessions: SessionTokens,
        *,
        admins: Iterable[str] = (),
    ) -> None:
        self.users = users
        self.tokens = tokens
        self.sessions = sessions
        self.admins = frozenset(admins)

    def role_of(self, username: str) -> Role:
        """A user's own role: admin if listed as one, else write."""
        return Role.ADMIN if username in self.admins else Role.WRITE

    async def password(self, username: str, password: str) -> Principal:
        """Basic credentials: a user's password, or a token in the password field."""
        if username in TOKEN_USERNAMES or TokenService.looks_like_token(password):
            return await self.token(password)
        if not username or not await self.users.check_password(username, password):
            raise Unauthenticated("wrong user name or password", subject="password")
        return Principal(name=username, role=self.role_of(username), via="password")

    async def token(self, presented: str) -> Principal:
        """A bearer credential: an API token or an OCI session token.

        A token is only as good as its owner: one whose owner has left the
        user directory stops working, one minted with no authentication (owner
        ``anonymous``) never works, and a demoted user's tokens are demoted.
        """
        if presented.startswith("nts."):
            return await self._session(presented)
        record = await self.tokens.verify(presented)
        self._check_owner(record.owner)
        role = min(record.role, self.role_of(record.owner))
        return Principal(
            name=record.owner,
            role=role,
            scopes=record.scopes,
            token_id=record.id,
            via="token",
            expires=record.expires,
        )

    async def login(self, login: Login) -> Principal:
        """A dashboard session, re-checked: its user, the token behind it and the role today."""
        self._check_owner(login.user)
        if login.password_stamp is not None and login.password_stamp != self.users.password_stamp(
            login.user
        ):
            raise Unauthenticated("the password has changed; sign in again", subject="session")
        if login.token_id is not None and not await self.tokens.live(login.token_id):
            raise Unauthenticated("the token behind this session was revoked", subject="session")
        principal = login.principal()
        return msgspec.structs.replace(principal, role=min(login.role, self.role_of(login.user)))

    async def _session(self, presented: str) -> Principal:
        principal = await self.sessions.verify(presented)
        if principal.name == ANONYMOUS_OWNER:  # issued to nobody: anonymous grants only
            return msgspec.structs.replace(principal, role=None)
        self._check_owner(principal.name)
        if principal.token_id is not None and not await self.tokens.live(principal.token_id):
            raise Unauthenticated("the token behind this session was revoked", subject="token")
        if principal.role is None:
            return principal
        return msgspec.structs.replace(
            principal, role=min(principal.role, self.role_of(principal.name))
        )

    def _check_owner(self, owner: str) -> None:
        if owner == ANONYMOUS_OWNER or owner not in self.users:
            raise Unauthenticated("the token's owner is not a user", subject="token")
