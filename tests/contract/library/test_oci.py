"""``nora.oci`` over every pair of adapters: OCI image layouts built here, byte for byte."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from nora import Nora
from nora.errors import DigestMismatch, InvalidInput, NotFound, TooLarge
from nora.oci import REF_NAME, Platform
from tests.archives import tgz

pytestmark = pytest.mark.anyio

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    """An OCI image layout written by hand: ``v1`` (amd64, two layers), ``arm`` (arm64)
    and ``multi`` (an index of both)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "blobs" / "sha256").mkdir(parents=True)
        (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        self.entries: list[dict[str, Any]] = []
        self.layers: dict[str, list[bytes]] = {}
        self.configs: dict[str, bytes] = {}
        self.descriptors: dict[str, dict[str, Any]] = {}

    def blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        digest = digest_of(data)
        (self.root / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def image(self, tag: str, arch: str, layers: list[bytes]) -> dict[str, Any]:
        config = json.dumps(
            {
                "architecture": arch,
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [digest_of(x) for x in layers]},
            }
        ).encode()
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": self.blob(config, OCI_CONFIG),
            "layers": [self.blob(x, OCI_LAYER) for x in layers],
            "annotations": {"built.by": "test"},
        }
        descriptor = self.blob(json.dumps(manifest).encode(), OCI_MANIFEST)
        self.layers[tag] = layers
        self.configs[tag] = config
        self.descriptors[tag] = descriptor
        return descriptor

    def name(self, tag: str, descriptor: dict[str, Any]) -> None:
        self.entries.append({**descriptor, "annotations": {REF_NAME: tag}})

    def write_index(self) -> Path:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries}
        (self.root / "index.json").write_text(json.dumps(index))
        return self.root

    def path(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / digest.split(":")[1]


def build(root: Path) -> Layout:
    layout = Layout(root)
    v1 = layout.image("v1", "amd64", [tgz({"one": b"one\n"}), tgz({"two": b"two" * 5000})])
    arm = layout.image("arm", "arm64", [tgz({"arm": b"arm\n"})])
    children = [
        {**v1, "platform": {"architecture": "amd64", "os": "linux"}},
        {**arm, "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
    ]
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})
    layout.descriptors["multi"] = layout.blob(index.encode(), OCI_INDEX)
    layout.name("v1", v1)
    layout.name("arm", arm)
    layout.name("multi", layout.descriptors["multi"])
    layout.write_index()
    return layout


async def test_a_layout_pushed_reads_back_digest_for_digest(nora: Nora, tmp_path: Path) -> None:
    layout = build(tmp_path / "layout")
    pushed = await nora.oci.push_layout("team/app", layout.root)
    assert {(p.tag, p.digest) for p in pushed} == {
        (tag, layout.descriptors[tag]["digest"]) for tag in ("v1", "arm", "multi")
    }
    assert await nora.oci.repositories() == ["team/app"]
    assert await nora.oci.tags("team/app") == ["arm", "multi", "v1"]

    resolved = await nora.oci.resolve("team/app", "v1")
    assert resolved.digest == layout.descriptors["v1"]["digest"]
    assert (resolved.media_type, resolved.size) == (OCI_MANIFEST, layout.descriptors["v1"]["size"])

    image = await nora.oci.manifest("team/app", "v1")
    assert not image.is_index
    assert image.config is not None
    assert image.config.digest == digest_of(layout.configs["v1"])
    assert [(x.digest, x.size) for x in image.layers] == [
        (digest_of(x), len(x)) for x in layout.layers["v1"]
    ]
    assert image.annotations == {"built.by": "test"}
    for data, descriptor in zip(layout.layers["v1"], image.layers, strict=True):
        assert await nora.oci.blob("team/app", descriptor.digest) == data
        streamed = b"".join([c async for c in nora.oci.stream_blob("team/app", descriptor.digest)])
        assert hashlib.sha256(streamed).hexdigest() == descriptor.digest.split(":")[1]
    exact = await nora.oci.blob("team/app", image.digest)
    assert exact == layout.path(image.digest).read_bytes()

    index = await nora.oci.manifest("team/app", "multi")
    assert index.is_index
    assert index.media_type == OCI_INDEX
    assert [(c.digest, c.platform) for c in index.manifests] == [
        (layout.descriptors["v1"]["digest"], Platform(os="linux", architecture="amd64")),
        (
            layout.descriptors["arm"]["digest"],
            Platform(os="linux", architecture="arm64", variant="v8"),
        ),
    ]
    by_digest = await nora.oci.resolve("team/app", layout.descriptors["arm"]["digest"])
    assert by_digest.tag is None
    assert by_digest.media_type == OCI_MANIFEST


