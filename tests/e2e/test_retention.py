"""``nora retention``: a dry run lists exactly what a real run then removes, nothing else goes.

One registry on the defaults gets tags pushed with skopeo, npm versions
published with npm, PyPI releases uploaded with twine, raw file versions
written with curl and SNAPSHOT builds deployed with mvn. ``nora retention
--dry-run --json`` (policies in the config file) lists the expected removals
and changes nothing; ``nora retention --json`` removes that same list; the
activity trail has one event per removal; protected tags and kept versions are
still served to skopeo, npm and pip, removed ones are gone; /metrics shows the
counters.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.maven_support import library, mvn, write_settings
from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.oci_support import build_layout, layout_manifest, skopeo
from tests.e2e.pypi_support import ClientVenv, client_env, make_wheel, twine_upload
from tests.e2e.raw_support import curl
from tests.e2e.server import NoraProcess, nora_executable

pytestmark = pytest.mark.e2e

SNAPSHOT_DIR = "/maven2/com/ret/snaplib/1.0-SNAPSHOT/"

POLICIES = """\
[[retention]]
format = "docker"
names = ["team/*"]
keep_last = 2
protect = ["release-*"]

[[retention]]
format = "npm"
names = ["@ret/*"]
keep_last = 3

[[retention]]
format = "pypi"
names = ["ret-demo"]
keep_last = 1

[[retention]]
format = "raw"
names = ["builds/*"]
keep_last = 2

[[retention]]
format = "maven"
names = ["com.ret:*"]
keep_last = 1

