"""The dashboard's activity page over the app in process: columns, filters, paging, access."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from litestar.testing import TestClient

from adapters.auth.htpasswd import hash_password
from domain.auth.activity import ActivityEvent
from domain.auth.model import Role, Scope
from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.ui import activity as activity_page
from entrypoints.http.ui.render import CSP

HOSTILE = "<script>alert(1)</script>"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@contextmanager
def _app(settings: Settings | None = None) -> Iterator[Any]:
    settings = settings or Settings(storage_mode="memory", metadata_url="memory://")
    container = build_container(settings)
    app = create_app(container)
    app.state["container"] = container
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _record(client: Any, *events: ActivityEvent) -> None:
    log = client.app.state["container"].auth.activity()

    async def run() -> None:
        for event in events:
            await log.record(event)

    client.blocking_portal.call(run)


def _event(i: int, **fields: Any) -> ActivityEvent:
    values: dict[str, Any] = {
        "at": START + timedelta(minutes=i),
        "actor": "alice",
        "action": "write",
        "format": "npm",
        "target": f"pkg-{i:03d}",
        "method": "PUT",
        "path": f"/npm/pkg-{i:03d}",
        "status": 201,
        "client": "10.0.0.1",
    }
    values.update(fields)
    return ActivityEvent(**values)


def _page(client: Any, path: str, **kwargs: Any) -> Any:
    response = client.get(path, **kwargs)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    return response


def _rows(html: str) -> list[list[str]]:
    """The cells of the activity table, unescaped."""
    found = re.search(r'<table class="activity">.*?<tbody>(.*?)</tbody>', html, re.S)
    if found is None:
        return []
    return [
        [unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S)
    ]


def _targets(client: Any, path: str = "/ui/activity", **kwargs: Any) -> list[str]:
    return [row[4] for row in _rows(_page(client, path, **kwargs).text)]


def _next(html: str) -> str | None:
    found = re.search(r'rel="next" href="([^"]+)"', html)
    return unescape(found.group(1)) if found else None


def _walk(client: Any, path: str) -> tuple[list[str], int]:
    """Every target over every page, following the Next links; and how many pages."""
    targets: list[str] = []
    pages = 0
    next_path: str | None = path
    while next_path:
        html = _page(client, next_path).text
        targets += [row[4] for row in _rows(html)]
        next_path = _next(html)
        pages += 1
        assert pages < 50
    return targets, pages


def test_events_newest_first_with_every_column() -> None:
    with _app() as client:
        _record(
            client,
            _event(
                0,
                actor="bob",
                action="delete",
                format="pypi",
                target="demo",
                method="DELETE",
                path="/pypi/demo",
                status=204,
                client="192.0.2.7",
            ),
            _event(
                2,
                actor="carol",
                action="denied",
                format="docker",
                target="team/app",
                method="GET",
                path="/v2/team/app/manifests/v1",
                status=403,
                client="2001:db8::1",
            ),
            _event(1),
        )
        rows = _rows(_page(client, "/ui/activity").text)
        assert rows == [
            ["2026-03-01 12:02:00", "carol", "denied", "docker", "team/app", "GET",
             "/v2/team/app/manifests/v1", "403", "2001:db8::1"],
            ["2026-03-01 12:01:00", "alice", "write", "npm", "pkg-001", "PUT", "/npm/pkg-001",
             "201", "10.0.0.1"],
            ["2026-03-01 12:00:00", "bob", "delete", "pypi", "demo", "DELETE", "/pypi/demo",
             "204", "192.0.2.7"],
        ]  # fmt: skip


def test_each_filter_narrows() -> None:
    with _app() as client:
        _record(
            client,
            _event(0, actor="alice", action="write", format="npm", target="a0"),
            _event(60, actor="bob", action="denied", format="docker", target="b60"),
            _event(24 * 60, actor="alice", action="delete", format="pypi", target="a1d"),
            _event(24 * 60 + 5, actor="bob", action="write", format="npm", target="b1d"),
            _event(2 * 24 * 60, actor="carol", action="rate_limited", format="api", target="c2d"),
        )
        assert _targets(client) == ["c2d", "b1d", "a1d", "b60", "a0"]
        assert _targets(client, params={"actor": "alice"}) == ["a1d", "a0"]
        assert _targets(client, params={"actor": " bob "}) == ["b1d", "b60"]
        assert _targets(client, params={"action": "denied"}) == ["b60"]
        assert _targets(client, params={"action": "any"}) == ["c2d", "b1d", "a1d", "b60", "a0"]
        assert _targets(client, params={"format": "npm"}) == ["b1d", "a0"]
        assert _targets(client, params={"format": "api"}) == ["c2d"]
        # a date covers its whole day (UTC); a datetime-local its minute
        assert _targets(client, params={"since": "2026-03-02"}) == ["c2d", "b1d", "a1d"]
        assert _targets(client, params={"until": "2026-03-01"}) == ["b60", "a0"]
        assert _targets(client, params={"since": "2026-03-02", "until": "2026-03-02"}) == [
            "b1d",
            "a1d",
        ]
        window = {"since": "2026-03-01T13:00", "until": "2026-03-02T12:00"}
        assert _targets(client, params=window) == ["a1d", "b60"]
        both = {"actor": "bob", "action": "write", "format": "npm", "since": "2026-03-02"}
        page = _page(client, "/ui/activity", params=both).text
        assert [row[4] for row in _rows(page)] == ["b1d"]
        # the form shows the filters in use
        assert 'name="actor" type="text" value="bob"' in page
        assert '<option value="write" selected>' in page
        assert '<option value="npm" selected>' in page
        assert 'value="2026-03-02T00:00"' in page
        assert "Clear filters" in page
        nothing = _page(client, "/ui/activity", params={"actor": "nobody"}).text
        assert _rows(nothing) == []
        assert "No events match these filters." in nothing


def test_paging_sees_every_event_once_and_carries_the_filters() -> None:
    actor = "dev & ops/1+1=2 ?#"  # every character a query string must encode
    with _app() as client:
        _record(client, *[_event(i, actor=actor, target=f"t{i:03d}") for i in range(123)])
        _record(client, *[_event(i, actor="other", target=f"o{i:03d}") for i in range(0, 123, 7)])
        first = _page(client, "/ui/activity", params={"actor": actor}).text
        assert len(_rows(first)) == 50
        assert "First page" not in first
        link = _next(first)
        assert link is not None
        query = parse_qs(urlsplit(link).query)
        assert query["actor"] == [actor]
        assert set(query) == {"actor", "cursor"}
        targets, pages = _walk(client, "/ui/activity?" + urlencode({"actor": actor}))
        assert pages == 3
        assert targets == [f"t{i:03d}" for i in reversed(range(123))]
        second = _page(client, link).text
        assert "First page" in second
        assert [row[1] for row in _rows(second)] == [actor] * 50
        everything, _ = _walk(client, "/ui/activity")
        assert len(everything) == len(set(everything)) == 123 + 18


def test_rare_matches_page_on_past_the_scan_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(activity_page, "SCAN_BUDGET", 20)
    with _app() as client:
        events = [_event(i, actor="rare" if i % 45 == 2 else "busy") for i in range(130)]
        _record(client, *events)
        first = _page(client, "/ui/activity", params={"actor": "rare"}).text
        assert _rows(first) == []  # the newest match is 38 events back: beyond 20
        assert "older events remain to be searched" in first
        assert _next(first) is not None
        targets, pages = _walk(client, "/ui/activity?actor=rare")
        assert targets == ["pkg-092", "pkg-047", "pkg-002"]
        assert pages == 7  # 130 events, 20 read a page


def test_hostile_values_are_escaped() -> None:
    with _app() as client:
        _record(
            client,
            _event(0, actor=HOSTILE, target=HOSTILE, path=f"/npm/{HOSTILE}", client=HOSTILE,
                   method=HOSTILE, format=HOSTILE, action=HOSTILE),
        )  # fmt: skip
        page = _page(client, "/ui/activity").text
        assert HOSTILE not in page
        assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 7
        filtered = _page(client, "/ui/activity", params={"actor": HOSTILE}).text
        assert HOSTILE not in filtered
        assert len(_rows(filtered)) == 1
        assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in filtered
        link = _next(filtered) or ""
        assert "<" not in link


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"since": "2026-02-30"},
        {"until": "2026-03-01T25:00"},
        {"until": "2026-03-01 10:00"},
        {"since": "0001-01-01"},
        {"since": "2026-03-02", "until": "2026-03-01"},
        {"action": "drop table"},
        {"format": "nope"},
        {"format": HOSTILE},
        {"cursor": "activity/../../etc"},
        {"cursor": "tokens/abc"},
        {"cursor": "x" * 5000},
        {"actor": "a\x00b"},
        {"actor": "a" * 201},
    ],
)
def test_bad_query_parameters_are_400_pages(params: dict[str, str]) -> None:
    with _app() as client:
        response = client.get("/ui/activity", params=params)
        assert response.status_code == 400, (params, response.text[:300])
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["content-security-policy"] == CSP
        assert HOSTILE not in response.text


def test_the_route_is_not_the_format_catch_all() -> None:
    with _app() as client:
        handlers = [
            handler
            for route in client.app.routes
            if route.path == "/ui/activity"
            for handler in getattr(route, "route_handlers", ())
        ]
        assert handlers
        assert {h.fn.__qualname__ for h in handlers if "GET" in h.http_methods} == {
            "ActivityController.activity"
        }
        page = _page(client, "/ui/activity").text
        assert '<form class="filters"' in page
        assert "no format" not in page
        assert '<a href="/ui/activity" aria-current="page">Activity</a>' in page
        # the other pages still reach the catch-all
        assert client.get("/ui/activityx").status_code == 404
        overview = _page(client, "/ui/").text
        assert '<a href="/ui/activity">All activity</a>' in overview
        assert '<a href="/ui/activity">Activity</a>' in overview  # everyone is admin: auth off


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    htpasswd = tmp_path_factory.mktemp("users") / "htpasswd"
    htpasswd.write_text(
        f"admin:{hash_password('secret', rounds=4)}\nwriter:{hash_password('pen', rounds=4)}\n"
    )
    settings = Settings(
        storage_mode="memory",
        metadata_url="memory://",
        auth_enabled=True,
        auth_htpasswd_file=str(htpasswd),
        auth_admin_users="admin",
        auth_login_rate="",
    )
    with _app(settings) as client:
        _record(client, _event(0, actor="alice", target="secret-package"))
        yield client


def _bearer(client: Any, role: Role, *scopes: str) -> dict[str, str]:
    tokens = client.app.state["container"].auth.tokens()

    async def run() -> Any:
        return await tokens.create("admin", role, scopes=[Scope.parse(s) for s in scopes])

    secret, _ = client.blocking_portal.call(run)
    return {"authorization": f"Bearer {secret}"}


def test_anonymous_is_sent_to_the_login_form(secured: Any) -> None:
    response = secured.get("/ui/activity", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/login?next=%2Fui%2Factivity"
    assert "www-authenticate" not in response.headers
    assert "secret-package" not in response.text


def test_a_writer_is_refused_with_an_html_403(secured: Any) -> None:
    response = secured.get("/ui/activity", auth=("writer", "pen"))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    assert "secret-package" not in response.text
    assert "/ui/activity" not in response.text  # no nav item on the refusal either
    overview = _page(secured, "/ui/", auth=("writer", "pen")).text
    assert "/ui/activity" not in overview


def test_an_admin_sees_the_trail(secured: Any) -> None:
    page = _page(secured, "/ui/activity", auth=("admin", "secret")).text
    assert "secret-package" in [row[4] for row in _rows(page)]
    assert 'aria-current="page">Activity</a>' in page
    overview = _page(secured, "/ui/", auth=("admin", "secret")).text
    assert '<a href="/ui/activity">Activity</a>' in overview
    assert "All activity" in overview
    unscoped = _page(secured, "/ui/activity", headers=_bearer(secured, Role.ADMIN)).text
    assert "secret-package" in unscoped


def test_an_admin_token_with_scopes_is_refused(secured: Any) -> None:
    headers = _bearer(secured, Role.ADMIN, "npm:*")
    response = secured.get("/ui/activity", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "secret-package" not in response.text
    overview = _page(secured, "/ui/", headers=headers).text
    assert "/ui/activity" not in overview
    writer_token = _bearer(secured, Role.WRITE)
    assert secured.get("/ui/activity", headers=writer_token).status_code == 403
