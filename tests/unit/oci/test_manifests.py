"""The manifest parser: every supported type, artifacts, and hostile bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.digests import Digest, hash_bytes
from domain.errors import InvalidInput, TooLarge
from domain.oci.manifests import (
    MAX_MANIFEST_SIZE,
    ParsedManifest,
    parse_manifest,
    platform_child,
)
from domain.oci.media import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
)

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha512:" + "3" * 128


def image(media_type: str | None = OCI_MANIFEST, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": D1,
            "size": 2,
        },
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D2, "size": 9}
        ],
        **extra,
    }
    if media_type:
        doc["mediaType"] = media_type
    return doc


def index(media_type: str | None = OCI_INDEX, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": D1, "size": 10, "platform": {"os": "linux"}},
            {"mediaType": OCI_MANIFEST, "digest": D3, "size": 10},
        ],
        **extra,
    }
    if media_type:
        doc["mediaType"] = media_type
    return doc


def parse(doc: dict[str, Any], content_type: str | None = None) -> ParsedManifest:
    return parse_manifest(json.dumps(doc).encode(), content_type)


def test_oci_image_manifest() -> None:
    body = json.dumps(image()).encode()
    parsed = parse_manifest(body, OCI_MANIFEST)
    assert parsed.media_type == OCI_MANIFEST
    assert parsed.digest == hash_bytes(body)
    assert [(str(b.digest), b.size) for b in parsed.blobs] == [(D1, 2), (D2, 9)]
    assert parsed.children == ()
    assert parsed.artifact_type == "application/vnd.oci.image.config.v1+json"


def test_docker_manifest_and_list() -> None:
    assert parse(image(DOCKER_MANIFEST)).media_type == DOCKER_MANIFEST
    listed = parse(index(DOCKER_MANIFEST_LIST))
    assert listed.media_type == DOCKER_MANIFEST_LIST
    assert [(str(c.digest), c.size) for c in listed.children] == [(D1, 10), (D3, 10)]
    assert listed.artifact_type is None


def test_media_type_comes_from_the_header_or_the_shape() -> None:
    assert parse(image(None), OCI_MANIFEST).media_type == OCI_MANIFEST
    assert parse(image(None)).media_type == OCI_MANIFEST
    assert parse(index(None)).media_type == OCI_INDEX


def test_artifact_with_subject_and_artifact_type() -> None:
    subject = {"mediaType": OCI_MANIFEST, "digest": D3, "size": 5}
    parsed = parse(image(artifactType="application/x.sig", subject=subject, annotations={"k": "v"}))
    assert str(parsed.subject) == D3
    assert parsed.artifact_type == "application/x.sig"
    descriptor = parsed.descriptor()
    assert descriptor.artifactType == "application/x.sig"
    assert descriptor.annotations == {"k": "v"}
    assert str(parse(index(subject=subject)).subject) == D3


def test_non_distributable_layers_need_not_be_present() -> None:
    doc = image(DOCKER_MANIFEST)
    doc["layers"].append(
        {
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "digest": D3,
            "size": 1,
            "urls": ["https://example.invalid/layer"],
        }
    )
    assert [str(b.digest) for b in parse(doc).blobs] == [D1, D2]


@pytest.mark.parametrize(
    ("doc", "content_type"),
    [
        (image(), DOCKER_MANIFEST),  # contradicts the header
        (image(schemaVersion=1), None),
        ({**image(), "schemaVersion": 3}, None),
        ({"schemaVersion": 2, "mediaType": OCI_MANIFEST}, None),  # no config or layers
        (image(OCI_INDEX), None),  # an index with config
        (index(OCI_MANIFEST), None),  # a manifest with manifests
        (image(DOCKER_MANIFEST, artifactType="a/b"), None),
        (image("text/plain"), None),
        (
            image(DOCKER_MANIFEST, subject={"mediaType": OCI_MANIFEST, "digest": D1, "size": 1}),
            None,
        ),
        (image(None), "application/vnd.docker.distribution.manifest.v1+prettyjws"),
        (
            {**image(), "config": {"mediaType": "a/b", "digest": "sha1:" + "a" * 40, "size": 1}},
            None,
        ),
        ({**image(), "config": {"mediaType": "a/b", "digest": D1, "size": -1}}, None),
        ({**image(), "config": {"mediaType": "bad type", "digest": D1, "size": 1}}, None),
        ({**image(), "layers": "nope"}, None),
        (index(DOCKER_MANIFEST_LIST) | {"mediaType": None}, DOCKER_MANIFEST_LIST),
    ],
)
def test_invalid_manifests_are_manifest_invalid(
    doc: dict[str, Any], content_type: str | None
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse(doc, content_type)
    assert caught.value.subject == "manifest"


def test_oversized_manifest_is_too_large() -> None:
    doc = image(annotations={"pad": "x" * MAX_MANIFEST_SIZE})
    with pytest.raises(TooLarge):
        parse(doc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
manifest_like = st.fixed_dictionaries(
    {},
    optional={
        "schemaVersion": st.one_of(st.just(2), st.integers()),
        "mediaType": st.sampled_from([OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, "x/y", ""]),
        "config": json_values,
        "layers": json_values,
        "manifests": json_values,
        "subject": json_values,
        "artifactType": json_values,
        "annotations": json_values,
    },
)


@settings(deadline=None)
@given(st.one_of(st.binary(max_size=300), manifest_like.map(lambda d: json.dumps(d).encode())))
def test_hostile_bodies_parse_or_raise_invalid_input(body: bytes) -> None:
    try:
        parsed = parse_manifest(body, None)
    except InvalidInput:
        return
    assert parsed.digest == hash_bytes(body)
    assert parsed.media_type in (OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST)


@settings(deadline=None)
@given(
    st.sampled_from([image(), index(), image(DOCKER_MANIFEST), index(DOCKER_MANIFEST_LIST)]),
    st.text(max_size=60),
)
def test_any_content_type_header_parses_or_raises_invalid_input(
    doc: dict[str, Any], header: str
) -> None:
    try:
        parse(doc, header)
    except InvalidInput as exc:
        assert exc.subject == "manifest"


def test_platform_child_picks_linux_amd64() -> None:
    arm, amd = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    body = json.dumps(
        {
            "manifests": [
                {"digest": arm, "platform": {"os": "linux", "architecture": "arm64"}},
                {"digest": "sha256:" + "c" * 64},
                {"digest": amd, "platform": {"os": "linux", "architecture": "amd64"}},
            ]
        }
    ).encode()
    assert str(platform_child(body)) == amd
    assert str(platform_child(body, architecture="arm64")) == arm
    assert platform_child(body, os="windows") is None


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        _json_values.map(lambda v: json.dumps(v).encode()),
        st.lists(
            st.fixed_dictionaries(
                {"digest": st.text(max_size=80) | st.sampled_from(["sha256:" + "d" * 64])},
                optional={
                    "platform": _json_values | st.just({"os": "linux", "architecture": "amd64"})
                },
            ),
            max_size=4,
        ).map(lambda entries: json.dumps({"manifests": entries}).encode()),
    )
)
def test_platform_child_of_anything_is_a_digest_or_none(body: bytes) -> None:
    found = platform_child(body)
    assert found is None or isinstance(found, Digest)
