"""Bad input at /go/: a clear 4xx in the go command's plain-text shape, never a 500, and
nothing stored (no module, no version, no blob)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.go_support import make_module, module_zip, nora_go_publish
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e

MOD = "example.com/bad/mod"
ROOT = f"{MOD}@v1.0.0/"
GOOD_MOD = f"module {MOD}\n\ngo 1.21\n"


@pytest.fixture(scope="module")
def nora(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("go-bad")
    with NoraProcess(root / "data", env={"NORA_GO_MAX_ZIP_MB": "1"}) as server:
        yield server


def _blobs(nora: NoraProcess) -> list[str]:
    return sorted(
        os.path.join(d, f) for d, _, files in os.walk(nora.data_dir / "blobs") for f in files
    )


def _put(nora: NoraProcess, path: str, body: bytes) -> httpx.Response:
    return httpx.put(f"{nora.url}/go/{path}", content=body, timeout=60)


@pytest.mark.parametrize(
    ("why", "files"),
    [
        ("outside the prefix", {"../evil.go": "package x", "go.mod": GOOD_MOD}),
        ("case collision", {"go.mod": GOOD_MOD, "a.go": "package a", "A.go": "package a"}),
        ("oversized go.mod", {"go.mod": GOOD_MOD + "//" * (8 << 20) + "\n"}),
        ("wrong module line", {"go.mod": "module example.com/someone/else\n"}),
        ("vendored package", {"go.mod": GOOD_MOD, "vendor/x/y/y.go": "package y"}),
        ("bad go.mod", {"go.mod": "module\n"}),
    ],
)
def test_bad_zips_are_refused_and_nothing_is_stored(
    nora: NoraProcess, why: str, files: dict[str, str]
) -> None:
    before = _blobs(nora)
    response = _put(nora, f"{MOD}/@v/v1.0.0.zip", module_zip(ROOT, files))
    assert response.status_code in (400, 413), (why, response.status_code, response.text)
    assert response.text.startswith(("bad request: ", "too large: ")), response.text
    assert _blobs(nora) == before
    assert httpx.get(f"{nora.url}/go/{MOD}/@v/list").status_code == 404


def test_a_zip_with_a_foreign_prefix_or_garbage_is_refused(nora: NoraProcess) -> None:
    before = _blobs(nora)
    foreign = module_zip("example.com/other@v1.0.0/", {"go.mod": GOOD_MOD})
    assert _put(nora, f"{MOD}/@v/v1.0.0.zip", foreign).status_code == 400
    assert _put(nora, f"{MOD}/@v/v1.0.0.zip", b"PK\x03\x04 not really").status_code == 400
    assert _put(nora, f"{MOD}/@v/v1.0.0.zip", os.urandom(2 << 20)).status_code == 413
    assert _blobs(nora) == before


@pytest.mark.parametrize("version", ["1.0.0", "v1.0", "v1.0.0+meta", "latest", "v2.0.0"])
def test_versions_that_are_not_semver_or_break_the_major_rule(
    nora: NoraProcess, version: str
) -> None:
    before = _blobs(nora)
    body = module_zip(f"{MOD}@{version}/", {"go.mod": GOOD_MOD})
    response = _put(nora, f"{MOD}/@v/{version}.zip", body)
    assert response.status_code == 400, response.text
    assert _blobs(nora) == before


def test_a_duplicate_version_is_refused_and_the_first_stays(nora: NoraProcess) -> None:
    mod = "example.com/dup/mod"
    first = module_zip(f"{mod}@v1.0.0/", {"go.mod": f"module {mod}\n", "a.go": "package a\n"})
    assert _put(nora, f"{mod}/@v/v1.0.0.zip", first).status_code == 201
    before = _blobs(nora)
    second = module_zip(f"{mod}@v1.0.0/", {"go.mod": f"module {mod}\n", "b.go": "package b\n"})
    response = _put(nora, f"{mod}/@v/v1.0.0.zip", second)
    assert response.status_code == 409
    assert response.text.startswith("conflict: ")
    assert _blobs(nora) == before
    assert httpx.get(f"{nora.url}/go/{mod}/@v/v1.0.0.zip").content == first
    # .mod and .info cannot be written at all: they come from the zip
    assert _put(nora, f"{mod}/@v/v1.0.0.mod", b"module x\n").status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "example.com/%21/@v/list",  # "!" followed by nothing
        "example.com/%211x/@v/list",  # "!" followed by a digit
        "example.com/Upper/@v/list",  # an upper-case letter that was not escaped
        "example.com/m/@v/v1.0.0-%21%21.info",
        "example.com/%C3%A9/@latest",
    ],
)
def test_escapes_that_do_not_decode(nora: NoraProcess, path: str) -> None:
    response = httpx.get(f"{nora.url}/go/{path}")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/plain")
    put = _put(nora, path.replace("@latest", "@v/v1.0.0.zip"), b"PK")
    assert 400 <= put.status_code < 500


@pytest.mark.parametrize(
    "path",
    [
        "example.com/none/@v/list",
        "example.com/none/@latest",
        "example.com/none/@v/v1.0.0.info",
        "example.com/none/@v/master.info",  # a branch query: not found, so go moves on
        "example.com/none/@v/v1.0.0.tar",
        "nodot/@v/list",
        "example.com/m/v1/@v/list",
        "sumdb/sum.example/supported",
        "sumdb/sum.example/lookup/example.com/none@v1.0.0",
    ],
)
def test_unknown_things_are_404_so_go_falls_through(nora: NoraProcess, path: str) -> None:
    response = httpx.get(f"{nora.url}/go/{path}")
    assert response.status_code in (400, 404), response.text
    if not path.startswith(("nodot", "example.com/m/v1")):
        assert response.status_code == 404


def test_the_cli_refuses_bad_targets_before_uploading(nora: NoraProcess, tmp_path: Path) -> None:
    tree = make_module(tmp_path / "m", "example.com/cli/mod", {"a.go": "package a\n"})
    registry = nora.url + "/go"
    wrong = nora_go_publish(tree, "example.com/cli/other@v1.0.0", registry)
    assert wrong.returncode == 2
    assert "example.com/cli/mod" in wrong.stderr
    assert nora_go_publish(tree, "example.com/cli/mod@1.0", registry).returncode == 2
    assert nora_go_publish(tree, "example.com/cli/mod", registry).returncode == 2
    ok = nora_go_publish(tree, "example.com/cli/mod@v1.0.0", registry)
    assert ok.returncode == 0, ok.stderr
    again = nora_go_publish(tree, "example.com/cli/mod@v1.0.0", registry)
    assert again.returncode == 1
    assert "409" in again.stderr
