"""The real cargo client's whole workflow against one NORA (access control off).

A small set of crates that depend on each other is published with ``cargo
publish``: a renamed dependency, an optional one enabled through ``dep:``, a
weak ``?/`` feature, build- and dev-dependencies and target-specific ones.
A consumer then resolves, builds and runs against NORA alone. Also: yank and
its undo against old and new lockfiles, search, ``cargo info``, conditional
index requests.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from tests.e2e.cargo_support import CargoClient, write_crate
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e

_LOCAL = 'registry = "local"'

CORE = f"""
keywords = ["workflow", "demo"]
categories = ["development-tools"]

[dependencies]
util = {{ package = "wf-util", version = "0.2", {_LOCAL} }}
wf-opt = {{ version = "1", optional = true, {_LOCAL} }}

[build-dependencies]
wf-build = {{ version = "1", {_LOCAL} }}

[dev-dependencies]
wf-dev = {{ version = "1", {_LOCAL} }}

[target.'cfg(unix)'.dependencies]
wf-unix = {{ version = "1", {_LOCAL} }}

[target.'cfg(windows)'.dependencies]
wf-win = {{ version = "1", {_LOCAL} }}

[features]
default = []
opt = ["dep:wf-opt"]
fancy = ["wf-opt?/fancy"]
"""

CORE_LIB = """
pub fn report() -> String {
    let mut out = format!("{} {} {}", util::util(), wf_unix::unix(), env!("WF_STAMP"));
    #[cfg(feature = "opt")]
    {
        out.push(' ');
        out.push_str(wf_opt::opt());
    }
    out
}
"""


def _says(text: str) -> str:
    return f'pub fn {text.split()[0]}() -> &\'static str {{ "{text}" }}\n'


@pytest.fixture(scope="module")
def published(nora: NoraProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Publish the crates once for the module; yields a shared cargo target dir."""
    root = tmp_path_factory.mktemp("crates")
    target = root / "target"
    cargo = CargoClient(root / "home", nora.url, token="any-token", target=target)
    crates = [
        write_crate(root, "wf-util", "0.1.0", lib=_says("util 0.1.0")),
        write_crate(root, "wf-util", "0.2.0", lib=_says("util 0.2.0")),
        write_crate(
            root,
            "wf-opt",
            "1.0.0",
            body="[features]\nfancy = []\n",
            lib='pub fn opt() -> &\'static str { if cfg!(feature = "fancy") '
            '{ "opt fancy" } else { "opt plain" } }\n',
        ),
        write_crate(root, "wf-build", "1.0.0", lib=_says("stamp built")),
        write_crate(root, "wf-dev", "1.0.0", lib=_says("dev")),
        write_crate(root, "wf-unix", "1.0.0", lib=_says("unix")),
        write_crate(root, "wf-win", "1.0.0", lib=_says("win")),
        write_crate(
            root,
            "wf-core",
            "1.0.0",
            body=CORE,
            lib=CORE_LIB,
            build='fn main() { println!("cargo:rustc-env=WF_STAMP={}", wf_build::stamp()); }\n',
        ),
    ]
    for crate in crates:
        out = cargo.publish(crate)
        assert "Published" in out, out
    return target


def _consumer(root: Path, deps: str, name: str = "consumer") -> Path:
    return write_crate(
        root,
        name,
        "0.1.0",
        body=f"publish = false\n\n[dependencies]\n{deps}",
        main='fn main() { println!("{}", wf_core::report()); }\n'
        if "wf-core" in deps
        else 'fn main() { println!("{}", wf_util::util()); }\n',
    )


def _lock(project: Path) -> dict[str, str]:
    text = (project / "Cargo.lock").read_text()
    found: dict[str, str] = {}
    for block in text.split("[[package]]")[1:]:
        fields = dict(line.split(" = ", 1) for line in block.strip().splitlines() if " = " in line)
        found[fields["name"].strip('"')] = fields["version"].strip('"')
    return found


def test_publish_resolve_build_and_run(published: Path, nora: NoraProcess, tmp_path: Path) -> None:
    line = httpx.get(nora.url + "/cargo/index/wf/-c/wf-core").text.splitlines()
    [entry] = [json.loads(text) for text in line]
    deps = {dep["name"]: dep for dep in entry["deps"]}
    assert deps["util"]["package"] == "wf-util"
    assert deps["util"]["req"] == "^0.2"
    assert deps["wf-opt"]["optional"] is True
    assert deps["wf-build"]["kind"] == "build"
    assert deps["wf-dev"]["kind"] == "dev"
    assert deps["wf-unix"]["target"] == "cfg(unix)"
    assert "registry" not in deps["wf-unix"]
    assert entry["features2"] == {"opt": ["dep:wf-opt"], "fancy": ["wf-opt?/fancy"]}
    assert entry["v"] == 2

    cargo = CargoClient(tmp_path / "home", nora.url, target=published)
    project = _consumer(
        tmp_path, f'wf-core = {{ version = "1", {_LOCAL}, features = ["opt", "fancy"] }}\n'
    )
    cargo.ok("generate-lockfile", cwd=project)
    locked = _lock(project)
    assert locked["wf-core"] == "1.0.0"
    assert locked["wf-util"] == "0.2.0"
    assert locked["wf-win"] == "1.0.0"  # resolved for every target, built for none here
    assert "wf-dev" not in locked  # a dependency's dev-dependencies are not resolved
    out = cargo.ok("run", "--quiet", cwd=project)
    assert "util 0.2.0 unix stamp built opt fancy" in out

    plain = _consumer(tmp_path, 'wf-core = { version = "1", registry = "local" }\n', "plain")
    assert "util 0.2.0 unix stamp built\n" in cargo.ok("run", "--quiet", cwd=plain)


