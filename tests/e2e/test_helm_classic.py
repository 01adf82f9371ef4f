"""The classic Helm repository with the real Helm SDK: charts packaged by Helm, uploaded
through the ChartMuseum API, then ``repo_index``, pull by name and version, and a
``dependency update`` that fetches a dependency from NORA. Bad uploads (invalid charts,
a YAML bomb, an oversized archive, a duplicate, traversal) get a 4xx and store nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.helm_support import create_chart, make_chart, tgz, upload
from tests.e2e.server import NoraProcess

BOMB = b"""apiVersion: v2
name: bomb
version: 0.1.0
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: [*g,*g,*g,*g,*g,*g,*g,*g,*g]
"""


@dataclass
class Repo:
    server: NoraProcess
    url: str
    root: Path
    charts: dict[str, Path]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    root = tmp_path_factory.mktemp("helm-classic")
    env = {"NORA_HELM_MAX_CHART_MB": "1"}
    with NoraProcess(root / "data", env=env) as server:
        url = server.url + "/helm"
        charts = {
            "web-0.1.0": make_chart(root, "web", "0.1.0"),
            "web-0.2.0": make_chart(root, "web", "0.2.0", extra="deprecated: true\n"),
            "base-0.1.0": make_chart(root, "base", "0.1.0"),
        }
        assert upload(url, charts["web-0.1.0"].read_bytes()).status_code == 201
        assert upload(url, charts["web-0.2.0"].read_bytes(), form=True).status_code == 201
        assert upload(url, charts["base-0.1.0"].read_bytes()).status_code == 201
        yield Repo(server=server, url=url, root=root, charts=charts)


def test_repo_index_reads_noras_index(repo: Repo) -> None:
    import helm_python as helm

    index = helm.repo_index(repo.url)
    assert index["apiVersion"] == "v1"
    web = index["entries"]["web"]
    assert [entry["version"] for entry in web] == ["0.2.0", "0.1.0"]
    newest = web[0]
    assert newest["deprecated"] is True
    assert newest["apiVersion"] == "v2"
    assert newest["urls"] == ["charts/web-0.2.0.tgz"]
    assert newest["digest"] == hashlib.sha256(repo.charts["web-0.2.0"].read_bytes()).hexdigest()
    assert "created" in newest
    assert [entry["version"] for entry in index["entries"]["base"]] == ["0.1.0"]


def test_pull_by_name_and_version(repo: Repo) -> None:
    import helm_python as helm

    out = repo.root / "pulled"
    out.mkdir()
    helm.pull("web", repo_url=repo.url, version="0.1.0", destination=str(out))
    assert (out / "web-0.1.0.tgz").read_bytes() == repo.charts["web-0.1.0"].read_bytes()


def test_dependency_update_fetches_from_nora(repo: Repo) -> None:
    import helm_python as helm

    extra = f"dependencies:\n- name: base\n  version: 0.1.0\n  repository: {repo.url}\n"
    source = create_chart(repo.root, "app", "1.0.0", extra=extra)
    helm.dependency_update(str(source))
    fetched = source / "charts" / "base-0.1.0.tgz"
    assert fetched.read_bytes() == repo.charts["base-0.1.0"].read_bytes()
    assert (source / "Chart.lock").exists()


def test_index_etag_304_and_gzip(repo: Repo) -> None:
    first = httpx.get(repo.url + "/index.yaml", headers={"Accept-Encoding": "identity"})
    assert first.status_code == 200
    assert "content-encoding" not in first.headers
    etag = first.headers["etag"]
    again = httpx.get(repo.url + "/index.yaml", headers={"If-None-Match": etag})
    assert again.status_code == 304
    zipped = httpx.get(repo.url + "/index.yaml", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == first.content  # httpx decodes it
    assert zipped.headers["etag"] != etag
    cached = httpx.get(
        repo.url + "/index.yaml",
        headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]},
    )
    assert cached.status_code == 304
    head = httpx.head(repo.url + "/index.yaml", headers={"Accept-Encoding": "identity"})
    assert head.headers["content-length"] == str(len(first.content))


def test_chartmuseum_api(repo: Repo) -> None:
    charts = httpx.get(repo.url + "/api/charts").json()
    assert sorted(charts) == ["base", "web"]
    versions = httpx.get(repo.url + "/api/charts/web").json()
    assert [v["version"] for v in versions] == ["0.2.0", "0.1.0"]
    one = httpx.get(repo.url + "/api/charts/web/0.1.0").json()
    assert one["name"] == "web"
    assert httpx.head(repo.url + "/api/charts/web/0.1.0").status_code == 200
    assert httpx.head(repo.url + "/api/charts/web/9.9.9").status_code == 404
    extra = make_chart(repo.root, "gone", "1.0.0")
    assert upload(repo.url, extra.read_bytes()).status_code == 201
    assert httpx.delete(repo.url + "/api/charts/gone/1.0.0").json() == {"deleted": True}
    assert httpx.get(repo.url + "/api/charts/gone/1.0.0").status_code == 404
    assert httpx.get(repo.url + "/charts/gone-1.0.0.tgz").status_code == 404


def _state(repo: Repo) -> bytes:
    return httpx.get(repo.url + "/index.yaml").content


@pytest.mark.parametrize(
    "data",
    [
        b"not a chart",
        tgz({"Chart.yaml": b"apiVersion: v2\nname: loose\nversion: 0.1.0\n"}),
        tgz({"bad/Chart.yaml": b"apiVersion: v2\nname: bad\nversion: latest\n"}),
        tgz({"other/Chart.yaml": b"apiVersion: v2\nname: bad\nversion: 0.1.0\n"}),
        tgz({"bad/values.yaml": b"a: 1\n"}),
        tgz({"bomb/Chart.yaml": BOMB}),
        tgz({"x/Chart.yaml": b"!!python/object/apply:os.system ['true']\n"}),
    ],
    ids=[
        "junk",
        "no-directory",
        "not-semver",
        "wrong-directory",
        "no-chart-yaml",
        "yaml-bomb",
        "yaml-tag",
    ],
)
def test_bad_charts_are_400_and_store_nothing(repo: Repo, data: bytes) -> None:
    before = _state(repo)
    answer = upload(repo.url, data)
    assert answer.status_code == 400, answer.text
    assert "error" in answer.json()
    assert _state(repo) == before


def test_duplicate_oversize_and_traversal(repo: Repo) -> None:
    before = _state(repo)
    duplicate = upload(repo.url, repo.charts["web-0.1.0"].read_bytes())
    assert duplicate.status_code == 409
    assert (
        upload(
            repo.url + "", repo.charts["web-0.1.0"].read_bytes(), params={"force": ""}
        ).status_code
        == 409
    )
    big = tgz(
        {
            "big/Chart.yaml": b"apiVersion: v2\nname: big\nversion: 0.1.0\n",
            "big/blob.bin": __import__("os").urandom(2 * 1024 * 1024),
        }
    )
    assert upload(repo.url, big).status_code == 413
    for path in (
        "/charts/..%2F..%2Fetc%2Fpasswd",
        "/charts/../index.yaml.tgz",
        "/api/charts/..%2Fx/0.1.0",
    ):
        assert 400 <= httpx.get(repo.url + path).status_code < 500, path
    assert _state(repo) == before
