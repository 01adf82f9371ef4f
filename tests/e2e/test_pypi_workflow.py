"""PyPI end to end with the real clients: build, twine upload, pip and uv install, yank, metadata.

One NORA and one client venv serve the whole module; every test uses its own
project name, so tests stay independent.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.pypi_support import (
    BIN,
    ClientVenv,
    client_env,
    make_sdist,
    make_wheel,
    run,
    twine_upload,
    wheel_name,
)
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return client_env(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> ClientVenv:
    """One fresh venv for every install in this module (pip comes with it)."""
    return ClientVenv(tmp_path_factory.mktemp("clients") / "venv", env)


@pytest.fixture
def http(nora: NoraProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=nora.url, timeout=30) as session:
        yield session


def _publish(nora: NoraProcess, env: dict[str, str], files: list[Path]) -> None:
    done = twine_upload(files, nora.url + "/pypi/", env)
    assert done.returncode == 0, done.stdout + done.stderr


def _index(nora: NoraProcess) -> str:
    return nora.url + "/simple/"


def test_build_upload_install_and_download(
    nora: NoraProcess, env: dict[str, str], client: ClientVenv, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    (source / "built_demo").mkdir(parents=True)
    (source / "built_demo" / "__init__.py").write_text("VERSION = '0.3.0'\n")
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "Built_Demo"\nversion = "0.3.0"\nrequires-python = ">=3.8"\n'
        'description = "built by python -m build"\n'
    )
    dist = tmp_path / "dist"
    built = run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, source], env)
    assert built.returncode == 0, built.stdout + built.stderr
    files = sorted(dist.iterdir())
    assert {f.suffix for f in files} == {".whl", ".gz"}
    _publish(nora, env, files)

    installed = client.pip("install", "--index-url", _index(nora), "built-demo")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert client.module_version("built_demo") == "0.3.0"

    downloads = tmp_path / "downloads"
    fetched = client.pip(
        "download", "--no-deps", "--index-url", _index(nora), "-d", downloads, "built-demo"
    )
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    [wheel] = [f for f in files if f.suffix == ".whl"]
    assert (downloads / wheel.name).read_bytes() == wheel.read_bytes()
    # the sdist too is served byte for byte (pip would need a build backend to fetch it)
    [sdist] = [f for f in files if f.suffix == ".gz"]
    got = httpx.get(f"{nora.url}/simple/built-demo/{sdist.name}")
    assert got.status_code == 200
    assert got.content == sdist.read_bytes()


def test_large_wheel_streams_through(
    nora: NoraProcess, env: dict[str, str], tmp_path: Path, http: httpx.Client
) -> None:
    wheel = make_wheel(tmp_path, "large-demo", "1.0", padding=24 * 1024 * 1024)
    _publish(nora, env, [wheel])
    digest = hashlib.sha256()
    size = 0
    with http.stream("GET", f"/simple/large-demo/{wheel.name}") as answer:
        assert answer.status_code == 200
        assert answer.headers["content-length"] == str(wheel.stat().st_size)
        for chunk in answer.iter_bytes():
            digest.update(chunk)
            size += len(chunk)
    assert size == wheel.stat().st_size
    assert digest.hexdigest() == hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_require_hashes(
    nora: NoraProcess, env: dict[str, str], client: ClientVenv, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, "hashed-demo", "1.2.0")
    _publish(nora, env, [wheel])
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"hashed-demo==1.2.0 --hash=sha256:{digest}\n")
    good = client.pip(
        "install", "--index-url", _index(nora), "--require-hashes", "-r", requirements
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert client.module_version("hashed_demo_mod") == "1.2.0"
    requirements.write_text(f"hashed-demo==1.2.0 --hash=sha256:{'0' * 64}\n")
    bad = client.pip(
        "install",
        "--force-reinstall",
        "--index-url",
        _index(nora),
        "--require-hashes",
        "-r",
        requirements,
    )
    assert bad.returncode != 0
    assert "DO NOT MATCH THE HASHES" in bad.stderr.upper()


def test_pip_index_versions(
    nora: NoraProcess, env: dict[str, str], client: ClientVenv, tmp_path: Path
) -> None:
    wheels = [make_wheel(tmp_path, "listed-demo", v) for v in ("0.9.0", "1.0.0", "1.10.0")]
    _publish(nora, env, wheels)
    listed = client.pip("index", "versions", "--index-url", _index(nora), "Listed.Demo")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "Listed.Demo (1.10.0)" in listed.stdout
    assert "1.10.0, 1.0.0, 0.9.0" in listed.stdout


def test_yanked_release_skipped_unless_pinned(
    nora: NoraProcess, env: dict[str, str], client: ClientVenv, tmp_path: Path, http: httpx.Client
) -> None:
    _publish(nora, env, [make_wheel(tmp_path, "yank-demo", v) for v in ("1.0.0", "2.0.0")])
    yanked = http.post("/pypi/yank-demo/2.0.0/yank", data={"reason": "broken <build>"})
    assert yanked.status_code == 200, yanked.text
    page = http.get("/simple/yank-demo/").text
    assert 'data-yanked="broken &lt;build&gt;"' in page
    doc = http.get("/simple/yank-demo/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    files = {f["filename"]: f for f in doc.json()["files"]}
    assert files[wheel_name("yank-demo", "2.0.0")]["yanked"] == "broken <build>"
    assert "yanked" not in files[wheel_name("yank-demo", "1.0.0")]

    latest = client.pip("install", "--index-url", _index(nora), "yank-demo")
    assert latest.returncode == 0, latest.stdout + latest.stderr
    assert client.module_version("yank_demo_mod") == "1.0.0"
    pinned = client.pip("install", "--index-url", _index(nora), "yank-demo==2.0.0")
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    assert client.module_version("yank_demo_mod") == "2.0.0"
    assert "yanked" in (pinned.stdout + pinned.stderr).lower()

    unyanked = http.post("/pypi/yank-demo/2.0.0/unyank")
    assert unyanked.status_code == 200
    assert "data-yanked" not in http.get("/simple/yank-demo/").text


def _requests(log: str) -> list[str]:
    """The paths NORA's access log recorded, in order."""
    paths = []
    for line in log.splitlines():
        if '"logger":"nora.access"' in line:
            paths.append(json.loads(line)["path"])
    return paths


