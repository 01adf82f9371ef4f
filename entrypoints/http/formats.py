"""The one shape every format takes at the HTTP edge, and the table built from them.

A format declares, once, in its own package: the URL prefixes it owns, its
routers, the role each route needs, how a package or repository name is read
from a path (for token scopes), how a domain error is rendered for its
clients (refusals included: 401/403/429 come from the same renderer, plus the
challenge its clients understand), its settings and its container. The app
factory, the access layer, the settings loader, the composition root and the
audit trail loop over :class:`Formats` and never name a format.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from litestar import Request, Response

from domain.auth.model import Role
from domain.errors import NoraError
from entrypoints.config import FormatSettings
from entrypoints.http.openapi import ApiPart

__all__ = ["BASIC_CHALLENGE", "READ_WRITE", "Formats", "HttpFormat", "PathRole"]

PathRole = tuple[re.Pattern[str], str, Role | None]
"""(full path pattern, method, role): an exception inside a catch-all route."""

R, W = Role.READ, Role.WRITE
READ_WRITE: Final[Mapping[str, Role | None]] = {
    "GET": R,
    "HEAD": R,
    "POST": W,
    "PUT": W,
    "PATCH": W,
    "DELETE": W,
}
"""The usual table: reads read, everything else writes."""

BASIC_CHALLENGE: Final = 'Basic realm="nora", charset="UTF-8"'


def _no_name(path: str) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class HttpFormat:
    """Everything the shared edge needs to know about one format."""

    name: str
    """The word token scopes, the audit trail and refusals use for this format."""
    prefixes: tuple[str, ...]
    """URL prefixes it owns (``/v2``); a path belongs to the format of its longest prefix."""
    routers: tuple[type, ...]
    """Litestar controllers (or route handlers) registered in order."""
    roles: Mapping[str, Mapping[str, Role | None]]
    """Route template -> method -> role needed (None: public). Undeclared means admin."""
    render_error: Callable[[Request[Any, Any, Any], NoraError], Response[Any]]
    """A domain error (refusals included) in the shape this format's clients read."""
    name_of: Callable[[str], str | None] = _no_name
    """The package or repository a path names, for scopes and the audit trail."""
    path_roles: tuple[PathRole, ...] = ()
    """Exceptions inside catch-all routes, checked before ``roles``."""
    challenge: Callable[[Request[Any, Any, Any], str | None, Role | None], str] | None = None
    """The WWW-Authenticate value of a 401 (default: Basic)."""
    quiet_writes: tuple[str, ...] = ()
    """Path prefixes whose POSTs only read (token endpoints, audits): not recorded as writes."""
    unscoped: frozenset[str] = frozenset()
    """Route templates about no package, where name scopes do not apply (managing tokens:
    ``domain.auth.delegation`` keeps what a scoped token mints inside its scopes)."""
    setup: Callable[[str], str] | None = None
    """The one line that points this format's client at NORA, given NORA's base URL
    (``http://127.0.0.1:4000``): what the start-up banner shows for it."""
    login_cookie: str | None = None
    """The cookie holding a dashboard login (:mod:`domain.auth.logins`), accepted on this
    format's routes only and only when no Authorization header is sent."""
    settings: type[FormatSettings] | None = None
    """Its own settings (``NORA_<NAME>_*``), read by ``entrypoints.config.load_settings``."""
    openapi: Callable[[], ApiPart] | None = None
    """Its operations in the OpenAPI document (:mod:`entrypoints.http.openapi`), built
    when the document is first asked for."""
    container: type[Any] | None = None
    """Its dependency-injector container (a ``core`` dependency and a ``registry``
    provider, optionally ``chores`` for upkeep), composed into the root under ``name``."""


class Formats:
    """The registered formats, indexed for the per-request lookups."""

    def __init__(self, formats: Iterable[HttpFormat]) -> None:
        self.formats = tuple(formats)
        self._prefixes: list[tuple[str, HttpFormat]] = sorted(
            ((prefix, fmt) for fmt in self.formats for prefix in fmt.prefixes),
            key=lambda pair: -len(pair[0]),
        )
        self._by_name = {fmt.name: fmt for fmt in self.formats}
        self.roles: dict[str, Mapping[str, Role | None]] = {}
        self.unscoped = frozenset(t for fmt in self.formats for t in fmt.unscoped)
        for fmt in self.formats:
            for template, methods in fmt.roles.items():
                if template in self.roles:
                    raise ValueError(f"route {template} is declared by two formats")
                self.roles[template] = methods

    @property
    def routers(self) -> list[type]:
        return [router for fmt in self.formats for router in fmt.routers]

    def get(self, name: str) -> HttpFormat | None:
        return self._by_name.get(name)

    def of(self, path: str) -> HttpFormat | None:
        """The format a request path belongs to (None: no format owns it)."""
        for prefix, fmt in self._prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return fmt
        return None

    def format_of(self, path: str) -> str:
        """The format word of a path (``ops`` when no format owns it)."""
        fmt = self.of(path)
        return fmt.name if fmt is not None else "ops"

    def name_of(self, path: str) -> str | None:
        fmt = self.of(path)
        return fmt.name_of(path) if fmt is not None else None

    def role_for(self, template: str, method: str, path: str) -> Role | None:
        """The role a request needs; admin for anything undeclared (fail closed)."""
        fmt = self.of(path)
        if fmt is not None:
            for pattern, wanted_method, role in fmt.path_roles:
                if method == wanted_method and pattern.fullmatch(path):
                    return role
        roles = self.roles.get(template)
        if roles is None:
            return Role.ADMIN
        return roles.get(method, Role.ADMIN)

    def is_quiet_write(self, path: str) -> bool:
        fmt = self.of(path)
        return fmt is not None and any(path.startswith(quiet) for quiet in fmt.quiet_writes)
