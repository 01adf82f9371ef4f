"""Creating, listing and revoking API tokens for a caller: one path for every door.

NORA's JSON API (/api/tokens) and the dashboard's tokens page both call these,
so the rules of :mod:`domain.auth.delegation` are applied the same way
whichever door a person uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from domain.auth import delegation
from domain.auth.authenticator import Authenticator
from domain.auth.model import ApiToken, Principal, Role, Scope
from domain.errors import Forbidden, InvalidInput, NotFound

__all__ = ["create_token", "revoke_token", "visible_tokens"]


async def create_token(
    authenticator: Authenticator,
    caller: Principal,
    *,
    role: Role,
    scopes: Sequence[Scope] = (),
    expires_in: timedelta | None = None,
    description: str = "",
    owner: str | None = None,
    now: datetime,
) -> tuple[str, ApiToken]:
    """A new token (its secret, shown once, and its record), never beyond ``caller``."""
    owner = owner or caller.name
    owner_role: Role | None = None
    if not caller.anonymous and owner != caller.name:
        if owner not in authenticator.users:
            raise InvalidInput(f"{owner!r} is not a user", subject="token")
        owner_role = authenticator.role_of(owner)
    grant = delegation.issue(
        caller,
        role=role,
        scopes=scopes,
        expires_in=expires_in,
        now=now,
        owner=owner,
        owner_role=owner_role,
    )
    return await authenticator.tokens.create(
        grant.owner,
        grant.role,
        scopes=grant.scopes,
        expires_at=grant.expires,
        description=description,
        parent=grant.parent,
    )


async def visible_tokens(
    authenticator: Authenticator, caller: Principal, owner: str | None = None
) -> list[ApiToken]:
    """The tokens ``caller`` may see and revoke (admins: everyone's, or ``owner``'s)."""
    is_admin = caller.anonymous or caller.role == Role.ADMIN
    wanted = owner if is_admin else caller.name
    records = await authenticator.tokens.list(wanted)
    return [record for record in records if delegation.covers(caller, record)]


async def revoke_token(authenticator: Authenticator, caller: Principal, token_id: str) -> ApiToken:
    """Revoke ``token_id`` if ``caller`` covers it; one it may not see is ``NotFound``."""
    record = await authenticator.tokens.get(token_id)
    if not delegation.covers(caller, record):
        if record.owner == caller.name or caller.role == Role.ADMIN:
            raise Forbidden("this credential cannot revoke a more powerful token")
        raise NotFound("unknown token", subject="token")
    return await authenticator.tokens.revoke(token_id)
