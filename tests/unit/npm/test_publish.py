"""Publish-body parsing: valid bodies pass, every kind of corruption is refused."""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import DigestMismatch, InvalidInput
from domain.npm.grammar import parse_name
from domain.npm.publish import (
    integrity_digests,
    parse_document,
    prepare_publish,
)
from tests.unit.npm.bodies import publish_body


def _prepare(body: dict[str, Any], name: str | None = None) -> Any:
    url_name = parse_name(name or body["name"])
    return prepare_publish(url_name, parse_document(msgspec.json.encode(body)))


@pytest.mark.parametrize("name", ["demo", "@acme/util"])
def test_valid_publish(name: str) -> None:
    prepared = _prepare(publish_body(name, "1.0.0", b"bytes", keywords=["k"]))
    assert prepared.tarball == b"bytes"
    assert prepared.plan.filename == f"{name.split('/')[-1]}-1.0.0.tgz"
    assert prepared.plan.tags == {"latest": "1.0.0"}
    assert prepared.plan.keywords == ["k"]
    manifest = msgspec.json.decode(prepared.plan.manifest)
    assert "integrity" not in manifest["dist"]
    assert manifest["version"] == "1.0.0"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"data": "%%%not base64"}, InvalidInput),
        ({"length": 3}, InvalidInput),
        ({"shasum": "0" * 40}, DigestMismatch),
        ({"integrity": "sha512-" + "A" * 86 + "=="}, DigestMismatch),
        ({"integrity": "md5-zzz"}, InvalidInput),
        ({"shasum": "xyz"}, InvalidInput),
    ],
)
def test_corrupt_attachments(change: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        _prepare(publish_body("demo", "1.0.0", b"real bytes", **change))


def test_name_and_version_rules() -> None:
    with pytest.raises(InvalidInput):
        _prepare(publish_body("demo", "1.0.0"), name="other")
    with pytest.raises(InvalidInput):
        _prepare(publish_body("Demo", "1.0.0"))
    with pytest.raises(InvalidInput):
        _prepare(publish_body("demo", "1.0"))
    body = publish_body("demo", "1.0.0")
    body["_attachments"] = {"demo-2.0.0.tgz": body["_attachments"]["demo-1.0.0.tgz"]}
    with pytest.raises(InvalidInput):
        _prepare(body)
    body = publish_body("demo", "1.0.0")
    body["versions"]["1.0.1"] = body["versions"]["1.0.0"]
    with pytest.raises(InvalidInput):
        _prepare(body)


def test_integrity_digests() -> None:
    sha1 = hashlib.sha1(b"x").hexdigest()
    digests = integrity_digests("sha384-AAAA sha1-" + "C" * 27 + "=", sha1)
    assert [d.algorithm for d in digests] == ["sha1", "sha1"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(doc=_json)
@settings(max_examples=300)
def test_any_json_document_parses_or_raises(doc: Any) -> None:
    try:
        parsed = parse_document(msgspec.json.encode(doc))
        prepare_publish(parse_name("demo"), parsed)
    except InvalidInput:
        pass


@given(raw=st.binary(max_size=200))
@settings(max_examples=300)
def test_any_bytes_parse_or_raise(raw: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        parse_document(raw)


@given(
    key=st.sampled_from(["name", "version", "data", "length", "integrity", "shasum", "tag"]),
    value=_json,
)
@settings(max_examples=300)
def test_mutated_publish_bodies_parse_or_raise(key: str, value: Any) -> None:
    body = publish_body("demo", "1.0.0", b"tarball")
    version = body["versions"]["1.0.0"]
    if key in ("integrity", "shasum"):
        version["dist"][key] = value
    elif key in ("data", "length"):
        body["_attachments"]["demo-1.0.0.tgz"][key] = value
    elif key == "tag":
        body["dist-tags"] = {str(value)[:20]: "1.0.0"}
    else:
        version[key] = value
    try:
        prepared = _prepare(body, name="demo")
    except InvalidInput:
        return
    assert prepared.tarball == b"tarball"