async def test_one_image_under_another_tag_and_a_second_push(nora: Nora, tmp_path: Path) -> None:
    layout = build(tmp_path / "layout")
    pushed = await nora.oci.push_layout("app", layout.root, ref="multi", tag="1.0")
    assert [(p.tag, p.media_type) for p in pushed] == [("1.0", OCI_INDEX)]
    assert await nora.oci.tags("app") == ["1.0"]
    # the index's children came along, by digest
    arm = await nora.oci.manifest("app", layout.descriptors["arm"]["digest"])
    assert [x.digest for x in arm.layers] == [digest_of(x) for x in layout.layers["arm"]]
    again = await nora.oci.push_layout("app", layout.root, ref="v1")
    assert again[0].digest == layout.descriptors["v1"]["digest"]
    assert await nora.oci.tags("app") == ["1.0", "v1"]


async def test_a_single_image_layout_takes_a_tag_and_untagged_entries_go_by_digest(
    nora: Nora, tmp_path: Path
) -> None:
    layout = Layout(tmp_path / "one")
    descriptor = layout.image("x", "amd64", [tgz({"f": b"f"})])
    layout.entries.append(descriptor)  # no ref name
    layout.write_index()
    (untagged,) = await nora.oci.push_layout("solo", layout.root)
    assert untagged.tag is None
    assert untagged.digest == descriptor["digest"]
    assert await nora.oci.tags("solo") == []
    (tagged,) = await nora.oci.push_layout("solo", layout.root, tag="latest")
    assert tagged.tag == "latest"
    assert (await nora.oci.resolve("solo", "latest")).digest == descriptor["digest"]


async def test_blobs_and_manifests_pushed_one_by_one(nora: Nora) -> None:
    config = b"{}"
    payload = b"an artifact's file"
    await nora.oci.push_blob("art/ifact", config, digest_of(config))
    stored = await nora.oci.push_blob("art/ifact", payload, digest_of(payload))
    assert stored.size == len(payload)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example.thing",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": digest_of(config),
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/octet-stream",
                    "digest": digest_of(payload),
                    "size": len(payload),
                    "annotations": {"org.opencontainers.image.title": "thing.bin"},
                }
            ],
        }
    ).encode()
    info = await nora.oci.push_manifest("art/ifact", manifest, tag="v1")
    assert info.digest == digest_of(manifest)
    read = await nora.oci.manifest("art/ifact", info.digest)
    assert read.artifact_type == "application/vnd.example.thing"
    assert read.layers[0].annotations == {"org.opencontainers.image.title": "thing.bin"}
    by_digest = await nora.oci.push_manifest("art/ifact", manifest)
    assert by_digest.tag is None
    assert by_digest.digest == info.digest


async def test_delete_a_tag_then_the_manifest(nora: Nora, tmp_path: Path) -> None:
    layout = build(tmp_path / "layout")
    await nora.oci.push_layout("app", layout.root)
    digest = layout.descriptors["v1"]["digest"]
    await nora.oci.delete_tag("app", "v1")
    assert await nora.oci.tags("app") == ["arm", "multi"]
    assert (await nora.oci.resolve("app", digest)).digest == digest
    with pytest.raises(NotFound):
        await nora.oci.delete_tag("app", "v1")
    await nora.oci.delete_manifest("app", layout.descriptors["arm"]["digest"])
    assert await nora.oci.tags("app") == ["multi"]  # its tag went with it
    with pytest.raises(NotFound):
        await nora.oci.resolve("app", layout.descriptors["arm"]["digest"])


async def test_unknown_names_tags_and_blobs_are_not_found(nora: Nora) -> None:
    with pytest.raises(NotFound):
        await nora.oci.tags("nothing/here")
    with pytest.raises(NotFound):
        await nora.oci.resolve("nothing/here", "v1")
    with pytest.raises(NotFound):
        await nora.oci.blob("nothing/here", digest_of(b"x"))
    for bad in ("Upper/Case", "a//b", "../x", ""):
        with pytest.raises(InvalidInput):
            await nora.oci.tags(bad)
    with pytest.raises(InvalidInput):
        await nora.oci.resolve("ok", "no good tag")
    with pytest.raises(InvalidInput):
        await nora.oci.blob("ok", "md5:" + "0" * 32)


