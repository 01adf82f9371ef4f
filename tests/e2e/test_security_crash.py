"""Nothing left behind: SIGKILL during uploads of every format, then a restart sweeps.

The server is killed (the whole process group, SIGKILL) while raw HTTP clients
are half-way through sending bodies of every kind of upload there is: an OCI
chunked PATCH (its session already holding an acknowledged chunk), an OCI
monolithic POST, an npm publish and a PyPI upload form. Other uploads of each
format complete and are acknowledged first. The server then restarts on the same
data directory with a tiny upload TTL, so its start-up sweep finds everything
the dead process staged expired: the upload area and the temp area must empty
(nothing anywhere in the data directory but content and the database), every
blob must hash to its name, and everything acknowledged before the kill is
still served byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urljoin

import httpx
import pytest

from tests.e2e.oci_support import OCI_MANIFEST, push_blob, push_manifest, sha256
from tests.e2e.pypi_support import make_wheel
from tests.e2e.server import NoraProcess
from tests.unit.npm.bodies import publish_body

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024
_DEADLINE = 20.0
_SENT_BEFORE_STALL = 0.6  # of each in-flight body; the rest never comes
_NPM_AUTH = {"Authorization": "Bearer x"}


class SlowClient(threading.Thread):
    """A raw HTTP/1.1 client that sends its body in small, paced pieces and then stalls.

    The stall keeps the request mid-body however slow the machine is, so the
    kill always lands on a half-received upload; the thread ends once the
    server's death closes the connection.
    """

    def __init__(self, port: int, method: str, path: str, body: bytes, headers: dict[str, str]):
        super().__init__(daemon=True)
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        head += [f"{k}: {v}" for k, v in {**headers, "Content-Length": str(len(body))}.items()]
        self.head = ("\r\n".join(head) + "\r\n\r\n").encode()
        self.port = port
        self.body = body[: int(len(body) * _SENT_BEFORE_STALL)]
        self.stalled = threading.Event()

    def run(self) -> None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=_DEADLINE) as sock:
                sock.sendall(self.head)
                for pos in range(0, len(self.body), 64 * 1024):
                    sock.sendall(self.body[pos : pos + 64 * 1024])
                    time.sleep(0.002)
                self.stalled.set()
                sock.recv(1)  # returns (or raises) when the server dies
        except OSError:
            pass
        finally:
            self.stalled.set()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _absolute(base: str, location: str) -> str:
    return base + location if location.startswith("/") else location


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _kill(server: NoraProcess) -> None:
    assert server.process is not None
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)


def _pypi_form(wheel: Path, name: str, version: str) -> tuple[bytes, str]:
    """The legacy upload form as twine sends it: fields first, then the file."""
    data = wheel.read_bytes()
    boundary = "crash-test-boundary"
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "sha256_digest": hashlib.sha256(data).hexdigest(),
    }
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f"--{boundary}\r\nContent-Disposition: form-data; "
        f'name="content"; filename="{wheel.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Acknowledged(NamedTuple):
    """What the first server answered 2xx for: it must survive the kill unchanged."""

    blobs: list[bytes]
    manifest: dict[str, Any]
    tarball: bytes
    wheel: bytes


def _publish_acknowledged(base: str, tmp_path: Path) -> Acknowledged:
    """One complete upload of each format (OCI monolithic and chunked, npm, PyPI)."""
    mono = os.urandom(3 * MiB)
    assert push_blob(base, "crash/app", mono) == sha256(mono)
    chunked = os.urandom(2 * MiB + 17)
    started = httpx.post(f"{base}/v2/crash/app/blobs/uploads/")
    assert started.status_code == 202, started.text
    patched = httpx.patch(_absolute(base, started.headers["Location"]), content=chunked[:MiB])
    assert patched.status_code == 202, patched.text
    done = httpx.put(
        _absolute(base, patched.headers["Location"]),
        params={"digest": sha256(chunked)},
        content=chunked[MiB:],
    )
    assert done.status_code == 201, done.text
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    push_blob(base, "crash/app", config)
    layers = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(b), "size": len(b)}
        for b in (mono, chunked)
    ]
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(config),
            "size": len(config),
        },
        "layers": layers,
    }
    assert push_manifest(base, "crash/app", "v1", manifest).status_code == 201
    tarball = os.urandom(MiB + 3)
    published = httpx.put(
        f"{base}/npm/crash-kept",
        json=publish_body("crash-kept", "1.0.0", tarball),
        headers=_NPM_AUTH,
        timeout=30,
    )
    assert published.status_code in (200, 201), published.text
    wheel = make_wheel(tmp_path / "wheels", "crash-kept", "1.0.0", padding=MiB)
    form, form_type = _pypi_form(wheel, "crash-kept", "1.0.0")
    uploaded = httpx.post(f"{base}/pypi/", content=form, headers={"Content-Type": form_type})
    assert uploaded.status_code == 200, uploaded.text
    return Acknowledged([mono, chunked, config], manifest, tarball, wheel.read_bytes())


def _start_in_flight(base: str, port: int, tmp_path: Path) -> tuple[list[SlowClient], str, bytes]:
    """Half-sent bodies of every kind of upload; returns the clients, the open session, the layer.

    The OCI chunked session already holds an acknowledged chunk when its
    second PATCH starts, so it has a session record as well as bytes.
    """
    session = httpx.post(f"{base}/v2/crash/app/blobs/uploads/")
    first_chunk = httpx.patch(_absolute(base, session.headers["Location"]), content=os.urandom(MiB))
    assert first_chunk.status_code == 202, first_chunk.text
    session_path = _absolute(base, first_chunk.headers["Location"]).removeprefix(base)
    layer = os.urandom(8 * MiB)
    wheel = make_wheel(tmp_path / "big", "crash-lost", "1.0.0", padding=6 * MiB)
    form, form_type = _pypi_form(wheel, "crash-lost", "1.0.0")
    npm_body = json.dumps(publish_body("crash-lost", "1.0.0", os.urandom(6 * MiB))).encode()
    octets = {"Content-Type": "application/octet-stream"}
    patch_range = {**octets, "Content-Range": f"{MiB}-{MiB + len(layer) - 1}"}
    monolithic = f"/v2/crash/app/blobs/uploads/?digest={sha256(layer)}"
    npm_headers = {"Content-Type": "application/json", **_NPM_AUTH}
    clients = [
        SlowClient(port, "PATCH", session_path, layer, patch_range),
        SlowClient(port, "POST", monolithic, layer, octets),
        SlowClient(port, "PUT", "/npm/crash-lost", npm_body, npm_headers),
        SlowClient(port, "POST", "/pypi/", form, {"Content-Type": form_type}),
    ]
    for client in clients:
        client.start()
    return clients, session_path, layer


def _wait_until_staged(server: NoraProcess, clients: list[SlowClient]) -> None:
    """Until every client stalled mid-body and each upload's first MiB reached the disk."""
    uploads = server.data_dir / "uploads"
    deadline = time.monotonic() + _DEADLINE
    while time.monotonic() < deadline:
        staged = [p for p in _files(uploads) if _size(p) >= MiB]
        if len(staged) >= len(clients) and all(c.stalled.is_set() for c in clients):
            return
        time.sleep(0.05)
    pytest.fail(f"uploads never staged: {_files(uploads)}\n{server.log()[-3000:]}")