def test_resolution_uses_core_metadata_not_wheels(
    nora: NoraProcess, env: dict[str, str], client: ClientVenv, tmp_path: Path
) -> None:
    leaf = make_wheel(tmp_path, "meta-leaf", "1.0.0")
    root = make_wheel(tmp_path, "meta-root", "1.0.0", requires=["meta-leaf>=1"], padding=200_000)
    _publish(nora, env, [leaf, root])
    root_wheel = f"/simple/meta-root/{root.name}"
    leaf_wheel = f"/simple/meta-leaf/{leaf.name}"

    # uv resolves from the .metadata files alone: not one wheel is fetched
    seen = len(_requests(nora.log()))
    compiled = client.uv_pip(
        "compile", "--no-cache", "--index-url", _index(nora), "-", input_text="meta-root\n"
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert "meta-leaf==1.0.0" in compiled.stdout
    during = _requests(nora.log())[seen:]
    assert root_wheel + ".metadata" in during
    assert leaf_wheel + ".metadata" in during
    assert root_wheel not in during
    assert leaf_wheel not in during

    # pip learns meta-root's dependency from its .metadata before touching any wheel
    seen = len(_requests(nora.log()))
    report = tmp_path / "report.json"
    dry = client.pip(
        "install", "--dry-run", "--report", report, "--index-url", _index(nora), "meta-root"
    )
    assert dry.returncode == 0, dry.stdout + dry.stderr
    resolved = {item["metadata"]["name"] for item in json.loads(report.read_text())["install"]}
    assert resolved == {"meta-root", "meta-leaf"}
    during = _requests(nora.log())[seen:]
    order = {path: during.index(path) for path in set(during)}
    assert order[root_wheel + ".metadata"] < order["/simple/meta-leaf"]
    resolution_end = order[leaf_wheel + ".metadata"]
    assert all(order.get(w, resolution_end + 1) > resolution_end for w in (root_wheel, leaf_wheel))


def test_uv_pip_install_and_uv_project(
    nora: NoraProcess, env: dict[str, str], client: ClientVenv, tmp_path: Path
) -> None:
    _publish(
        nora,
        env,
        [
            make_wheel(tmp_path, "uv-leaf", "0.2.0", requires_python=">=3.8"),
            make_wheel(tmp_path, "uv-demo", "0.1.0", requires=["uv-leaf"]),
            make_sdist(tmp_path, "uv-demo", "0.1.0"),
        ],
    )
    installed = client.uv_pip("install", "--no-cache", "--index-url", _index(nora), "uv-demo")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert client.module_version("uv_demo_mod") == "0.1.0"
    assert client.module_version("uv_leaf_mod") == "0.2.0"

    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "consumer"\nversion = "0.0.1"\nrequires-python = ">=3.11"\n'
        'dependencies = ["uv-demo>=0.1"]\n\n'
        f'[[tool.uv.index]]\nname = "nora"\nurl = "{_index(nora)}"\ndefault = true\n'
    )
    # project configuration must be read here (so no UV_NO_CONFIG); the default index in the
    # environment is NORA too, so nothing can leak to any other index
    uv_env = {k: v for k, v in env.items() if k != "UV_NO_CONFIG"}
    uv_env.update(
        UV_PYTHON_DOWNLOADS="never", UV_PYTHON=sys.executable, UV_DEFAULT_INDEX=_index(nora)
    )
    locked = run([BIN / "uv", "lock"], uv_env, cwd=project)
    assert locked.returncode == 0, locked.stdout + locked.stderr
    lock = (project / "uv.lock").read_text()
    assert 'name = "uv-leaf"' in lock
    assert nora.url + "/simple/" in lock
    synced = run([BIN / "uv", "sync", "--no-install-project"], uv_env, cwd=project)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    check = run(
        [
            project / ".venv" / "bin" / "python",
            "-c",
            "import uv_demo_mod; print(uv_demo_mod.VERSION)",
        ],
        uv_env,
    )
    assert check.stdout.strip() == "0.1.0"


