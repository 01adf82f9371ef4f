"""Signing in and out, CSRF on every form, and the tokens page, over the app in process."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.auth.htpasswd import hash_password
from domain.keys import LOGIN_PREFIX
from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.ui.forms import CSRF_COOKIE, SESSION_COOKIE
from entrypoints.http.ui.render import CSP
from tests.unit.ui import seed

USERS = {"admin": "secret", "writer": "pen", "reader": "book"}


@pytest.fixture
def client(tmp_path: Any) -> Iterator[TestClient]:  # type: ignore[type-arg]
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(
        "".join(f"{user}:{hash_password(pw, rounds=4)}\n" for user, pw in USERS.items())
    )
    settings = Settings(
        storage_mode="memory",
        metadata_url="memory://",
        auth_enabled=True,
        auth_htpasswd_file=str(htpasswd),
        auth_admin_users="admin",
        auth_login_rate="5/minute",
    )
    container = build_container(settings)
    app = create_app(container)
    app.state["container"] = container
    with TestClient(app, raise_server_exceptions=False) as c:
        c.auth = ("admin", "secret")
        seed.npm(c, "hidden-pkg", description="only for signed-in people")
        c.auth = None
        yield c


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html[:500]
    return found.group(1)


def _login(client: Any, user: str, password: str, next_path: str = "/ui/") -> Any:
    form = client.get("/ui/login", params={"next": next_path})
    assert form.status_code == 200
    assert form.headers["content-security-policy"] == CSP
    return client.post(
        "/ui/login",
        data={"username": user, "password": password, "csrf": _csrf(form.text), "next": next_path},
        follow_redirects=False,
    )


def _text(response: Any) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def test_signing_in_sets_a_strict_session_cookie_and_returns_to_the_page(client: Any) -> None:
    assert client.get("/ui/npm/hidden-pkg", follow_redirects=False).status_code == 303
    answer = _login(client, "writer", "pen", "/ui/npm/hidden-pkg")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/npm/hidden-pkg"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")
    )
    attributes = cookie.lower()
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/ui" in attributes
    assert "secure" not in attributes, "plain HTTP here: a Secure cookie would never come back"
    page = client.get("/ui/npm/hidden-pkg")
    assert page.status_code == 200
    assert "only for signed-in people" in page.text
    assert "Signed in as writer" in _text(page)
    assert "Sign out" in page.text


def test_the_cookie_is_secure_over_https(client: Any) -> None:
    with TestClient(
        client.app, base_url="https://testserver.local", raise_server_exceptions=False
    ) as secure:
        answer = _login(secure, "writer", "pen")
        assert answer.status_code == 303
        cookie = next(
            c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")
        )
        assert "secure" in cookie.lower()
        assert secure.get("/ui/tokens").status_code == 200


def test_a_wrong_password_is_refused_and_counted(client: Any) -> None:
    answer = _login(client, "writer", "wrong")
    assert answer.status_code == 401
    assert "Wrong user name or password" in answer.text
    assert "www-authenticate" not in answer.headers
    assert SESSION_COOKIE not in client.cookies
    for _ in range(6):
        last = _login(client, "writer", "wrong")
    assert last.status_code == 429, "the failed-login budget every door shares"
    assert _login(client, "writer", "pen").status_code == 429


def test_the_session_cookie_works_on_dashboard_routes_only(client: Any) -> None:
    _login(client, "admin", "secret")
    secret = client.cookies.get(SESSION_COOKIE)
    assert secret
    assert client.get("/ui/").status_code == 200
    for path in ("/api/tokens", "/npm/hidden-pkg", "/v2/_catalog"):
        answer = client.get(path, headers={"cookie": f"{SESSION_COOKIE}={secret}"})
        assert answer.status_code == 401, path


def test_logging_out_ends_the_session_everywhere(client: Any) -> None:
    _login(client, "writer", "pen")
    secret = client.cookies.get(SESSION_COOKIE)
    page = client.get("/ui/")
    out = client.post("/ui/logout", data={"csrf": _csrf(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/ui/login"
    container = client.app.state["container"]

    async def stored() -> list[Any]:
        return (await container.core.metadata_store().scan(LOGIN_PREFIX)).items

    assert client.blocking_portal.call(stored) == []
    client.cookies.clear()
    replay = client.get("/ui/", headers={"cookie": f"{SESSION_COOKIE}={secret}"})
    assert "Sign in" in replay.text, "a copied cookie dies with the session"
    assert "Signed in as" not in replay.text


def test_forged_or_missing_csrf_is_refused(client: Any) -> None:
    _login(client, "writer", "pen")
    page = client.get("/ui/tokens")
    token = _csrf(page.text)
    for data in ({"role": "read"}, {"role": "read", "csrf": "0" * 64}):
        refused = client.post("/ui/tokens", data=data)
        assert refused.status_code == 403
        assert "reload the page" in refused.text
    cross = client.post(
        "/ui/tokens",
        data={"role": "read", "csrf": token},
        headers={"origin": "https://evil.example.test"},
    )
    assert cross.status_code == 403, "a form from another site, even with a stolen token"
    out = client.post("/ui/logout", data={"csrf": "x"})
    assert out.status_code == 403, "a foreign page cannot sign anyone out"
    assert client.get("/ui/tokens").status_code == 200
    assert "Your tokens" in client.get("/ui/tokens").text
    # a token from another session (another browser) does not work here either
    other = TestClient(client.app, raise_server_exceptions=False)
    other.__enter__()
    try:
        _login(other, "writer", "pen")
        foreign = _csrf(other.get("/ui/tokens").text)
    finally:
        other.__exit__(None, None, None)
    assert client.post("/ui/tokens", data={"role": "read", "csrf": foreign}).status_code == 403


def test_the_login_form_needs_its_own_csrf_cookie(client: Any) -> None:
    form = client.get("/ui/login")
    token = _csrf(form.text)
    assert CSRF_COOKIE in client.cookies
    client.cookies.clear()
    forged = client.post(
        "/ui/login",
        data={"username": "writer", "password": "pen", "csrf": token},
        follow_redirects=False,
    )
    assert forged.status_code == 403, "login CSRF: no cookie, no sign-in"
    assert SESSION_COOKIE not in client.cookies


def test_unauthenticated_posts_are_refused(client: Any) -> None:
    client.get("/ui/login")  # a CSRF cookie, so only the missing sign-in is wrong
    token = _csrf(client.get("/ui/login").text)
    made = client.post("/ui/tokens", data={"role": "read", "csrf": token}, follow_redirects=False)
    assert made.status_code == 303
    assert made.headers["location"].startswith("/ui/login")
    revoke = client.post("/ui/tokens/abc/revoke", data={"csrf": token}, follow_redirects=False)
    assert revoke.status_code == 303
    assert revoke.headers["location"].startswith("/ui/login")
    container = client.app.state["container"]

    async def count() -> int:
        return len(await container.auth.tokens().list(None))

    assert client.blocking_portal.call(count) == 0


def test_a_token_is_created_shown_once_used_and_revoked(client: Any) -> None:
    _login(client, "writer", "pen")
    page = client.get("/ui/tokens")
    assert "Create a token" in page.text
    assert '<option value="admin"' not in page.text, "no role above the writer's own"
    made = client.post(
        "/ui/tokens",
        data={
            "csrf": _csrf(page.text),
            "description": "<b>ci</b>",
            "role": "read",
            "scopes": "npm:hidden-*",
            "expires_in_days": "7",
        },
    )
    assert made.status_code == 201
    secret = re.search(r'<pre class="copyable"[^>]*>([^<]+)</pre>', made.text)
    assert secret is not None
    token = secret.group(1)
    assert "&lt;b&gt;ci&lt;/b&gt;" in made.text
    assert "<b>ci</b>" not in made.text
    bearer = {"authorization": f"Bearer {token}"}
    assert client.get("/npm/hidden-pkg", headers=bearer).status_code == 200
    listed = client.get("/ui/tokens")
    assert token not in listed.text, "the secret is shown once, never again"
    assert "npm:hidden-*" in listed.text
    token_id = re.search(r'action="/ui/tokens/([^/"]+)/revoke"', listed.text)
    assert token_id is not None
    gone = client.post(
        f"/ui/tokens/{token_id.group(1)}/revoke",
        data={"csrf": _csrf(listed.text)},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert "was revoked" in client.get(gone.headers["location"]).text
    assert client.get("/npm/hidden-pkg", headers=bearer).status_code == 401


def test_a_token_never_exceeds_the_session_behind_it(client: Any) -> None:
    _login(client, "reader", "book")  # reader is a user, so write role; sign in with a token
    page = client.get("/ui/tokens")
    made = client.post(
        "/ui/tokens",
        data={"csrf": _csrf(page.text), "role": "read", "scopes": "npm:hidden-*"},
    )
    token = re.search(r'<pre class="copyable"[^>]*>([^<]+)</pre>', made.text)
    assert token is not None
    client.cookies.clear()
    _login(client, "reader", token.group(1))  # a session bounded by that read token
    page = client.get("/ui/tokens")
    assert "Create a token" not in page.text, "a read credential may not create tokens"
    refused = client.post("/ui/tokens", data={"csrf": _csrf(page.text), "role": "read"})
    assert refused.status_code == 403
    assert client.get("/ui/npm/hidden-pkg").status_code == 200
    assert client.get("/ui/activity").status_code == 403


def test_a_bad_form_gets_its_message_not_a_500(client: Any) -> None:
    _login(client, "writer", "pen")
    token = _csrf(client.get("/ui/tokens").text)
    for data, status, message in (
        ({"role": "root"}, 400, "unknown role"),
        ({"role": "admin"}, 403, "cannot create a admin token"),
        ({"role": "read", "scopes": "nonsense"}, 400, "is not &lt;format&gt;"),
        ({"role": "read", "expires_in_days": "-3"}, 400, "number of days"),
    ):
        answer = client.post("/ui/tokens", data={**data, "csrf": token})
        assert answer.status_code == status, (data, answer.text[:300])
        assert message in answer.text, data
    odd = client.post(
        "/ui/tokens",
        content=b"csrf=" + token.encode() + b"&role=%ff",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert odd.status_code == 400
    json_body = client.post("/ui/tokens", json={"csrf": token, "role": "read"})
    assert json_body.status_code == 400


def test_sign_in_is_pointless_without_access_control() -> None:
    settings = Settings(storage_mode="memory", metadata_url="memory://")
    container = build_container(settings)
    app = create_app(container)
    app.state["container"] = container
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/ui/login", follow_redirects=False).status_code == 303
        page = c.get("/ui/tokens")
        assert page.status_code == 200
        assert "Access control is off" in page.text
        assert "Sign in" not in page.text


def test_a_registry_session_token_cannot_sign_in(client: Any) -> None:
    client.auth = ("writer", "pen")
    issued = client.get(
        "/auth/token", params={"service": "nora", "scope": "repository:team/app:pull,push"}
    )
    client.auth = None
    assert issued.status_code == 200, issued.text
    answer = _login(client, "__token__", issued.json()["token"])
    assert answer.status_code == 401
    assert "password or an API token" in answer.text
    assert SESSION_COOKIE not in client.cookies


def test_a_new_password_signs_the_browser_out(client: Any, tmp_path: Any) -> None:
    _login(client, "writer", "pen")
    assert "Signed in as writer" in _text(client.get("/ui/"))
    htpasswd = tmp_path / "htpasswd"
    lines = [line for line in htpasswd.read_text().splitlines() if not line.startswith("writer:")]
    htpasswd.write_text("\n".join([*lines, f"writer:{hash_password('new pen', rounds=4)}"]) + "\n")
    os.utime(htpasswd, (1, 1))
    users = client.app.state["container"].auth.users()
    users._checked = 0.0  # skip the adapter's one-second debounce
    assert "Signed in as" not in _text(client.get("/ui/"))


def test_another_site_cannot_make_the_browser_forget_its_session(client: Any) -> None:
    out = client.post(
        "/ui/logout", headers={"origin": "https://evil.example.test"}, follow_redirects=False
    )
    assert out.status_code == 403
