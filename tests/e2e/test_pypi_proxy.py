"""The PyPI pull-through cache against a real local upstream (pypiserver), driven by pip.

NORA runs with NORA_PYPI_PROXY pointing at pypiserver's /simple and a TTL
of 0, so every page request revalidates and upstream changes show at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.pypi_support import (
    ClientVenv,
    client_env,
    copy_into,
    make_sdist,
    make_wheel,
    pypiserver,
    twine_upload,
)
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return client_env(tmp_path / "home")


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    packages = tmp_path / "upstream-packages"
    with pypiserver(packages) as url:
        yield url, packages


def _proxy(start_nora: Callable[..., NoraProcess], url: str) -> NoraProcess:
    return start_nora(env={"NORA_PYPI_PROXY": url, "NORA_PYPI_METADATA_TTL": "0"})


def test_install_through_the_cache_and_revalidate(
    start_nora: Callable[..., NoraProcess],
    upstream: tuple[str, Path],
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    url, packages = upstream
    wheel = make_wheel(tmp_path / "dist", "up-demo", "1.0", requires_python=">=3.8")
    copy_into([wheel, make_sdist(tmp_path / "dist", "up-demo", "1.0")], packages)
    nora = _proxy(start_nora, url)
    client = ClientVenv(tmp_path / "venv", env)
    installed = client.pip("install", "--index-url", nora.url + "/simple/", "up-demo")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert client.module_version("up_demo_mod") == "1.0"
    assert f"{nora.url}/simple/up-demo/{wheel.name}" in installed.stdout

    page = httpx.get(nora.url + "/simple/up-demo/").text
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert f'href="{wheel.name}#sha256={digest}"' in page  # rewritten to NORA
    assert url not in page
    cached = httpx.get(f"{nora.url}/simple/up-demo/{wheel.name}")
    assert cached.content == wheel.read_bytes()
    assert cached.headers["etag"] == f'"{digest}"'

    # a new upstream release shows at once (TTL 0: every request revalidates)
    copy_into([make_wheel(tmp_path / "dist2", "up-demo", "2.0")], packages)
    assert "up_demo-2.0-py3-none-any.whl" in httpx.get(nora.url + "/simple/up-demo/").text
    upgraded = client.pip("install", "--upgrade", "--index-url", nora.url + "/simple/", "up-demo")
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert client.module_version("up_demo_mod") == "2.0"
    assert httpx.get(nora.url + "/simple/not-anywhere/").status_code == 404


def test_stale_pages_and_cached_files_survive_an_upstream_outage(
    start_nora: Callable[..., NoraProcess], env: dict[str, str], tmp_path: Path
) -> None:
    packages = tmp_path / "packages"
    wheel = make_wheel(tmp_path / "dist", "outage-demo", "1.0")
    copy_into([wheel], packages)
    with pypiserver(packages) as url:
        nora = _proxy(start_nora, url)
        client = ClientVenv(tmp_path / "venv", env)
        first = client.pip("install", "--index-url", nora.url + "/simple/", "outage-demo")
        assert first.returncode == 0, first.stdout + first.stderr
    # the upstream is gone now: the cached page (stale) and the cached wheel still serve
    page = httpx.get(nora.url + "/simple/outage-demo/")
    assert page.status_code == 200
    assert wheel.name in page.text
    again = client.pip(
        "install", "--force-reinstall", "--index-url", nora.url + "/simple/", "outage-demo"
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert client.module_version("outage_demo_mod") == "1.0"
    assert httpx.get(nora.url + "/simple/never-seen/").status_code == 503


def test_local_project_shadows_the_upstream(
    start_nora: Callable[..., NoraProcess],
    upstream: tuple[str, Path],
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    url, packages = upstream
    copy_into([make_wheel(tmp_path / "evil", "shadow-demo", "9.9")], packages)
    nora = _proxy(start_nora, url)
    assert "shadow_demo-9.9" in httpx.get(nora.url + "/simple/shadow-demo/").text
    mine = make_wheel(tmp_path / "mine", "shadow-demo", "0.1")
    uploaded = twine_upload([mine], nora.url + "/pypi/", env)
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    page = httpx.get(nora.url + "/simple/shadow-demo/").text
    assert "shadow_demo-0.1" in page
    assert "shadow_demo-9.9" not in page
    assert (
        httpx.get(f"{nora.url}/simple/shadow-demo/shadow_demo-9.9-py3-none-any.whl").status_code
        == 404
    )
    client = ClientVenv(tmp_path / "venv", env)
    installed = client.pip("install", "--index-url", nora.url + "/simple/", "shadow-demo")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert client.module_version("shadow_demo_mod") == "0.1"
