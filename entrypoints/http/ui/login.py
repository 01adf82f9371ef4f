"""Signing in and out of the dashboard when access control is on.

The login form takes a user's password (or an API token typed as the
password, which then bounds the session) through the same authenticator and
failed-login budget as every protocol, and answers with a session cookie
(:mod:`entrypoints.http.ui.forms` sets its attributes). The session lives in
the metadata store (:mod:`domain.auth.logins`); logging out deletes it.
"""

from __future__ import annotations

import contextlib
from typing import Any, Final

from litestar import Controller, Request, Response, post, route
from litestar.response import Redirect

from domain import errors as e
from domain.auth.activity import ActivityEvent
from entrypoints.http.access import client_of, login_of, principal_of, prove_login
from entrypoints.http.deps import container_of
from entrypoints.http.ui.forms import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    check_origin,
    clear_cookie,
    form_token,
    read_form,
    set_cookie,
)
from entrypoints.http.ui.pages import page_root, show_page
from entrypoints.http.ui.render import READS

__all__ = ["LoginController", "safe_next"]

_FIELDS: Final = frozenset({"username", "password", "next"})
_MAX_NEXT: Final = 2048


def safe_next(root: str, text: str | None) -> str:
    """Where to go after signing in: a dashboard path of this NORA, else the overview.

    Only a plain path under ``<root>/ui`` is followed, so the form cannot be
    used to send someone to another site.
    """
    home = f"{root}/ui/"
    if not text or len(text) > _MAX_NEXT or not text.isascii():
        return home
    if not (text == f"{root}/ui" or text.startswith(f"{root}/ui/")):
        return home
    if "//" in text or "\\" in text or any(ord(char) < 33 or ord(char) == 127 for char in text):
        return home
    return text


async def _audit(request: Request[Any, Any, Any], action: str, actor: str, status: int) -> None:
    container = container_of(request.app)
    activity = container.auth.activity()
    with contextlib.suppress(e.NoraError):  # the sign-in stands; the trail logs its failures
        await activity.record(
            ActivityEvent(
                at=activity.now(),
                actor=actor,
                action=action,
                format="ui",
                method=request.method,
                path=request.url.path[:512],
                status=status,
                client=client_of(request.scope, container.settings()),
            )
        )


def _login_page(
    request: Request[Any, Any, Any],
    *,
    next_path: str,
    username: str = "",
    error: str = "",
    status: int = 200,
) -> Response[str]:
    token, fresh = form_token(request)
    response = show_page(
        request,
        "login.html",
        title="Sign in",
        active="login",
        next_path=next_path,
        username=username,
        error=error,
        csrf=token,
        status=status,
    )
    if fresh is not None:
        set_cookie(response, request, page_root(request), CSRF_COOKIE, fresh)
    return response


class LoginController(Controller):
    """GET/POST /ui/login and POST /ui/logout."""

    path = "/ui"
    include_in_schema = False

    @route("/login", http_method=READS)
    async def login_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """GET /ui/login?next=: the form (or, with access control off, the overview)."""
        root = page_root(request)
        next_path = safe_next(root, request.query_params.get("next"))
        if not container_of(request.app).auth.policy().enabled:
            return Redirect(next_path, status_code=303)
        return _login_page(request, next_path=next_path)

    @post("/login", status_code=303)
    async def login(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """POST /ui/login: check the credentials, start a session, go where the user was going."""
        container = container_of(request.app)
        auth = container.auth
        root = page_root(request)
        form = await read_form(request, _FIELDS)
        next_path = safe_next(root, form.get("next"))
        if not auth.policy().enabled:
            return Redirect(next_path, status_code=303)
        username = form.get("username", "").strip()
        password = form.get("password", "")
        client = client_of(request.scope, container.settings())
        try:
            proven = await prove_login(
                request.scope,
                auth,
                client,
                lambda: auth.authenticator().password(username, password),
            )
        except e.Unauthenticated:
            return _login_page(
                request,
                next_path=next_path,
                username=username,
                error="Wrong user name or password.",
                status=401,
            )
        try:
            secret, session = await auth.logins().start(
                proven, password_stamp=auth.users().password_stamp(proven.name)
            )
        except e.Unauthenticated:  # a registry session token: not a way to sign in
            return _login_page(
                request,
                next_path=next_path,
                username=username,
                error="Sign in with a password or an API token.",
                status=401,
            )
        old = request.cookies.get(SESSION_COOKIE)
        if old:  # a new login replaces whatever this browser held before
            await auth.logins().end(old)
        response: Response[Any] = Redirect(next_path, status_code=303)
        seconds = int((session.expires - session.created).total_seconds())
        set_cookie(response, request, root, SESSION_COOKIE, secret, max_age=seconds)
        clear_cookie(response, request, root, CSRF_COOKIE)
        await _audit(request, "login", proven.name, 303)
        return response

    @post("/logout", status_code=303)
    async def logout(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """POST /ui/logout: end this browser's session everywhere and forget its cookie."""
        root = page_root(request)
        login = login_of(request)
        response: Response[Any] = Redirect(f"{root}/ui/login", status_code=303)
        clear_cookie(response, request, root, SESSION_COOKIE)
        if login is None:  # nothing live to end: forgetting a dead cookie needs no token,
            check_origin(request)  # but another site still may not make the browser forget it
            return response
        await read_form(request, frozenset())  # a foreign page must not sign anyone out
        secret = request.cookies.get(SESSION_COOKIE)
        if secret:
            await container_of(request.app).auth.logins().end(secret)
        await _audit(request, "logout", principal_of(request).name, 303)
        return response
