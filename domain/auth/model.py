"""Roles, scopes and principals: the vocabulary of every access decision."""

from __future__ import annotations

import enum
import fnmatch
import re
from datetime import datetime
from typing import Final

import msgspec

from domain.errors import InvalidInput

__all__ = ["ANONYMOUS", "FORMATS", "ApiToken", "Principal", "Role", "Scope"]

FORMATS = frozenset({"docker", "npm", "pypi", "maven", "cargo", "go", "raw", "helm", "*"})
"""Formats a scope can name; ``*`` is every format."""

_PATTERN = re.compile(r"[A-Za-z0-9@/._*?\-]{1,200}")
_SEPARATORS = re.compile(r"[-_.]+")


def _pep503(name: str) -> str:
    """PEP 503's normal form (glob characters pass through untouched)."""
    return _SEPARATORS.sub("-", name).lower()


class Role(enum.IntEnum):
    """What a caller may do; each role includes the ones below it."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def parse(cls, text: str) -> Role:
        """``read``, ``write`` or ``admin`` (any case)."""
        try:
            return cls[text.strip().upper()]
        except (KeyError, AttributeError):
            raise InvalidInput(f"unknown role {str(text)[:20]!r}", subject="role") from None

    def __str__(self) -> str:
        return self.name.lower()


class Scope(msgspec.Struct, frozen=True):
    """A format and a glob over package or repository names: ``npm:@acme/*``.

    ``limit`` caps the role inside this scope (a session token may grant pull
    on one repository and push on another); None means the caller's own role.
    """

    format: str
    pattern: str
    limit: Role | None = None

    @classmethod
    def parse(cls, text: str) -> Scope:
        """Parse ``<format>:<glob>``; raises ``InvalidInput`` on anything else."""
        if not isinstance(text, str):
            raise InvalidInput("scope must be a string", subject="scope")
        fmt, sep, pattern = text.strip().partition(":")
        if not sep or fmt not in FORMATS or _PATTERN.fullmatch(pattern) is None:
            raise InvalidInput(
                f"scope {text[:60]!r} is not <format>:<name pattern>", subject="scope"
            )
        return cls(fmt, pattern)

    def matches(self, fmt: str, name: str | None) -> bool:
        """True when ``name`` of format ``fmt`` is inside this scope.

        A request that names nothing (a catalog, a search) is inside a scope of
        its format, and its results are the format's business to filter.
        """
        if self.format not in ("*", fmt):
            return False
        if name is None:
            return True
        if fmt == "pypi":  # one project has many spellings: compare the canonical ones
            return fnmatch.fnmatchcase(_pep503(name), _pep503(self.pattern))
        return fnmatch.fnmatchcase(name, self.pattern)

    def __str__(self) -> str:
        return f"{self.format}:{self.pattern}"


SESSION_VIA: Final = "docker-token"
"""``Principal.via`` of a registry session token (the value stays: it is in audit records)."""


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """An authenticated caller (or the anonymous one)."""

    name: str
    role: Role | None
    """None for the anonymous caller, whose reads depend on the policy."""
    scopes: tuple[Scope, ...] = ()
    """Empty means unrestricted."""
    token_id: str | None = None
    via: str = "anonymous"
    """How the caller proved who they are: password, token, docker-token, anonymous."""
    expires: datetime | None = None
    """When the credential stops being valid (tokens); None for passwords."""
    bounds: tuple[Scope, ...] = ()
    """For a registry session token: the scopes of the credential it was issued to.
    Its grants decide each repository; these bound what a listing shows."""

    @property
    def anonymous(self) -> bool:
        return self.role is None

    @property
    def from_session(self) -> bool:
        """A short-lived registry session token (its grants decide single repositories)."""
        return self.via == SESSION_VIA

    def within_scopes(self, fmt: str, name: str | None, needed: Role = Role.READ) -> bool:
        """True when no scope restricts the caller, or one covers ``fmt``/``name`` at ``needed``."""
        return not self.scopes or any(
            scope.matches(fmt, name) and (scope.limit is None or needed <= scope.limit)
            for scope in self.scopes
        )


ANONYMOUS = Principal(name="anonymous", role=None)


class ApiToken(msgspec.Struct, kw_only=True):
    """A stored API token; the secret itself is never stored, only its hash."""

    id: str
    owner: str
    role: Role
    scopes: tuple[Scope, ...] = ()
    description: str = ""
    created: datetime
    expires: datetime | None = None
    revoked: datetime | None = None
    last_used: datetime | None = None
    secret_sha256: str = ""
    parent: str | None = None
    """The token that created this one: revoking it ends this one too."""
