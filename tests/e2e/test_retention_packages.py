"""``nora retention`` for Cargo, Go modules and Helm charts, with their real clients.

They share npm's package core, which test_retention.py covers; here each is published
with its own client (``cargo publish``, ``nora go publish``, the ChartMuseum API), a
``keep_last = 2`` policy runs dry and then for real, and cargo, go and the Helm SDK
resolve exactly the versions kept.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cargo_support import CargoClient, write_crate
from tests.e2e.go_support import GoEnv, go_build_cache, make_module, nora_go_publish
from tests.e2e.helm_support import make_chart, upload
from tests.e2e.server import NoraProcess, nora_executable

pytestmark = pytest.mark.e2e

__all__ = ["go_build_cache"]

POLICIES = """\
[[retention]]
format = "cargo"
names = ["ret-*"]
keep_last = 2

[[retention]]
format = "go"
names = ["example.com/ret/*"]
keep_last = 2

[[retention]]
format = "helm"
names = ["ret-*"]
keep_last = 2
"""
VERSIONS = ("1.0.0", "1.1.0", "1.2.0", "1.3.0")
MODULE = "example.com/ret/mod"


class World:
    def __init__(self, root: Path, server: NoraProcess, go_cache: Path) -> None:
        self.root = root
        self.server = server
        self.config = root / "nora.toml"
        self.config.write_text(POLICIES)
        self.cargo = CargoClient(root / "cargo", server.url, token="any-token")
        self.go = GoEnv(root / "go", server.url + "/go", cache=go_cache)

    def retention(self, *args: str) -> dict[str, Any]:
        env = {**self.server.env, "NORA_CONFIG_PATH": str(self.config)}
        done = subprocess.run(
            [*nora_executable(), "retention", "--json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        summary: dict[str, Any] = json.loads(done.stdout)
        return summary


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, go_build_cache: Path) -> Iterator[World]:
    root = tmp_path_factory.mktemp("retention-packages")
    with NoraProcess(root / "data") as server:
        world = World(root, server, go_build_cache)
        for version in VERSIONS:
            world.cargo.publish(write_crate(root / "crates", "ret-crate", version))
            source = make_module(root / "mods" / version, MODULE, {"mod.go": "package mod\n"})
            done = nora_go_publish(source, f"{MODULE}@v{version}", server.url + "/go")
            assert done.returncode == 0, done.stderr
            chart = make_chart(root / "charts" / version, "ret-chart", version)
            assert upload(server.url + "/helm", chart.read_bytes()).status_code == 201
        yield world


def _rows(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted((d["format"], d["name"], d["item"]) for d in summary["deletions"])


EXPECTED = sorted(
    [
        ("cargo", "ret-crate", "1.0.0"),
        ("cargo", "ret-crate", "1.1.0"),
        ("go", MODULE, "v1.0.0"),
        ("go", MODULE, "v1.1.0"),
        ("helm", "ret-chart", "1.0.0"),
        ("helm", "ret-chart", "1.1.0"),
    ]
)


def test_a_dry_run_lists_what_the_run_removes_and_clients_see_the_rest(world: World) -> None:
    dry = world.retention("--dry-run")
    assert _rows(dry) == EXPECTED
    real = world.retention()
    assert _rows(real) == EXPECTED
    assert _rows(world.retention("--dry-run")) == []  # nothing left to remove

    # cargo: the newest kept version resolves, a removed one is not in the index
    app = world.root / "app"
    (app / "src").mkdir(parents=True)
    (app / "src" / "main.rs").write_text("fn main() {}\n")
    (app / "Cargo.toml").write_text(
        '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[dependencies]\nret-crate = "1"\n'
    )
    world.cargo.ok("generate-lockfile", cwd=app)
    assert 'name = "ret-crate"\nversion = "1.3.0"' in (app / "Cargo.lock").read_text()
    (app / "Cargo.toml").write_text(
        (app / "Cargo.toml").read_text().replace('ret-crate = "1"', 'ret-crate = "=1.0.0"')
    )
    gone = world.cargo.run("generate-lockfile", cwd=app)
    assert gone.returncode != 0
    assert "ret-crate" in gone.stderr

    # go: the proxy lists only the kept versions
    listed = world.go.ok("list", "-m", "-versions", MODULE, cwd=world.root)
    assert listed.split() == [MODULE, "v1.2.0", "v1.3.0"]

    # helm: the index and a pull see the same
    import helm_python as helm

    repo = world.server.url + "/helm"
    index = helm.repo_index(repo)
    kept = sorted(entry["version"] for entry in index["entries"]["ret-chart"])
    assert kept == ["1.2.0", "1.3.0"]
    out = world.root / "pulled"
    out.mkdir()
    helm.pull(
        "ret-chart", repo_url=world.server.url + "/helm", version="1.3.0", destination=str(out)
    )
    assert (out / "ret-chart-1.3.0.tgz").is_file()
    with pytest.raises(helm.HelmError, match=r"1\.0\.0"):
        helm.pull("ret-chart", repo_url=repo, version="1.0.0", destination=str(out))
    assert not (out / "ret-chart-1.0.0.tgz").exists()
