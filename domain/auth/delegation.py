"""The one rule for managing tokens: a credential never hands out more than it holds.

Every route that creates or revokes tokens (NORA's /api/tokens, npm's
/-/npm/v1/tokens, the OCI token endpoint) asks these functions, so no door
mints a token with a role, scope or expiry beyond the credential asking.

- Creating a token, or revoking a token other than oneself, needs the write
  role. A read token may list and revoke only itself.
- A new token's role is at most the issuer's (and its owner's own role).
- Its scopes lie inside the issuer's: an unscoped request from a scoped
  issuer inherits the issuer's scopes; a requested scope must be contained
  in one of them.
- It expires no later than the issuer: no requested expiry from an expiring
  issuer means the issuer's expiry.
- It remembers the token that issued it (``parent``), so revoking a token
  also ends everything minted through it.
- OCI session tokens (``Principal.from_session``) are protocol credentials for
  one registry conversation, and manage nothing.
- The anonymous caller can manage tokens only while access control is off,
  and what it mints is owned by ``anonymous``, which never authenticates once
  access control is on.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import msgspec

from domain.auth.model import ApiToken, Principal, Role, Scope
from domain.errors import Forbidden

__all__ = ["ANONYMOUS_OWNER", "Issue", "can_manage", "covers", "issue", "scope_within"]

ANONYMOUS_OWNER: Final = "anonymous"
"""The owner of tokens minted with no authentication; never valid with access control on."""

_GLOB: Final = frozenset("*?")


class Issue(msgspec.Struct, frozen=True, kw_only=True):
    """What a token may be created with, once the issuer's limits are applied."""

    owner: str
    role: Role
    scopes: tuple[Scope, ...]
    expires: datetime | None
    parent: str | None


def _has_glob(pattern: str) -> bool:
    return not _GLOB.isdisjoint(pattern)


def scope_within(inner: Scope, outer: Scope) -> bool:
    """True when every name ``inner`` matches is matched by ``outer`` (conservatively).

    Glob containment is decided for the shapes scopes take: ``*``, a literal
    name, and a literal prefix followed by ``*``. Anything else must be equal.
    """
    if outer.format != "*" and inner.format != outer.format:
        return False
    if outer.limit is not None and (inner.limit is None or inner.limit > outer.limit):
        return False
    if outer.pattern == "*" or inner.pattern == outer.pattern:
        return True
    if not _has_glob(inner.pattern):
        return fnmatch.fnmatchcase(inner.pattern, outer.pattern)
    prefix = outer.pattern[:-1]
    return (
        outer.pattern.endswith("*") and not _has_glob(prefix) and (inner.pattern.startswith(prefix))
    )


def _scopes_within(inner: Sequence[Scope], outer: Sequence[Scope]) -> bool:
    if not outer:
        return True
    return bool(inner) and all(any(scope_within(s, o) for o in outer) for s in inner)


def can_manage(issuer: Principal) -> None:
    """Raise ``Forbidden`` unless ``issuer`` may create tokens or revoke others."""
    if issuer.from_session:
        raise Forbidden("a registry session token cannot manage API tokens", subject="token")
    if not issuer.anonymous and (issuer.role is None or issuer.role < Role.WRITE):
        raise Forbidden("managing tokens needs the write role", subject="token")


def issue(
    issuer: Principal,
    *,
    role: Role,
    scopes: Sequence[Scope] = (),
    expires_in: timedelta | None = None,
    now: datetime,
    owner: str | None = None,
    owner_role: Role | None = None,
) -> Issue:
    """The token ``issuer`` may create; ``Forbidden`` if it asks for more than it holds.

    ``owner`` defaults to the issuer; only an admin names another, whose own
    role (``owner_role``) caps the token too.
    """
    can_manage(issuer)
    if issuer.anonymous:
        return Issue(
            owner=ANONYMOUS_OWNER,
            role=role,
            scopes=tuple(scopes),
            expires=None if expires_in is None else now + expires_in,
            parent=None,
        )
    assert issuer.role is not None
    owner = owner or issuer.name
    if owner != issuer.name and issuer.role < Role.ADMIN:
        raise Forbidden("only admins create tokens for other users", subject="token")
    if role > issuer.role:
        raise Forbidden(f"a {issuer.role} credential cannot create a {role} token", subject="token")
    if owner_role is not None and role > owner_role:
        raise Forbidden(f"{owner} has the {owner_role} role, not {role}", subject="token")
    wanted = tuple(scopes) or issuer.scopes
    if not _scopes_within(wanted, issuer.scopes):
        raise Forbidden("a scope lies outside this credential's scopes", subject="token")
    expires = None if expires_in is None else now + expires_in
    if issuer.expires is not None:
        if expires is None:
            expires = issuer.expires
        elif expires > issuer.expires:
            raise Forbidden("a token cannot outlive the credential creating it", subject="token")
    return Issue(owner=owner, role=role, scopes=wanted, expires=expires, parent=issuer.token_id)


def covers(issuer: Principal, record: ApiToken) -> bool:
    """True when ``issuer`` may see and revoke ``record``: itself, or one it could have made."""
    if issuer.token_id is not None and issuer.token_id == record.id:
        return True
    try:
        can_manage(issuer)
    except Forbidden:
        return False
    if issuer.anonymous:
        return True
    assert issuer.role is not None
    if record.owner != issuer.name and issuer.role < Role.ADMIN:
        return False
    if record.role > issuer.role or not _scopes_within(record.scopes, issuer.scopes):
        return False
    return issuer.expires is None or (
        record.expires is not None and record.expires <= issuer.expires
    )
