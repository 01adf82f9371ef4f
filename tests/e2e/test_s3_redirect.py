"""The real server over S3 (a moto server): downloads redirected to presigned URLs, and not.

With ``NORA_S3_REDIRECT`` a raw file's GET answers 307 to the storage and curl,
following it, gets the exact bytes; skopeo pulls an image whose large layer
comes the same way. Without it the same download is a 200 from the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.oci_support import skopeo
from tests.e2e.raw_support import curl
from tests.e2e.server import NoraProcess
from tests.moto_server import ACCESS_KEY, REGION, SECRET_KEY, create_bucket, moto_server

pytestmark = pytest.mark.e2e

KIB = 1024


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        create_bucket(url, "nora-e2e")
        yield url


def _s3_env(endpoint: str, redirect: bool) -> dict[str, str]:
    return {
        "NORA_STORAGE_MODE": "s3",
        "NORA_S3_ENDPOINT": endpoint,
        "NORA_S3_BUCKET": "nora-e2e",
        "NORA_S3_PREFIX": f"run-{uuid.uuid4().hex[:8]}",
        "NORA_S3_REGION": REGION,
        "NORA_S3_ACCESS_KEY": ACCESS_KEY,
        "NORA_S3_SECRET_KEY": SECRET_KEY,
        "NORA_S3_PATH_STYLE": "true",
        "NORA_S3_REDIRECT": "true" if redirect else "false",
    }


@pytest.fixture(scope="module")
def redirecting(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("s3-redirect")
    with NoraProcess(root / "data", env=_s3_env(endpoint, redirect=True)) as server:
        yield server


def _put(server: NoraProcess, path: str, data: bytes, root: Path) -> None:
    source = root / "upload.bin"
    source.write_bytes(data)
    put = curl("-f", "-T", str(source), f"{server.url}/raw/{path}")
    assert put.code == 0, put.err


def test_ready_checks_the_bucket(redirecting: NoraProcess) -> None:
    answer = httpx.get(f"{redirecting.url}/ready")
    assert answer.status_code == 200, answer.text


def test_a_raw_download_redirects_to_the_storage(
    redirecting: NoraProcess, endpoint: str, tmp_path: Path
) -> None:
    data = os.urandom(300 * KIB + 17)
    _put(redirecting, "team/some/file.bin", data, tmp_path)
    answer = httpx.get(f"{redirecting.url}/raw/team/some/file.bin", follow_redirects=False)
    assert answer.status_code == 307, answer.text
    assert answer.content == b""
    location = answer.headers["location"]
    assert location.startswith(endpoint + "/nora-e2e/")
    assert httpx.get(location).content == data
    fetched = curl(
        "-f", "-L", "-o", str(tmp_path / "out.bin"), f"{redirecting.url}/raw/team/some/file.bin"
    )
    assert fetched.code == 0, fetched.err
    assert (tmp_path / "out.bin").read_bytes() == data
    head = httpx.head(f"{redirecting.url}/raw/team/some/file.bin")
    assert (head.status_code, head.headers["content-length"]) == (200, str(len(data)))
    part = httpx.get(f"{redirecting.url}/raw/team/some/file.bin", headers={"range": "bytes=5-9"})
    assert (part.status_code, part.content) == (206, data[5:10])


def _umoci(cwd: Path, *args: str) -> None:
    done = subprocess.run(
        ["umoci", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


def _image_with_a_large_layer(root: Path) -> Path:
    """An OCI layout whose one layer holds 512 KiB of random bytes (gzip cannot shrink them)."""
    layout = root / "layout"
    _umoci(root, "init", "--layout", str(layout))
    _umoci(root, "new", "--image", f"{layout}:v1")
    bundle = root / "bundle"
    _umoci(root, "unpack", "--rootless", "--image", f"{layout}:v1", str(bundle))
    (bundle / "rootfs" / "payload").write_bytes(os.urandom(512 * KIB))
    _umoci(root, "repack", "--image", f"{layout}:v1", str(bundle))
    return layout


def _layers(layout: Path) -> dict[str, bytes]:
    """Every blob the layout's ``v1`` manifest names as a layer, by digest."""
    index = json.loads((layout / "index.json").read_text())
    (entry,) = (
        m
        for m in index["manifests"]
        if m["annotations"].get("org.opencontainers.image.ref.name") == "v1"
    )
    blobs = layout / "blobs" / "sha256"
    manifest = json.loads((blobs / entry["digest"].split(":")[1]).read_bytes())
    return {
        layer["digest"]: (blobs / layer["digest"].split(":")[1]).read_bytes()
        for layer in manifest["layers"]
    }


def test_skopeo_pulls_a_layer_through_the_redirect(
    redirecting: NoraProcess, tmp_path: Path
) -> None:
    layout = _image_with_a_large_layer(tmp_path)
    pushed = _layers(layout)
    assert max(len(data) for data in pushed.values()) > 500 * KIB
    image = f"docker://127.0.0.1:{redirecting.port}/team/big:v1"
    skopeo(tmp_path, "copy", "--dest-tls-verify=false", f"oci:{layout}:v1", image)
    pulled = tmp_path / "pulled"
    skopeo(tmp_path, "copy", "--src-tls-verify=false", image, f"oci:{pulled}:v1")
    got = _layers(pulled)
    assert got.keys() == pushed.keys()
    for digest, data in got.items():
        assert data == pushed[digest]
        assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    assert any(
        line.get("status") == 307 and "/blobs/" in str(line.get("path", ""))
        for line in _access_log(redirecting)
    ), "the layer was not redirected"


def _access_log(server: NoraProcess) -> list[dict[str, object]]:
    lines = []
    for text in server.log().splitlines():
        if text.startswith("{"):
            try:
                lines.append(json.loads(text))
            except ValueError:
                continue
    return lines


def test_without_redirect_the_server_sends_the_bytes(endpoint: str, tmp_path: Path) -> None:
    data = os.urandom(200 * KIB + 3)
    with NoraProcess(tmp_path / "data", env=_s3_env(endpoint, redirect=False)) as server:
        _put(server, "team/plain.bin", data, tmp_path)
        fetched = curl(
            "-f",
            "-D",
            str(tmp_path / "head"),
            "-o",
            str(tmp_path / "out.bin"),
            f"{server.url}/raw/team/plain.bin",
        )
        assert fetched.code == 0, fetched.err
        assert (tmp_path / "head").read_text().startswith("HTTP/1.1 200")
        assert (tmp_path / "out.bin").read_bytes() == data
        assert not (tmp_path / "data" / "objects").exists()  # the bytes live in the bucket


def test_a_missing_bucket_stops_the_start_in_one_line(endpoint: str, tmp_path: Path) -> None:
    env = {**_s3_env(endpoint, redirect=True), "NORA_S3_BUCKET": "no-such-bucket"}
    server = NoraProcess(tmp_path / "data", env=env)
    with pytest.raises(RuntimeError, match="exited with 2") as refused:
        server.start()
    message = str(refused.value)
    assert "nora: cannot reach S3 bucket 'no-such-bucket'" in message
    assert "does not exist" in message
    assert "Traceback" not in message
