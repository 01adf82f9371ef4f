"""The dashboard's forms: bounded parsing, CSRF tokens and the cookies they rely on.

Every POST the dashboard accepts is a form a page of ours wrote, so each one
must carry a token a foreign page cannot know:

- a signed-in browser's token is an HMAC of its session's own secret
  (:mod:`domain.auth.logins`), so it is bound to that one session;
- before signing in (the login form) or with credentials in a header, it is an
  HMAC keyed by a random cookie (``nora_csrf``) this origin set: the double
  submit, which a foreign page can neither read nor complete.

A request whose ``Origin`` names another origin is refused before that. Both
cookies are HttpOnly, SameSite=Strict, scoped to ``/ui`` and Secure when the
dashboard is served over HTTPS.
"""

from __future__ import annotations

import secrets
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from litestar import Request, Response

from domain import errors as e
from domain.auth.logins import csrf_token, csrf_valid
from entrypoints.http.access import login_of
from entrypoints.http.bodies import read_body
from entrypoints.http.links import public_base

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "FORM_LIMIT",
    "SESSION_COOKIE",
    "check_form",
    "check_origin",
    "clear_cookie",
    "form_token",
    "parse_form",
    "read_form",
    "set_cookie",
]

SESSION_COOKIE: Final = "nora_session"
CSRF_COOKIE: Final = "nora_csrf"
CSRF_FIELD: Final = "csrf"
FORM_LIMIT: Final = 16 * 1024
"""A dashboard form is a few fields; nothing larger is read."""
_MAX_FIELDS: Final = 20
_MAX_VALUE: Final = 4096
_PURPOSE: Final = "nora-ui-form"


def parse_form(body: bytes, fields: frozenset[str]) -> dict[str, str]:
    """An urlencoded form's ``fields`` (others are ignored); ``InvalidInput`` on anything odd.

    Refused: bodies over ``FORM_LIMIT``, more than a handful of fields, a field
    given twice, values over 4 KiB, bytes that are not UTF-8 and control
    characters other than line breaks and tabs.
    """
    if len(body) > FORM_LIMIT:
        raise e.InvalidInput("the form is too large", subject="form")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise e.InvalidInput("the form could not be read", subject="form") from None
    out: dict[str, str] = {}
    for name, value in pairs:
        if name not in fields:
            continue
        if name in out:
            raise e.InvalidInput(f"the field {name} is given twice", subject="form")
        if len(value) > _MAX_VALUE or any(
            (ord(char) < 32 and char not in "\t\r\n") or ord(char) == 127 for char in value
        ):
            raise e.InvalidInput(f"the field {name} is not acceptable text", subject="form")
        out[name] = value
    return out


async def read_form(request: Request[Any, Any, Any], fields: frozenset[str]) -> dict[str, str]:
    """The request's form, checked for its CSRF token (see :func:`check_form`)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise e.InvalidInput("expected a form", subject="form")
    form = parse_form(await read_body(request, FORM_LIMIT), fields | {CSRF_FIELD})
    check_form(request, form.get(CSRF_FIELD, ""))
    return form


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_origin(request: Request[Any, Any, Any]) -> None:
    """Raise ``Forbidden`` when the browser says the request comes from another origin."""
    origin = request.headers.get("origin")
    if origin is not None and origin.lower() not in (
        _origin_of(public_base(request)),
        _origin_of(str(request.base_url)),
    ):
        raise e.Forbidden("the form was sent from another site", subject="form")


def check_form(request: Request[Any, Any, Any], presented: str) -> None:
    """Raise ``Forbidden`` unless the form came from one of our pages in this browser."""
    check_origin(request)
    key, binding = _key(request)
    if key is None or not csrf_valid(key, binding, presented):
        raise e.Forbidden(
            "the form has expired or was not sent from this site; reload the page and try again",
            subject="form",
        )


def _key(request: Request[Any, Any, Any]) -> tuple[str | None, str]:
    login = login_of(request)
    if login is not None:
        return login.csrf, _PURPOSE + ":session"
    cookie = request.cookies.get(CSRF_COOKIE)
    return (cookie or None), _PURPOSE + ":cookie"


def form_token(request: Request[Any, Any, Any]) -> tuple[str, str | None]:
    """The token for a form on the page being rendered, and a new cookie value when one
    must be set for it (no session, no CSRF cookie yet)."""
    key, binding = _key(request)
    fresh: str | None = None
    if key is None:
        key = fresh = secrets.token_urlsafe(32)
    return csrf_token(key, binding), fresh


def _secure(request: Request[Any, Any, Any]) -> bool:
    return public_base(request).startswith("https:") or request.url.scheme == "https"


def set_cookie(
    response: Response[Any],
    request: Request[Any, Any, Any],
    root: str,
    name: str,
    value: str,
    max_age: int | None = None,
) -> None:
    """Set one of the dashboard's cookies with the attributes they all share."""
    response.set_cookie(
        name,
        value,
        path=f"{root}/ui",
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_cookie(
    response: Response[Any], request: Request[Any, Any, Any], root: str, name: str
) -> None:
    """Make the browser forget one of the dashboard's cookies."""
    set_cookie(response, request, root, name, "", max_age=0)
