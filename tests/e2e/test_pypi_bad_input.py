"""Bad uploads are refused the way PyPI refuses them, and leave nothing stored.

Each case posts the legacy upload form as twine shapes it (raw, so the form
can lie), then checks the status, the message and that no byte was kept:
the blob tree is unchanged, no upload is left behind, the project is unknown.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import requests
from twine.commands.upload import skip_upload

from tests.e2e.pypi_support import client_env, make_sdist, make_wheel, twine_upload
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
def http(nora: NoraProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=nora.url, timeout=30) as session:
        yield session


def _stored(nora: NoraProcess) -> set[str]:
    objects = nora.data_dir / "objects"
    return {str(p.relative_to(objects)) for p in objects.rglob("*") if p.is_file()}


def _uploads_left(nora: NoraProcess) -> list[Path]:
    uploads = nora.data_dir / "uploads"
    return [p for p in uploads.rglob("*") if p.is_file()] if uploads.exists() else []


def _form(
    data: bytes, filename: str, name: str, version: str, **overrides: str | None
) -> dict[str, str]:
    fields: dict[str, str | None] = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel" if filename.endswith(".whl") else "sdist",
        "pyversion": "py3" if filename.endswith(".whl") else "source",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
        "md5_digest": hashlib.md5(data).hexdigest(),
        "blake2_256_digest": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def _refused(
    nora: NoraProcess,
    http: httpx.Client,
    data: bytes,
    filename: str,
    fields: dict[str, str],
    *,
    project: str,
    status: int = 400,
) -> str:
    before = _stored(nora)
    answer = http.post(
        "/pypi/", data=fields, files={"content": (filename, data, "application/octet-stream")}
    )
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    assert _stored(nora) == before
    assert _uploads_left(nora) == []
    assert http.get(f"/simple/{project}/").status_code == 404
    return answer.text


def test_wrong_digests_are_refused(nora: NoraProcess, http: httpx.Client, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "digest-demo", "1.0")
    data = wheel.read_bytes()
    for field, length in (("sha256_digest", 64), ("md5_digest", 32), ("blake2_256_digest", 64)):
        fields = _form(data, wheel.name, "digest-demo", "1.0", **{field: "a" * length})
        text = _refused(nora, http, data, wheel.name, fields, project="digest-demo")
        assert "digest" in text.lower()
    malformed = _form(data, wheel.name, "digest-demo", "1.0", sha256_digest="xyz")
    assert "digest" in _refused(nora, http, data, wheel.name, malformed, project="digest-demo")
    none = _form(
        data, wheel.name, "digest-demo", "1.0",
        sha256_digest=None, md5_digest=None, blake2_256_digest=None,
    )  # fmt: skip
    assert "digest" in _refused(nora, http, data, wheel.name, none, project="digest-demo")


def test_name_and_version_must_match_the_file(
    nora: NoraProcess, http: httpx.Client, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "match-demo", "1.0")
    data = wheel.read_bytes()
    other_name = _form(data, wheel.name, "other-demo", "1.0")
    _refused(nora, http, data, wheel.name, other_name, project="match-demo")
    other_version = _form(data, wheel.name, "match-demo", "2.0")
    _refused(nora, http, data, wheel.name, other_version, project="match-demo")
    wrong_type = _form(data, wheel.name, "match-demo", "1.0", filetype="sdist")
    _refused(nora, http, data, wheel.name, wrong_type, project="match-demo")

    sdist = make_sdist(tmp_path, "match-demo", "1.0").read_bytes()
    sdist_wrong = _form(sdist, "match_demo-1.0.tar.gz", "match-demo", "1.1")
    _refused(nora, http, sdist, "match_demo-1.0.tar.gz", sdist_wrong, project="match-demo")

    lying = make_wheel(tmp_path / "lying", "match-demo", "1.0", metadata_version="9.9")
    data = lying.read_bytes()
    text = _refused(nora, http, data, lying.name, _form(data, lying.name, "match-demo", "1.0"),
                    project="match-demo")  # fmt: skip
    assert "METADATA" in text
    renamed = make_wheel(tmp_path / "renamed", "match-demo", "1.0", metadata_name="evil-demo")
    data = renamed.read_bytes()
    _refused(nora, http, data, renamed.name, _form(data, renamed.name, "match-demo", "1.0"),
             project="match-demo")  # fmt: skip


def test_corrupt_distributions_are_refused(
    nora: NoraProcess, http: httpx.Client, tmp_path: Path
) -> None:
    good = make_wheel(tmp_path, "corrupt-demo", "1.0").read_bytes()
    name = "corrupt_demo-1.0-py3-none-any.whl"
    for data in (
        good[: len(good) // 2],  # truncated: no central directory
        good[:-30] + os.urandom(30),  # damaged end of central directory
        b"PK\x03\x04" + os.urandom(4000),  # zip magic, nothing else
        os.urandom(4000),  # not a zip at all
    ):
        text = _refused(nora, http, data, name, _form(data, name, "corrupt-demo", "1.0"),
                        project="corrupt-demo")  # fmt: skip
        assert "corrupt_demo" in text or "zip" in text.lower() or "valid" in text.lower()
    # a damaged METADATA member: it must inflate and pass its CRC check
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        info = archive.getinfo("corrupt_demo-1.0.dist-info/METADATA")
    flipped = bytearray(good)
    flipped[info.header_offset + 30 + len(info.filename) + len(info.extra) + 2] ^= 0xFF
    data = bytes(flipped)
    _refused(nora, http, data, name, _form(data, name, "corrupt-demo", "1.0"),
             project="corrupt-demo")  # fmt: skip
    not_gzip = b"plain text, not a tarball"
    _refused(nora, http, not_gzip, "corrupt_demo-1.0.tar.gz",
             _form(not_gzip, "corrupt_demo-1.0.tar.gz", "corrupt-demo", "1.0"),
             project="corrupt-demo")  # fmt: skip


def test_traversal_and_bad_file_names_are_refused(
    nora: NoraProcess, http: httpx.Client, tmp_path: Path
) -> None:
    data = make_sdist(tmp_path, "trav-demo", "1.0").read_bytes()
    for filename in (
        "../trav_demo-1.0.tar.gz",
        "..%2Ftrav_demo-1.0.tar.gz",
        "x/../../trav_demo-1.0.tar.gz",
        "/etc/trav_demo-1.0.tar.gz",
        "trav_demo-1.0.tar.gz\x00.whl",
        "trav_demo-1.0.exe",
        "..",
    ):
        _refused(nora, http, data, filename, _form(data, filename, "trav-demo", "1.0"),
                 project="trav-demo")  # fmt: skip
    assert http.get("/simple/trav-demo/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_malformed_requests_are_refused(nora: NoraProcess, http: httpx.Client) -> None:
    before = _stored(nora)
    not_a_form = http.post(
        "/pypi/", content=b'{"name": "x"}', headers={"content-type": "application/json"}
    )
    assert not_a_form.status_code == 400
    truncated = http.post(
        "/pypi/",
        content=(
            b'--b\r\nContent-Disposition: form-data; name="content"; filename="a-1.0.tar.gz"'
            b"\r\n\r\n\x1f\x8b"
        ),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert truncated.status_code == 400
    no_file = http.post("/pypi/", data={":action": "file_upload", "name": "a", "version": "1"},
                        files={"other": ("x", b"y")})  # fmt: skip
    assert no_file.status_code == 400
    other_action = http.post("/pypi/", data={":action": "doc_upload"}, files={"x": ("x", b"y")})
    assert other_action.status_code == 400
    assert _stored(nora) == before
    assert _uploads_left(nora) == []


def test_duplicate_file_is_refused_as_pypi_does(
    nora: NoraProcess, http: httpx.Client, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "dup-demo", "1.0")
    env = client_env(tmp_path / "home")
    first = twine_upload([wheel], nora.url + "/pypi/", env)
    assert first.returncode == 0, first.stdout + first.stderr
    before = _stored(nora)
    again = twine_upload([wheel], nora.url + "/pypi/", env)
    assert again.returncode != 0
    assert "400" in again.stdout + again.stderr

    data = wheel.read_bytes()
    answer = requests.post(
        nora.url + "/pypi/",
        data=_form(data, wheel.name, "dup-demo", "1.0"),
        files={"content": (wheel.name, data, "application/octet-stream")},
        timeout=30,
    )
    assert answer.status_code == 400
    assert "File already exists" in answer.text
    # what `twine upload --skip-existing` decides from this answer: skip, not fail
    assert skip_upload(answer, True, None) is True  # type: ignore[arg-type]
    assert _stored(nora) == before
    assert _uploads_left(nora) == []
    page = http.get("/simple/dup-demo/").text
    assert page.count(wheel.name + "#") == 1


def test_upload_past_the_body_limit_is_refused(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    small = start_nora(env={"NORA_BODY_LIMIT_MB": "1"})
    wheel = make_wheel(tmp_path, "huge-demo", "1.0", padding=2 * 1024 * 1024)
    data = wheel.read_bytes()
    with httpx.Client(base_url=small.url, timeout=60) as client:
        fields = _form(data, wheel.name, "huge-demo", "1.0")
        text = _refused(small, client, data, wheel.name, fields, project="huge-demo", status=413)
    assert "too large" in text.lower()


def test_uv_publish_check_url_skips_what_is_there(nora: NoraProcess, tmp_path: Path) -> None:
    """twine 7 refuses --skip-existing for any repository but PyPI (before sending a byte);
    uv's equivalent, --check-url, works against NORA: the second publish skips the file."""
    from tests.e2e.pypi_support import BIN, run

    wheel = make_wheel(tmp_path, "uv-skip-demo", "1.0")
    env = client_env(tmp_path / "home")
    publish = [
        str(BIN / "uv"), "publish", "--publish-url", nora.url + "/pypi/",
        "--check-url", nora.url + "/simple/", "-u", "x", "-p", "y", str(wheel),
    ]  # fmt: skip
    first = run(publish, env)
    assert first.returncode == 0, first.stdout + first.stderr
    before = _stored(nora)
    second = run(publish, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "skipping" in (second.stdout + second.stderr).lower()
    assert _stored(nora) == before
