"""package-lock.json v1/v2/v3: the registry packages pinned, what is skipped, hostile input."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.npm.lockfile import Integrity, LockedPackage, parse_integrity, parse_lockfile


def _sri(data: bytes, algorithm: str = "sha512") -> str:
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def _lock(document: dict[str, Any]) -> list[LockedPackage]:
    return parse_lockfile(json.dumps(document).encode())


def test_v3_packages_with_scopes_nesting_and_aliases() -> None:
    found = _lock(
        {
            "lockfileVersion": 3,
            "packages": {
                "": {"name": "app", "version": "1.0.0"},
                "node_modules/a": {"version": "1.0.0", "integrity": _sri(b"a")},
                "node_modules/@s/b": {"version": "2.0.0-rc.1"},
                "node_modules/a/node_modules/@s/b": {"version": "1.5.0"},
                "node_modules/alias": {"name": "real", "version": "3.0.0"},
                "packages/ws": {"name": "ws", "version": "0.0.1"},
                "packages/ws/node_modules/c": {"version": "4.0.0"},
                "node_modules/ws": {"resolved": "packages/ws", "link": True},
                "node_modules/bundled": {"version": "1.0.0", "inBundle": True},
                "node_modules/from-git": {
                    "version": "1.0.0",
                    "resolved": "git+ssh://git@example.test/x.git#abc",
                },
                "node_modules/optional-elsewhere": {"optional": True},
                "node_modules/twice/node_modules/a": {"version": "1.0.0"},
            },
        }
    )
    assert [p.label for p in found] == [
        "@s/b@1.5.0",
        "@s/b@2.0.0-rc.1",
        "a@1.0.0",
        "c@4.0.0",
        "real@3.0.0",
    ]
    assert found[2].integrity == Integrity("sha512", hashlib.sha512(b"a").hexdigest())


def test_v1_nested_dependencies_aliases_and_sources_that_are_not_a_registry() -> None:
    found = _lock(
        {
            "lockfileVersion": 1,
            "dependencies": {
                "a": {
                    "version": "1.0.0",
                    "integrity": _sri(b"a", "sha1"),
                    "dependencies": {"b": {"version": "2.0.0"}},
                },
                "al": {"version": "npm:@s/real@1.2.3"},
                "g": {"version": "github:user/repo#abc"},
                "f": {"version": "file:../f"},
                "t": {"version": "https://example.test/t.tgz"},
                "bun": {"version": "1.0.0", "bundled": True},
            },
        }
    )
    assert [p.label for p in found] == ["@s/real@1.2.3", "a@1.0.0", "b@2.0.0"]
    assert found[1].integrity == Integrity("sha1", hashlib.sha1(b"a").hexdigest())


def test_v2_reads_packages_not_the_legacy_section() -> None:
    found = _lock(
        {
            "lockfileVersion": 2,
            "packages": {"node_modules/new": {"version": "1.0.0"}},
            "dependencies": {"old": {"version": "1.0.0"}},
        }
    )
    assert [p.label for p in found] == ["new@1.0.0"]


def test_the_strongest_integrity_wins() -> None:
    both = f"{_sri(b'x', 'sha1')} {_sri(b'x', 'sha512')}"
    assert parse_integrity(both) == Integrity("sha512", hashlib.sha512(b"x").hexdigest())
    assert parse_integrity("md5-abc") is None
    with pytest.raises(InvalidInput):
        parse_integrity("sha512-not*base64")
    with pytest.raises(InvalidInput):
        parse_integrity("sha256-" + base64.b64encode(b"short").decode())


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "JSON object"),
        ({"lockfileVersion": 9}, "lockfileVersion"),
        ({"lockfileVersion": True}, "lockfileVersion"),
        ({"lockfileVersion": 3, "packages": []}, "JSON object"),
        ({"lockfileVersion": 3, "packages": {"node_modules/x": {"version": 1}}}, "string"),
        ({"lockfileVersion": 3, "packages": {"node_modules/x": {"version": "1.0"}}}, "semver"),
        ({"lockfileVersion": 3, "packages": {"node_modules/.x": {"version": "1.0.0"}}}, "period"),
        ({"dependencies": {"a": {"version": "1.0.0", "dependencies": 3}}}, "JSON object"),
    ],
)
def test_bad_lockfiles_are_one_sentence(document: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        _lock(document)


def test_not_json_and_too_deep() -> None:
    with pytest.raises(InvalidInput):
        parse_lockfile(b"{not json")
    with pytest.raises(InvalidInput):
        parse_lockfile(
            b'{"dependencies":' + b'{"a":{"dependencies":' * 40 + b"{}" + b"}}" * 40 + b"}"
        )


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "version",
                    "resolved",
                    "integrity",
                    "name",
                    "link",
                    "inBundle",
                    "dependencies",
                    "packages",
                    "lockfileVersion",
                    "node_modules/a",
                    "node_modules/@s/b",
                    "",
                ]
            )
            | st.text(max_size=10),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300)
@given(_json)
def test_any_json_is_a_list_of_packages_or_invalid_input(document: Any) -> None:
    try:
        found = parse_lockfile(json.dumps(document).encode())
    except InvalidInput:
        return
    assert all(isinstance(p, LockedPackage) for p in found)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_any_bytes_are_a_list_or_invalid_input(data: bytes) -> None:
    try:
        found = parse_lockfile(data)
    except InvalidInput:
        return
    assert all(isinstance(p, LockedPackage) for p in found)


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_any_integrity_is_a_digest_none_or_invalid_input(text: str) -> None:
    try:
        found = parse_integrity(text)
    except InvalidInput:
        return
    assert found is None or len(bytes.fromhex(found.hexdigest)) in (20, 32, 48, 64)
