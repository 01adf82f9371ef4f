"""Bad publishes and requests: cargo's error JSON with a 4xx status, and nothing stored.

One server for the module, with a 1 MiB crate limit. Every refused publish
leaves the index without the crate and no byte in the blob store or the
upload area.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from domain.cargo.framing import frame
from tests.e2e.cargo_support import CargoClient, write_crate
from tests.e2e.server import NoraProcess
from tests.unit.cargo.crates import make_crate, publish_body, publish_meta

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("cargo-bad")
    with NoraProcess(root / "data", env={"NORA_CARGO_MAX_CRATE_MB": "1"}) as server:
        yield server


def _stored(nora: NoraProcess) -> set[Path]:
    """Every stored or staged byte (blobs under objects/, staging under uploads/ and tmp/)."""
    areas = ("objects", "uploads", "tmp")
    return {p for area in areas for p in (nora.data_dir / area).rglob("*") if p.is_file()}


def _publish(nora: NoraProcess, body: bytes) -> httpx.Response:
    return httpx.put(
        nora.url + "/cargo/api/v1/crates/new", content=body, headers={"Authorization": "t"}
    )


def _detail(response: httpx.Response) -> str:
    errors = response.json()["errors"]
    assert isinstance(errors, list)
    assert errors
    detail = errors[0]["detail"]
    assert isinstance(detail, str)
    assert detail
    return detail


def _meta(name: str, version: str, **fields: object) -> bytes:
    return json.dumps(publish_meta(name, version, **fields)).encode()


_GOOD = make_crate("bad-x", "1.0.0")
_CASES: dict[str, tuple[bytes, int, str]] = {
    "truncated": (publish_body("bad-x", "1.0.0")[:-20], 400, "ends 20 bytes before"),
    "json-length-lies": (
        (10_000).to_bytes(4, "little") + _meta("bad-x", "1.0.0"),
        400,
        "ends inside the metadata",
    ),
    "crate-length-lies-short": (
        frame(_meta("bad-x", "1.0.0"), _GOOD)[: -len(_GOOD) - 4]
        + (len(_GOOD) - 10).to_bytes(4, "little")
        + _GOOD,
        400,
        "bytes follow the crate",
    ),
    "empty": (b"", 400, "ends inside"),
    "not-json": (frame(b"{not json", _GOOD), 400, "JSON"),
    "deep-json": (frame(b"[" * 100 + b"]" * 100, _GOOD), 400, "deeper"),
    "json-disagrees-name": (publish_body("bad-y", "1.0.0", _GOOD), 400, "Cargo.toml"),
    "json-disagrees-version": (publish_body("bad-x", "1.0.1", _GOOD), 400, "Cargo.toml"),
    "manifest-disagrees": (
        publish_body(
            "bad-x", "1.0.0", make_crate("bad-x", "1.0.0", manifest='[package]\nname = "x"\n')
        ),
        400,
        "names x@None",
    ),
    "not-a-tar": (publish_body("bad-x", "1.0.0", b"\x1f\x8b not really gzip"), 400, "gzip"),
    "traversal-member": (
        publish_body("bad-x", "1.0.0", make_crate("bad-x", "1.0.0", extra={"../evil": b"x"})),
        400,
        "..",
    ),
    "traversal-name": (publish_body("../bad", "1.0.0", _GOOD), 400, "crate name"),
    "reserved-name": (publish_body("std", "1.0.0", _GOOD), 400, "reserved"),
    "long-name": (publish_body("a" * 65, "1.0.0", _GOOD), 400, "64"),
    "bad-version": (publish_body("bad-x", "1.0", _GOOD), 400, "SemVer"),
    "bad-dep-kind": (
        publish_body(
            "bad-x",
            "1.0.0",
            _GOOD,
            deps=[{"name": "serde", "version_req": "^1", "kind": "weird"}],
        ),
        400,
        "kind",
    ),
}


@pytest.mark.parametrize("case", list(_CASES))
def test_bad_publishes_are_refused_and_store_nothing(small: NoraProcess, case: str) -> None:
    body, status, words = _CASES[case]
    before = _stored(small)
    response = _publish(small, body)
    assert response.status_code == status, response.text
    assert words in _detail(response)
    assert httpx.get(small.url + "/cargo/index/ba/d-/bad-x").status_code == 404
    assert _stored(small) == before


def test_oversized_crate_is_refused_while_streaming(small: NoraProcess) -> None:
    crate = os.urandom(2 * 1024 * 1024)
    before = _stored(small)
    response = _publish(small, frame(_meta("bad-big", "1.0.0"), crate))
    assert response.status_code == 413
    assert "exceeds" in _detail(response)
    assert _stored(small) == before


def test_collisions_and_duplicates(small: NoraProcess, tmp_path: Path) -> None:
    cargo = CargoClient(tmp_path / "home", small.url, token="t")
    cargo.publish(write_crate(tmp_path, "dup_name", "1.0.0"))
    before = _stored(small)
    for name in ("Dup-Name", "dup-name", "DUP_NAME"):
        response = _publish(small, publish_body(name, "1.0.0", make_crate(name, "1.0.0")))
        assert response.status_code == 409
        assert "collides" in _detail(response)
    again = _publish(small, publish_body("dup_name", "1.0.0", make_crate("dup_name", "1.0.0")))
    assert again.status_code == 409
    assert "already uploaded" in _detail(again)
    build = _publish(
        small, publish_body("dup_name", "1.0.0+build.2", make_crate("dup_name", "1.0.0+build.2"))
    )
    assert build.status_code == 409
    assert _stored(small) == before
    # cargo itself reports the registry's detail
    done = cargo.run(
        "publish", "--registry", "local", "--allow-dirty", "--no-verify",
        cwd=write_crate(tmp_path / "again", "dup_name", "1.0.0"),
    )  # fmt: skip
    assert done.returncode != 0
    assert "already exists" in done.stderr  # cargo checks the index before it uploads
    index = httpx.get(small.url + "/cargo/index/du/p_/dup_name").text.splitlines()
    assert [json.loads(line)["vers"] for line in index] == ["1.0.0"]
    assert httpx.get(small.url + "/cargo/index/du/p-/dup-name").status_code == 404


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/cargo/index/../../etc/passwd", 404),
        ("/cargo/index/ab/cd/ab%2f..%2fcd", 400),
        ("/cargo/index/1/%00", 400),
        ("/cargo/index/3/a/a..", 400),
        ("/cargo/api/v1/crates/..%2fx/1.0.0/download", 404),
        ("/cargo/api/v1/crates/dup_name/not-semver/download", 400),
        ("/cargo/api/v1/crates/dup_name/9.9.9/download", 404),
        ("/cargo/api/v1/crates/nothere/1.0.0/download", 404),
        ("/cargo/api/v1/crates/nothere/owners", 404),
    ],
)
def test_hostile_paths(small: NoraProcess, path: str, status: int) -> None:
    response = httpx.get(small.url + path)
    assert response.status_code == status
    if status != 404:
        _detail(response)


def test_bad_api_bodies(small: NoraProcess, tmp_path: Path) -> None:
    cargo = CargoClient(tmp_path / "home", small.url, token="t")
    cargo.publish(write_crate(tmp_path, "own-me", "1.0.0"))
    url = small.url + "/cargo/api/v1/crates/own-me/owners"
    for body in (b"", b"{", b'{"users": "bob"}', b'{"users": []}', json.dumps({"users": ["\x00"]})):
        response = httpx.put(url, content=body, headers={"Authorization": "t"})
        assert response.status_code == 400
        _detail(response)
    yank = httpx.delete(
        small.url + "/cargo/api/v1/crates/own-me/2.0.0/yank", headers={"Authorization": "t"}
    )
    assert yank.status_code == 404
    _detail(yank)
    search = httpx.get(small.url + "/cargo/api/v1/crates", params={"q": "\x00" * 5000})
    assert search.status_code == 200
    assert search.json()["meta"]["total"] == 0
