"""The distribution API over raw HTTP: the ground the OCI conformance suite covers (pull,
push, content discovery, content management), sha512, ranges, resumable uploads continued
by another replica, and bad input of every kind getting its spec error with nothing stored."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.oci_support import OCI_INDEX, OCI_MANIFEST, push_blob, push_manifest, sha256
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e

EMPTY_JSON = b"{}"


def code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body["errors"][0]) == {"code", "message", "detail"}
    return str(body["errors"][0]["code"])


def image_doc(config: str, layers: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config,
            "size": 2,
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": s}
            for d, s in layers
        ],
        **extra,
    }


def seed_image(base: str, name: str, tag: str, layer: bytes | None = None) -> tuple[str, bytes]:
    layer = layer if layer is not None else os.urandom(64)
    config = push_blob(base, name, EMPTY_JSON)
    digest = push_blob(base, name, layer)
    doc = image_doc(config, [(digest, len(layer))])
    response = push_manifest(base, name, tag, doc)
    assert response.status_code == 201, response.text
    return response.headers["docker-content-digest"], json.dumps(doc).encode()


# --- pull ---------------------------------------------------------------------------


def test_base_endpoint(nora: NoraProcess) -> None:
    response = httpx.get(f"{nora.url}/v2/")
    assert response.status_code == 200
    assert response.headers["docker-distribution-api-version"] == "registry/2.0"
    assert httpx.get(f"{nora.url}/v2").status_code == 200


def test_pull_manifest_by_tag_and_digest_with_headers(nora: NoraProcess) -> None:
    digest, body = seed_image(nora.url, "pull/app", "v1")
    for reference in ("v1", digest):
        for method in ("GET", "HEAD"):
            response = httpx.request(method, f"{nora.url}/v2/pull/app/manifests/{reference}")
            assert response.status_code == 200
            assert response.headers["docker-content-digest"] == digest == sha256(body)
            assert response.headers["content-type"] == OCI_MANIFEST
            assert response.headers["content-length"] == str(len(body))
            assert response.headers["etag"] == f'"{digest}"'
            assert response.content == (body if method == "GET" else b"")
    cached = httpx.get(
        f"{nora.url}/v2/pull/app/manifests/v1", headers={"If-None-Match": f'"{digest}"'}
    )
    assert cached.status_code == 304
    refused = httpx.get(
        f"{nora.url}/v2/pull/app/manifests/v1",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    assert refused.status_code == 404
    assert code(refused) == "MANIFEST_UNKNOWN"


DOCKER = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def test_tagged_index_for_a_client_that_does_not_list_its_type(nora: NoraProcess) -> None:
    """What the CNCF distribution registry answers (checked against docker-registry 2.8)."""
    name = "pull/multiarch"
    images: dict[str, tuple[str, bytes]] = {}
    for arch in ("arm64", "amd64"):
        config = json.dumps({"architecture": arch, "os": "linux"}).encode()
        layer = arch.encode() * 10
        doc = {
            "schemaVersion": 2,
            "mediaType": DOCKER,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": push_blob(nora.url, name, config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": push_blob(nora.url, name, layer),
                    "size": len(layer),
                }
            ],
        }
        pushed = push_manifest(nora.url, name, arch, doc, DOCKER)
        images[arch] = (pushed.headers["docker-content-digest"], json.dumps(doc).encode())

    def listing(media_type: str, archs: tuple[str, ...]) -> dict[str, Any]:
        return {
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": [
                {
                    "mediaType": DOCKER,
                    "digest": images[arch][0],
                    "size": len(images[arch][1]),
                    "platform": {"architecture": arch, "os": "linux"},
                }
                for arch in archs
            ],
        }

    lists = {}
    for tag, media_type, archs in (
        ("multi", DOCKER_LIST, ("arm64", "amd64")),
        ("armonly", DOCKER_LIST, ("arm64",)),
        ("ocimulti", OCI_INDEX, ("arm64", "amd64")),
    ):
        pushed = push_manifest(nora.url, name, tag, listing(media_type, archs), media_type)
        assert pushed.status_code == 201
        lists[tag] = pushed.headers["docker-content-digest"]

    def get(reference: str, accept: str | None, method: str = "GET") -> httpx.Response:
        headers = {"Accept": accept} if accept else {}
        return httpx.request(method, f"{nora.url}/v2/{name}/manifests/{reference}", headers=headers)

    # a Docker manifest list becomes its linux/amd64 image for a schema 2 client
    amd64_digest, amd64_body = images["amd64"]
    for accept in (DOCKER, f"{DOCKER}, {OCI_MANIFEST}"):
        for method in ("GET", "HEAD"):
            answer = get("multi", accept, method)
            assert answer.status_code == 200
            assert answer.headers["content-type"] == DOCKER
            assert answer.headers["docker-content-digest"] == amd64_digest
            assert answer.headers["content-length"] == str(len(amd64_body))
            assert answer.content == (amd64_body if method == "GET" else b"")
    # ... is refused when that image is not acceptable either, or when there is none
    for accept in (OCI_MANIFEST, OCI_INDEX):
        refused = get("multi", accept)
        assert (refused.status_code, code(refused)) == (400, "MANIFEST_INVALID")
    for accept in (DOCKER, OCI_MANIFEST, OCI_INDEX):
        refused = get("armonly", accept)
        assert (refused.status_code, code(refused)) == (404, "MANIFEST_UNKNOWN")
    # an OCI index is never rewritten
    for accept in (DOCKER, f"{DOCKER}, {OCI_MANIFEST}", f"{DOCKER}, {DOCKER_LIST}"):
        refused = get("ocimulti", accept)
        assert (refused.status_code, code(refused)) == (404, "MANIFEST_UNKNOWN")
        assert get("ocimulti", accept, "HEAD").status_code == 404
    # clients that list the type, send a wildcard or no Accept at all get what is stored
    for tag, media_type in (
        ("multi", DOCKER_LIST),
        ("armonly", DOCKER_LIST),
        ("ocimulti", OCI_INDEX),
    ):
        for accept in (f"{DOCKER}, {media_type}", "*/*", None):
            answer = get(tag, accept)
            assert answer.status_code == 200
            assert answer.headers["content-type"] == media_type
            assert answer.headers["docker-content-digest"] == lists[tag]
        # by digest the stored list or index is served whatever the client lists
        by_digest = get(lists[tag], DOCKER)
        assert by_digest.status_code == 200
        assert by_digest.headers["content-type"] == media_type
        assert by_digest.headers["docker-content-digest"] == lists[tag]


def test_pull_of_missing_things(nora: NoraProcess) -> None:
    seed_image(nora.url, "pull/missing", "v1")
    absent = "sha256:" + "0" * 64
    response = httpx.get(f"{nora.url}/v2/pull/missing/manifests/nope")
    assert (response.status_code, code(response)) == (404, "MANIFEST_UNKNOWN")
    response = httpx.get(f"{nora.url}/v2/pull/missing/manifests/{absent}")
    assert (response.status_code, code(response)) == (404, "MANIFEST_UNKNOWN")
    response = httpx.get(f"{nora.url}/v2/never/pushed/manifests/v1")
    assert (response.status_code, code(response)) == (404, "NAME_UNKNOWN")
    response = httpx.get(f"{nora.url}/v2/pull/missing/blobs/{absent}")
    assert (response.status_code, code(response)) == (404, "BLOB_UNKNOWN")
    head = httpx.head(f"{nora.url}/v2/pull/missing/blobs/{absent}")
    assert head.status_code == 404
    assert head.content == b""


def test_blob_get_ranges(nora: NoraProcess) -> None:
    data = os.urandom(1000)
    digest = push_blob(nora.url, "pull/ranges", data)
    url = f"{nora.url}/v2/pull/ranges/blobs/{digest}"
    full = httpx.get(url)
    assert full.status_code == 200
    assert full.content == data
    assert full.headers["docker-content-digest"] == digest
    assert full.headers["accept-ranges"] == "bytes"
    part = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["content-range"] == "bytes 10-19/1000"
    tail = httpx.get(url, headers={"Range": "bytes=-100"})
    assert tail.content == data[-100:]
    assert httpx.get(url, headers={"Range": "bytes=990-"}).content == data[990:]
    beyond = httpx.get(url, headers={"Range": "bytes=1000-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == "bytes */1000"


# --- push ---------------------------------------------------------------------------


def start(base: str, name: str) -> str:
    response = httpx.post(f"{base}/v2/{name}/blobs/uploads/")
    assert response.status_code == 202
    assert response.headers["docker-upload-uuid"]
    assert response.headers["range"] == "0-0"
    return str(response.headers["location"])


def test_streamed_upload(nora: NoraProcess) -> None:
    data = os.urandom(300_000)
    location = start(nora.url, "push/streamed")
    patched = httpx.patch(f"{nora.url}{location}", content=iter([data[:100_000], data[100_000:]]))
    assert patched.status_code == 202
    assert patched.headers["range"] == f"0-{len(data) - 1}"
    done = httpx.put(f"{nora.url}{patched.headers['location']}", params={"digest": sha256(data)})
    assert done.status_code == 201
    assert done.headers["location"] == f"/v2/push/streamed/blobs/{sha256(data)}"
    assert httpx.get(f"{nora.url}{done.headers['location']}").content == data


def test_monolithic_uploads(nora: NoraProcess) -> None:
    data = os.urandom(5000)
    response = httpx.post(
        f"{nora.url}/v2/push/mono/blobs/uploads/",
        params={"digest": sha256(data)},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201
    assert response.headers["location"] == f"/v2/push/mono/blobs/{sha256(data)}"
    other = os.urandom(10)
    location = start(nora.url, "push/mono")
    done = httpx.put(f"{nora.url}{location}", params={"digest": sha256(other)}, content=other)
    assert done.status_code == 201
    assert (
        httpx.head(f"{nora.url}/v2/push/mono/blobs/{sha256(other)}").headers["content-length"]
        == "10"
    )


def test_chunked_upload_with_content_range(nora: NoraProcess) -> None:
    data = os.urandom(3000)
    location = start(nora.url, "push/chunked")
    out_of_order = httpx.patch(
        f"{nora.url}{location}", content=data[1000:], headers={"Content-Range": "1000-2999"}
    )
    assert out_of_order.status_code == 416
    assert out_of_order.headers["range"] == "0-0"
    first = httpx.patch(
        f"{nora.url}{location}", content=data[:1000], headers={"Content-Range": "0-999"}
    )
    assert first.status_code == 202
    assert first.headers["range"] == "0-999"
    status = httpx.get(f"{nora.url}{location}")
    assert status.status_code == 204
    assert status.headers["range"] == "0-999"
    assert status.headers["docker-upload-uuid"] == first.headers["docker-upload-uuid"]
    last = httpx.put(
        f"{nora.url}{location}",
        params={"digest": sha256(data)},
        content=data[1000:],
        headers={"Content-Range": "1000-2999"},
    )
    assert last.status_code == 201
    assert httpx.get(f"{nora.url}/v2/push/chunked/blobs/{sha256(data)}").content == data


def test_upload_session_is_bound_to_its_repository(nora: NoraProcess) -> None:
    data = os.urandom(2000)
    location = start(nora.url, "bound/owner")
    upload_id = location.rsplit("/", 1)[1]
    elsewhere = f"{nora.url}/v2/bound/intruder/blobs/uploads/{upload_id}"
    deeper = f"{nora.url}/v2/bound/owner/x/blobs/uploads/{upload_id}"
    for url in (elsewhere, deeper):
        for method, kwargs in (
            ("GET", {}),
            ("PATCH", {"content": data[:1000], "headers": {"Content-Range": "0-999"}}),
            ("PUT", {"params": {"digest": sha256(data)}, "content": data}),
            ("DELETE", {}),
        ):
            answer = httpx.request(method, url, **kwargs)  # type: ignore[arg-type]
            assert (answer.status_code, code(answer)) == (404, "BLOB_UPLOAD_UNKNOWN"), method
    # nothing the intruder sent reached the session, and nothing was linked anywhere
    status = httpx.get(f"{nora.url}{location}")
    assert (status.status_code, status.headers["range"]) == (204, "0-0")
    assert httpx.head(f"{nora.url}/v2/bound/intruder/blobs/{sha256(data)}").status_code == 404
    # the owner still finishes it; afterwards the id is unknown under every name
    patched = httpx.patch(f"{nora.url}{location}", content=data[:1000])
    assert patched.status_code == 202
    done = httpx.put(f"{nora.url}{location}", params={"digest": sha256(data)}, content=data[1000:])
    assert done.status_code == 201
    assert httpx.get(f"{nora.url}/v2/bound/owner/blobs/{sha256(data)}").content == data
    assert httpx.head(f"{nora.url}/v2/bound/intruder/blobs/{sha256(data)}").status_code == 404
    for url in (f"{nora.url}{location}", elsewhere):
        gone = httpx.get(url)
        assert (gone.status_code, code(gone)) == (404, "BLOB_UPLOAD_UNKNOWN")


def test_sha512_everywhere(nora: NoraProcess) -> None:
    data = os.urandom(2048)
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    response = httpx.post(
        f"{nora.url}/v2/push/sha512/blobs/uploads/", params={"digest": digest}, content=data
    )
    assert response.status_code == 201
    fetched = httpx.get(f"{nora.url}/v2/push/sha512/blobs/{digest}")
    assert fetched.content == data
    assert fetched.headers["docker-content-digest"] == digest
    location = start(nora.url, "push/sha512")
    httpx.patch(f"{nora.url}{location}", content=data[:100])
    done = httpx.put(f"{nora.url}{location}", params={"digest": digest}, content=data[100:])
    assert done.status_code == 201
    mounted = httpx.post(
        f"{nora.url}/v2/push/sha512b/blobs/uploads/",
        params={"mount": digest, "from": "push/sha512"},
    )
    assert mounted.status_code == 201
    config = push_blob(nora.url, "push/sha512", EMPTY_JSON)
    doc = json.dumps(image_doc(config, [(digest, len(data))])).encode()
    manifest_digest = "sha512:" + hashlib.sha512(doc).hexdigest()
    put = httpx.put(
        f"{nora.url}/v2/push/sha512/manifests/{manifest_digest}",
        content=doc,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert put.status_code == 201
    assert put.headers["docker-content-digest"] == manifest_digest
    got = httpx.get(f"{nora.url}/v2/push/sha512/manifests/{manifest_digest}")
    assert got.content == doc
    assert got.headers["docker-content-digest"] == manifest_digest


def test_cross_mount(nora: NoraProcess) -> None:
    digest = push_blob(nora.url, "mount/from", os.urandom(100))
    mounted = httpx.post(
        f"{nora.url}/v2/mount/to/blobs/uploads/", params={"mount": digest, "from": "mount/from"}
    )
    assert mounted.status_code == 201
    assert mounted.headers["location"] == f"/v2/mount/to/blobs/{digest}"
    assert httpx.get(f"{nora.url}{mounted.headers['location']}").status_code == 200
    for source in ("mount/elsewhere", "Not/A/Name"):
        fallback = httpx.post(
            f"{nora.url}/v2/mount/other/blobs/uploads/", params={"mount": digest, "from": source}
        )
        assert fallback.status_code == 202
        assert fallback.headers["location"].startswith("/v2/mount/other/blobs/uploads/")
    assert httpx.head(f"{nora.url}/v2/mount/other/blobs/{digest}").status_code == 404


def test_resumed_upload_is_finished_by_another_replica(start_nora) -> None:  # type: ignore[no-untyped-def]
    first: NoraProcess = start_nora()
    data = os.urandom(2 * 1024 * 1024 + 17)
    location = start(first.url, "resume/app")
    httpx.patch(
        f"{first.url}{location}", content=data[:1_000_000], headers={"Content-Range": "0-999999"}
    )
    with NoraProcess(first.data_dir) as second:
        status = httpx.get(f"{second.url}{location}")
        assert status.status_code == 204
        offset = int(status.headers["range"].split("-")[1]) + 1
        assert offset == 1_000_000
        more = httpx.patch(
            f"{second.url}{location}",
            content=data[offset:2_000_000],
            headers={"Content-Range": f"{offset}-1999999"},
        )
        assert more.status_code == 202
        done = httpx.put(
            f"{second.url}{location}", params={"digest": sha256(data)}, content=data[2_000_000:]
        )
        assert done.status_code == 201
    assert httpx.get(f"{first.url}/v2/resume/app/blobs/{sha256(data)}").content == data


def test_manifest_push_variants(nora: NoraProcess) -> None:
    digest, body = seed_image(nora.url, "push/manifests", "test0")
    for number in range(1, 4):
        response = httpx.put(
            f"{nora.url}/v2/push/manifests/manifests/test{number}",
            content=body,
            headers={"Content-Type": OCI_MANIFEST},
        )
        assert response.status_code == 201
        assert response.headers["location"] == f"/v2/push/manifests/manifests/{digest}"
    by_digest = httpx.put(
        f"{nora.url}/v2/push/manifests/manifests/{digest}",
        content=body,
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert by_digest.status_code == 201
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body)}],
    }
    assert push_manifest(nora.url, "push/manifests", "index", index, OCI_INDEX).status_code == 201


# --- content discovery --------------------------------------------------------------


def test_tags_list_pagination(nora: NoraProcess) -> None:
    _, body = seed_image(nora.url, "disc/tags", "d")
    for tag in ("a", "c", "b", "e"):
        httpx.put(
            f"{nora.url}/v2/disc/tags/manifests/{tag}",
            content=body,
            headers={"Content-Type": OCI_MANIFEST},
        )
    assert httpx.get(f"{nora.url}/v2/disc/tags/tags/list").json() == {
        "name": "disc/tags",
        "tags": ["a", "b", "c", "d", "e"],
    }
    page = httpx.get(f"{nora.url}/v2/disc/tags/tags/list", params={"n": 2})
    assert page.json()["tags"] == ["a", "b"]
    assert page.headers["link"] == '</v2/disc/tags/tags/list?n=2&last=b>; rel="next"'
    rest = httpx.get(f"{nora.url}/v2/disc/tags/tags/list", params={"n": 2, "last": "b"})
    assert rest.json()["tags"] == ["c", "d"]
    final = httpx.get(f"{nora.url}/v2/disc/tags/tags/list", params={"n": 2, "last": "d"})
    assert final.json()["tags"] == ["e"]
    assert "link" not in final.headers
    unknown = httpx.get(f"{nora.url}/v2/disc/none/tags/list")
    assert (unknown.status_code, code(unknown)) == (404, "NAME_UNKNOWN")


def test_catalog_pagination(start_nora) -> None:  # type: ignore[no-untyped-def]
    server: NoraProcess = start_nora()
    for name in ("zeta", "alpha/one", "alpha/one/deeper", "beta"):
        seed_image(server.url, name, "v1")
    assert httpx.get(f"{server.url}/v2/_catalog").json()["repositories"] == [
        "alpha/one",
        "alpha/one/deeper",
        "beta",
        "zeta",
    ]
    page = httpx.get(f"{server.url}/v2/_catalog", params={"n": 3})
    assert page.json()["repositories"] == ["alpha/one", "alpha/one/deeper", "beta"]
    assert page.headers["link"] == '</v2/_catalog?n=3&last=beta>; rel="next"'
    assert httpx.get(f"{server.url}/v2/_catalog", params={"n": 3, "last": "beta"}).json()[
        "repositories"
    ] == ["zeta"]
    bad = httpx.get(f"{server.url}/v2/_catalog", params={"n": "-1"})
    assert (bad.status_code, code(bad)) == (400, "PAGINATION_NUMBER_INVALID")


def test_referrers(nora: NoraProcess) -> None:
    name = "disc/refs"
    subject_digest, subject_body = seed_image(nora.url, name, "v1")
    empty = push_blob(nora.url, name, EMPTY_JSON)
    subject = {"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": len(subject_body)}
    pushed: dict[str, str] = {}
    for kind in ("application/x.a", "application/x.b"):
        layer = push_blob(nora.url, name, kind.encode())
        doc = image_doc(
            empty, [(layer, len(kind))], artifactType=kind, subject=subject, annotations={"k": kind}
        )
        doc["config"]["mediaType"] = "application/vnd.oci.empty.v1+json"
        digest = sha256(json.dumps(doc).encode())
        response = push_manifest(nora.url, name, digest, doc)
        assert response.status_code == 201
        assert response.headers["oci-subject"] == subject_digest
        pushed[kind] = digest
    listing = httpx.get(f"{nora.url}/v2/{name}/referrers/{subject_digest}")
    assert listing.headers["content-type"] == OCI_INDEX
    entries = {e["digest"]: e for e in listing.json()["manifests"]}
    assert set(entries) == set(pushed.values())
    assert entries[pushed["application/x.a"]]["annotations"] == {"k": "application/x.a"}
    filtered = httpx.get(
        f"{nora.url}/v2/{name}/referrers/{subject_digest}",
        params={"artifactType": "application/x.b"},
    )
    assert filtered.headers["oci-filters-applied"] == "artifactType"
    assert [e["digest"] for e in filtered.json()["manifests"]] == [pushed["application/x.b"]]
    # one per page: follow the Link header to the end
    url: str | None = f"/v2/{name}/referrers/{subject_digest}?n=1"
    paged: list[str] = []
    while url is not None:
        page = httpx.get(nora.url + url)
        assert page.status_code == 200
        assert page.headers["content-type"] == OCI_INDEX
        assert len(page.json()["manifests"]) == 1
        paged += [e["digest"] for e in page.json()["manifests"]]
        link = page.headers.get("link")
        if link is None:
            url = None
        else:
            assert link.endswith('>; rel="next"')
            url = link[1 : link.index(">")]
    assert paged == sorted(pushed.values())
    first = httpx.get(
        f"{nora.url}/v2/{name}/referrers/{subject_digest}",
        params={"n": 1, "artifactType": "application/x.a"},
    )
    assert [e["digest"] for e in first.json()["manifests"]] == [pushed["application/x.a"]]
    assert "link" not in first.headers
    bad_n = httpx.get(f"{nora.url}/v2/{name}/referrers/{subject_digest}", params={"n": "0"})
    assert (bad_n.status_code, code(bad_n)) == (400, "PAGINATION_NUMBER_INVALID")
    nothing = httpx.get(f"{nora.url}/v2/{name}/referrers/sha256:{'1' * 64}")
    assert nothing.status_code == 200
    assert nothing.json()["manifests"] == []
    bad = httpx.get(f"{nora.url}/v2/{name}/referrers/sha256:nothex")
    assert (bad.status_code, code(bad)) == (400, "DIGEST_INVALID")


# --- content management -------------------------------------------------------------


def test_deletes(nora: NoraProcess) -> None:
    name = "manage/app"
    digest, body = seed_image(nora.url, name, "v1")
    httpx.put(
        f"{nora.url}/v2/{name}/manifests/v2", content=body, headers={"Content-Type": OCI_MANIFEST}
    )
    assert httpx.delete(f"{nora.url}/v2/{name}/manifests/v2").status_code == 202
    assert httpx.get(f"{nora.url}/v2/{name}/manifests/v2").status_code == 404
    assert httpx.get(f"{nora.url}/v2/{name}/manifests/{digest}").status_code == 200
    assert httpx.delete(f"{nora.url}/v2/{name}/manifests/{digest}").status_code == 202
    gone = httpx.get(f"{nora.url}/v2/{name}/manifests/v1")
    assert (gone.status_code, code(gone)) == (404, "MANIFEST_UNKNOWN")
    assert httpx.get(f"{nora.url}/v2/{name}/tags/list").json()["tags"] == []
    layer = json.loads(body)["layers"][0]["digest"]
    assert httpx.delete(f"{nora.url}/v2/{name}/blobs/{layer}").status_code == 202
    missing = httpx.get(f"{nora.url}/v2/{name}/blobs/{layer}")
    assert (missing.status_code, code(missing)) == (404, "BLOB_UNKNOWN")
    again = httpx.delete(f"{nora.url}/v2/{name}/blobs/{layer}")
    assert (again.status_code, code(again)) == (404, "BLOB_UNKNOWN")


def test_deletes_switched_off(start_nora) -> None:  # type: ignore[no-untyped-def]
    server: NoraProcess = start_nora(env={"NORA_DOCKER_DELETE_ENABLED": "false"})
    digest, body = seed_image(server.url, "locked/app", "v1")
    for url in (
        f"/v2/locked/app/manifests/{digest}",
        "/v2/locked/app/manifests/v1",
        f"/v2/locked/app/blobs/{json.loads(body)['config']['digest']}",
    ):
        response = httpx.delete(server.url + url)
        assert (response.status_code, code(response)) == (405, "UNSUPPORTED")
    assert httpx.get(f"{server.url}/v2/locked/app/manifests/v1").status_code == 200


def test_upload_cancel(nora: NoraProcess) -> None:
    location = start(nora.url, "manage/cancel")
    assert httpx.delete(f"{nora.url}{location}").status_code == 204
    status = httpx.get(f"{nora.url}{location}")
    assert (status.status_code, code(status)) == (404, "BLOB_UPLOAD_UNKNOWN")


# --- bad input ------------------------------------------------------------------------


def stored_files(server: NoraProcess) -> list[Path]:
    return sorted(p for p in (server.data_dir / "objects").rglob("*") if p.is_file())


def test_bad_input_gets_spec_errors_and_stores_nothing(start_nora) -> None:  # type: ignore[no-untyped-def]
    server: NoraProcess = start_nora()
    base, name = server.url, "bad/app"
    data = os.urandom(500)
    wrong = "sha256:" + "f" * 64

    def expect(response: httpx.Response, status: int, error: str) -> None:
        assert response.status_code == status, response.text
        assert code(response) == error

    expect(
        httpx.post(f"{base}/v2/{name}/blobs/uploads/", params={"digest": wrong}, content=data),
        400,
        "DIGEST_INVALID",
    )
    expect(
        httpx.post(
            f"{base}/v2/{name}/blobs/uploads/", params={"digest": "md5:" + "a" * 32}, content=data
        ),
        400,
        "DIGEST_INVALID",
    )
    location = start(base, name)
    httpx.patch(f"{base}{location}", content=data)
    expect(httpx.put(f"{base}{location}", params={"digest": wrong}), 400, "DIGEST_INVALID")
    expect(httpx.get(f"{base}{location}"), 404, "BLOB_UPLOAD_UNKNOWN")
    location = start(base, name)
    expect(httpx.put(f"{base}{location}", content=data), 400, "DIGEST_INVALID")
    truncated = httpx.patch(
        f"{base}{location}", content=data[:50], headers={"Content-Range": "0-99"}
    )
    expect(truncated, 416, "BLOB_UPLOAD_INVALID")
    assert truncated.headers["range"] == "0-0"
    assert httpx.get(f"{base}{location}").headers["range"] == "0-0"
    httpx.patch(f"{base}{location}", content=data[:100], headers={"Content-Range": "0-99"})
    skipped = httpx.patch(
        f"{base}{location}", content=data[200:300], headers={"Content-Range": "200-299"}
    )
    expect(skipped, 416, "BLOB_UPLOAD_INVALID")
    assert skipped.headers["range"] == "0-99"
    assert httpx.delete(f"{base}{location}").status_code == 204
    unknown = f"/v2/{name}/blobs/uploads/0123456789abcdef0123456789abcdef"
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        params = {"digest": sha256(b"")} if method == "PUT" else {}
        expect(httpx.request(method, base + unknown, params=params), 404, "BLOB_UPLOAD_UNKNOWN")
    assert httpx.get(f"{base}/v2/{name}/blobs/uploads/..%2F..%2Fetc").status_code == 404

    missing_blob = image_doc("sha256:" + "1" * 64, [])
    expect(push_manifest(base, name, "v1", missing_blob), 400, "MANIFEST_BLOB_UNKNOWN")
    missing_child = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": wrong, "size": 1}],
    }
    expect(push_manifest(base, name, "v1", missing_child, OCI_INDEX), 400, "MANIFEST_UNKNOWN")
    for body in (
        b"{not json",
        b"[]",
        b'{"schemaVersion": 2}',
        json.dumps({"schemaVersion": 1, "name": "x"}).encode(),
    ):
        response = httpx.put(
            f"{base}/v2/{name}/manifests/v1", content=body, headers={"Content-Type": OCI_MANIFEST}
        )
        expect(response, 400, "MANIFEST_INVALID")
    expect(
        push_manifest(base, name, "v1", {**missing_blob, "mediaType": OCI_INDEX}),
        400,
        "MANIFEST_INVALID",
    )
    huge = image_doc("sha256:" + "1" * 64, [], annotations={"pad": "x" * (4 * 1024 * 1024)})
    expect(push_manifest(base, name, "v1", huge), 413, "SIZE_INVALID")
    expect(push_manifest(base, name, wrong, missing_blob), 400, "DIGEST_INVALID")
    expect(push_manifest(base, name, "-bad", missing_blob), 400, "TAG_INVALID")
    expect(push_manifest(base, name, "t" * 129, missing_blob), 400, "TAG_INVALID")
    expect(push_manifest(base, name, "sha256:short", missing_blob), 400, "DIGEST_INVALID")
    for bad_name in ("Upper/case", "a//b", "a/-b", "a..b", "_a", "a/~tags/x"):
        expect(push_manifest(base, bad_name, "v1", missing_blob), 400, "NAME_INVALID")
        expect(
            httpx.post(
                f"{base}/v2/{bad_name}/blobs/uploads/",
                params={"digest": sha256(data)},
                content=data,
            ),
            400,
            "NAME_INVALID",
        )
    expect(httpx.get(f"{base}/v2/{name}/blobs/sha256:xyz"), 400, "DIGEST_INVALID")
    expect(
        httpx.get(f"{base}/v2/{name}/tags/list", params={"n": "many"}),
        400,
        "PAGINATION_NUMBER_INVALID",
    )
    for number in ("²", "٣"):  # digits to str.isdigit, not to the spec (² once made a 500)
        for path in (f"/v2/{name}/tags/list", "/v2/_catalog", f"/v2/{name}/referrers/{wrong}"):
            expect(httpx.get(base + path, params={"n": number}), 400, "PAGINATION_NUMBER_INVALID")
    location = start(base, name)
    for method in ("PATCH", "PUT"):  # past int's digit limit once made a 500
        endless = httpx.request(
            method,
            base + location,
            params={"digest": sha256(b"x")} if method == "PUT" else {},
            content=b"x",
            headers={"Content-Range": "0-" + "9" * 5000},
        )
        expect(endless, 416, "BLOB_UPLOAD_INVALID")
    assert httpx.delete(base + location).status_code == 204
    expect(httpx.post(f"{base}/v2/{name}/manifests/v1"), 405, "UNSUPPORTED")
    assert httpx.get(f"{base}/v2/{name}/nothing-here").status_code == 404

    assert stored_files(server) == []
    assert list((server.data_dir / "uploads").iterdir()) == []
    assert httpx.get(f"{base}/v2/_catalog").json()["repositories"] == []
    expect(httpx.get(f"{base}/v2/{name}/tags/list"), 404, "NAME_UNKNOWN")