[[retention]]
format = "npm"
fetched_within = "30d"
"""


class World:
    def __init__(self, root: Path, server: NoraProcess, layout: Path) -> None:
        self.root = root
        self.server = server
        self.layout = layout
        self.config = root / "nora.toml"
        self.config.write_text(POLICIES)
        self.npm = NpmClient(server.url + "/npm/", root / "npm-home")
        self.pip_env = client_env(root / "pip-home")
        self.first_build = ""

    def snapshot_files(self) -> list[str]:
        """The SNAPSHOT directory's file names, as mvn and NORA's listing show them."""
        listing = httpx.get(self.server.url + SNAPSHOT_DIR, timeout=30).text
        return sorted(set(re.findall(r'href="(snaplib-[^"/]+)"', listing)))

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**self.server.env, "NORA_CONFIG_PATH": str(self.config)}
        return subprocess.run(
            [*nora_executable(), "retention", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def image(self, source_tag: str, dest: str) -> None:
        skopeo(
            self.root,
            "copy",
            "--all",  # an index with its children, not one platform's image
            "--dest-tls-verify=false",
            f"oci:{self.layout}:{source_tag}",
            f"docker://127.0.0.1:{self.server.port}/{dest}",
        )

    def tags(self, name: str) -> list[str]:
        out = skopeo(self.root, "list-tags", "--tls-verify=false", self.ref(name))
        return sorted(json.loads(out)["Tags"])

    def ref(self, name: str) -> str:
        return f"docker://127.0.0.1:{self.server.port}/{name}"

    def state(self) -> dict[str, Any]:
        """What every client sees, to show a dry run changes nothing."""
        http = httpx.Client(base_url=self.server.url, timeout=30)
        return {
            "app": self.tags("team/app"),
            "other": self.tags("team/other"),
            "npm": sorted(http.get("/npm/@ret%2ftool").json()["versions"]),
            "pypi": http.get("/simple/ret-demo/").text,
            "raw": http.get("/raw/builds/app.bin?versions").json(),
            "maven": self.snapshot_files(),
        }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("retention")
    layout = build_layout(root)
    with NoraProcess(root / "data") as server:
        world = World(root, server, layout)
        # team/app: newest first dev-3 (v1), dev-2 (multi: lists v1 and arm), dev-1 (arm),
        # release-1 (v1); team/other: c (v1), b (v1), a (arm)
        for source, dest in (
            ("v1", "team/app:release-1"),
            ("arm", "team/app:dev-1"),
            ("multi", "team/app:dev-2"),
            ("v1", "team/app:dev-3"),
            ("arm", "team/other:a"),
            ("v1", "team/other:b"),
            ("v1", "team/other:c"),
            ("arm", "keep/app:a"),
            ("v1", "keep/app:b"),
        ):
            world.image(source, dest)
        pkgs = root / "pkgs"
        for version, tag in (
            ("1.0.0", "latest"),
            ("1.1.0", "latest"),
            ("1.2.0", "latest"),
            ("1.3.0-beta.0", "beta"),
            ("2.0.0", "latest"),
        ):
            world.npm.run("publish", "--tag", tag, cwd=make_package(pkgs, "@ret/tool", version))
        world.npm.run("publish", cwd=make_package(pkgs, "ret-other", "1.0.0"))
        world.npm.run("publish", cwd=make_package(pkgs, "ret-other", "1.1.0"))
        for version in ("1.0.0", "1.1.0", "1.2.0"):
            wheel = make_wheel(root / "dist", "ret-demo", version)
            done = twine_upload([wheel], server.url + "/pypi/", world.pip_env)
            assert done.returncode == 0, done.stdout + done.stderr
        maven = server.url + "/maven2/"
        settings = write_settings(root / "settings.xml", maven, user="deployer", password="pw")
        for marker in ("build1", "build2"):
            project = library(
                root / marker, "com.ret", "snaplib", "1.0-SNAPSHOT", maven, marker=marker
            )
            deployed = mvn(project, settings, root / "m2", "deploy", "-Dmaven.test.skip=true")
            assert deployed.ok, deployed.output
        local = root / "app.bin"
        for n in range(1, 5):
            local.write_text(f"build {n}\n")
            assert curl("-f", "-T", str(local), server.url + "/raw/builds/app.bin").code == 0
        jars = [f for f in world.snapshot_files() if f.endswith("-1.jar")]
        assert len(jars) == 1, world.snapshot_files()
        world.first_build = jars[0].removeprefix("snaplib-1.0-").removesuffix(".jar")
        yield world


def _expected(world: World) -> list[tuple[str, str, str, str]]:
    arm, _ = layout_manifest(world.layout, "arm")
    return [
        ("docker", "tag", "team/app", "dev-1"),  # arm stays: the kept dev-2 index lists it
        ("docker", "tag", "team/other", "a"),
        ("docker", "manifest", "team/other", arm),
        ("npm", "version", "@ret/tool", "1.1.0"),  # 1.3.0-beta.0 is beyond 3 but tagged beta
        ("npm", "version", "@ret/tool", "1.0.0"),
        ("pypi", "version", "ret-demo", "1.1.0"),
        ("pypi", "version", "ret-demo", "1.0.0"),
        ("raw", "revision", "builds/app.bin", "2"),  # current 4 and 3 stay
        ("raw", "revision", "builds/app.bin", "1"),
        ("maven", "snapshot", "com.ret:snaplib:1.0-SNAPSHOT", world.first_build),
    ]


def _rows(summary: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(d["format"], d["kind"], d["name"], d["item"]) for d in summary["deletions"]]


def test_dry_run_lists_then_the_run_removes_exactly_that(world: World) -> None:
    before = world.state()
    dry = world.cli("--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["ok"] is True
    assert planned["dry_run"] is True
    assert _rows(planned) == _expected(world)
    assert world.state() == before  # a dry run changes nothing

    real = world.cli("--json")
    assert real.returncode == 0, real.stderr
    done = json.loads(real.stdout)
    assert done["dry_run"] is False
    assert done["deletions"] == planned["deletions"]
    assert done["already_gone"] == []

    after = world.state()
    assert after["app"] == ["dev-2", "dev-3", "release-1"]
    assert after["other"] == ["b", "c"]
    assert after["npm"] == ["1.2.0", "1.3.0-beta.0", "2.0.0"]
    assert [v["version"] for v in after["raw"]["versions"]] == [4, 3]
    assert not any(world.first_build in name for name in after["maven"])
    assert any(name.endswith("-2.jar") for name in after["maven"])
    assert "ret_demo-1.2.0" in after["pypi"]
    assert "ret_demo-1.1.0" not in after["pypi"]
    assert world.tags("keep/app") == ["a", "b"]  # no policy names keep/*
    assert sorted(httpx.get(world.server.url + "/npm/ret-other").json()["versions"]) == [
        "1.0.0",
        "1.1.0",
    ]

    again = world.cli("--dry-run", "--json")
    assert _rows(json.loads(again.stdout)) == []  # nothing left to remove

    events = httpx.get(
        world.server.url + "/api/activity",
        params={"action": "retention.delete", "limit": 100},
        timeout=30,
    ).json()["events"]
    assert all(e["actor"].startswith("cli:") for e in events)
    assert sorted((e["format"], e["target"]) for e in events) == sorted(
        (fmt, f"{name}@{item}") for fmt, _, name, item in _expected(world)
    )

    metrics = httpx.get(world.server.url + "/metrics", timeout=30).text
    assert 'nora_retention_deleted_total{format="npm",kind="version"} 2.0' in metrics
    assert 'nora_retention_deleted_total{format="docker",kind="tag"} 2.0' in metrics
    assert 'nora_retention_deleted_total{format="docker",kind="manifest"} 1.0' in metrics
    assert "nora_retention_runs_total 1.0" in metrics


def test_clients_see_kept_content_and_not_removed_content(world: World) -> None:
    if world.tags("team/app") == ["dev-1", "dev-2", "dev-3", "release-1"]:
        assert world.cli().returncode == 0  # run alone: apply the policies first
    release = skopeo(
        world.root, "inspect", "--raw", "--tls-verify=false", world.ref("team/app:release-1")
    )
    assert json.loads(release)["schemaVersion"] == 2
    gone = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", world.ref("team/app:dev-1")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "REGISTRY_AUTH_FILE": str(world.root / "auth.json")},
    )
    assert gone.returncode != 0

    project = world.root / "project"
    project.mkdir(exist_ok=True)
    (project / "package.json").write_text('{"name": "consumer", "version": "1.0.0"}')
    world.npm.run("install", "@ret/tool@1.2.0", cwd=project)
    installed = json.loads((project / "node_modules/@ret/tool/package.json").read_text())
    assert installed["version"] == "1.2.0"
    missing = world.npm.run("install", "@ret/tool@1.0.0", cwd=project, check=False)
    assert missing.returncode != 0

    venv = ClientVenv(world.root / "venv", world.pip_env)
    index = world.server.url + "/simple/"
    kept = venv.pip("install", "--index-url", index, "ret-demo==1.2.0")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    removed = venv.pip(
        "download", "--no-deps", "--index-url", index, "-d", world.root / "dl", "ret-demo==1.0.0"
    )
    assert removed.returncode != 0


def test_plain_lines_when_piped_help_and_a_bad_policy(world: World) -> None:
    shown = world.cli("--dry-run")
    assert shown.returncode == 0, shown.stderr
    assert "planning: 6/6" in shown.stdout  # one step per policy
    assert "retention (dry run) would delete" in shown.stdout
    assert "\x1b[" not in shown.stdout  # no terminal control codes in a pipe

    usage = world.cli("--help")
    assert usage.returncode == 0
    assert "examples:" in usage.stdout
    assert "nora gc" in usage.stdout

    bad = world.root / "bad.toml"
    bad.write_text('[[retention]]\nformat = "npm"\nkeep_last = 2\nkeep_fist = 1\n')
    refused = world.cli("--policy", str(bad), "--json")
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["error"].startswith("retention table 1, keep_fist")
