"""``nora backup`` of a live registry while clients push, ``nora restore`` elsewhere, same bytes.

One registry on the defaults gets an image (skopeo), an npm package and a wheel
(twine); backups to a directory and to a .tar.zst run while another skopeo push
and npm publish are in flight. Each backup is restored into a fresh data
directory, and one into S3 (moto) + PostgreSQL, and the real clients pull the
same bytes from a server started there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pexpect
import pytest

from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.oci_support import build_layout, layout_manifest, skopeo
from tests.e2e.pypi_support import ClientVenv, client_env, make_wheel, twine_upload
from tests.e2e.server import NoraProcess, nora_executable
from tests.moto_server import ACCESS_KEY, REGION, SECRET_KEY, create_bucket, moto_server
from tests.postgres_server import postgres_server

pytestmark = pytest.mark.e2e

IMAGE = "team/backed-up"


def nora_cli(
    *args: str, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*nora_executable(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def data_env(data: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    return {**base, "NORA_STORAGE_PATH": str(data), **extra}


def registry(server: NoraProcess, name: str) -> str:
    return f"docker://127.0.0.1:{server.port}/{name}"


class Published:
    """What the source registry holds, to compare the restored one against."""

    def __init__(self, root: Path, layout: Path, wheel: Path) -> None:
        self.root = root
        self.layout = layout
        self.wheel = wheel
        self.tarball = b""
        self.backups: dict[str, Path] = {}
        self.env: dict[str, str] = {}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    root = tmp_path_factory.mktemp("backup")
    layout = build_layout(root)
    wheel = make_wheel(root / "dist", "backed-demo", "1.0.0", padding=50_000)
    state = Published(root, layout, wheel)
    with NoraProcess(root / "data") as server:
        skopeo(
            root,
            "copy",
            "--dest-tls-verify=false",
            f"oci:{layout}:v1",
            registry(server, IMAGE) + ":v1",
        )
        npm = NpmClient(server.url + "/npm/", root / "npm-home")
        npm.run("publish", cwd=make_package(root / "pkgs", "backed-pkg", "1.0.0"))
        env = client_env(root / "pip-home")
        done = twine_upload([wheel], server.url + "/pypi/", env)
        assert done.returncode == 0, done.stdout + done.stderr
        view = npm.json("view", "backed-pkg")
        state.tarball = httpx.get(view["dist"]["tarball"]).content
        state.env = server.env

        errors: list[BaseException] = []

        def pushing() -> None:
            try:
                for number in range(3):
                    skopeo(
                        root,
                        "copy",
                        "--dest-tls-verify=false",
                        f"oci:{layout}:arm",
                        registry(server, f"team/concurrent{number}") + ":arm",
                    )
            except BaseException as exc:
                errors.append(exc)

        def publishing() -> None:
            try:
                for number in range(3):
                    folder = make_package(root / "pkgs", "concurrent-pkg", f"1.0.{number}")
                    npm.run("publish", cwd=folder)
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=pushing), threading.Thread(target=publishing)]
        for worker in workers:
            worker.start()
        for name in ("dir", "backup.tar.zst"):
            target = root / name
            done = nora_cli("backup", "--to", str(target), "--json", env=server.env)
            assert done.returncode == 0, done.stdout + done.stderr
            summary = json.loads(done.stdout)
            assert summary["ok"]
            assert summary["formats"]["npm"] >= 2
            assert summary["formats"]["oci"] >= 3
            assert summary["formats"]["pypi"] >= 2
            state.backups[name] = target
        for worker in workers:
            worker.join(timeout=300)
        assert not errors, errors
        # a second directory backup is incremental: the concurrent pushes' blobs at most
        again = nora_cli("backup", "--to", str(root / "dir"), "--json", env=server.env)
        assert again.returncode == 0, again.stderr
        second = json.loads(again.stdout)
        assert second["copied_blobs"] < second["blobs"]
        yield state


def check_clients(server: NoraProcess, state: Published, work: Path) -> None:
    """skopeo, npm and pip get the same bytes from ``server`` as were published."""
    work.mkdir(parents=True, exist_ok=True)
    digest, _ = layout_manifest(state.layout, "v1")
    skopeo(
        work,
        "copy",
        "--src-tls-verify=false",
        registry(server, IMAGE) + ":v1",
        f"oci:{work}/pulled:v1",
    )
    pulled_digest, pulled = layout_manifest(work / "pulled", "v1")
    assert pulled_digest == digest
    for layer in pulled["layers"]:
        name = layer["digest"].split(":")[1]
        assert (work / "pulled/blobs/sha256" / name).read_bytes() == (
            state.layout / "blobs/sha256" / name
        ).read_bytes()
    # whatever the concurrent pushes got into the backup is whole
    catalog = httpx.get(server.url + "/v2/_catalog").json()["repositories"]
    for repo in (r for r in catalog if r.startswith("team/concurrent")):
        skopeo(
            work,
            "copy",
            "--src-tls-verify=false",
            registry(server, repo) + ":arm",
            f"oci:{work}/{repo.replace('/', '-')}:arm",
        )

    npm = NpmClient(server.url + "/npm/", work / "npm-home")
    project = work / "project"
    project.mkdir()
    (project / "package.json").write_text('{"name":"consumer","version":"0.0.0"}')
    npm.run("install", "backed-pkg@1.0.0", cwd=project)
    assert (project / "node_modules/backed-pkg/index.js").read_text() == (
        state.root / "pkgs/backed-pkg-1.0.0/index.js"
    ).read_text()
    view = npm.json("view", "backed-pkg")
    assert httpx.get(view["dist"]["tarball"]).content == state.tarball
    concurrent = npm.run("view", "concurrent-pkg", "versions", "--json", check=False)
    if concurrent.returncode == 0:
        versions = json.loads(concurrent.stdout)
        latest = versions[-1] if isinstance(versions, list) else versions
        npm.run("install", f"concurrent-pkg@{latest}", cwd=project)

    venv = ClientVenv(work / "venv", client_env(work / "pip-home"))
    index = server.url + "/simple/"
    installed = venv.pip("install", "--index-url", index, "backed-demo==1.0.0")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert venv.module_version("backed_demo_mod") == "1.0.0"
    fetched = venv.pip(
        "download", "--no-deps", "--index-url", index, "-d", work / "dl", "backed-demo==1.0.0"
    )
    assert fetched.returncode == 0, fetched.stderr
    assert (work / "dl" / state.wheel.name).read_bytes() == state.wheel.read_bytes()


@pytest.mark.parametrize("name", ["dir", "backup.tar.zst"])
def test_restore_into_a_fresh_directory(published: Published, tmp_path: Path, name: str) -> None:
    data = tmp_path / "restored"
    env = data_env(data)
    done = nora_cli("restore", "--from", str(published.backups[name]), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "restored from" in done.stdout
    again = nora_cli("restore", "--from", str(published.backups[name]), env=env)
    assert again.returncode == 0
    assert "already restored" in again.stdout
    with NoraProcess(data) as server:
        check_clients(server, published, tmp_path / "clients")


def test_restore_into_s3_and_postgresql(published: Published, tmp_path: Path) -> None:
    with moto_server() as endpoint, postgres_server() as database:
        create_bucket(endpoint, "nora-restore")
        settings = {
            "NORA_STORAGE_MODE": "s3",
            "NORA_S3_ENDPOINT": endpoint,
            "NORA_S3_BUCKET": "nora-restore",
            "NORA_S3_PREFIX": f"run-{uuid.uuid4().hex[:8]}",
            "NORA_S3_REGION": REGION,
            "NORA_S3_ACCESS_KEY": ACCESS_KEY,
            "NORA_S3_SECRET_KEY": SECRET_KEY,
            "NORA_S3_PATH_STYLE": "true",
            "NORA_METADATA_URL": database,
        }
        env = data_env(tmp_path / "unused", **settings)
        done = nora_cli(
            "restore", "--from", str(published.backups["backup.tar.zst"]), "--json", env=env
        )
        assert done.returncode == 0, done.stdout + done.stderr
        restored = json.loads(done.stdout)
        assert restored["ok"]
        assert restored["restored_blobs"] == restored["blobs"] > 0
        with NoraProcess(tmp_path / "data", env=settings) as server:
            check_clients(server, published, tmp_path / "clients")
        # and back out of S3 + PostgreSQL: the same documents and blobs
        out = nora_cli("backup", "--to", str(tmp_path / "again"), "--json", env=env)
        assert out.returncode == 0, out.stderr
        again = json.loads(out.stdout)
        assert again["blobs"] == restored["blobs"]
        assert again["documents"] >= restored["documents"]  # the server may add its own


def test_a_corrupt_blob_is_named_and_fails_the_restore(
    published: Published, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(published.backups["dir"], copy)
    manifest = json.loads((copy / "nora-backup.json").read_text())
    victim = max(manifest["blobs"], key=lambda key: manifest["blobs"][key]["size"])
    blob = copy / victim
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    env = data_env(tmp_path / "restored")
    done = nora_cli("restore", "--from", str(copy), "--json", env=env)
    assert done.returncode == 1
    summary = json.loads(done.stdout)
    assert not summary["ok"]
    assert any(victim in error for error in summary["errors"])
    assert victim in done.stderr
    other = nora_cli("restore", "--from", str(published.backups["backup.tar.zst"]), env=env)
    assert other.returncode == 2  # another backup's half-restored target is not empty
    assert "--force" in other.stderr
    repaired = nora_cli("restore", "--from", str(published.backups["dir"]), env=env)
    assert repaired.returncode == 0, repaired.stderr  # the intact copy of the same backup
    assert "resumed and restored" in repaired.stdout


def test_progress_is_a_bar_on_a_terminal_and_lines_when_piped(
    published: Published, tmp_path: Path
) -> None:
    env = {**published.env, "TERM": "xterm-256color", "COLUMNS": "120"}
    child = pexpect.spawn(
        nora_executable()[0],
        [*nora_executable()[1:], "backup", "--to", str(tmp_path / "tty.tar")],
        env=env,
        timeout=120,
        dimensions=(40, 120),
    )
    child.expect(pexpect.EOF)
    child.close()
    shown = child.before.decode(errors="replace")
    assert child.exitstatus == 0, shown
    assert "\x1b[" in shown  # drawn in place
    assert re.search(r"blobs\s+\d+/\d+", shown), shown
    assert "/s" in shown
    piped = nora_cli("backup", "--to", str(tmp_path / "piped.tar"), env=published.env)
    assert piped.returncode == 0, piped.stderr
    assert "\x1b[" not in piped.stdout
    assert re.search(r"^blobs: \d+/\d+, .* done in [\d.]+s$", piped.stdout, re.M), piped.stdout
    assert re.search(r"^metadata: \d+, ", piped.stdout, re.M)
    assert len(piped.stdout.splitlines()) < 10


def test_help_has_examples() -> None:
    for command in ("backup", "restore"):
        done = nora_cli(command, "--help", env=data_env(Path("unused")))
        assert done.returncode == 0
        assert "examples:" in done.stdout


def _fill(data: Path, count: int) -> None:
    """``count`` random 1 MiB blobs written through the filesystem adapter."""
    import anyio

    from adapters.blobstore.filesystem import FilesystemBlobStore

    async def fill() -> None:
        store = FilesystemBlobStore(data)
        for _ in range(count):
            blob = os.urandom(1024 * 1024)
            digest = hashlib.sha256(blob).hexdigest()

            async def once(chunk: bytes = blob) -> AsyncIterator[bytes]:
                yield chunk

            await store.put(f"blobs/sha256/{digest[:2]}/{digest}", once())
        await store.close()

    anyio.run(fill)


def _interrupt_when(
    args: list[str], env: dict[str, str], ready: Callable[[], bool]
) -> tuple[int, str]:
    """Run ``nora args``, Ctrl-C it once ``ready()``; returns (exit code, stderr)."""
    with subprocess.Popen(
        [*nora_executable(), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        deadline = time.monotonic() + 120
        while not ready() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=120)
    return child.returncode, err


def _files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def test_ctrl_c_leaves_nothing_half_written_and_restore_resumes(tmp_path: Path) -> None:
    source = tmp_path / "source"
    _fill(source, 120)
    env = data_env(source)
    archive = tmp_path / "big.tar.zst"
    partial = tmp_path / "big.tar.zst.partial"

    def archive_started() -> bool:
        return partial.exists() and partial.stat().st_size > 8 * 1024 * 1024

    code, err = _interrupt_when(["backup", "--to", str(archive)], env, archive_started)
    assert code == 130, err
    assert not partial.exists()
    assert not archive.exists()
    assert sorted(os.listdir(tmp_path)) == ["source"]

    done = nora_cli("backup", "--to", str(archive), env=env)
    assert done.returncode == 0, done.stderr
    target = tmp_path / "target"
    target_env = data_env(target)
    code, err = _interrupt_when(
        ["restore", "--from", str(archive)], target_env, lambda: _files(target) > 30
    )
    assert code == 130, err
    assert "run the same restore again" in err
    resumed = nora_cli("restore", "--from", str(archive), "--json", env=target_env)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["resumed"]
    assert summary["skipped_blobs"] >= 25
    assert summary["skipped_blobs"] + summary["restored_blobs"] == 120
    check = nora_cli("backup", "--to", str(tmp_path / "check"), "--json", env=target_env)
    assert json.loads(check.stdout)["blobs"] == 120
    assert nora_cli("backup", "--to", str(tmp_path / "reference"), env=env).returncode == 0
    restored = json.loads((tmp_path / "check" / "nora-backup.json").read_text())["blobs"]
    reference = json.loads((tmp_path / "reference" / "nora-backup.json").read_text())["blobs"]
    assert restored == reference  # every key, size and sha256 (each verified while copied)


def test_ctrl_c_in_parallel_directory_backup_and_restore(tmp_path: Path) -> None:
    source = tmp_path / "source"
    _fill(source, 120)
    env = data_env(source)
    backup_dir = tmp_path / "dir"
    code, err = _interrupt_when(
        ["backup", "--to", str(backup_dir), "--jobs", "8"],
        env,
        lambda: _files(backup_dir / "blobs") > 20,
    )
    assert code == 130, err
    assert not (backup_dir / "nora-backup.json").exists()  # never mistaken for complete
    assert not [p for p in backup_dir.rglob("*") if p.name.endswith(".partial")]
    done = nora_cli("backup", "--to", str(backup_dir), "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["blobs"] == 120

    target = tmp_path / "target"
    target_env = data_env(target)
    code, err = _interrupt_when(
        ["restore", "--from", str(backup_dir), "--jobs", "8"],
        target_env,
        lambda: _files(target) > 30,
    )
    assert code == 130, err
    resumed = nora_cli("restore", "--from", str(backup_dir), "--json", env=target_env)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["resumed"]
    assert summary["skipped_blobs"] + summary["restored_blobs"] == 120
    check = nora_cli("backup", "--to", str(tmp_path / "check"), env=target_env)
    assert check.returncode == 0, check.stderr
    restored = json.loads((tmp_path / "check" / "nora-backup.json").read_text())["blobs"]
    original = json.loads((backup_dir / "nora-backup.json").read_text())["blobs"]
    assert restored == original
