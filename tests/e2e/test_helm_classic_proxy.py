"""Helm pull-through against a second NORA: the real Helm SDK reads the downstream's
index.yaml (upstream charts, URLs rewritten to the downstream), pulls an upstream chart
through it (fetched once, verified against the index digest, then served while the
upstream is down), and a chart name hosted downstream shadows the upstream's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.helm_support import make_chart, upload
from tests.e2e.server import NoraProcess


@dataclass
class Pair:
    upstream: NoraProcess
    downstream: NoraProcess
    url: str
    root: Path
    charts: dict[str, Path]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("helm-proxy")
    with NoraProcess(root / "up") as upstream:
        charts = {
            "ext-1.0.0": make_chart(root, "ext", "1.0.0"),
            "ext-1.1.0": make_chart(root, "ext", "1.1.0"),
            "shared-5.0.0": make_chart(root, "shared", "5.0.0"),
        }
        for path in charts.values():
            assert upload(upstream.url + "/helm", path.read_bytes()).status_code == 201
        env = {"NORA_HELM_PROXY": upstream.url + "/helm", "NORA_HELM_METADATA_TTL": "300"}
        with NoraProcess(root / "down", env=env) as downstream:
            url = downstream.url + "/helm"
            charts["shared-1.0.0"] = make_chart(root, "shared", "1.0.0")
            assert upload(url, charts["shared-1.0.0"].read_bytes()).status_code == 201
            yield Pair(upstream, downstream, url, root, charts)


def test_index_lists_upstream_charts_pointing_at_nora(pair: Pair) -> None:
    import helm_python as helm

    index = helm.repo_index(pair.url)
    ext = index["entries"]["ext"]
    assert [entry["version"] for entry in ext] == ["1.1.0", "1.0.0"]
    assert ext[0]["urls"] == ["charts/ext-1.1.0.tgz"]
    # the hosted chart "shared" shadows the upstream's entirely
    assert [entry["version"] for entry in index["entries"]["shared"]] == ["1.0.0"]


def test_pull_through_then_upstream_down(pair: Pair) -> None:
    import helm_python as helm

    out = pair.root / "pulled"
    out.mkdir()
    helm.pull("ext", repo_url=pair.url, version="1.0.0", destination=str(out))
    assert (out / "ext-1.0.0.tgz").read_bytes() == pair.charts["ext-1.0.0"].read_bytes()
    assert httpx.get(pair.url + "/charts/shared-5.0.0.tgz").status_code == 404
    pair.upstream.stop()
    again = pair.root / "again"
    again.mkdir()
    helm.pull("ext", repo_url=pair.url, version="1.0.0", destination=str(again))
    assert (again / "ext-1.0.0.tgz").read_bytes() == pair.charts["ext-1.0.0"].read_bytes()
    index = httpx.get(pair.url + "/index.yaml")
    assert index.status_code == 200
    assert b"ext-1.1.0.tgz" in index.content
