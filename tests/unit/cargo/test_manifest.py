"""``from_manifest``: a packaged crate's Cargo.toml read as ``cargo publish`` would send it.

The manifest comes from the client's .crate, so it is hostile input: whatever the
bytes, the reader returns publish metadata or raises ``InvalidInput``, never anything else.
"""

from __future__ import annotations

import contextlib
import string
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.cargo.metadata import from_manifest, to_version
from domain.errors import InvalidInput

_KEYS = st.sampled_from(
    [
        "package", "name", "version", "dependencies", "dev-dependencies", "build-dependencies",
        "target", "features", "registry-index", "registry", "package", "optional",
        "default-features", "authors", "keywords", "description", "license", "cfg(unix)",
    ]
)  # fmt: skip
_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.text(string.printable, max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_KEYS | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=25,
)


def _toml_value(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
    return "{" + items + "}"


def _toml_key(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _read(data: bytes) -> None:
    try:
        meta = from_manifest(data, own_index="sparse+http://127.0.0.1/cargo/index/")
    except InvalidInput:
        return
    with contextlib.suppress(InvalidInput):
        to_version(meta)


@given(st.binary(max_size=2000))
@settings(max_examples=300)
def test_any_bytes_give_metadata_or_invalid_input(data: bytes) -> None:
    _read(data)


@given(st.dictionaries(_KEYS, _VALUES, max_size=6))
@settings(max_examples=400)
def test_any_toml_document_gives_metadata_or_invalid_input(document: dict[str, Any]) -> None:
    text = "\n".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in document.items())
    _read(text.encode())


def test_a_normalised_manifest_reads_as_cargo_sends_it() -> None:
    meta = from_manifest(
        b"""
[package]
name = "demo"
version = "0.1.0"
description = "a demo"
license = "MIT"

[dependencies.serde]
version = "1.0"
features = ["derive"]

[dependencies.local]
version = "0.2"
registry-index = "sparse+http://127.0.0.1/cargo/index/"

[dev-dependencies.tester]
path = "../tester"

[target."cfg(unix)".dependencies.libc]
version = "0.2"
optional = true

[features]
default = ["serde"]
""",
        own_index="sparse+http://127.0.0.1/cargo/index/",
        default_registry="https://example.invalid/index",
    )
    assert (meta.name, meta.vers, meta.license) == ("demo", "0.1.0", "MIT")
    deps = {dep.name: dep for dep in meta.deps}
    assert set(deps) == {"serde", "local", "libc"}  # the path-only dev-dependency is left out
    assert deps["serde"].version_req == "^1.0"
    assert deps["serde"].registry == "https://example.invalid/index"
    assert deps["local"].registry is None  # this registry's own index
    assert deps["libc"].target == "cfg(unix)"
    assert deps["libc"].optional
    assert meta.features == {"default": ["serde"]}


def test_a_manifest_without_a_package_is_refused() -> None:
    huge = b"[package]\nname = 'a'\nversion = '1.0.0'\n[package.metadata]\nx = " + b"1" * 5000
    for data in (b"", b"[dependencies]\nx = '1'\n", b"package = 3", b"\xff\xfe", huge):
        try:
            from_manifest(data)
        except InvalidInput as exc:
            assert exc.subject == "crate"
        else:
            raise AssertionError(data)
