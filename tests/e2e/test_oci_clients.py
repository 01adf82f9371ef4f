"""skopeo, podman and umoci against the real server: images and indexes in both media-type
families, deep names, cross-repository mounts, and digests unchanged by the round trip."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.oci_support import build_layout, layout_manifest, podman, skopeo
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layout(tmp_path_factory.mktemp("layout"))


def registry(nora: NoraProcess, name: str) -> str:
    return f"docker://127.0.0.1:{nora.port}/{name}"


def manifest(nora: NoraProcess, name: str, reference: str) -> httpx.Response:
    accept = ", ".join(
        [
            DOCKER_MANIFEST,
            DOCKER_LIST,
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
        ]
    )
    response = httpx.get(f"{nora.url}/v2/{name}/manifests/{reference}", headers={"Accept": accept})
    assert response.status_code == 200, response.text
    return response


def test_oci_image_round_trip_keeps_every_digest(
    nora: NoraProcess, layout: Path, tmp_path: Path
) -> None:
    name = "org/team/sub/img"
    digest, local = layout_manifest(layout, "v1")
    assert len(local["layers"]) == 2
    skopeo(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        f"oci:{layout}:v1",
        f"{registry(nora, name)}:v1",
    )
    served = manifest(nora, name, "v1")
    assert served.headers["docker-content-digest"] == digest
    assert served.headers["content-type"] == "application/vnd.oci.image.manifest.v1+json"
    assert hashlib.sha256(served.content).hexdigest() == digest.split(":")[1]
    skopeo(
        tmp_path,
        "copy",
        "--src-tls-verify=false",
        f"{registry(nora, name)}:v1",
        f"oci:{tmp_path}/pulled:v1",
    )
    pulled_digest, pulled = layout_manifest(tmp_path / "pulled", "v1")
    assert pulled_digest == digest
    for layer in pulled["layers"]:
        blob = tmp_path / "pulled" / "blobs" / "sha256" / layer["digest"].split(":")[1]
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == layer["digest"].split(":")[1]
    tags = json.loads(skopeo(tmp_path, "list-tags", "--tls-verify=false", registry(nora, name)))
    assert tags["Tags"] == ["v1"]


def test_docker_image_round_trip(nora: NoraProcess, layout: Path, tmp_path: Path) -> None:
    name = "docker/img"
    skopeo(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        "--format",
        "v2s2",
        f"oci:{layout}:v1",
        f"{registry(nora, name)}:v1",
    )
    served = manifest(nora, name, "v1")
    assert served.headers["content-type"] == DOCKER_MANIFEST
    skopeo(
        tmp_path,
        "copy",
        "--src-tls-verify=false",
        f"{registry(nora, name)}:v1",
        f"dir:{tmp_path}/pulled",
    )
    raw = (tmp_path / "pulled" / "manifest.json").read_bytes()
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == served.headers["docker-content-digest"]
    assert json.loads(raw)["mediaType"] == DOCKER_MANIFEST


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [("oci", "application/vnd.oci.image.index.v1+json"), ("v2s2", DOCKER_LIST)],
)
def test_multi_arch_index_round_trip(
    nora: NoraProcess, layout: Path, tmp_path: Path, fmt: str, media_type: str
) -> None:
    name = f"multi/{fmt}"
    skopeo(
        tmp_path,
        "copy",
        "--all",
        "--dest-tls-verify=false",
        "--format",
        fmt,
        f"oci:{layout}:multi",
        f"{registry(nora, name)}:multi",
    )
    served = manifest(nora, name, "multi")
    assert served.headers["content-type"] == media_type
    children = json.loads(served.content)["manifests"]
    assert {c["platform"]["architecture"] for c in children} == {"amd64", "arm64"}
    for child in children:
        assert (
            manifest(nora, name, child["digest"]).headers["docker-content-digest"]
            == child["digest"]
        )
    copy = f"copy/{fmt}"
    skopeo(
        tmp_path,
        "copy",
        "--all",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        f"{registry(nora, name)}:multi",
        f"{registry(nora, copy)}:multi",
    )
    again = manifest(nora, copy, "multi")
    assert again.headers["docker-content-digest"] == served.headers["docker-content-digest"]
    assert again.content == served.content
    if fmt == "oci":
        digest, _ = layout_manifest(layout, "multi")
        assert served.headers["docker-content-digest"] == digest


def test_cross_repository_mount(nora: NoraProcess, layout: Path, tmp_path: Path) -> None:
    skopeo(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        f"oci:{layout}:arm",
        f"{registry(nora, 'mount/src')}:v1",
    )
    skopeo(
        tmp_path,
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        f"{registry(nora, 'mount/src')}:v1",
        f"{registry(nora, 'mount/dst')}:v1",
    )
    log = nora.log()
    assert '"method":"POST","path":"/v2/mount/dst/blobs/uploads"' in log
    mounts = [
        line
        for line in log.splitlines()
        if "/v2/mount/dst/blobs/uploads" in line and '"status":201' in line
    ]
    assert mounts, "skopeo's blob-info cache should have led to a mount"
    served = manifest(nora, "mount/dst", "v1")
    for layer in json.loads(served.content)["layers"]:
        head = httpx.head(f"{nora.url}/v2/mount/dst/blobs/{layer['digest']}")
        assert head.status_code == 200
        assert int(head.headers["content-length"]) == layer["size"]


def test_skopeo_delete_removes_the_manifest(
    nora: NoraProcess, layout: Path, tmp_path: Path
) -> None:
    name = "delete/me"
    skopeo(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        f"oci:{layout}:arm",
        f"{registry(nora, name)}:v1",
    )
    digest = manifest(nora, name, "v1").headers["docker-content-digest"]
    skopeo(tmp_path, "delete", "--tls-verify=false", f"{registry(nora, name)}:v1")
    gone = httpx.get(f"{nora.url}/v2/{name}/manifests/{digest}")
    assert gone.status_code == 404
    assert gone.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert httpx.get(f"{nora.url}/v2/{name}/tags/list").json()["tags"] == []


@pytest.fixture
def podman_storage() -> Iterator[Path]:
    storage = Path(tempfile.mkdtemp(prefix="nora-pod-"))
    yield storage
    shutil.rmtree(storage, ignore_errors=True)


def test_podman_pull_and_push(
    nora: NoraProcess, layout: Path, tmp_path: Path, podman_storage: Path
) -> None:
    skopeo(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        f"oci:{layout}:v1",
        f"{registry(nora, 'pod/src')}:v1",
    )
    host = f"127.0.0.1:{nora.port}"
    podman(tmp_path, podman_storage, "pull", "--tls-verify=false", f"{host}/pod/src:v1")
    podman(tmp_path, podman_storage, "tag", f"{host}/pod/src:v1", f"{host}/pod/a/b/c/dst:v2")
    podman(tmp_path, podman_storage, "push", "--tls-verify=false", f"{host}/pod/a/b/c/dst:v2")
    pushed = manifest(nora, "pod/a/b/c/dst", "v2")
    config = json.loads(pushed.content)["config"]["digest"]
    source_config = json.loads(manifest(nora, "pod/src", "v1").content)["config"]["digest"]
    assert config == source_config
    inspect = json.loads(podman(tmp_path, podman_storage, "image", "inspect", f"{host}/pod/src:v1"))
    assert inspect[0]["Architecture"] == "amd64"
