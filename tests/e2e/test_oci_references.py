"""A manifest reference that is neither a tag nor a digest, as the CNCF distribution
registry answers it: reads and deletes find nothing (404 MANIFEST_UNKNOWN); only a
PUT, which would create it, is told the tag or digest is invalid (400)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.oci_support import OCI_MANIFEST, push_blob, push_manifest
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e

BAD = ["-bad", "t" * 129, ".dot", "sha256:short", "sha256:" + "A" * 64, "md5:" + "0" * 32, "a:b"]


def _code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["code"])


@pytest.fixture(scope="module")
def image(nora: NoraProcess) -> dict[str, object]:
    name = "refs/app"
    config = push_blob(nora.url, name, b"{}")
    doc: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config,
            "size": 2,
        },
        "layers": [],
    }
    assert push_manifest(nora.url, name, "v1", doc).status_code == 201
    return doc


@pytest.mark.parametrize("reference", BAD)
def test_reads_of_an_invalid_reference_are_unknown(
    nora: NoraProcess, image: dict[str, object], reference: str
) -> None:
    url = f"{nora.url}/v2/refs/app/manifests/{reference}"
    got = httpx.get(url)
    assert (got.status_code, _code(got)) == (404, "MANIFEST_UNKNOWN")
    head = httpx.head(url)
    assert head.status_code == 404
    assert head.content == b""
    deleted = httpx.delete(url)
    assert (deleted.status_code, _code(deleted)) == (404, "MANIFEST_UNKNOWN")
    # in a repository that does not exist either
    elsewhere = httpx.get(f"{nora.url}/v2/refs/never/manifests/{reference}")
    assert elsewhere.status_code == 404


@pytest.mark.parametrize(
    ("reference", "expected"),
    [("-bad", "TAG_INVALID"), ("t" * 129, "TAG_INVALID"), ("sha256:short", "DIGEST_INVALID")],
)
def test_a_put_is_told_what_is_invalid(
    nora: NoraProcess, image: dict[str, object], reference: str, expected: str
) -> None:
    refused = push_manifest(nora.url, "refs/app", reference, image)
    assert (refused.status_code, _code(refused)) == (400, expected)


def test_valid_references_still_resolve(nora: NoraProcess, image: dict[str, object]) -> None:
    by_tag = httpx.get(f"{nora.url}/v2/refs/app/manifests/v1")
    assert by_tag.status_code == 200
    digest = by_tag.headers["docker-content-digest"]
    assert httpx.get(f"{nora.url}/v2/refs/app/manifests/{digest}").status_code == 200
    missing = httpx.get(f"{nora.url}/v2/refs/app/manifests/v2")
    assert (missing.status_code, _code(missing)) == (404, "MANIFEST_UNKNOWN")


def test_an_invalid_name_is_still_invalid(nora: NoraProcess) -> None:
    """The name is checked before the reference: a bad name stays NAME_INVALID."""
    got = httpx.get(f"{nora.url}/v2/Upper/case/manifests/-bad")
    assert (got.status_code, _code(got)) == (400, "NAME_INVALID")
