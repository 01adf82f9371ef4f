"""Access control with real OCI clients: skopeo and podman log in, push and pull."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.auth_support import USERS, auth_env, basic, create_token
from tests.e2e.oci_support import build_layout, layout_manifest, skopeo
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("auth-oci")
    with NoraProcess(root / "data", env=auth_env(root)) as process:
        yield process


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layout(tmp_path_factory.mktemp("layout"))


def _ref(server: NoraProcess, name: str) -> str:
    return f"docker://127.0.0.1:{server.port}/{name}"


def _fails(cwd: Path, *args: str) -> str:
    try:
        skopeo(cwd, *args)
    except AssertionError as exc:
        return str(exc)
    raise AssertionError(f"skopeo {' '.join(args)} should have failed")


def test_challenge_is_bearer_with_realm_and_scope(server: NoraProcess) -> None:
    response = httpx.get(server.url + "/v2/team/app/manifests/v1")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(f'Bearer realm="{server.url}/auth/token"')
    assert 'service="nora"' in challenge
    assert 'scope="repository:team/app:pull"' in challenge
    upload = httpx.post(server.url + "/v2/team/app/blobs/uploads/")
    assert 'scope="repository:team/app:pull,push"' in upload.headers["www-authenticate"]


def test_login_push_and_pull(server: NoraProcess, layout: Path, tmp_path: Path) -> None:
    host = f"127.0.0.1:{server.port}"
    skopeo(tmp_path, "login", "--tls-verify=false", "-u", "bob", "-p", USERS["bob"], host)
    assert host in json.loads((tmp_path / "auth.json").read_text())["auths"]
    digest, _ = layout_manifest(layout, "v1")
    skopeo(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        f"oci:{layout}:v1",
        _ref(server, "team/app") + ":v1",
    )
    skopeo(
        tmp_path,
        "copy",
        "--src-tls-verify=false",
        _ref(server, "team/app") + ":v1",
        f"oci:{tmp_path}/out:v1",
    )
    assert layout_manifest(tmp_path / "out", "v1")[0] == digest
    tags = json.loads(skopeo(tmp_path, "list-tags", "--tls-verify=false", _ref(server, "team/app")))
    assert tags["Tags"] == ["v1"]


def test_no_credentials_no_access(server: NoraProcess, layout: Path, tmp_path: Path) -> None:
    error = _fails(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        f"oci:{layout}:v1",
        _ref(server, "anon/app") + ":v1",
    )
    assert "unauthorized" in error.lower() or "authentication required" in error.lower()
    error = _fails(tmp_path, "inspect", "--tls-verify=false", _ref(server, "team/app") + ":v1")
    assert "unauthorized" in error.lower() or "authentication required" in error.lower()


def test_wrong_password_is_refused(server: NoraProcess, tmp_path: Path) -> None:
    host = f"127.0.0.1:{server.port}"
    error = _fails(tmp_path, "login", "--tls-verify=false", "-u", "bob", "-p", "not-his", host)
    assert "invalid username/password" in error


def test_read_only_token_pulls_but_cannot_push(
    server: NoraProcess, layout: Path, tmp_path: Path
) -> None:
    token = create_token(server, "carol", "read")
    creds = f"carol:{token}"
    skopeo(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"bob:{USERS['bob']}",
        f"oci:{layout}:arm",
        _ref(server, "team/ro") + ":arm",
    )
    skopeo(
        tmp_path,
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        creds,
        _ref(server, "team/ro") + ":arm",
        f"oci:{tmp_path}/ro:arm",
    )
    error = _fails(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds,
        f"oci:{layout}:arm",
        _ref(server, "team/ro") + ":other",
    )
    assert "denied" in error.lower() or "unauthorized" in error.lower() or "403" in error
    tags = httpx.get(
        server.url + "/v2/team/ro/tags/list", headers=basic("bob", USERS["bob"])
    ).json()
    assert tags["tags"] == ["arm"]


def test_scoped_token_stays_in_its_repositories(
    server: NoraProcess, layout: Path, tmp_path: Path
) -> None:
    token = create_token(server, "bob", "write", "docker:scoped/*")
    creds = f"__token__:{token}"
    skopeo(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds,
        f"oci:{layout}:arm",
        _ref(server, "scoped/inside") + ":1",
    )
    error = _fails(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds,
        f"oci:{layout}:arm",
        _ref(server, "elsewhere/outside") + ":1",
    )
    assert "denied" in error.lower() or "unauthorized" in error.lower() or "403" in error
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(server.url + "/v2/scoped/inside/tags/list", headers=bearer).status_code == 200
    refused = httpx.get(server.url + "/v2/elsewhere/outside/tags/list", headers=bearer)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "DENIED"


def test_token_endpoint_grants_only_what_the_caller_may(server: NoraProcess) -> None:
    reader = create_token(server, "carol", "read")
    answer = httpx.get(
        server.url + "/auth/token",
        params={"service": "nora", "scope": "repository:team/app:pull,push"},
        headers=basic("carol", reader),
    )
    assert answer.status_code == 200
    session = answer.json()["token"]
    assert answer.json()["access_token"] == session
    assert answer.json()["expires_in"] > 0
    bearer = {"Authorization": f"Bearer {session}"}
    assert httpx.get(server.url + "/v2/team/app/tags/list", headers=bearer).status_code == 200
    push = httpx.post(server.url + "/v2/team/app/blobs/uploads/", headers=bearer)
    assert push.status_code == 403
    other = httpx.get(server.url + "/v2/team/ro/tags/list", headers=bearer)
    assert other.status_code == 403
    wrong = httpx.get(
        server.url + "/auth/token",
        params={"scope": "repository:x:pull"},
        headers=basic("bob", "nope"),
    )
    assert wrong.status_code == 401
    assert httpx.get(server.url + "/auth/token").status_code == 401


def test_podman_login_push_pull(server: NoraProcess, layout: Path, tmp_path: Path) -> None:
    storage = Path(subprocess.check_output(["mktemp", "-d", "/tmp/pmXXXX"], text=True).strip())
    base = [
        "podman",
        "--root",
        str(storage / "r"),
        "--runroot",
        str(storage / "rr"),
        "--storage-driver",
        "vfs",
    ]
    env = {
        "REGISTRY_AUTH_FILE": str(tmp_path / "podman-auth.json"),
        "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
    }
    host = f"127.0.0.1:{server.port}"

    def podman(*args: str) -> None:
        result = subprocess.run(
            [*base, *args], env=env, capture_output=True, text=True, timeout=180, check=False
        )
        assert result.returncode == 0, result.stderr

    try:
        podman("login", "--tls-verify=false", "-u", "bob", "-p", USERS["bob"], host)
        podman("pull", "--tls-verify=false", f"{host}/team/app:v1")
        podman("tag", f"{host}/team/app:v1", f"{host}/team/podman:copy")
        podman("push", "--tls-verify=false", f"{host}/team/podman:copy")
    finally:
        subprocess.run(["rm", "-rf", str(storage)], check=False)
    tags = httpx.get(
        server.url + "/v2/team/podman/tags/list", headers=basic("bob", USERS["bob"])
    ).json()
    assert tags["tags"] == ["copy"]
