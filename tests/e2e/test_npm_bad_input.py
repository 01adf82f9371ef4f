"""Bad publishes and unpublishes: npm's error shape and status, and nothing left behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.server import NoraProcess
from tests.unit.npm.bodies import publish_body

pytestmark = pytest.mark.e2e


def _blob_files(nora: NoraProcess) -> set[Path]:
    """Every stored or staged byte (blobs live under objects/, staging under uploads/)."""
    areas = ("objects", "uploads", "tmp")
    return {p for area in areas for p in (nora.data_dir / area).rglob("*") if p.is_file()}


def _put(nora: NoraProcess, name: str, body: Any) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.put(
        f"{nora.url}/npm/{name.replace('/', '%2f')}",
        content=data,
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
    )


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("corrupt-base64", {"data": "!!!not base64!!!"}),
        ("wrong-length", {"length": 1}),
        ("sha512-mismatch", {"integrity": "sha512-" + "A" * 86 + "=="}),
        ("sha1-mismatch", {"shasum": "0" * 40}),
        ("no-integrity", {"integrity": "", "shasum": ""}),
    ],
)
def test_corrupt_attachments_store_nothing(
    nora: NoraProcess, case: str, change: dict[str, Any]
) -> None:
    name = f"bad-{case}"
    before = _blob_files(nora)
    response = _put(
        nora, name, publish_body(name, "1.0.0", b"tarball bytes " + case.encode(), **change)
    )
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)
    assert httpx.get(f"{nora.url}/npm/{name}").status_code == 404
    assert _blob_files(nora) == before


@pytest.mark.parametrize(
    "name", ["UpperCase", ".dot", "_under", "node_modules", "a%20b", "@scope%2f.x", "x" * 215]
)
def test_invalid_names_are_refused(nora: NoraProcess, name: str) -> None:
    before = _blob_files(nora)
    response = _put(nora, name, publish_body(name, "1.0.0"))
    assert response.status_code == 400
    assert "error" in response.json()
    assert _blob_files(nora) == before


def test_malformed_documents(nora: NoraProcess) -> None:
    for body in (
        b"",
        b"{",
        b"[]",
        b'{"versions": 3}',
        json.dumps({"_attachments": {"a": 1}}).encode(),
    ):
        response = _put(nora, "bad-doc", body)
        assert response.status_code == 400, body
        assert "error" in response.json()
    body = publish_body("bad-mismatch", "1.0.0")
    assert _put(nora, "other-name", body).status_code == 400
    assert _put(nora, "bad-version", publish_body("bad-version", "1.0")).status_code == 400


def test_republishing_a_version_fails_like_the_public_registry(
    nora: NoraProcess, tmp_path: Path
) -> None:
    npm = NpmClient(nora.url + "/npm/", tmp_path / "home")
    npm.run("publish", cwd=make_package(tmp_path, "bad-republish", "1.0.0", body="first"))
    first = httpx.get(f"{nora.url}/npm/bad-republish").json()
    result = npm.run(
        "publish",
        cwd=make_package(tmp_path / "b", "bad-republish", "1.0.0", body="second"),
        check=False,
    )
    assert result.returncode != 0
    assert "previously published" in result.stderr  # npm checks the packument first
    response = _put(nora, "bad-republish", publish_body("bad-republish", "1.0.0", b"second"))
    assert response.status_code == 403  # what the public registry answers, npm's E403
    assert "previously published" in response.json()["error"]
    after = httpx.get(f"{nora.url}/npm/bad-republish").json()
    assert after["versions"]["1.0.0"]["dist"] == first["versions"]["1.0.0"]["dist"]


def test_unpublishing_what_does_not_exist(nora: NoraProcess, tmp_path: Path) -> None:
    npm = NpmClient(nora.url + "/npm/", tmp_path / "home")
    result = npm.run("unpublish", "bad-never-there", "--force", check=False)
    assert result.returncode != 0
    assert "E404" in result.stderr
    for method, path in (
        ("DELETE", "/npm/bad-never-there/-rev/1-abc"),
        ("DELETE", "/npm/bad-never-there/-/bad-never-there-1.0.0.tgz/-rev/1-abc"),
        ("DELETE", "/npm/-/package/bad-never-there/dist-tags/beta"),
        ("GET", "/npm/bad-never-there/-/bad-never-there-1.0.0.tgz"),
        ("GET", "/npm/bad-never-there/1.0.0"),
    ):
        response = httpx.request(method, nora.url + path)
        assert response.status_code == 404, path
        assert "error" in response.json()


def test_stale_revision_is_a_conflict(nora: NoraProcess) -> None:
    assert _put(nora, "bad-rev", publish_body("bad-rev", "1.0.0")).status_code == 201
    document = httpx.get(f"{nora.url}/npm/bad-rev?write=true").json()
    stale = document["_rev"]
    assert _put(nora, "bad-rev", publish_body("bad-rev", "1.0.1", b"other")).status_code == 201
    response = httpx.delete(f"{nora.url}/npm/bad-rev/-rev/{stale}")
    assert response.status_code == 409
    assert httpx.get(f"{nora.url}/npm/bad-rev").status_code == 200


def test_dist_tag_edits_are_validated(nora: NoraProcess) -> None:
    assert _put(nora, "bad-tags", publish_body("bad-tags", "1.0.0")).status_code == 201
    base = f"{nora.url}/npm/-/package/bad-tags/dist-tags"
    assert httpx.put(base + "/next", content=b'"9.9.9"').status_code == 404
    assert httpx.put(base + "/next", content=b"not json").status_code == 400
    assert httpx.put(base + "/1.2.3", content=b'"1.0.0"').status_code == 400
    assert httpx.delete(base + "/latest").status_code == 400
    assert httpx.get(base).json() == {"latest": "1.0.0"}
