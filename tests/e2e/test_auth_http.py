"""Access control over raw HTTP: bad credentials of every kind, brute force, the trail.

Bad credentials get 401/403/429 in each format's own shape with its challenge,
never a 500; anonymous reads follow the switches; every write and every denial
lands in /api/activity; no secret ever reaches the log.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.auth_support import USERS, api_token, auth_env, basic, create_token
from tests.e2e.oci_support import push_blob
from tests.e2e.server import NoraProcess
from tests.redis_server import redis_server

pytestmark = pytest.mark.e2e

PROBES = {
    "docker": "/v2/team/app/tags/list",
    "npm": "/npm/some-package",
    "api": "/api/tokens",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("auth-http")
    with NoraProcess(root / "data", env=auth_env(root)) as process:
        yield process


def _shape_ok(fmt: str, response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    if fmt == "docker":
        code = {401: "UNAUTHORIZED", 403: "DENIED", 429: "TOOMANYREQUESTS"}[status]
        assert response.json()["errors"][0]["code"] == code
    elif fmt == "npm":
        assert set(response.json()) == {"error"}
    elif fmt == "pypi":
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text
    else:
        assert "error" in response.json()
    if status == 401:
        assert "www-authenticate" in response.headers


BAD_HEADERS = [
    "Basic !!!not-base64!!!",
    "Basic " + base64.b64encode(b"no-colon-here").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
    "Basic " + base64.b64encode(b"bob:wrong").decode(),
    "Basic " + base64.b64encode(b"nobody:builder").decode(),
    "Bearer nora_0123456789abcdef_" + "A" * 43,
    "Bearer nts.e30.AAAA",
    "Bearer " + "x" * 200,
    "Digest username=bob",
    "Basic " + "A" * 20000,
]


@pytest.mark.parametrize("fmt", sorted(PROBES))
@pytest.mark.parametrize("header", BAD_HEADERS, ids=range(len(BAD_HEADERS)))
def test_bad_credentials_are_401_in_the_format_shape(
    server: NoraProcess, fmt: str, header: str
) -> None:
    response = httpx.get(server.url + PROBES[fmt], headers={"Authorization": header})
    _shape_ok(fmt, response, 401)


def test_unknown_expired_and_revoked_tokens(server: NoraProcess) -> None:
    secret = api_token(server, "carol", "read")
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(server.url + "/npm/x", headers=headers).status_code == 404
    token_id = secret.split("_")[1]
    admin = basic("alice", USERS["alice"])
    assert httpx.delete(f"{server.url}/api/tokens/{token_id}", headers=admin).status_code == 200
    _shape_ok("npm", httpx.get(server.url + "/npm/x", headers=headers), 401)
    expiring = httpx.post(
        server.url + "/api/tokens",
        json={"role": "read", "expires_in_days": -1},
        headers=basic("carol", USERS["carol"]),
    )
    assert expiring.status_code == 400
    short = httpx.post(
        server.url + "/api/tokens",
        json={"role": "read", "expires_in_days": 2 / 86400},  # two seconds
        headers=basic("carol", USERS["carol"]),
    ).json()["token"]
    bearer = {"Authorization": f"Bearer {short}"}
    assert httpx.get(server.url + "/npm/x", headers=bearer).status_code == 404  # valid, cached
    time.sleep(2.5)
    _shape_ok("npm", httpx.get(server.url + "/npm/x", headers=bearer), 401)  # expired, cache too


def test_roles_and_token_management_rules(server: NoraProcess) -> None:
    carol = basic("carol", USERS["carol"])
    too_much = httpx.post(server.url + "/api/tokens", json={"role": "admin"}, headers=carol)
    assert too_much.status_code == 403
    for_other = httpx.post(server.url + "/api/tokens", json={"owner": "bob"}, headers=carol)
    assert for_other.status_code == 403
    bad_scope = httpx.post(server.url + "/api/tokens", json={"scopes": ["nope"]}, headers=carol)
    assert bad_scope.status_code == 400
    mine = httpx.get(server.url + "/api/tokens", headers=carol).json()["tokens"]
    assert all(t["owner"] == "carol" for t in mine)
    assert all("secret" not in json.dumps(t) for t in mine)
    assert httpx.get(server.url + "/api/activity", headers=carol).status_code == 403
    reader = create_token(server, "bob", "read")
    push = httpx.post(
        server.url + "/v2/team/app/blobs/uploads/", headers={"Authorization": f"Bearer {reader}"}
    )
    _shape_ok("docker", push, 403)


def test_activity_records_writes_and_denials(server: NoraProcess) -> None:
    bob = basic("bob", USERS["bob"])
    digest = push_blob(server.url, "trail/app", b"layer bytes", bob)
    httpx.get(server.url + "/v2/trail/app/tags/list", headers=basic("bob", "wrong"))
    admin = basic("alice", USERS["alice"])
    events = httpx.get(server.url + "/api/activity", headers=admin, params={"limit": 200}).json()
    writes = [e for e in events["events"] if e["action"] == "write" and e["target"] == "trail/app"]
    assert writes
    assert writes[0]["actor"] == "bob"
    assert writes[0]["format"] == "docker"
    assert writes[0]["client"] == "127.0.0.1"
    denied = [e for e in events["events"] if e["action"] == "denied" and e["target"] == "trail/app"]
    assert denied
    assert denied[0]["status"] == 401
    only_bob = httpx.get(
        server.url + "/api/activity", headers=admin, params={"actor": "bob", "action": "write"}
    ).json()["events"]
    assert only_bob
    assert {e["actor"] for e in only_bob} == {"bob"}
    page = httpx.get(server.url + "/api/activity", headers=admin, params={"limit": 1}).json()
    assert len(page["events"]) == 1
    following = httpx.get(
        server.url + "/api/activity",
        headers=admin,
        params={"limit": 1, "cursor": page["next_cursor"]},
    ).json()
    assert following["events"] != page["events"]
    assert digest.startswith("sha256:")


def test_no_secret_in_the_log(server: NoraProcess) -> None:
    secret = api_token(server, "bob", "write")
    httpx.get(server.url + "/npm/x", headers={"Authorization": f"Bearer {secret}"})
    httpx.get(server.url + "/npm/x?token=" + "s3cr3t-in-query")
    log = server.log()
    assert secret not in log
    assert secret.split("_", 2)[-1] not in log  # the secret part may itself hold "_"
    assert USERS["bob"] not in log
    assert "s3cr3t-in-query" not in log


def test_auth_metrics(server: NoraProcess) -> None:
    httpx.get(server.url + "/npm/x", headers=basic("bob", "wrong"))
    families = {
        f.name: f for f in text_string_to_metric_families(httpx.get(server.url + "/metrics").text)
    }
    failures = {
        (s.labels["format"], s.labels["reason"]): s.value
        for s in families["nora_auth_failures"].samples
        if s.name == "nora_auth_failures_total"
    }
    assert failures[("npm", "unauthenticated")] >= 1


def test_brute_force_is_answered_429_in_every_format(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    server = start_nora(env=auth_env(tmp_path, NORA_AUTH_LOGIN_RATE="5/minute"))
    for _ in range(5):
        assert httpx.get(server.url + "/npm/x", headers=basic("bob", "guess")).status_code == 401
    for fmt, path in PROBES.items():
        response = httpx.get(server.url + path, headers=basic("bob", USERS["bob"]))
        _shape_ok(fmt, response, 429)
        assert 1 <= int(response.headers["retry-after"]) <= 60
    # requests without credentials are not logins: public routes still answer
    assert httpx.get(server.url + "/health").status_code == 200
    metrics = httpx.get(server.url + "/metrics").text
    assert 'nora_rate_limited_total{budget="login",format="npm"}' in metrics


def test_write_rate_limit(start_nora: Callable[..., NoraProcess], tmp_path: Path) -> None:
    server = start_nora(env=auth_env(tmp_path, NORA_AUTH_WRITE_RATE="3/minute"))
    bob = basic("bob", USERS["bob"])
    statuses = [
        httpx.post(server.url + "/v2/limited/app/blobs/uploads/", headers=bob).status_code
        for _ in range(4)
    ]
    assert statuses == [202, 202, 202, 429]
    assert httpx.get(server.url + "/v2/limited/app/tags/list", headers=bob).status_code != 429


def test_anonymous_read_switch(start_nora: Callable[..., NoraProcess], tmp_path: Path) -> None:
    server = start_nora(env=auth_env(tmp_path, NORA_AUTH_ANONYMOUS_READ="true"))
    assert httpx.get(server.url + "/npm/nothing-here").status_code == 404
    assert httpx.get(server.url + "/v2/").status_code == 200
    _shape_ok("npm", httpx.put(server.url + "/npm/nothing-here", json={}), 401)
    _shape_ok("docker", httpx.post(server.url + "/v2/a/blobs/uploads/"), 401)
    assert httpx.get(server.url + "/api/activity").status_code == 401


def test_docker_anonymous_pull_switch(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    server = start_nora(env=auth_env(tmp_path, NORA_AUTH_DOCKER_ANON_PULL="true"))
    assert httpx.get(server.url + "/v2/some/image/tags/list").status_code == 404
    _shape_ok("docker", httpx.post(server.url + "/v2/some/image/blobs/uploads/"), 401)
    _shape_ok("npm", httpx.get(server.url + "/npm/some-package"), 401)
    anonymous_token = httpx.get(
        server.url + "/auth/token", params={"scope": "repository:some/image:pull,push"}
    )
    assert anonymous_token.status_code == 200
    bearer = {"Authorization": f"Bearer {anonymous_token.json()['token']}"}
    assert httpx.get(server.url + "/v2/some/image/tags/list", headers=bearer).status_code == 404
    assert (
        httpx.post(server.url + "/v2/some/image/blobs/uploads/", headers=bearer).status_code == 401
    )


def test_auth_off_by_default(nora: NoraProcess) -> None:
    assert httpx.get(nora.url + "/npm/-/whoami").json() == {"username": "anonymous"}
    assert push_blob(nora.url, "open/app", b"no credentials needed").startswith("sha256:")


def test_replicas_share_the_login_budget_through_redis(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    with redis_server(tmp_path) as url:
        env = auth_env(tmp_path, NORA_AUTH_LOGIN_RATE="4/minute", NORA_AUTH_RATE_LIMIT_STORAGE=url)
        first, second = start_nora(env=env), start_nora(env=env)
        for replica in (first, second, first, second):
            assert (
                httpx.get(replica.url + "/npm/x", headers=basic("bob", "guess")).status_code == 401
            )
        blocked = httpx.get(second.url + "/npm/x", headers=basic("bob", "guess"))
        _shape_ok("npm", blocked, 429)
        first.stop()
        second.stop()


def test_cli_token_commands_are_in_the_trail(server: NoraProcess) -> None:
    import subprocess

    from tests.e2e.server import nora_executable

    token = create_token(server, "carol", "read", "npm:@trail/*")
    token_id = token.split("_")[1]
    listed = subprocess.run(
        [*nora_executable(), "token", "list", "--user", "carol"],
        env=server.env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert token_id in listed
    assert "npm:@trail/*" in listed
    assert token not in listed
    revoked = subprocess.run(
        [*nora_executable(), "token", "revoke", token_id],
        env=server.env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert token_id in revoked.stdout
    admin = basic("alice", USERS["alice"])
    events = httpx.get(
        server.url + "/api/activity",
        headers=admin,
        params={"action": "token.create,token.revoke", "format": "api"},
    ).json()["events"]
    assert [(e["action"], e["target"]) for e in events[:2]] == [
        ("token.revoke", token_id),
        ("token.create", token_id),
    ]
    assert (
        httpx.get(
            server.url + "/npm/@trail%2fx", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )


WRITES = [
    ("docker", "POST", "/v2/ro/app/blobs/uploads/"),
    ("docker", "PATCH", "/v2/ro/app/blobs/uploads/0123456789abcdef0123456789abcdef"),
    ("docker", "PUT", "/v2/ro/app/blobs/uploads/0123456789abcdef0123456789abcdef"),
    ("docker", "PUT", "/v2/ro/app/manifests/v1"),
    ("docker", "DELETE", "/v2/ro/app/manifests/v1"),
    ("docker", "DELETE", "/v2/ro/app/blobs/sha256:" + "0" * 64),
    ("npm", "PUT", "/npm/ro-pkg"),
    ("npm", "PUT", "/npm/-/package/ro-pkg/dist-tags/beta"),
    ("npm", "DELETE", "/npm/-/package/ro-pkg/dist-tags/beta"),
    ("npm", "DELETE", "/npm/ro-pkg/-rev/1"),
    ("npm", "DELETE", "/npm/ro-pkg/-/ro-pkg-1.0.0.tgz/-rev/1"),
    ("pypi", "POST", "/pypi/"),
    ("pypi", "POST", "/pypi/ro-pkg/1.0/yank"),
    ("pypi", "POST", "/pypi/ro-pkg/1.0/unyank"),
    ("pypi", "DELETE", "/pypi/ro-pkg/1.0"),
    ("pypi", "DELETE", "/pypi/ro-pkg/1.0/ro_pkg-1.0-py3-none-any.whl"),
]


@pytest.mark.parametrize(("fmt", "method", "path"), WRITES)
def test_read_only_token_is_refused_on_every_write(
    server: NoraProcess, fmt: str, method: str, path: str
) -> None:
    reader = api_token(server, "carol", "read")
    bearer = {"Authorization": f"Bearer {reader}", "Content-Type": "application/json"}
    response = httpx.request(method, server.url + path, headers=bearer, content=b"{}")
    _shape_ok(fmt, response, 403)
    basic_token = {**basic("__token__", reader), "Content-Type": "application/json"}
    again = httpx.request(method, server.url + path, headers=basic_token, content=b"{}")
    _shape_ok(fmt, again, 403)
