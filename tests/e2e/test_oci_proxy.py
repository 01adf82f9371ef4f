"""Pull-through cache with a second NORA process as the upstream: skopeo pulls through it,
tags are revalidated after the TTL, blobs are fetched once for many concurrent clients,
and cached content is still served when the upstream is down."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.oci_support import build_layout, layout_manifest, push_blob, push_manifest, skopeo
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


def image_doc(config: str, layer: str, size: int) -> dict[str, object]:
    return {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config,
            "size": 2,
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": size}
        ],
    }


def upstream_gets(upstream: NoraProcess, path: str) -> int:
    return sum(
        1
        for line in upstream.log().splitlines()
        if f'"path":"{path}"' in line and '"method":"GET"' in line
    )


def test_pull_through_cache(start_nora, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    upstream: NoraProcess = start_nora()
    proxy: NoraProcess = start_nora(
        env={"NORA_DOCKER_PROXIES": upstream.url, "NORA_DOCKER_METADATA_TTL": "0"}
    )
    (tmp_path / "src").mkdir()
    layout = build_layout(tmp_path / "src")
    digest, _ = layout_manifest(layout, "v1")
    skopeo(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        f"oci:{layout}:v1",
        f"docker://127.0.0.1:{upstream.port}/lib/deep/app:v1",
    )

    # skopeo pulls through the proxy; every digest is the upstream's
    skopeo(
        tmp_path,
        "copy",
        "--src-tls-verify=false",
        f"docker://127.0.0.1:{proxy.port}/lib/deep/app:v1",
        f"oci:{tmp_path}/pulled:v1",
    )
    assert layout_manifest(tmp_path / "pulled", "v1")[0] == digest
    served = httpx.get(f"{proxy.url}/v2/lib/deep/app/manifests/v1")
    assert served.headers["docker-content-digest"] == digest
    assert served.headers["content-type"] == "application/vnd.oci.image.manifest.v1+json"
    assert httpx.get(f"{proxy.url}/v2/lib/deep/app/tags/list").json()["tags"] == ["v1"]
    assert httpx.get(f"{proxy.url}/v2/lib/deep/app/manifests/{digest}").content == served.content

    # a tag moved upstream is seen after the TTL (0 here)
    config = push_blob(upstream.url, "lib/deep/app", b"{}")
    layer_data = os.urandom(4 * 1024 * 1024)
    layer = push_blob(upstream.url, "lib/deep/app", layer_data)
    moved = push_manifest(
        upstream.url, "lib/deep/app", "v1", image_doc(config, layer, len(layer_data))
    )
    new_digest = moved.headers["docker-content-digest"]
    assert (
        httpx.get(f"{proxy.url}/v2/lib/deep/app/manifests/v1").headers["docker-content-digest"]
        == new_digest
    )

    # many concurrent clients, one upstream fetch, every client gets verified bytes
    def fetch(_: int) -> bytes:
        return httpx.get(f"{proxy.url}/v2/lib/deep/app/blobs/{layer}", timeout=60).content

    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(fetch, range(8)))
    assert all(body == layer_data for body in bodies)
    assert upstream_gets(upstream, f"/v2/lib/deep/app/blobs/{layer}") == 1
    ranged = httpx.get(f"{proxy.url}/v2/lib/deep/app/blobs/{layer}", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206
    assert ranged.content == layer_data[:10]

    # unknown upstream names are the spec's 404s
    missing = httpx.get(f"{proxy.url}/v2/lib/nothing/manifests/v1")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"

    # names pushed to the proxy are hosted there
    push_blob(proxy.url, "local/app", b"{}")
    local_layer = push_blob(proxy.url, "local/app", b"local")
    assert (
        push_manifest(proxy.url, "local/app", "v1", image_doc(config, local_layer, 5)).status_code
        == 201
    )

    # the upstream goes away: cached tags, manifests and blobs are still served
    upstream.stop()
    stale = httpx.get(f"{proxy.url}/v2/lib/deep/app/manifests/v1")
    assert stale.status_code == 200
    assert stale.headers["docker-content-digest"] == new_digest
    assert httpx.get(f"{proxy.url}/v2/lib/deep/app/blobs/{layer}").content == layer_data
    skopeo(
        tmp_path,
        "copy",
        "--src-tls-verify=false",
        f"docker://127.0.0.1:{proxy.port}/lib/deep/app@{digest}",
        f"oci:{tmp_path}/offline:v1",
    )
    assert (
        json.loads((tmp_path / "offline" / "index.json").read_text())["manifests"][0]["digest"]
        == digest
    )
    assert httpx.get(f"{proxy.url}/v2/local/app/manifests/v1").status_code == 200
    down = httpx.get(f"{proxy.url}/v2/lib/never/manifests/v1")
    assert down.status_code == 503
    assert down.json()["errors"][0]["code"] == "UNAVAILABLE"


def upstream_requests(upstream: NoraProcess, method: str, path: str) -> int:
    return sum(
        1
        for line in upstream.log().splitlines()
        if f'"path":"{path}"' in line and f'"method":"{method}"' in line
    )


def test_head_of_an_uncached_blob_asks_the_upstream_and_fetches_nothing(start_nora) -> None:  # type: ignore[no-untyped-def]
    upstream: NoraProcess = start_nora()
    proxy: NoraProcess = start_nora(env={"NORA_DOCKER_PROXIES": upstream.url})
    data = os.urandom(3 * 1024 * 1024)
    layer = push_blob(upstream.url, "lib/headed", data)
    path = f"/v2/lib/headed/blobs/{layer}"

    for _ in range(2):
        head = httpx.head(proxy.url + path)
        assert head.status_code == 200
        assert head.headers["content-length"] == str(len(data))
        assert head.headers["docker-content-digest"] == layer
        assert head.content == b""
    assert upstream_requests(upstream, "HEAD", path) == 2
    assert upstream_requests(upstream, "GET", path) == 0

    # nothing was cached: the first GET fetches, later HEADs answer from the cache
    assert httpx.get(proxy.url + path).content == data
    assert upstream_requests(upstream, "GET", path) == 1
    assert httpx.head(proxy.url + path).headers["content-length"] == str(len(data))
    assert upstream_requests(upstream, "HEAD", path) == 2

    missing = httpx.head(f"{proxy.url}/v2/lib/headed/blobs/sha256:{'2' * 64}")
    assert (missing.status_code, missing.content) == (404, b"")
    upstream.stop()
    down = httpx.head(f"{proxy.url}/v2/lib/headed/blobs/sha256:{'3' * 64}")
    assert down.status_code == 503


def test_upstream_token_challenge_anonymous_and_with_credentials(  # type: ignore[no-untyped-def]
    start_nora, tmp_path: Path
) -> None:
    """The upstream is a NORA with access control: it answers 401 with a Bearer challenge."""
    from tests.e2e.auth_support import USERS, auth_env, basic

    upstream: NoraProcess = start_nora(env=auth_env(tmp_path, NORA_AUTH_LOGIN_RATE=""))
    bob = basic("bob", USERS["bob"])
    layer = os.urandom(2048)
    with httpx.Client(headers=bob) as client:
        for blob in (b"{}", layer):
            digest = "sha256:" + __import__("hashlib").sha256(blob).hexdigest()
            done = client.post(
                f"{upstream.url}/v2/guarded/app/blobs/uploads/",
                params={"digest": digest},
                content=blob,
            )
            assert done.status_code == 201, done.text
        doc = image_doc(
            "sha256:" + __import__("hashlib").sha256(b"{}").hexdigest(),
            "sha256:" + __import__("hashlib").sha256(layer).hexdigest(),
            len(layer),
        )
        put = client.put(
            f"{upstream.url}/v2/guarded/app/manifests/v1",
            content=json.dumps(doc).encode(),
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert put.status_code == 201, put.text
    challenge = httpx.get(f"{upstream.url}/v2/guarded/app/manifests/v1")
    assert challenge.status_code == 401
    assert challenge.headers["www-authenticate"].startswith("Bearer realm=")

    # without credentials the upstream's token endpoint refuses: a clean error, no 500
    anonymous = start_nora(env={"NORA_DOCKER_PROXIES": upstream.url})
    refused = httpx.get(f"{anonymous.url}/v2/guarded/app/manifests/v1")
    assert refused.status_code in (401, 404, 503)
    assert "errors" in refused.json()

    host = upstream.url.split("://", 1)[1]
    with_credentials = start_nora(env={"NORA_DOCKER_PROXIES": f"http://bob:{USERS['bob']}@{host}"})
    pulled = httpx.get(f"{with_credentials.url}/v2/guarded/app/manifests/v1")
    assert pulled.status_code == 200, pulled.text
    layer_url = f"{with_credentials.url}/v2/guarded/app/blobs/{doc['layers'][0]['digest']}"  # type: ignore[index]
    assert httpx.get(layer_url).content == layer
    tokens = [line for line in upstream.log().splitlines() if '"path":"/auth/token"' in line]
    assert any('"status":200' in line for line in tokens)  # the Bearer dance happened
    # the credentials reached the upstream as a login there, never as a log line
    assert USERS["bob"] not in upstream.log() + with_credentials.log()
