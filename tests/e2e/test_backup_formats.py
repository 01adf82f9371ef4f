"""Backup and restore carry Cargo, Go, Maven, classic Helm and raw files, too.

One registry gets a crate (cargo publish), a Go module (``nora go publish``), a
Maven library (mvn deploy), a Helm chart (ChartMuseum API) and a raw file (curl).
It is backed up to a .tar.zst and stopped; the backup is restored into a fresh
data directory, and each real client builds or pulls from the restored
registry alone: the same bytes, the same program output.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.cargo_support import CargoClient, write_crate
from tests.e2e.go_support import GoEnv, go_build_cache, make_module, nora_go_publish
from tests.e2e.helm_support import make_chart, upload
from tests.e2e.maven_support import consumer_pom, library, mvn, write_settings
from tests.e2e.raw_support import curl
from tests.e2e.server import NoraProcess
from tests.e2e.test_backup_restore import data_env, nora_cli

pytestmark = pytest.mark.e2e

__all__ = ["go_build_cache"]

GO_MODULE = "example.com/backed/lib"
CRATE = "backed-util"


@dataclass
class Restored:
    server: NoraProcess
    root: Path
    source_bytes: dict[str, bytes] = field(default_factory=dict)
    """What the source registry served before the backup, by a name for each file."""


def _fetch(url: str) -> bytes:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, (url, response.status_code, response.text[:200])
    return response.content


def _served(base: str) -> dict[str, bytes]:
    """The files each format serves for what the fixture published."""
    crate_line = json.loads(_fetch(f"{base}/cargo/index/ba/ck/{CRATE}").splitlines()[0])
    return {
        "crate": _fetch(f"{base}/cargo/api/v1/crates/{CRATE}/1.0.0/download"),
        "crate-cksum": crate_line["cksum"].encode(),
        "go-zip": _fetch(f"{base}/go/{GO_MODULE}/@v/v1.0.0.zip"),
        "go-mod": _fetch(f"{base}/go/{GO_MODULE}/@v/v1.0.0.mod"),
        "jar": _fetch(f"{base}/maven2/com/backed/lib/1.0/lib-1.0.jar"),
        "pom": _fetch(f"{base}/maven2/com/backed/lib/1.0/lib-1.0.pom"),
        "chart": _fetch(f"{base}/helm/charts/backed-0.1.0.tgz"),
        "raw": _fetch(f"{base}/raw/team/tools/setup.bin"),
    }


@pytest.fixture(scope="module")
def restored(tmp_path_factory: pytest.TempPathFactory, go_build_cache: Path) -> Iterator[Restored]:
    root = tmp_path_factory.mktemp("backup-formats")
    with NoraProcess(root / "source") as source:
        cargo = CargoClient(root / "cargo-publisher", source.url, token="unused")
        cargo.publish(write_crate(root / "crates", CRATE, "1.0.0", lib=_says("backed util")))

        lib = make_module(
            root / "go-lib",
            GO_MODULE,
            {"lib.go": 'package lib\n\nfunc Hello() string { return "hello, restored" }\n'},
        )
        done = nora_go_publish(lib, f"{GO_MODULE}@v1.0.0", source.url + "/go")
        assert done.returncode == 0, done.stdout + done.stderr

        maven_url = source.url + "/maven2/"
        settings = write_settings(root / "settings.xml", maven_url, user="deployer", password="pw")
        project = library(root / "maven-lib", "com.backed", "lib", "1.0", maven_url, marker="kept")
        deployed = mvn(project, settings, root / "m2", "deploy", "-Dmaven.test.skip=true")
        assert deployed.ok, deployed.output[-3000:]

        chart = make_chart(root / "charts", "backed", "0.1.0")
        assert upload(source.url + "/helm", chart.read_bytes()).status_code == 201

        (root / "setup.bin").write_bytes(os.urandom(300_000))
        put = curl("-f", "-T", str(root / "setup.bin"), source.url + "/raw/team/tools/setup.bin")
        assert put.code == 0, put.err

        before = _served(source.url)
        backup = root / "backup.tar.zst"
        done_backup = nora_cli("backup", "--to", str(backup), "--json", env=source.env)
        assert done_backup.returncode == 0, done_backup.stdout + done_backup.stderr
        counts = json.loads(done_backup.stdout)["formats"]
        for word in ("cargo", "go", "maven", "helm", "raw"):
            assert counts.get(word, 0) >= 1, counts

    target = root / "restored"
    done_restore = nora_cli("restore", "--from", str(backup), "--json", env=data_env(target))
    assert done_restore.returncode == 0, done_restore.stdout + done_restore.stderr
    assert json.loads(done_restore.stdout)["ok"]
    with NoraProcess(target) as server:  # the source is gone: only the restored data serves
        yield Restored(server=server, root=root, source_bytes=before)


def _says(text: str) -> str:
    return f'pub fn says() -> &\'static str {{ "{text}" }}\n'


def test_every_file_is_served_with_the_same_bytes(restored: Restored) -> None:
    assert _served(restored.server.url) == restored.source_bytes
    cksum = restored.source_bytes["crate-cksum"].decode()
    assert hashlib.sha256(restored.source_bytes["crate"]).hexdigest() == cksum


def test_cargo_builds_against_the_restored_registry(restored: Restored) -> None:
    cargo = CargoClient(restored.root / "cargo-consumer", restored.server.url)
    app = write_crate(
        restored.root / "apps",
        "restored-app",
        "0.1.0",
        body=f'publish = false\n\n[dependencies]\n{CRATE} = "1.0.0"\n',
        main='fn main() { println!("{}", backed_util::says()); }\n',
    )
    out = cargo.ok("run", "--quiet", cwd=app)
    assert out.strip().splitlines()[-1] == "backed util"


def test_go_builds_against_the_restored_registry(restored: Restored, go_build_cache: Path) -> None:
    go = GoEnv(restored.root / "go", restored.server.url + "/go", cache=go_build_cache)
    main = (
        f'package main\n\nimport (\n\t"fmt"\n\n\tlib "{GO_MODULE}"\n)\n\n'
        "func main() { fmt.Println(lib.Hello()) }\n"
    )
    app = make_module(
        restored.root / "go-app",
        "example.com/app",
        {"main.go": main},
        go_mod_extra=f"\nrequire {GO_MODULE} v1.0.0\n",
    )
    assert go.ok("run", ".", cwd=app).strip() == "hello, restored"
    listed = json.loads(go.ok("mod", "download", "-json", f"{GO_MODULE}@v1.0.0", cwd=app))
    assert Path(listed["Zip"]).read_bytes() == restored.source_bytes["go-zip"]


def test_maven_packages_against_the_restored_registry(restored: Restored) -> None:
    url = restored.server.url + "/maven2/"
    settings = write_settings(restored.root / "consumer-settings.xml", url)
    consumer = consumer_pom(
        restored.root / "maven-consumer",
        url,
        [("com.backed", "lib", "1.0")],
        source="package com.example.consumer;\n"
        "public class Main { public static String m() { return com.backed.Lib.marker(); } }\n",
    )
    local = restored.root / "consumer-m2"
    run = mvn(consumer, settings, local, "package", "-Dmaven.test.skip=true")
    assert run.ok, run.output[-3000:]
    jar = local / "com/backed/lib/1.0/lib-1.0.jar"
    assert jar.read_bytes() == restored.source_bytes["jar"]


def test_helm_and_curl_pull_the_restored_files(restored: Restored) -> None:
    import helm_python as helm

    out = restored.root / "pulled"
    out.mkdir()
    helm.pull(
        "backed", repo_url=restored.server.url + "/helm", version="0.1.0", destination=str(out)
    )
    assert (out / "backed-0.1.0.tgz").read_bytes() == restored.source_bytes["chart"]
    got = curl("-f", "-O", restored.server.url + "/raw/team/tools/setup.bin", cwd=out)
    assert got.code == 0, got.err
    assert (out / "setup.bin").read_bytes() == (restored.root / "setup.bin").read_bytes()
