"""The web dashboard at /ui/: NORA's own read-only pages over every format.

How a format contributes pages (the interface other formats implement):

- Add ``entrypoints/http/<package>/ui.py`` defining ``UI = UiSection(...)``
  (:mod:`entrypoints.http.ui.section`); :mod:`entrypoints.http.ui.sections` finds
  it, so nothing shared names the format. Its ``word`` is the format word
  (the scope word, ``docker``/``npm``/...), used in URLs: ``/ui/<word>/`` lists,
  ``/ui/<word>/<name>`` shows one item (``name`` may hold slashes).
- ``list_page(request, after, limit) -> ItemPage``: a stable order, items after
  the cursor ``after``, ``next`` the cursor of the following page. Package-core
  formats call :func:`entrypoints.http.ui.packages.list_packages` with their
  facade's ``index``; it is cheap on 10,000 packages.
- ``item(request, name) -> ItemView``: facts, badges, tables of :class:`Cell`
  and :class:`Command` (the client command to copy, built from
  :func:`entrypoints.http.ui.section.base_url`); ``NotFound`` when the name is
  unknown or unreadable.
- ``counts(request) -> Counts`` for the overview; ``search(request, text,
  offset, limit) -> ItemPage`` with ``total`` (or None: not searchable).
- Reach data only through the format's facade (``facade(request, word)``: the
  container's ``<word>.registry()``, what the protocol handlers use), and pass
  every name shown through ``visible(request, word)``
  (:func:`entrypoints.http.access.readable`), as protocol listings do. The core
  checks an item's name the same way before calling ``item`` (an unreadable name
  is a 404), so item names must be what the format's scopes name.

Templates (``templates/``) are generic: they lay out those views and know no
format. Pages need the read role (a browser gets the Basic challenge; anonymous
read shows what it allows); ``/ui/static/`` and the redirects are public.
With access control on, a person signs in at ``/ui/login`` (:mod:`.login`): the
session cookie is accepted on ``/ui`` routes only (``login_cookie``), and every
form carries a CSRF token (:mod:`.forms`). ``/ui/tokens`` (:mod:`.tokens`) manages
one's own API tokens; ``/ui/activity`` (:mod:`.activity`) is the trail, for admins.
"""

from __future__ import annotations

from typing import Final

from domain.auth.model import Role
from entrypoints.http.formats import HttpFormat
from entrypoints.http.swagger import SwaggerAssets
from entrypoints.http.ui.activity import ActivityController
from entrypoints.http.ui.forms import SESSION_COOKIE
from entrypoints.http.ui.login import LoginController
from entrypoints.http.ui.pages import RootController, UiController, render_error
from entrypoints.http.ui.tokens import TokensController

__all__ = ["FORMAT"]

_READ: Final = {"GET": Role.READ, "HEAD": Role.READ}
_PUBLIC: Final = {"GET": None, "HEAD": None}
_ADMIN: Final = {"GET": Role.ADMIN, "HEAD": Role.ADMIN}

FORMAT = HttpFormat(
    name="ui",
    prefixes=("/ui", "/swagger-ui"),
    routers=(
        RootController,
        UiController,
        ActivityController,
        LoginController,
        TokensController,
        SwaggerAssets,
    ),
    roles={
        "/": _PUBLIC,
        "/swagger-ui": _PUBLIC,
        "/ui": _READ,
        "/ui/search": _READ,
        "/ui/activity": _ADMIN,
        # signing in and out is open to all; each form checks its own CSRF token
        "/ui/login": {"GET": None, "HEAD": None, "POST": None},
        "/ui/logout": {"POST": None},
        # creating needs write; a read credential lists and revokes itself alone
        # (domain.auth.delegation, as on /api/tokens)
        "/ui/tokens": {"GET": Role.READ, "HEAD": Role.READ, "POST": Role.WRITE},
        "/ui/tokens/{token_id}/revoke": {"POST": Role.READ},
        "/ui/static/{name}": _PUBLIC,
        "/ui/swagger/{name}": _PUBLIC,
        "/ui/{word}": _READ,
        "/ui/{word}/{name}": _READ,
    },
    render_error=render_error,
    # pages are about no single package: each section filters names through readable();
    # the activity page refuses a scoped credential itself (it names every format)
    unscoped=frozenset(
        {
            "/ui",
            "/ui/search",
            "/ui/activity",
            "/ui/tokens",
            "/ui/tokens/{token_id}/revoke",
            "/ui/{word}",
            "/ui/{word}/{name}",
        }
    ),
    # a sign-in or sign-out is recorded as itself (login, logout), not as a write
    quiet_writes=("/ui/login", "/ui/logout"),
    login_cookie=SESSION_COOKIE,
)