def _wait_until_swept(server: NoraProcess) -> None:
    """Until a sweep ran and the upload and temp areas are empty."""
    areas = (server.data_dir / "uploads", server.data_dir / "tmp")
    deadline = time.monotonic() + _DEADLINE
    while time.monotonic() < deadline:
        swept = "upload sweep done" in server.log()
        if swept and not any(_files(area) for area in areas):
            return
        time.sleep(0.1)
    left = [path for area in areas for path in _files(area)]
    pytest.fail(f"left behind: {left}\n{server.log()[-3000:]}")


def test_sigkill_mid_upload_leaves_nothing_after_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = NoraProcess(data_dir).start()
    try:
        kept = _publish_acknowledged(first.url, tmp_path)
        clients, session_path, layer = _start_in_flight(first.url, first.port, tmp_path)
        _wait_until_staged(first, clients)
        _kill(first)
        for client in clients:
            client.join(timeout=_DEADLINE)
        assert len(_files(data_dir / "uploads")) >= len(clients), "the kill left nothing to sweep"
        # a put killed mid-write leaves its temp file just like this (unlocked, half a blob)
        (data_dir / "tmp" / ("f" * 32)).write_bytes(b"half a manifest")
        time.sleep(0.5)  # past the TTL below, for everything the dead server staged
    finally:
        first.stop()

    # the TTL is ~0.36 s: the start-up sweep finds everything staged before the kill expired
    env = {"NORA_UPLOAD_TTL_HOURS": "0.0001", "NORA_WORKERS": "2"}
    with NoraProcess(data_dir, env=env) as second:
        _wait_until_swept(second)
        strays = [
            p.relative_to(data_dir)
            for p in _files(data_dir)
            if not p.is_relative_to(data_dir / "objects") and not p.name.startswith("nora.db")
        ]
        assert strays == []
        for blob in _files(data_dir / "objects" / "blobs" / "sha256"):
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name, blob

        url = second.url
        assert httpx.get(url + session_path).status_code == 404  # the open session is gone too
        for data in kept.blobs:
            got = httpx.get(f"{url}/v2/crash/app/blobs/{sha256(data)}", follow_redirects=True)
            assert (got.status_code, got.content) == (200, data)
        assert httpx.head(f"{url}/v2/crash/app/blobs/{sha256(layer)}").status_code == 404
        image = httpx.get(f"{url}/v2/crash/app/manifests/v1", headers={"Accept": OCI_MANIFEST})
        assert image.status_code == 200
        assert json.loads(image.content) == kept.manifest
        tarball = httpx.get(f"{url}/npm/crash-kept/-/crash-kept-1.0.0.tgz")
        assert tarball.content == kept.tarball
        assert httpx.get(f"{url}/npm/crash-lost").status_code == 404
        page = f"{url}/simple/crash-kept/"
        simple = httpx.get(page, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        [entry] = simple.json()["files"]
        assert entry["hashes"]["sha256"] == hashlib.sha256(kept.wheel).hexdigest()
        assert httpx.get(urljoin(page, entry["url"])).content == kept.wheel
        assert httpx.get(f"{url}/simple/crash-lost/").status_code == 404