async def test_a_layout_with_a_missing_blob_stores_nothing(nora: Nora, tmp_path: Path) -> None:
    layout = build(tmp_path / "layout")
    layout.path(digest_of(layout.layers["arm"][0])).unlink()
    with pytest.raises(InvalidInput):
        await nora.oci.push_layout("app", layout.root)
    assert await nora.oci.repositories() == []


async def test_a_tampered_manifest_stores_nothing(nora: Nora, tmp_path: Path) -> None:
    layout = build(tmp_path / "layout")
    path = layout.path(layout.descriptors["arm"]["digest"])
    path.write_bytes(path.read_bytes().replace(b"test", b"tost"))
    with pytest.raises(DigestMismatch):
        await nora.oci.push_layout("app", layout.root)
    assert await nora.oci.repositories() == []


async def test_a_tampered_layer_leaves_no_manifest_or_tag(nora: Nora, tmp_path: Path) -> None:
    layout = build(tmp_path / "layout")
    path = layout.path(digest_of(layout.layers["v1"][1]))
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # same size, other bytes
    path.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch):
        await nora.oci.push_layout("app", layout.root, ref="v1")
    assert await nora.oci.tags("app") == []
    with pytest.raises(NotFound):
        await nora.oci.resolve("app", layout.descriptors["v1"]["digest"])
    with pytest.raises(NotFound):
        await nora.oci.blob("app", digest_of(layout.layers["v1"][1]))


async def test_layout_choices_that_name_nothing_are_refused(nora: Nora, tmp_path: Path) -> None:
    layout = build(tmp_path / "layout")
    with pytest.raises(NotFound):
        await nora.oci.push_layout("app", layout.root, ref="missing")
    with pytest.raises(InvalidInput):
        await nora.oci.push_layout("app", layout.root, tag="one-of-three")
    with pytest.raises(InvalidInput):
        await nora.oci.push_layout("app", layout.root, ref="v1", tag="bad tag")
    with pytest.raises(InvalidInput):
        await nora.oci.push_layout("app", tmp_path / "nowhere")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "oci-layout").write_text("{}")
    with pytest.raises(InvalidInput):
        await nora.oci.push_layout("app", tmp_path / "bad")
    assert await nora.oci.repositories() == []


async def test_one_by_one_pushes_verify_what_they_store(nora: Nora) -> None:
    with pytest.raises(DigestMismatch):
        await nora.oci.push_blob("app", b"payload", digest_of(b"other"))
    with pytest.raises(NotFound):
        await nora.oci.blob("app", digest_of(b"payload"))
    orphan = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": digest_of(b"{}"), "size": 2},
            "layers": [],
        }
    ).encode()
    with pytest.raises(InvalidInput):
        await nora.oci.push_manifest("app", orphan, tag="v1")
    with pytest.raises(InvalidInput):
        await nora.oci.push_manifest("app", b"not json", tag="v1")
    with pytest.raises(TooLarge):
        await nora.oci.push_manifest("app", b" " * (4 * 1024 * 1024 + 1), tag="v1")
    assert await nora.oci.repositories() == []


async def test_a_manifest_with_odd_optional_fields_still_reads(nora: Nora) -> None:
    """The registry keeps what clients pushed; the typed read takes what it can of it."""
    child = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": digest_of(b"{}"),
                "size": 2,
            },
            "layers": [],
        }
    ).encode()
    await nora.oci.push_blob("odd/app", b"{}", digest_of(b"{}"))
    await nora.oci.push_manifest("odd/app", child)
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest_of(child),
                    "size": len(child),
                    "platform": {"os": "linux", "architecture": "amd64", "os.features": None},
                }
            ],
            "annotations": {"note": "x"},
        }
    ).encode()
    await nora.oci.push_manifest("odd/app", index, tag="v1")
    read = await nora.oci.manifest("odd/app", "v1")
    assert read.is_index
    [entry] = read.manifests
    assert entry.platform is not None
    assert (entry.platform.os, entry.platform.os_features) == ("linux", ())
    assert read.annotations == {"note": "x"}
