"""``nora.oci`` and skopeo on one data directory: the real server serves what the library
pushed, and the library reads what skopeo pushed, digest for digest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from nora import Nora
from tests.e2e.library_support import with_library
from tests.e2e.oci_support import build_layout, layout_manifest, skopeo
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    with NoraProcess(tmp_path_factory.mktemp("library-oci") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layout(tmp_path_factory.mktemp("layout"))


def remote(server: NoraProcess, name: str) -> str:
    return f"docker://127.0.0.1:{server.port}/{name}"


def blob_hex(layout: Path, digest: str) -> str:
    data = (layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()
    return hashlib.sha256(data).hexdigest()


def test_skopeo_pulls_what_the_library_pushed(
    server: NoraProcess, layout: Path, tmp_path: Path
) -> None:
    pushed = with_library(server.data_dir, lambda nora: nora.oci.push_layout("lib/app", layout))
    assert {p.tag for p in pushed} == {"v1", "arm", "multi"}

    digest, local = layout_manifest(layout, "v1")
    skopeo(
        tmp_path,
        "copy",
        "--src-tls-verify=false",
        f"{remote(server, 'lib/app')}:v1",
        f"oci:{tmp_path}/pulled:v1",
    )
    pulled_digest, pulled = layout_manifest(tmp_path / "pulled", "v1")
    assert pulled_digest == digest
    assert pulled["layers"] == local["layers"]
    for layer in pulled["layers"]:
        assert blob_hex(tmp_path / "pulled", layer["digest"]) == layer["digest"].split(":")[1]

    index_digest, _ = layout_manifest(layout, "multi")
    skopeo(
        tmp_path,
        "copy",
        "--all",
        "--src-tls-verify=false",
        f"{remote(server, 'lib/app')}:multi",
        f"oci:{tmp_path}/multi:multi",
    )
    assert layout_manifest(tmp_path / "multi", "multi")[0] == index_digest
    tags = json.loads(
        skopeo(tmp_path, "list-tags", "--tls-verify=false", remote(server, "lib/app"))
    )
    assert sorted(tags["Tags"]) == ["arm", "multi", "v1"]


def test_the_library_reads_what_skopeo_pushed(
    server: NoraProcess, layout: Path, tmp_path: Path
) -> None:
    skopeo(
        tmp_path,
        "copy",
        "--all",
        "--dest-tls-verify=false",
        f"oci:{layout}:multi",
        f"{remote(server, 'cli/app')}:2.0",
    )
    index_digest, index = layout_manifest(layout, "multi")
    image_digest, image = layout_manifest(layout, "v1")

    async def read(nora: Nora) -> None:
        assert "cli/app" in await nora.oci.repositories()
        assert await nora.oci.tags("cli/app") == ["2.0"]
        resolved = await nora.oci.resolve("cli/app", "2.0")
        assert resolved.digest == index_digest
        read_index = await nora.oci.manifest("cli/app", "2.0")
        assert [c.digest for c in read_index.manifests] == [c["digest"] for c in index["manifests"]]
        assert {c.platform.architecture for c in read_index.manifests if c.platform} == {
            "amd64",
            "arm64",
        }
        read_image = await nora.oci.manifest("cli/app", image_digest)
        assert [(x.digest, x.size) for x in read_image.layers] == [
            (x["digest"], x["size"]) for x in image["layers"]
        ]
        for layer in read_image.layers:
            data = await nora.oci.blob("cli/app", layer.digest)
            assert "sha256:" + hashlib.sha256(data).hexdigest() == layer.digest

    with_library(server.data_dir, read)
