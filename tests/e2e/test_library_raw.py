"""``nora.raw`` and curl on one data directory: curl downloads what the library put, and
the library reads what ``curl -T`` uploaded, with the same sha256."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nora import Nora
from tests.e2e.library_support import with_library
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    with NoraProcess(tmp_path_factory.mktemp("library-raw") / "data") as running:
        yield running


def _curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["curl", "-fsS", "--max-time", "30", *args], capture_output=True)


def test_curl_downloads_what_the_library_put(server: NoraProcess, tmp_path: Path) -> None:
    data = bytes(range(256)) * 4000
    stored = with_library(server.data_dir, lambda nora: nora.raw.put("tools/v1/tool.bin", data))
    out = tmp_path / "tool.bin"
    done = _curl("-o", str(out), f"{server.url}/raw/tools/v1/tool.bin")
    assert done.returncode == 0, done.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() == stored.sha256
    headers = _curl("-I", f"{server.url}/raw/tools/v1/tool.bin").stdout.decode().lower()
    assert f"x-checksum-sha256: {stored.sha256}" in headers


def test_the_library_reads_what_curl_uploaded(server: NoraProcess, tmp_path: Path) -> None:
    source = tmp_path / "report.csv"
    source.write_bytes(b"day,builds\n" + b"monday,12\n" * 1000)
    for _ in range(2):  # the second upload keeps the first as version 1
        done = _curl("-T", str(source), f"{server.url}/raw/reports/report.csv")
        assert done.returncode == 0, done.stderr
        source.write_bytes(source.read_bytes() + b"tuesday,3\n")

    async def read(nora: Nora) -> tuple[bytes, list[int]]:
        versions = await nora.raw.versions("reports/report.csv")
        return await nora.raw.get("reports/report.csv"), [v.version for v in versions]

    current, numbers = with_library(server.data_dir, read)
    assert numbers == [2, 1]
    assert current == source.read_bytes()[: -len(b"tuesday,3\n")]
