"""If-None-Match as RFC 9110 reads it, wherever NORA serves an ETag, over raw HTTP.

A list of validators, a weak validator and ``*`` all get 304 (weak comparison);
a validator that matches nothing gets the representation. One table of resources
covers every format: OCI manifests (by tag and by digest) and blobs, npm
packuments and tarballs, PyPI pages and files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.oci_support import OCI_MANIFEST, push_blob, push_manifest
from tests.e2e.pypi_support import make_wheel
from tests.e2e.server import NoraProcess
from tests.unit.npm.bodies import publish_body

pytestmark = pytest.mark.e2e

TARBALL = b"\x1f\x8b conditional tarball " + os.urandom(64)


def _seed_oci(nora: NoraProcess) -> dict[str, str]:
    name = "cond/app"
    config = push_blob(nora.url, name, b"{}")
    layer = os.urandom(256)
    layer_digest = push_blob(nora.url, name, layer)
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config,
            "size": 2,
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": layer_digest,
                "size": len(layer),
            }
        ],
    }
    pushed = push_manifest(nora.url, name, "v1", doc)
    assert pushed.status_code == 201, pushed.text
    digest = pushed.headers["docker-content-digest"]
    return {
        "oci manifest by tag": f"/v2/{name}/manifests/v1",
        "oci manifest by digest": f"/v2/{name}/manifests/{digest}",
        "oci blob": f"/v2/{name}/blobs/{layer_digest}",
    }


def _seed_npm(nora: NoraProcess) -> dict[str, str]:
    name = "cond-pkg"
    published = httpx.put(
        f"{nora.url}/npm/{name}",
        content=json.dumps(publish_body(name, "1.0.0", TARBALL)).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert published.status_code == 201, published.text
    return {
        "npm packument": f"/npm/{name}",
        "npm tarball": f"/npm/{name}/-/{name}-1.0.0.tgz",
    }


def _seed_pypi(nora: NoraProcess, tmp_path: Path) -> dict[str, str]:
    wheel = make_wheel(tmp_path, "cond-demo", "1.0")
    data = wheel.read_bytes()
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": "cond-demo",
        "version": "1.0",
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
    }
    uploaded = httpx.post(
        f"{nora.url}/pypi/",
        data=fields,
        files={"content": (wheel.name, data, "application/octet-stream")},
    )
    assert uploaded.status_code == 200, uploaded.text
    return {
        "pypi simple page": "/simple/cond-demo/",
        "pypi file": f"/simple/cond-demo/{wheel.name}",
    }


@pytest.fixture(scope="module")
def resources(nora: NoraProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every kind of resource served with an ETag, seeded once."""
    return {
        **_seed_oci(nora),
        **_seed_npm(nora),
        **_seed_pypi(nora, tmp_path_factory.mktemp("wheels")),
    }


KINDS = (
    "oci manifest by tag",
    "oci manifest by digest",
    "oci blob",
    "npm packument",
    "npm tarball",
    "pypi simple page",
    "pypi file",
)


@pytest.fixture
def http(nora: NoraProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=nora.url, timeout=30) as client:
        yield client


def _etag(http: httpx.Client, path: str) -> str:
    answer = http.get(path)
    assert answer.status_code == 200, answer.text
    etag: str = answer.headers.get("etag", "")
    assert etag, f"{path} is served without an ETag"
    assert etag[0] == etag[-1] == '"', etag
    return etag


@pytest.mark.parametrize("kind", KINDS)
def test_if_none_match(resources: dict[str, str], http: httpx.Client, kind: str) -> None:
    path = resources[kind]
    etag = _etag(http, path)
    for header in (etag, f'"nope", {etag}', f'"nope",{etag} , "other"', f"W/{etag}", "*"):
        answer = http.get(path, headers={"If-None-Match": header})
        assert answer.status_code == 304, (kind, header, answer.status_code)
        assert answer.content == b""
        assert answer.headers["etag"] == etag
    for header in ('"nope"', f'W/"x{etag[1:]}', etag[1:-1], f'"nope", "{etag[2:]}'):
        answer = http.get(path, headers={"If-None-Match": header})
        assert answer.status_code == 200, (kind, header, answer.status_code)
        assert answer.content


@pytest.mark.parametrize("kind", KINDS)
def test_every_if_none_match_line_counts(
    resources: dict[str, str], http: httpx.Client, kind: str
) -> None:
    path = resources[kind]
    etag = _etag(http, path)
    answer = http.get(path, headers=[("If-None-Match", '"nope"'), ("If-None-Match", etag)])
    assert answer.status_code == 304


@pytest.mark.parametrize("kind", ["oci manifest by tag", "oci blob", "pypi simple page"])
def test_head_is_conditional_too(resources: dict[str, str], http: httpx.Client, kind: str) -> None:
    path = resources[kind]
    etag = _etag(http, path)
    assert http.head(path, headers={"If-None-Match": f'"nope", W/{etag}'}).status_code == 304
    assert http.head(path, headers={"If-None-Match": '"nope"'}).status_code == 200


@pytest.mark.parametrize("kind", ["oci blob", "pypi file"])
def test_if_range(resources: dict[str, str], http: httpx.Client, kind: str) -> None:
    """A Range is honoured only for the representation the client holds (strong match)."""
    path = resources[kind]
    whole = http.get(path)
    etag = whole.headers["etag"]
    same = http.get(path, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert (same.status_code, same.content) == (206, whole.content[:10])
    for other in ('"other"', f"W/{etag}"):
        changed = http.get(path, headers={"Range": "bytes=0-9", "If-Range": other})
        assert (changed.status_code, changed.content) == (200, whole.content)
