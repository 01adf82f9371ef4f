"""The access decision: may this principal do this to that?"""

from __future__ import annotations

import msgspec

from domain.auth.model import Principal, Role
from domain.errors import Forbidden, Unauthenticated

__all__ = ["AccessPolicy"]


class AccessPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The switches an operator sets."""

    enabled: bool = False
    anonymous_read: bool = False
    docker_anon_pull: bool = False

    def allows(self, principal: Principal, needed: Role, fmt: str, name: str) -> bool:
        """True when :meth:`check` would let ``principal`` do ``needed`` to ``name``.

        Listings and searches filter their results with this, so a name a
        caller may not read never appears through another door.
        """
        try:
            self.check(principal, needed, fmt, name)
        except (Unauthenticated, Forbidden):
            return False
        return True

    def check(
        self,
        principal: Principal,
        needed: Role | None,
        fmt: str,
        name: str | None,
        *,
        scoped: bool = True,
    ) -> None:
        """Return if allowed; raise ``Unauthenticated`` (prove who you are) or ``Forbidden``.

        ``needed`` None marks a public route (health, login, token endpoints).
        The anonymous caller may read when anonymous reads are on (or, for
        container images, anonymous pulls), and never write. ``scoped`` False
        skips the name scopes, for routes about no package (managing tokens)
        whose handlers apply their own narrower rule.
        """
        if needed is None or not self.enabled:
            return
        if principal.anonymous:
            if (
                needed == Role.READ
                and (self.anonymous_read or (fmt == "docker" and self.docker_anon_pull))
                and principal.within_scopes(fmt, name, needed)
            ):
                return
            raise Unauthenticated("authentication required", subject="auth")
        assert principal.role is not None
        if principal.role < needed:
            raise Forbidden(f"{needed} access needed, token or user has {principal.role}")
        if scoped and not principal.within_scopes(fmt, name, needed):
            raise Forbidden(f"{fmt} {name or ''} is outside this credential's scopes".strip())
