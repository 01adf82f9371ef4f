"""OCI access boundaries with access control on, against the real server: a blob of a
repository the caller cannot read never reaches one it can push to (mount, manifest
reference, skopeo's mount attempts), the catalog lists only readable repositories with
correct pages, and manifests must describe what is stored (sizes, digests, nesting)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.auth_support import USERS, auth_env, basic, create_token
from tests.e2e.oci_support import OCI_INDEX, OCI_MANIFEST, build_layout, layout_manifest, sha256
from tests.e2e.oci_support import push_blob as oci_push_blob
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e

ADMIN = basic("alice", USERS["alice"])
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
FOREIGN_TYPE = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("security-oci")
    with NoraProcess(root / "data", env=auth_env(root)) as process:
        yield process


@pytest.fixture(scope="module")
def team_token(server: NoraProcess) -> str:
    """bob's write token, scoped to team/*."""
    return create_token(server, "bob", "write", "docker:team/*")


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layout(tmp_path_factory.mktemp("layout"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["code"])


def push_blob(server: NoraProcess, name: str, data: bytes, headers: dict[str, str]) -> str:
    return oci_push_blob(server.url, name, data, headers)


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def image(config: dict[str, Any], *layers: dict[str, Any]) -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": list(layers)}


def put_manifest(
    server: NoraProcess,
    name: str,
    reference: str,
    body: bytes,
    headers: dict[str, str],
    media_type: str = OCI_MANIFEST,
) -> httpx.Response:
    return httpx.put(
        f"{server.url}/v2/{name}/manifests/{reference}",
        content=body,
        headers={**headers, "Content-Type": media_type},
        timeout=30,
    )


def start_mount(
    server: NoraProcess, name: str, digest: str, source: str, headers: dict[str, str]
) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v2/{name}/blobs/uploads/",
        params={"mount": digest, "from": source},
        headers=headers,
    )


