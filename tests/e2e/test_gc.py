"""``nora gc`` against the real server and clients: after deleting images, packages and raw
files it removes exactly the blobs nothing names, a dry run changes nothing, pushes and
publishes running during GC lose nothing, and ``nora serve`` collects on a schedule."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pexpect
import pytest

from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.oci_support import build_layout, layout_manifest, skopeo
from tests.e2e.pypi_support import ClientVenv, client_env, make_wheel, twine_upload
from tests.e2e.raw_support import curl
from tests.e2e.server import NoraProcess, nora_executable

pytestmark = pytest.mark.e2e

SHORT_UPLOADS = {"NORA_UPLOAD_TTL_HOURS": "0.0003"}
"""About a second: a layer linked into a repository but named by no manifest is an upload
in progress for this long, so the layers of a deleted image become collectable quickly."""


def nora_gc(data: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    env.update({"NORA_STORAGE_PATH": str(data), **extra})
    return subprocess.run(
        [*nora_executable(), "gc", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def gc_json(data: Path, *args: str, **extra: str) -> dict[str, Any]:
    done = nora_gc(data, *args, "--json", **extra)
    assert done.returncode == 0, done.stdout + done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def blob_files(data: Path) -> set[str]:
    """Every content key stored on disk (``blobs/sha256/..``)."""
    root = data / "objects"
    return {str(p.relative_to(root)) for p in (root / "blobs").rglob("*") if p.is_file()}


def key_of(data: bytes) -> str:
    hexdigest = hashlib.sha256(data).hexdigest()
    return f"blobs/sha256/{hexdigest[:2]}/{hexdigest}"


def key_of_digest(digest: str) -> str:
    hexdigest = digest.split(":", 1)[1]
    return f"blobs/sha256/{hexdigest[:2]}/{hexdigest}"


def image_keys(layout: Path, tag: str) -> set[str]:
    """The manifest, config and layers of a layout's tag, as content keys."""
    digest, manifest = layout_manifest(layout, tag)
    named = [digest, manifest["config"]["digest"], *(x["digest"] for x in manifest["layers"])]
    return {key_of_digest(d) for d in named}


def registry(nora: NoraProcess, name: str) -> str:
    return f"docker://127.0.0.1:{nora.port}/{name}"


def push(nora: NoraProcess, layout: Path, tag: str, name: str, cwd: Path) -> None:
    skopeo(cwd, "copy", "--dest-tls-verify=false", f"oci:{layout}:{tag}", registry(nora, name))