def test_source_replacement_and_unknown_crates(
    published: Path, nora: NoraProcess, tmp_path: Path
) -> None:
    cargo = CargoClient(tmp_path / "home", nora.url, target=published)
    project = _consumer(tmp_path, 'wf-util = "0.1"\n')
    out = cargo.ok("run", "--quiet", cwd=project)
    assert "util 0.1.0" in out
    assert (
        "crates-io" in (project / "Cargo.lock").read_text()
        or "registry+" in (project / "Cargo.lock").read_text()
    )
    missing = _consumer(tmp_path, 'wf-nothere = "1"\n', "missing")
    done = cargo.run("generate-lockfile", cwd=missing)
    assert done.returncode != 0
    assert "no matching package named `wf-nothere`" in done.stderr


def test_yank_skips_new_resolutions_but_old_lockfiles_build(
    published: Path, nora: NoraProcess, tmp_path: Path
) -> None:
    cargo = CargoClient(tmp_path / "home", nora.url, token="any-token", target=published)
    cargo.publish(write_crate(tmp_path, "wf-util", "0.2.1", lib=_says("util 0.2.1")))
    old = _consumer(tmp_path, f'wf-util = {{ version = "0.2", {_LOCAL} }}\n', "old")
    cargo.ok("generate-lockfile", cwd=old)
    assert _lock(old)["wf-util"] == "0.2.1"

    out = cargo.ok("yank", "--registry", "local", "--version", "0.2.1", "wf-util")
    assert "Yank" in out
    index = httpx.get(nora.url + "/cargo/index/wf/-u/wf-util").text
    assert [json.loads(x)["yanked"] for x in index.splitlines()] == [False, False, True]

    fresh = CargoClient(tmp_path / "fresh-home", nora.url, target=published)
    assert "util 0.2.1" in fresh.ok("run", "--quiet", "--locked", cwd=old)
    new = _consumer(tmp_path, f'wf-util = {{ version = "0.2", {_LOCAL} }}\n', "new")
    fresh.ok("generate-lockfile", cwd=new)
    assert _lock(new)["wf-util"] == "0.2.0"

    cargo.ok("yank", "--registry", "local", "--version", "0.2.1", "--undo", "wf-util")
    (new / "Cargo.lock").unlink()
    fresh.ok("generate-lockfile", cwd=new)
    assert _lock(new)["wf-util"] == "0.2.1"


def test_search_and_info(published: Path, nora: NoraProcess, tmp_path: Path) -> None:
    cargo = CargoClient(tmp_path / "home", nora.url)
    out = cargo.ok("search", "--registry", "local", "wf-core")
    assert 'wf-core = "1.0.0"' in out
    assert "the wf-core crate" in out
    by_category = httpx.get(
        nora.url + "/cargo/api/v1/crates", params={"q": "development-tools"}
    ).json()
    assert [c["name"] for c in by_category["crates"]] == ["wf-core"]
    by_keyword = httpx.get(nora.url + "/cargo/api/v1/crates", params={"q": "workflow"}).json()
    assert by_keyword["meta"]["total"] == 1
    page = httpx.get(
        nora.url + "/cargo/api/v1/crates", params={"q": "wf", "per_page": "2", "page": "2"}
    ).json()
    assert len(page["crates"]) == 2
    assert page["meta"]["total"] == 7

    project = _consumer(tmp_path, "")
    info = cargo.ok("info", "--registry", "local", "wf-core", cwd=project)
    assert "wf-core" in info
    assert "1.0.0" in info
    assert "the wf-core crate" in info


def test_index_conditional_requests_and_caching(published: Path, nora: NoraProcess) -> None:
    url = nora.url + "/cargo/index/wf/-o/wf-opt"
    first = httpx.get(url)
    assert first.status_code == 200
    assert "max-age" in first.headers["cache-control"]
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert httpx.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert httpx.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    missing = httpx.get(nora.url + "/cargo/index/wf/-n/wf-nothing")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["detail"]
    assert httpx.get(nora.url + "/cargo/index/wf/-o/wf-nothing").status_code == 400
    line = json.loads(first.text)
    crate = httpx.get(f"{nora.url}/cargo/api/v1/crates/wf-opt/1.0.0/download")
    assert crate.status_code == 200
    assert "immutable" in crate.headers["cache-control"]
    assert hashlib.sha256(crate.content).hexdigest() == line["cksum"]
    config = httpx.get(nora.url + "/cargo/index/config.json").json()
    assert config == {"dl": nora.url + "/cargo/api/v1/crates", "api": nora.url + "/cargo"}