def catalog_pages(
    server: NoraProcess, headers: dict[str, str], n: int | None = None
) -> list[list[str]]:
    """Every page of the catalog, following the Link headers."""
    url = f"{server.url}/v2/_catalog" + (f"?n={n}" if n is not None else "")
    pages: list[list[str]] = []
    for _ in range(100):
        response = httpx.get(url, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(response.json()["repositories"])
        link = response.headers.get("link")
        if link is None:
            return pages
        assert link.endswith('>; rel="next"')
        url = server.url + link[1 : link.index(">")]
    raise AssertionError("the catalog's Link headers never end")


def access_log(server: NoraProcess) -> list[dict[str, Any]]:
    lines = [line for line in server.log().splitlines() if '"logger":"nora.access"' in line]
    return [json.loads(line) for line in lines]


# --- mounts and references across repositories ----------------------------------------


def test_mount_from_an_unreadable_repository_starts_a_plain_upload(
    server: NoraProcess, team_token: str
) -> None:
    secret = os.urandom(256)
    digest = push_blob(server, "secret/vault", secret, ADMIN)
    team = bearer(team_token)
    assert (
        httpx.get(f"{server.url}/v2/secret/vault/blobs/{digest}", headers=team).status_code == 403
    )

    def shape(response: httpx.Response) -> tuple[int, frozenset[str], bytes]:
        volatile = {"date", "location", "docker-upload-uuid"}
        return response.status_code, frozenset(response.headers) - volatile, response.content

    absent = sha256(os.urandom(16))
    answers = [
        start_mount(server, "team/app", digest, "secret/vault", team),  # there, unreadable
        start_mount(server, "team/app", absent, "secret/vault", team),  # not there
        start_mount(server, "team/app", digest, "secret/never-pushed", team),
        start_mount(server, "team/app", digest, "team/empty", team),  # readable, lacks it
    ]
    for answer in answers:
        assert answer.status_code == 202, answer.text
        assert answer.headers["location"].startswith("/v2/team/app/blobs/uploads/")
        assert "docker-content-digest" not in answer.headers
        assert shape(answer) == shape(answers[1])  # nothing tells the cases apart
        cancelled = httpx.delete(server.url + answer.headers["location"], headers=team)
        assert cancelled.status_code == 204

    # the same with a session token from the token endpoint that asked for the source too
    session = httpx.get(
        f"{server.url}/auth/token",
        params=[
            ("service", "nora"),
            ("scope", "repository:team/app:pull,push"),
            ("scope", "repository:secret/vault:pull"),
        ],
        headers=basic("bob", team_token),
    )
    assert session.status_code == 200
    via_session = start_mount(
        server, "team/app", digest, "secret/vault", bearer(session.json()["token"])
    )
    assert via_session.status_code == 202
    httpx.delete(server.url + via_session.headers["location"], headers=team)

    for method in ("HEAD", "GET"):
        served = httpx.request(method, f"{server.url}/v2/team/app/blobs/{digest}", headers=team)
        assert served.status_code == 404
    assert code(httpx.get(f"{server.url}/v2/team/app/blobs/{digest}", headers=team)) == (
        "BLOB_UNKNOWN"
    )

    # a manifest naming the digest does not link it either
    config = push_blob(server, "team/app", b"{}", team)
    doc = image(
        {"mediaType": CONFIG_TYPE, "digest": config, "size": 2},
        descriptor(LAYER_TYPE, secret),
    )
    refused = put_manifest(server, "team/app", "stolen", json.dumps(doc).encode(), team)
    assert (refused.status_code, code(refused)) == (400, "MANIFEST_BLOB_UNKNOWN")
    assert httpx.get(f"{server.url}/v2/team/app/manifests/stolen", headers=team).status_code == 404
    assert httpx.head(f"{server.url}/v2/team/app/blobs/{digest}", headers=team).status_code == 404

    # a readable source mounts
    shared = os.urandom(128)
    shared_digest = push_blob(server, "team/src", shared, ADMIN)
    mounted = start_mount(server, "team/app", shared_digest, "team/src", team)
    assert mounted.status_code == 201
    assert mounted.headers["location"] == f"/v2/team/app/blobs/{shared_digest}"
    assert httpx.get(server.url + mounted.headers["location"], headers=team).content == shared

    # whoever holds the bytes may upload them: then, and only then, team/app serves them
    push_blob(server, "team/app", secret, team)
    served = httpx.get(f"{server.url}/v2/team/app/blobs/{digest}", headers=team)
    assert (served.status_code, served.content) == (200, secret)


def _skopeo_debug(cwd: Path, *args: str) -> str:
    """Run skopeo --debug with an isolated auth file; returns its debug output."""
    (cwd / "auth.json").write_text("{}")
    env = {**os.environ, "REGISTRY_AUTH_FILE": str(cwd / "auth.json")}
    result = subprocess.run(
        ["skopeo", "--debug", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stderr


def test_skopeo_copy_does_not_mount_from_an_unreadable_repository(
    server: NoraProcess, team_token: str, layout: Path, tmp_path: Path
) -> None:
    host = f"127.0.0.1:{server.port}"
    admin = f"alice:{USERS['alice']}"
    team = f"__token__:{team_token}"
    # the admin's push puts secret/img in skopeo's blob-info cache as a place holding these
    # layers, so the next copy of the same image to this registry tries to reuse them
    _skopeo_debug(
        tmp_path, "copy", "--dest-tls-verify=false", "--dest-creds", admin,
        f"oci:{layout}:v1", f"docker://{host}/secret/img:v1",
    )  # fmt: skip
    before = len(access_log(server))
    debug = _skopeo_debug(
        tmp_path, "copy", "--dest-tls-verify=false", "--dest-creds", team,
        f"oci:{layout}:v1", f"docker://{host}/team/img:v1",
    )  # fmt: skip
    assert f"in {host}/secret/img" in debug, "skopeo should have tried the cached location"
    log = access_log(server)[before:]  # what bob's copy asked
    probes = [r for r in log if r["path"].startswith("/v2/secret/img/blobs/")]
    assert probes
    assert all(r["status"] == 403 for r in probes if r["method"] == "HEAD")
    starts = [
        r
        for r in log
        if r["method"] == "POST" and r["path"].rstrip("/") == "/v2/team/img/blobs/uploads"
    ]
    assert starts
    assert all(r["status"] == 202 for r in starts), "nothing may be mounted"

    _, local = layout_manifest(layout, "v1")
    for blob in (local["config"], *local["layers"]):
        head = httpx.head(
            f"{server.url}/v2/team/img/blobs/{blob['digest']}", headers=bearer(team_token)
        )
        assert head.status_code == 200  # uploaded by bob's copy, not mounted
        assert int(head.headers["content-length"]) == blob["size"]

    # a source the token may read is mounted (the session token names both repositories)
    _skopeo_debug(
        tmp_path, "copy", "--dest-tls-verify=false", "--dest-creds", admin,
        f"oci:{layout}:arm", f"docker://{host}/team/base:v1",
    )  # fmt: skip
    _skopeo_debug(
        tmp_path, "copy", "--dest-tls-verify=false", "--dest-creds", team,
        f"oci:{layout}:arm", f"docker://{host}/team/derived:v1",
    )  # fmt: skip
    mounts = [
        r
        for r in access_log(server)
        if r["method"] == "POST"
        and r["path"].rstrip("/") == "/v2/team/derived/blobs/uploads"
        and r["status"] == 201
    ]
    if not mounts:
        # skopeo ranks the places its blob-info cache (shared by every skopeo run on the
        # machine) knows for a layer by its own rules, and now and then uploads instead of
        # trying one: ask for the mount it would have made, with the same token
        _, arm = layout_manifest(layout, "arm")
        digest = arm["layers"][0]["digest"]
        answer = httpx.post(
            f"{server.url}/v2/team/derived-again/blobs/uploads/",
            params={"mount": digest, "from": "team/base"},
            headers=bearer(team_token),
        )
        assert answer.status_code == 201, answer.text


# --- the catalog ----------------------------------------------------------------------


def test_catalog_lists_only_readable_repositories(
    server: NoraProcess, team_token: str, tmp_path: Path
) -> None:
    for name in (
        *(f"team/cat{i}" for i in range(5)),
        *(f"secret/cat{i}" for i in range(4)),
        "alpha/first",
        "zulu/last",
        "team-lookalike/x",
    ):
        push_blob(server, name, name.encode(), ADMIN)
    everything = [name for page in catalog_pages(server, ADMIN) for name in page]
    assert "secret/cat0" in everything
    assert "zulu/last" in everything
    team_repos = [name for name in everything if name.startswith("team/")]
    assert len(team_repos) >= 5

    scoped = create_token(server, "carol", "read", "docker:secret/*")
    for headers, expected in (
        (bearer(team_token), team_repos),
        (basic("bob", team_token), team_repos),
        (bearer(scoped), [name for name in everything if name.startswith("secret/")]),
    ):
        assert catalog_pages(server, headers) == [expected]
        for n in (1, 2, 3, len(expected), len(expected) + 1):
            pages = catalog_pages(server, headers, n)
            assert [name for page in pages for name in page] == expected
            assert all(len(page) == n for page in pages[:-1]), pages  # full until the end
            assert 1 <= len(pages[-1]) <= n

    # a session token lists what the credential it was issued to may read, whatever
    # repositories it was granted: a password sees everything, a scoped token its scopes
    def session_catalog(headers: dict[str, str], *scope: str) -> list[list[str]]:
        params = [("service", "nora"), *(("scope", s) for s in scope)]
        session = httpx.get(f"{server.url}/auth/token", params=params, headers=headers)
        assert session.status_code == 200
        return catalog_pages(server, bearer(session.json()["token"]))

    assert session_catalog(basic("bob", USERS["bob"])) == [everything]
    assert session_catalog(basic("bob", team_token)) == [team_repos]
    assert session_catalog(basic("bob", team_token), "repository:team/cat3:pull") == [team_repos]
    assert session_catalog(basic("bob", team_token), "registry:catalog:*") == [team_repos]
    assert httpx.get(f"{server.url}/v2/_catalog").status_code == 401

    # podman search lists the catalog (it asks the token endpoint for no scope at all)
    storage = Path(tempfile.mkdtemp(prefix="nora-pod-", dir="/tmp"))
    try:
        auth = tmp_path / "podman-auth.json"
        base = ["podman", "--root", str(storage / "r"), "--runroot", str(storage / "rr")]
        base += ["--storage-driver", "vfs"]
        env = {**os.environ, "REGISTRY_AUTH_FILE": str(auth)}
        host = f"127.0.0.1:{server.port}"

        def podman(*args: str) -> str:
            result = subprocess.run(
                [*base, *args], env=env, capture_output=True, text=True, timeout=120, check=False
            )
            assert result.returncode == 0, result.stderr
            return result.stdout

        podman("login", "--tls-verify=false", "-u", "__token__", "-p", team_token, host)
        found = podman("search", "--tls-verify=false", "--format", "{{.Name}}", f"{host}/")
        assert "secret" not in found
        assert "team/cat3" in found
    finally:
        subprocess.run(["rm", "-rf", str(storage)], check=False)
    searched = [r for r in access_log(server) if r["path"] == "/v2/_catalog"]
    assert searched
    assert searched[-1]["status"] == 200


# --- manifests describe what is stored ------------------------------------------------


def test_manifests_must_describe_what_is_stored(server: NoraProcess, team_token: str) -> None:
    name = "team/strict"
    team = bearer(team_token)
    layer = os.urandom(300)
    push_blob(server, name, layer, team)
    push_blob(server, name, b"{}", team)
    config = descriptor(CONFIG_TYPE, b"{}")
    good_layer = descriptor(LAYER_TYPE, layer)
    secret = os.urandom(64)
    push_blob(server, "secret/strict", secret, ADMIN)
    child = json.dumps(image(config, good_layer)).encode()
    assert put_manifest(server, name, "child", child, team).status_code == 201
    child_entry = {"mediaType": OCI_MANIFEST, "digest": sha256(child), "size": len(child)}

    def index(*entries: dict[str, Any]) -> bytes:
        doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(entries)}
        return json.dumps(doc).encode()

    def with_layer(**changes: Any) -> bytes:
        return json.dumps(image(config, {**good_layer, **changes})).encode()

    def with_config(**changes: Any) -> bytes:
        return json.dumps(image({**config, **changes}, good_layer)).encode()

    def naming(data: bytes, media_type: str = LAYER_TYPE, **extra: Any) -> bytes:
        return json.dumps(image(config, descriptor(media_type, data, **extra))).encode()

    deep = ('{"a":' * 1000 + "1" + "}" * 1000).encode()  # 6 KB, 1,000 levels
    deeper = with_layer()[:-1] + b',"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    invalid, unknown = "MANIFEST_INVALID", "MANIFEST_BLOB_UNKNOWN"
    cases: dict[str, tuple[bytes, str]] = {
        "layer size + 1": (with_layer(size=len(layer) + 1), invalid),
        "layer size - 1": (with_layer(size=len(layer) - 1), invalid),
        "config size + 1": (with_config(size=3), invalid),
        "size 2^63": (with_layer(size=2**63), invalid),
        "size 2^63 - 1": (with_layer(size=2**63 - 1), invalid),
        "negative size": (with_layer(size=-1), invalid),
        "size 10^30": (with_layer(size=10**30), invalid),
        "fractional size": (with_layer(size=300.5), invalid),
        "malformed digest": (with_layer(digest="sha256:xyz"), invalid),
        "upper-case digest": (with_layer(digest=good_layer["digest"].upper()), invalid),
        "blob never pushed": (naming(os.urandom(9)), unknown),
        "blob of another repository": (naming(secret), unknown),
        "foreign layer url": (naming(b"x", FOREIGN_TYPE, urls=["ftp://h/x"]), invalid),
        "1,000 deep": (deep, invalid),
        "100,000 deep": (deeper, invalid),
        "index child size + 1": (index({**child_entry, "size": len(child) + 1}), invalid),
        "index child size 2^63": (index({**child_entry, "size": 2**63}), invalid),
    }
    for number, (label, (body, expected)) in enumerate(cases.items()):
        media_type = OCI_INDEX if label.startswith("index") else OCI_MANIFEST
        tag = f"bad{number}"
        for reference in (tag, sha256(body)):
            refused = put_manifest(server, name, reference, body, team, media_type)
            assert (refused.status_code, code(refused)) == (400, expected), (label, refused.text)
            gone = httpx.get(f"{server.url}/v2/{name}/manifests/{reference}", headers=team)
            assert (gone.status_code, code(gone)) == (404, "MANIFEST_UNKNOWN"), label

    # what is true is stored: the real sizes, a foreign layer that lives at its urls
    foreign = descriptor(FOREIGN_TYPE, os.urandom(10), urls=["https://mirror.invalid/base.tgz"])
    good = json.dumps(image(config, good_layer, foreign)).encode()
    assert put_manifest(server, name, "good", good, team).status_code == 201
    assert (
        put_manifest(server, name, "multi", index(child_entry), team, OCI_INDEX).status_code == 201
    )
    tags = httpx.get(f"{server.url}/v2/{name}/tags/list", headers=team).json()["tags"]
    assert tags == ["child", "good", "multi"]
    assert all(r["status"] < 500 for r in access_log(server))