def pull_digest(nora: NoraProcess, name: str, cwd: Path) -> str:
    target = cwd / f"pulled-{re.sub(r'[/:]', '-', name)}-{time.monotonic_ns()}"
    skopeo(cwd, "copy", "--src-tls-verify=false", registry(nora, name), f"oci:{target}:x")
    digest, manifest = layout_manifest(target, "x")
    for layer in manifest["layers"]:
        blob = target / "blobs" / "sha256" / layer["digest"].split(":")[1]
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == layer["digest"].split(":")[1]
    return digest


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layout(tmp_path_factory.mktemp("layout"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    with NoraProcess(tmp_path_factory.mktemp("gc") / "data", env=SHORT_UPLOADS) as nora:
        yield nora


def test_gc_removes_exactly_what_was_deleted_and_every_client_still_pulls(
    server: NoraProcess, layout: Path, tmp_path: Path
) -> None:
    data = server.data_dir
    # docker: v1 only in gc/gone (deleted), arm in gc/gone (deleted) and gc/kept (kept)
    push(server, layout, "v1", "gc/gone:v1", tmp_path)
    push(server, layout, "arm", "gc/gone:arm", tmp_path)
    push(server, layout, "arm", "gc/kept:arm", tmp_path)
    # npm: two versions, one unpublished
    npm = NpmClient(server.url + "/npm/", tmp_path / "npm")
    for version in ("1.0.0", "1.1.0"):
        npm.run("publish", str(make_package(tmp_path / "pkgs", "gc-pkg", version)))
    packument = httpx.get(f"{server.url}/npm/gc-pkg").json()
    old_tarball = httpx.get(packument["versions"]["1.0.0"]["dist"]["tarball"]).content
    # pypi: two releases, one deleted (its wheel and the wheel's extracted METADATA)
    env = client_env(tmp_path / "pyhome")
    wheels = [make_wheel(tmp_path / "dist", "gc-demo", v) for v in ("1.0.0", "2.0.0")]
    uploaded = twine_upload(wheels, server.url + "/pypi/", env)
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    old_metadata = httpx.get(f"{server.url}/simple/gc-demo/{wheels[0].name}.metadata").content
    assert old_metadata.startswith(b"Metadata-Version")
    # raw: one file deleted, one overwritten (its earlier contents are kept as a revision)
    raw = server.url + "/raw/"
    files = {name: os.urandom(512) for name in ("gone.bin", "kept-v1", "kept-v2")}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    assert curl("-f", "-T", str(tmp_path / "gone.bin"), raw + "gc/gone.bin").code == 0
    assert curl("-f", "-T", str(tmp_path / "kept-v1"), raw + "gc/kept.bin").code == 0
    assert curl("-f", "-T", str(tmp_path / "kept-v2"), raw + "gc/kept.bin").code == 0

    skopeo(tmp_path, "delete", "--tls-verify=false", registry(server, "gc/gone:v1"))
    skopeo(tmp_path, "delete", "--tls-verify=false", registry(server, "gc/gone:arm"))
    npm.run("unpublish", "gc-pkg@1.0.0")
    assert httpx.delete(f"{server.url}/pypi/gc-demo/1.0.0").status_code == 200
    assert curl("-f", "-X", "DELETE", raw + "gc/gone.bin").code == 0
    expected = image_keys(layout, "v1") | {
        key_of(old_tarball),
        key_of(wheels[0].read_bytes()),
        key_of(old_metadata),
        key_of(files["gone.bin"]),
    }
    time.sleep(1.5)  # the deleted image's layers outlive the upload TTL (see SHORT_UPLOADS)
    before = blob_files(data)
    assert expected <= before

    dry = gc_json(data, "--dry-run", "--grace", "0s", **SHORT_UPLOADS)
    assert dry["dry_run"] is True
    assert set(dry["candidates"]) == expected
    assert dry["deleted"] == len(expected)
    assert blob_files(data) == before  # a dry run changes nothing

    real = gc_json(data, "--grace", "0s", **SHORT_UPLOADS)
    assert set(real["candidates"]) == expected
    assert real["deleted_bytes"] > 0
    assert before - blob_files(data) == expected
    assert real["storage"]["docker"]["objects"] == len(image_keys(layout, "arm"))
    again = gc_json(data, "--grace", "0s", **SHORT_UPLOADS)
    assert again["deleted"] == 0  # nothing left to do

    # what remains still pulls, with every client
    assert pull_digest(server, "gc/kept:arm", tmp_path) == layout_manifest(layout, "arm")[0]
    installed = npm.run("install", "gc-pkg@1.1.0", cwd=_project(tmp_path / "app"))
    assert installed.returncode == 0
    venv = ClientVenv(tmp_path / "venv", env)
    done = venv.pip(
        "download",
        "--no-deps",
        "-d",
        str(tmp_path / "dl"),
        "--index-url",
        server.url + "/simple/",
        "gc-demo==2.0.0",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "dl" / wheels[1].name).read_bytes() == wheels[1].read_bytes()
    got = httpx.get(raw + "gc/kept.bin")
    assert got.status_code == 200
    assert got.content == files["kept-v2"]
    assert key_of(files["kept-v1"]) in blob_files(data)  # the kept revision
    assert httpx.get(raw + "gc/gone.bin").status_code == 404


def _project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0"}))
    return folder


def test_pushes_and_publishes_during_gc_lose_nothing(
    start_nora: Any, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    nora: NoraProcess = start_nora()
    layouts = [build_layout(tmp_path_factory.mktemp(f"concurrent{n}")) for n in range(2)]
    npm = NpmClient(nora.url + "/npm/", tmp_path / "npm")
    failures: list[BaseException] = []
    pushed: list[tuple[str, str]] = []
    versions = [f"1.0.{n}" for n in range(4)]

    def pushes() -> None:
        try:
            for number, image in enumerate(layouts):
                for tag in ("v1", "arm"):
                    name = f"busy/img{number}:{tag}"
                    push(nora, image, tag, name, tmp_path)
                    pushed.append((name, layout_manifest(image, tag)[0]))
        except BaseException as exc:
            failures.append(exc)

    def publishes() -> None:
        try:
            for version in versions:
                npm.run("publish", str(make_package(tmp_path / "pkgs", "busy-pkg", version)))
        except BaseException as exc:
            failures.append(exc)

    workers = [threading.Thread(target=pushes), threading.Thread(target=publishes)]
    for worker in workers:
        worker.start()
    runs = 0
    while any(worker.is_alive() for worker in workers) or runs < 2:
        summary = gc_json(nora.data_dir, "--grace", "0s")
        assert summary["ok"] is True
        runs += 1
    for worker in workers:
        worker.join()
    assert not failures, failures
    assert runs >= 2

    for name, digest in pushed:
        assert pull_digest(nora, name, tmp_path) == digest
    project = _project(tmp_path / "app")
    for version in versions:
        npm.run("install", f"busy-pkg@{version}", cwd=project)
        installed = json.loads((project / "node_modules" / "busy-pkg" / "package.json").read_text())
        assert installed["version"] == version


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_when_piped(
    server: NoraProcess,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    env["NORA_STORAGE_PATH"] = str(server.data_dir)
    child = pexpect.spawn(
        nora_executable()[0],
        [*nora_executable()[1:], "gc", "--dry-run"],
        env=env,
        timeout=120,
        dimensions=(40, 120),
    )
    child.expect(pexpect.EOF)
    child.close()
    shown = child.before.decode(errors="replace")
    assert child.exitstatus == 0, shown
    assert "\x1b[" in shown  # drawn in place
    assert "list" in shown
    assert "would delete" in shown
    piped = nora_gc(server.data_dir, "--dry-run")
    assert piped.returncode == 0, piped.stderr
    assert "\x1b[" not in piped.stdout
    assert re.search(r"^list: \d+, .* done in [\d.]+s$", piped.stdout, re.M), piped.stdout
    assert re.search(r"^gc \(dry run\): would delete \d+ blobs", piped.stdout, re.M)


def test_help_has_examples_and_errors_exit_non_zero(tmp_path: Path) -> None:
    helped = nora_gc(tmp_path / "unused", "--help")
    assert helped.returncode == 0
    assert "examples:" in helped.stdout
    assert nora_gc(tmp_path / "unused", "--grace", "soon").returncode == 2
    unreachable = nora_gc(
        tmp_path / "data", "--json", NORA_METADATA_URL="postgresql://nora@127.0.0.1:9/nora"
    )
    assert unreachable.returncode == 1
    assert json.loads(unreachable.stdout)["ok"] is False


def test_serve_collects_on_a_schedule_and_metrics_show_it(start_nora: Any, tmp_path: Path) -> None:
    nora: NoraProcess = start_nora(
        {"NORA_GC_INTERVAL": "1s", "NORA_GC_GRACE": "0s", **SHORT_UPLOADS}
    )
    raw = nora.url + "/raw/"
    kept, gone = os.urandom(300), os.urandom(700)
    (tmp_path / "kept").write_bytes(kept)
    (tmp_path / "gone").write_bytes(gone)
    assert curl("-f", "-T", str(tmp_path / "kept"), raw + "s/kept").code == 0
    assert curl("-f", "-T", str(tmp_path / "gone"), raw + "s/gone").code == 0
    assert curl("-f", "-X", "DELETE", raw + "s/gone").code == 0
    deadline = time.monotonic() + 60
    while key_of(gone) in blob_files(nora.data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert key_of(gone) not in blob_files(nora.data_dir), nora.log()
    assert key_of(kept) in blob_files(nora.data_dir)
    metrics = httpx.get(nora.url + "/metrics").text
    runs = re.search(r"^nora_gc_runs_total (\S+)$", metrics, re.M)
    assert runs is not None, metrics
    assert float(runs.group(1)) >= 1
    assert re.search(r'^nora_storage_bytes\{format="raw"\} 300\.0$', metrics, re.M), metrics
    assert re.search(r'^nora_storage_objects\{format="raw"\} 1\.0$', metrics, re.M)
    assert re.search(r"^nora_gc_deleted_objects_total [1-9]", metrics, re.M)
    assert re.search(r"^nora_gc_reclaimed_bytes_total [1-9]", metrics, re.M)


def test_ctrl_c_stops_cleanly_and_the_next_run_finishes(start_nora: Any, tmp_path: Path) -> None:
    nora: NoraProcess = start_nora()
    kept = os.urandom(1000)
    (tmp_path / "kept").write_bytes(kept)
    assert curl("-f", "-T", str(tmp_path / "kept"), nora.url + "/raw/ctrl-c/kept").code == 0
    nora.stop()
    garbage = 10_000
    stamp = time.time() - 2 * 86400
    objects = nora.data_dir / "objects"
    for number in range(garbage):
        data = number.to_bytes(8, "big")
        path = objects / key_of(data)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (stamp, stamp))
    before = blob_files(nora.data_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    env["NORA_STORAGE_PATH"] = str(nora.data_dir)
    process = subprocess.Popen(
        [*nora_executable(), "gc", "--grace", "1h"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:  # plain lines: one as each phase ends
        if line.startswith("list:"):
            break  # listed: the second mark and the deletes are under way
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out + err
    assert "run nora gc again to finish" in err
    left = blob_files(nora.data_dir)
    assert key_of(kept) in left
    assert left <= before  # wherever it stopped, nothing else changed

    finished = gc_json(nora.data_dir, "--grace", "1h")
    assert finished["deleted"] == len(left) - 1
    assert blob_files(nora.data_dir) == {key_of(kept)}