def test_pages_negotiation_redirects_and_headers(
    nora: NoraProcess, env: dict[str, str], tmp_path: Path, http: httpx.Client
) -> None:
    wheel = make_wheel(tmp_path, "Page_Demo", "1.0.0", requires_python=">=3.8,<4")
    _publish(nora, env, [wheel])

    moved = http.get("/simple/Page_Demo/")
    assert moved.status_code == 301
    assert moved.headers["location"] == "/simple/page-demo/"
    assert http.get("/simple/page-demo").headers["location"] == "/simple/page-demo/"

    html = http.get("/simple/page-demo/")
    assert html.headers["content-type"].startswith("text/html")
    assert '<meta name="pypi:repository-version" content="1.1">' in html.text
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in html.text
    assert f"#sha256={hashlib.sha256(wheel.read_bytes()).hexdigest()}" in html.text
    assert 'data-core-metadata="sha256=' in html.text
    assert "data-dist-info-metadata" in html.text
    assert (
        http.get("/simple/page-demo/", headers={"If-None-Match": html.headers["etag"]}).status_code
        == 304
    )

    pip_accept = (
        "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
        "text/html; q=0.01"
    )
    as_json = http.get("/simple/page-demo/", headers={"Accept": pip_accept})
    assert as_json.headers["content-type"] == "application/vnd.pypi.simple.v1+json"
    doc = as_json.json()
    assert doc["meta"]["api-version"] == "1.1"
    assert doc["versions"] == ["1.0.0"]
    [entry] = doc["files"]
    assert entry["size"] == wheel.stat().st_size
    assert entry["requires-python"] == ">=3.8,<4"
    assert entry["core-metadata"] == entry["dist-info-metadata"]
    assert entry["upload-time"].endswith("Z")
    v1_html = http.get(
        "/simple/page-demo/", headers={"Accept": "application/vnd.pypi.simple.v1+html"}
    )
    assert v1_html.headers["content-type"] == "application/vnd.pypi.simple.v1+html"
    assert http.get("/simple/page-demo/", headers={"Accept": "application/json"}).status_code == 406

    root = http.get("/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json()
    names = [p["name"] for p in root["projects"]]
    assert "page-demo" in [re.sub(r"[-_.]+", "-", name).lower() for name in names]

    metadata = http.get(f"/simple/page-demo/{wheel.name}.metadata")
    assert metadata.status_code == 200
    assert entry["core-metadata"]["sha256"] == hashlib.sha256(metadata.content).hexdigest()
    assert b"Name: Page_Demo" in metadata.content

    whole = http.get(f"/simple/page-demo/{wheel.name}")
    assert whole.content == wheel.read_bytes()
    assert whole.headers["content-type"] == "application/zip"
    assert whole.headers["content-length"] == str(wheel.stat().st_size)
    assert whole.headers["etag"] == f'"{hashlib.sha256(wheel.read_bytes()).hexdigest()}"'
    part = http.get(f"/simple/page-demo/{wheel.name}", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == wheel.read_bytes()[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{wheel.stat().st_size}"
    outside = http.get(f"/simple/page-demo/{wheel.name}", headers={"Range": "bytes=999999-"})
    assert outside.status_code == 416
    assert http.get("/simple/page-demo/nothing-1.0.tar.gz").status_code == 404
    assert http.get("/simple/no-such-project/").status_code == 404


def test_json_api_delete_file_and_release(
    nora: NoraProcess, env: dict[str, str], tmp_path: Path, http: httpx.Client
) -> None:
    files = [
        make_wheel(tmp_path, "json-demo", "1.0.0"),
        make_sdist(tmp_path, "json-demo", "1.0.0"),
        make_wheel(tmp_path, "json-demo", "2.0rc1"),
    ]
    _publish(nora, env, files)
    doc = http.get("/pypi/json-demo/json").json()
    assert doc["info"]["name"] == "json-demo"
    assert doc["info"]["version"] == "1.0.0"  # the newest final release, not the rc
    assert set(doc["releases"]) == {"1.0.0", "2.0rc1"}
    by_name = {f["filename"]: f for f in doc["urls"]}
    wheel = by_name[files[0].name]
    assert wheel["digests"]["sha256"] == hashlib.sha256(files[0].read_bytes()).hexdigest()
    assert wheel["digests"]["md5"] == hashlib.md5(files[0].read_bytes()).hexdigest()
    assert wheel["packagetype"] == "bdist_wheel"
    assert by_name[files[1].name]["packagetype"] == "sdist"
    assert wheel["url"].startswith(nora.url + "/simple/json-demo/")
    assert httpx.get(wheel["url"]).content == files[0].read_bytes()
    release = http.get("/pypi/json-demo/2.0rc1/json").json()
    assert release["info"]["version"] == "2.0rc1"
    assert "releases" not in release
    assert http.get("/pypi/json-demo/3.0/json").status_code == 404

    assert http.delete(f"/pypi/json-demo/1.0.0/{files[1].name}").status_code == 200
    assert files[1].name not in http.get("/simple/json-demo/").text
    assert http.delete("/pypi/json-demo/2.0rc1").status_code == 200
    page = http.get("/simple/json-demo/").text
    assert files[2].name not in page
    assert files[0].name in page
    assert http.delete("/pypi/json-demo/1.0.0").status_code == 200
    assert http.get("/simple/json-demo/").status_code == 404
    # as on PyPI, a deleted file name can never be uploaded again (not even the same bytes)
    again = twine_upload([files[1]], nora.url + "/pypi/", env)
    assert again.returncode != 0
    assert "400" in again.stdout + again.stderr
    assert http.get("/simple/json-demo/").status_code == 404
    fresh = make_wheel(tmp_path / "next", "json-demo", "1.0.1")
    assert twine_upload([fresh], nora.url + "/pypi/", env).returncode == 0
