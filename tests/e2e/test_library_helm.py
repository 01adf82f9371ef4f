"""``nora.helm`` and the real Helm SDK on one data directory: ``helm pull`` gets what the
library uploaded, and the library lists what was uploaded over the ChartMuseum API,
with the same sha256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from nora import Nora
from tests.e2e.helm_support import make_chart, upload
from tests.e2e.library_support import with_library
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    with NoraProcess(tmp_path_factory.mktemp("library-helm") / "data") as running:
        yield running


def test_helm_pulls_what_the_library_uploaded(server: NoraProcess, tmp_path: Path) -> None:
    import helm_python as helm

    packaged = make_chart(tmp_path, "libchart", "1.2.3", extra='appVersion: "9.1"\n')
    digest = hashlib.sha256(packaged.read_bytes()).hexdigest()
    stored = with_library(server.data_dir, lambda nora: nora.helm.upload(packaged))
    assert stored.digest == digest

    url = server.url + "/helm"
    index = helm.repo_index(url)
    (entry,) = index["entries"]["libchart"]
    assert (entry["version"], entry["digest"], entry["appVersion"]) == ("1.2.3", digest, "9.1")
    out = tmp_path / "pulled"
    out.mkdir()
    helm.pull("libchart", repo_url=url, version="1.2.3", destination=str(out))
    pulled = (out / "libchart-1.2.3.tgz").read_bytes()
    assert hashlib.sha256(pulled).hexdigest() == digest


def test_the_library_lists_what_was_uploaded_over_http(server: NoraProcess, tmp_path: Path) -> None:
    first = make_chart(tmp_path, "webchart", "0.1.0").read_bytes()
    second = make_chart(tmp_path, "webchart", "0.2.0", extra="deprecated: true\n").read_bytes()
    url = server.url + "/helm"
    assert upload(url, first).status_code == 201
    assert upload(url, second, form=True).status_code == 201

    async def read(nora: Nora) -> None:
        versions = await nora.helm.versions("webchart")
        assert [(v.version, v.digest, v.deprecated) for v in versions] == [
            ("0.2.0", hashlib.sha256(second).hexdigest(), True),
            ("0.1.0", hashlib.sha256(first).hexdigest(), False),
        ]
        assert [v.size for v in versions] == [len(second), len(first)]
        assert "webchart" in [chart.name for chart in await nora.helm.charts()]
        assert await nora.helm.download("webchart", "0.1.0") == first

    with_library(server.data_dir, read)
