"""``nora.pypi`` and the real clients on one data directory: pip installs what the library
published, and the library lists what twine uploaded, with the same sha256.

The server runs as its own process; the test opens the same storage in-process with
:func:`nora.open_registry` while it serves, as an embedding tool beside ``nora serve`` would.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from nora import Nora
from nora.pypi import PyPIFile
from tests.e2e.library_support import with_library
from tests.e2e.pypi_support import ClientVenv, client_env, make_sdist, make_wheel, twine_upload
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return client_env(tmp_path_factory.mktemp("home"))


def test_pip_installs_what_the_library_published(
    nora: NoraProcess, env: dict[str, str], tmp_path: Path
) -> None:
    wheel = make_wheel(
        tmp_path / "dist", "Lib_Made", "1.4.0", requires_python=">=3.8", padding=50_000
    )
    sdist = make_sdist(tmp_path / "dist", "Lib_Made", "1.4.0")

    async def publish(lib: Nora) -> PyPIFile:
        stored = await lib.pypi.publish(wheel)
        await lib.pypi.publish(sdist.read_bytes(), filename=sdist.name)
        return stored

    stored = with_library(nora.data_dir, publish)
    assert stored.sha256 == hashlib.sha256(wheel.read_bytes()).hexdigest()

    client = ClientVenv(tmp_path / "venv", env)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"lib-made==1.4 --hash=sha256:{stored.sha256}\n")
    installed = client.pip(
        "install", "--index-url", nora.url + "/simple/", "--require-hashes", "-r", requirements
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert client.module_version("lib_made_mod") == "1.4.0"

    downloads = tmp_path / "downloads"
    fetched = client.pip(
        "download", "--no-deps", "--index-url", nora.url + "/simple/", "-d", downloads, "lib-made"
    )
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert hashlib.sha256((downloads / wheel.name).read_bytes()).hexdigest() == stored.sha256

    # the JSON API shows the metadata the library read from the wheel, as twine would send it
    info = httpx.get(f"{nora.url}/pypi/lib-made/json", timeout=30).json()
    assert info["info"]["name"] == "Lib_Made"
    assert info["info"]["summary"] == "test package Lib_Made"
    assert info["info"]["requires_python"] == ">=3.8"
    digests = {f["filename"]: f["digests"]["sha256"] for f in info["urls"]}
    assert digests[wheel.name] == stored.sha256
    assert digests[sdist.name] == hashlib.sha256(sdist.read_bytes()).hexdigest()


def test_the_library_lists_what_twine_uploaded(
    nora: NoraProcess, env: dict[str, str], tmp_path: Path
) -> None:
    files = [
        make_wheel(tmp_path, "twined-pkg", "0.2.0", requires_python=">=3.9"),
        make_sdist(tmp_path, "twined-pkg", "0.2.0"),
    ]
    done = twine_upload(files, nora.url + "/pypi/", env)
    assert done.returncode == 0, done.stdout + done.stderr

    async def read(lib: Nora) -> tuple[list[str], list[PyPIFile], bytes]:
        projects = [p.normalized for p in await lib.pypi.projects()]
        listed = await lib.pypi.files("Twined.Pkg", "0.2")
        data = await lib.pypi.download("twined-pkg", files[0].name)
        return projects, listed, data

    projects, listed, data = with_library(nora.data_dir, read)
    assert "twined-pkg" in projects
    by_name = {f.filename: f for f in listed}
    assert set(by_name) == {f.name for f in files}
    for file in files:
        body = file.read_bytes()
        assert by_name[file.name].sha256 == hashlib.sha256(body).hexdigest()
        assert by_name[file.name].md5 == hashlib.md5(body).hexdigest()
        assert by_name[file.name].size == len(body)
    assert by_name[files[0].name].requires_python == ">=3.9"
    assert data == files[0].read_bytes()

    # and a yank through the library is what pip's index page shows
    async def yank(lib: Nora) -> None:
        await lib.pypi.yank("twined-pkg", "0.2.0", reason="use 0.3")

    with_library(nora.data_dir, yank)
    page = httpx.get(
        f"{nora.url}/simple/twined-pkg/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=30,
    ).json()
    assert {f["yanked"] for f in page["files"]} == {"use 0.3"}
