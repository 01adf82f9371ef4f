"""Two stateless replicas behind a balancer over shared backends, driven by real clients.

One cluster per module (:func:`tests.e2e.cluster_support.start_cluster`): PostgreSQL,
S3 (moto) and Redis, two ``nora serve`` replicas ``a`` and ``b`` with access control
on, and the TCP balancer every replica names as its public URL. An upload started
on one replica is continued and finished on the other; publishes racing on both
replicas lose no version; a replica killed with SIGKILL mid-stream loses no
acknowledged write and shows no half-written one, and comes back serving the same data.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import socket
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from scripts.balancer import Balancer
from scripts.cluster import Cluster, Replica
from tests.e2e.auth_support import USERS
from tests.e2e.cluster_support import (
    BOB,
    HalfSentRequest,
    npm_put,
    pypi_post,
    retrying,
    sha256_hex,
    start_cluster,
    token_for,
)
from tests.e2e.npm_support import NpmClient, make_package
from tests.e2e.oci_support import OCI_MANIFEST, build_layout, layout_manifest, sha256, skopeo
from tests.e2e.pypi_support import BIN, client_env, make_wheel, run
from tests.e2e.server import free_port
from tests.unit.npm.bodies import publish_body

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024
SIMPLE_JSON = {"Accept": "application/vnd.pypi.simple.v1+json", **BOB}
CREDS = f"bob:{USERS['bob']}"
POOL = 10  # client processes at once: enough to race, bounded for two cores


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield running
    finally:
        running.stop()


def _a(cluster: Cluster) -> Replica:
    return cluster.replica("a")


def _b(cluster: Cluster) -> Replica:
    return cluster.replica("b")


def _host(url: str) -> str:
    return url.removeprefix("http://")


def _tar_layer(size: int) -> bytes:
    """A tar holding one file of random bytes (uncompressed: gzip it for a layer)."""
    out = io.BytesIO()
    payload = os.urandom(size)
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        info = tarfile.TarInfo("data.bin")
        info.size = len(payload)
        info.mtime = 0
        archive.addfile(info, io.BytesIO(payload))
    return out.getvalue()


def test_replicas_run_over_the_shared_backends(cluster: Cluster) -> None:
    expected = (
        {"storage": "s3", "metadata": "postgresql"}
        if cluster.backend == "s3"
        else {"storage": "filesystem", "metadata": "sqlite"}
    )
    for replica in cluster.replicas:
        health = httpx.get(replica.url + "/health").json()
        assert {k: health[k] for k in expected} == expected, replica.name
        ready = httpx.get(replica.url + "/ready")
        assert ready.status_code == 200, ready.text
    assert httpx.get(cluster.url + "/ready").json()["status"] == "ready"


def _wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the balancer did not settle"
        time.sleep(0.01)


def test_balancer_skips_a_dead_backend_and_bounds_its_connections(cluster: Cluster) -> None:
    dead = ("127.0.0.1", free_port())  # nothing listens there
    alive = ("127.0.0.1", _b(cluster).port)
    with Balancer([dead, alive], max_connections=2, connect_timeout=1.0).running() as lb:
        for _ in range(4):  # every other connection is first offered to the dead one
            with httpx.Client(base_url=lb.url) as client:
                assert client.get("/health").status_code == 200
        assert lb.served == {alive: 4}
        # the four clients' connections may still be winding down: let them end first,
        # or they would count against the bound and the held ones would be refused
        _wait_for(lambda: lb.active == 0)
        held = [socket.create_connection((lb.host, lb.port), timeout=5) for _ in range(2)]
        try:
            _wait_for(lambda: lb.active == 2)
            with socket.create_connection((lb.host, lb.port), timeout=5) as third:
                assert third.recv(1) == b""  # over the bound: closed at once
        finally:
            for sock in held:
                sock.close()


# --- a: one upload, three replicas' worth of requests ------------------------------------


def test_chunked_blob_upload_moves_between_replicas(cluster: Cluster, tmp_path: Path) -> None:
    a, b, name = _a(cluster).url, _b(cluster).url, "cluster/chunked"
    tar = _tar_layer(3 * MiB + 12345)
    layer = gzip.compress(tar, mtime=0)
    cuts = [0, MiB, 2 * MiB + 7, len(layer)]
    octets = {"Content-Type": "application/octet-stream", **BOB}

    started = httpx.post(f"{a}/v2/{name}/blobs/uploads/", headers=BOB)
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    assert location.startswith(f"/v2/{name}/blobs/uploads/")
    for base, (start, end) in ((b, cuts[0:2]), (a, cuts[1:3])):
        chunk = layer[start:end]
        patched = httpx.patch(
            base + location,
            content=chunk,
            headers={**octets, "Content-Range": f"{start}-{end - 1}"},
        )
        assert patched.status_code == 202, patched.text
        assert patched.headers["range"] == f"0-{end - 1}"
        location = patched.headers["location"]
    # the other replica sees the same progress, and refuses a chunk that does not continue it
    status = httpx.get(b + location, headers=BOB)
    assert (status.status_code, status.headers["range"]) == (204, f"0-{cuts[2] - 1}")
    stale = httpx.patch(
        b + location, content=layer[:10], headers={**octets, "Content-Range": "0-9"}
    )
    assert stale.status_code == 416
    done = httpx.put(
        a + location, params={"digest": sha256(layer)}, content=layer[cuts[2] :], headers=octets
    )
    assert done.status_code == 201, done.text
    assert done.headers["docker-content-digest"] == sha256(layer)

    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": [sha256(tar)]}}).encode()  # fmt: skip
    posted = httpx.post(
        f"{b}/v2/{name}/blobs/uploads/", params={"digest": sha256(config)}, content=config,
        headers=octets,
    )  # fmt: skip
    assert posted.status_code == 201, posted.text
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": sha256(layer),
                "size": len(layer),
            }
        ],
    }
    pushed = httpx.put(
        f"{a}/v2/{name}/manifests/v1",
        content=json.dumps(manifest).encode(),
        headers={"Content-Type": OCI_MANIFEST, **BOB},
    )
    assert pushed.status_code == 201, pushed.text

    skopeo(tmp_path, "copy", "--src-tls-verify=false", "--src-creds", CREDS,
           f"docker://{_host(b)}/{name}:v1", f"oci:{tmp_path / 'pulled'}:v1")  # fmt: skip
    _, pulled = layout_manifest(tmp_path / "pulled", "v1")
    [pulled_layer] = pulled["layers"]
    assert pulled_layer["digest"] == sha256(layer)
    blob = tmp_path / "pulled" / "blobs" / "sha256" / sha256_hex(layer)
    assert blob.read_bytes() == layer


def test_skopeo_push_through_balancer_pull_from_each_replica(
    cluster: Cluster, tmp_path: Path
) -> None:
    layout = build_layout(tmp_path)
    _, image = layout_manifest(layout, "v1")
    served_before = dict(cluster.balancer.served) if cluster.balancer else {}
    skopeo(tmp_path, "copy", "--dest-tls-verify=false", "--dest-creds", CREDS,
           f"oci:{layout}:v1", f"docker://{_host(cluster.url)}/cluster/plain:v1")  # fmt: skip
    assert cluster.balancer is not None
    spread = {b: n - served_before.get(b, 0) for b, n in cluster.balancer.served.items()}
    assert set(spread) == {("127.0.0.1", r.port) for r in cluster.replicas}, spread
    assert min(spread.values()) > 0, spread  # both replicas took part in the push
    for replica in cluster.replicas:
        out = tmp_path / f"from-{replica.name}"
        skopeo(tmp_path, "copy", "--src-tls-verify=false", "--src-creds", CREDS,
               f"docker://{_host(replica.url)}/cluster/plain:v1", f"oci:{out}:v1")  # fmt: skip
        _, pulled = layout_manifest(out, "v1")
        assert [x["digest"] for x in pulled["layers"]] == [x["digest"] for x in image["layers"]]
        for entry in image["layers"]:
            hex_digest = entry["digest"].split(":")[1]
            original = (layout / "blobs" / "sha256" / hex_digest).read_bytes()
            assert (out / "blobs" / "sha256" / hex_digest).read_bytes() == original


# --- b: racing publishes on both replicas --------------------------------------------------


def test_concurrent_npm_publishes_on_both_replicas_lose_no_version(
    cluster: Cluster, tmp_path: Path
) -> None:
    package, per_replica, real = "cluster-race", 50, 10  # real npm for 10 of each replica's 50
    token = token_for(_a(cluster))
    jobs: list[tuple[Replica, str, bool]] = [
        (replica, f"1.{index}.{side}", index < real)
        for index in range(per_replica)
        for side, replica in enumerate(cluster.replicas)
    ]

    def publish(job: tuple[Replica, str, bool]) -> str:
        replica, version, with_npm = job
        if with_npm:
            client = NpmClient(replica.url + "/npm/", tmp_path / f"npm-{version}", token=token)
            folder = make_package(tmp_path / "pkgs", package, version)
            # npm 11 will not move "latest" backwards, and these land in any order
            done = client.run("publish", "--tag", "race", cwd=folder, check=False)
            return f"{done.returncode} {done.stderr[-400:]}"
        tarball = f"tarball of {version} ".encode() * 50
        answer = npm_put(replica.url, package, version, tarball, token)
        return f"{0 if answer.status_code in (200, 201) else answer.status_code} {answer.text}"

    with ThreadPoolExecutor(POOL) as pool:
        outcomes = list(pool.map(publish, jobs))
    failed = [(job[1], out) for job, out in zip(jobs, outcomes, strict=True) if out[0] != "0"]
    assert failed == []
    expected = {version for _, version, _ in jobs}
    for replica in cluster.replicas:
        doc = httpx.get(f"{replica.url}/npm/{package}", headers=BOB).json()
        assert set(doc["versions"]) == expected, replica.name
        client = NpmClient(replica.url + "/npm/", tmp_path / f"view-{replica.name}", token=token)
        assert set(client.json("view", package, "versions")) == expected


def test_concurrent_twine_uploads_on_both_replicas_lose_no_version(
    cluster: Cluster, tmp_path: Path
) -> None:
    project, per_replica, real = "cluster-race", 50, 10
    env = client_env(tmp_path / "home")
    jobs = [
        (replica, f"2.{index}.{side}", index < real)
        for index in range(per_replica)
        for side, replica in enumerate(cluster.replicas)
    ]
    wheels = {version: make_wheel(tmp_path / "dist", project, version) for _, version, _ in jobs}

    def upload(job: tuple[Replica, str, bool]) -> str:
        replica, version, with_twine = job
        if with_twine:
            done = run(
                [BIN / "twine", "upload", "--non-interactive", "--disable-progress-bar",
                 "--repository-url", replica.url + "/pypi/", "-u", "bob", "-p", USERS["bob"],
                 wheels[version]],
                env,
            )  # fmt: skip
            return f"{done.returncode} {done.stdout[-300:]}{done.stderr[-300:]}"
        answer = pypi_post(replica.url, wheels[version], project, version)
        return f"{0 if answer.status_code == 200 else answer.status_code} {answer.text}"

    with ThreadPoolExecutor(POOL) as pool:
        outcomes = list(pool.map(upload, jobs))
    failed = [(job[1], out) for job, out in zip(jobs, outcomes, strict=True) if out[0] != "0"]
    assert failed == []
    expected = {wheel.name: sha256_hex(wheel.read_bytes()) for wheel in wheels.values()}
    for replica in cluster.replicas:
        page = httpx.get(f"{replica.url}/simple/{project}/", headers=SIMPLE_JSON)
        assert page.status_code == 200, page.text
        listed = {f["filename"]: f["hashes"]["sha256"] for f in page.json()["files"]}
        assert listed == expected, replica.name


# --- c: a replica dies mid-stream ----------------------------------------------------------


def _paced(data: bytes, pieces: int = 5) -> Iterator[bytes]:
    """A body sent in pieces with pauses, so a request is often in flight."""
    step = len(data) // pieces + 1
    for start in range(0, len(data), step):
        yield data[start : start + step]
        time.sleep(0.03)


class _Writer(threading.Thread):
    """Raw PUTs, twine uploads, npm publishes and skopeo pushes through the balancer, each
    retried until acknowledged."""

    def __init__(self, cluster: Cluster, tmp_path: Path, count: int, token: str) -> None:
        super().__init__(daemon=True)
        self.base = cluster.url
        self.tmp_path = tmp_path
        self.count = count
        self.env = client_env(tmp_path / "home")
        self.npm = NpmClient(cluster.url + "/npm/", tmp_path / "npm-home", token=token)
        (tmp_path / "oci").mkdir()
        self.layout = build_layout(tmp_path / "oci")
        self.sent: dict[str, bytes] = {}  # raw path -> bytes, every attempt
        self.acked: dict[str, bytes] = {}  # raw path -> bytes answered 2xx
        self.wheels: dict[str, Path] = {}  # version -> wheel acknowledged by twine
        self.tarballs: dict[str, bytes] = {}  # npm version -> tarball acknowledged by npm
        self.images: dict[str, str] = {}  # tag -> manifest digest acknowledged by skopeo
        self.retries = 0
        self.progress = threading.Semaphore(0)

    def _npm(self, index: int) -> None:
        version = f"1.0.{index}"
        folder = make_package(self.tmp_path / "npm-pkgs", "cluster-kill", version)
        # a retry of a publish whose answer was lost is refused (the version exists):
        # the packument then tells whether it landed
        done, attempts = retrying(
            lambda: self.npm.run("publish", "--tag", "kill", cwd=folder, check=False),
            lambda d: d.returncode == 0 or self._published(version),
        )
        self.retries += attempts - 1
        if done is not None and (done.returncode == 0 or self._published(version)):
            packed = self.npm.run("pack", "--pack-destination", str(self.tmp_path), cwd=folder)
            self.tarballs[version] = (
                self.tmp_path / packed.stdout.strip().splitlines()[-1]
            ).read_bytes()

    def _published(self, version: str) -> bool:
        doc = httpx.get(f"{self.base}/npm/cluster-kill", headers=BOB)
        return doc.status_code == 200 and version in doc.json().get("versions", {})

    def _skopeo(self, index: int) -> None:
        tag = f"k{index}"
        target = f"docker://{_host(self.base)}/cluster/kill:{tag}"
        args = ("copy", "--dest-tls-verify=false", "--dest-creds", CREDS, f"oci:{self.layout}:v1")

        def push() -> bool:
            try:
                skopeo(self.tmp_path, *args, target)
            except AssertionError:  # skopeo failed (the replica died under it): retry
                return False
            return True

        done, attempts = retrying(push, bool)
        self.retries += attempts - 1
        if done:
            self.images[tag] = layout_manifest(self.layout, "v1")[0]

    def _raw(self, index: int) -> None:
        path = f"cluster/stream/file-{index}.bin"
        data = os.urandom(256 * 1024 + index * 4099)
        self.sent[path] = data
        headers = {**BOB, "X-Checksum-Sha256": sha256_hex(data)}
        answer, attempts = retrying(
            lambda: httpx.put(f"{self.base}/raw/{path}", content=_paced(data), headers=headers),
            lambda r: r.status_code == 201,
        )
        self.retries += attempts - 1
        if answer is not None and answer.status_code == 201:
            self.acked[path] = data

    def _twine(self, index: int) -> None:
        version = f"3.{index}"
        wheel = make_wheel(self.tmp_path / "dist", "cluster-stream", version, padding=128 * 1024)
        args = [BIN / "twine", "upload", "--non-interactive", "--disable-progress-bar",
                "--repository-url", self.base + "/pypi/", "-u", "bob", "-p", USERS["bob"],
                wheel]  # fmt: skip
        # a retry of an upload whose answer was lost gets 400 (the file exists): what
        # twine's --skip-existing would check on PyPI, the test checks in the listing
        done, attempts = retrying(
            lambda: run(args, self.env), lambda d: d.returncode == 0 or self._listed(wheel)
        )
        self.retries += attempts - 1
        if done is not None and (done.returncode == 0 or self._listed(wheel)):
            self.wheels[version] = wheel

    def _listed(self, wheel: Path) -> bool:
        page = httpx.get(f"{self.base}/simple/cluster-stream/", headers=SIMPLE_JSON)
        if page.status_code != 200:
            return False
        digest = sha256_hex(wheel.read_bytes())
        return any(
            f["filename"] == wheel.name and f["hashes"]["sha256"] == digest
            for f in page.json()["files"]
        )

    def run(self) -> None:
        kinds = (self._raw, self._twine, self._npm, self._skopeo)
        for index in range(self.count):
            kinds[index % len(kinds)](index)
            self.progress.release()


def test_sigkill_of_a_replica_loses_no_acknowledged_write(cluster: Cluster, tmp_path: Path) -> None:
    a, b = _a(cluster), _b(cluster)
    writer = _Writer(cluster, tmp_path, count=12, token=token_for(b))
    writer.start()
    for _ in range(4):
        assert writer.progress.acquire(timeout=60), "the writer made no progress"
    # uploads A never finishes receiving: a file retried through the balancer once A
    # is gone, a file and a PyPI upload nobody retries
    retried, doomed = os.urandom(3 * MiB), os.urandom(4 * MiB)
    lost = make_wheel(tmp_path / "lost", "cluster-stream", "4.0", padding=2 * MiB)
    form = httpx.Request(
        "POST", a.url + "/pypi/",
        data={":action": "file_upload", "protocol_version": "1", "name": "cluster-stream",
              "version": "4.0", "filetype": "bdist_wheel", "pyversion": "py3"},
        files={"content": (lost.name, lost.read_bytes(), "application/octet-stream")},
    )  # fmt: skip
    octets = {**BOB, "Content-Type": "application/octet-stream"}
    doomed_npm = json.dumps(publish_body("cluster-doomed", "1.0.0", os.urandom(2 * MiB))).encode()
    doomed_layer = os.urandom(3 * MiB)
    doomed_blob = "sha256:" + sha256_hex(doomed_layer)
    halves = [
        HalfSentRequest(
            a.port, "PUT", "/npm/cluster-doomed", doomed_npm,
            {**BOB, "Content-Type": "application/json", "npm-command": "publish"},
        ),
        HalfSentRequest(
            a.port, "POST", f"/v2/cluster/doomed/blobs/uploads/?digest={doomed_blob}",
            doomed_layer, octets,
        ),
        HalfSentRequest(a.port, "PUT", "/raw/cluster/stream/retried.bin", retried, octets),
        HalfSentRequest(a.port, "PUT", "/raw/cluster/stream/doomed.bin", doomed, octets),
        HalfSentRequest(
            a.port, "POST", "/pypi/", form.read(),
            {**BOB, "Content-Type": form.headers["content-type"]},
        ),
    ]  # fmt: skip
    for half in halves:
        half.start()
    for half in halves:
        assert half.sent.wait(30)
    time.sleep(0.3)
    a.kill()
    for half in halves:
        half.join(30)
        assert half.answer == b"", half.answer[:200]  # A died before it had the whole body
    again, attempts = retrying(
        lambda: httpx.put(f"{cluster.url}/raw/cluster/stream/retried.bin", content=retried,
                          headers={**BOB, "X-Checksum-Sha256": sha256_hex(retried)}),
        lambda r: r.status_code == 201,
    )  # fmt: skip
    assert again is not None, f"the retry through the balancer failed {attempts} times"
    assert again.status_code == 201, again.text
    assert again.json()["sha256"] == sha256_hex(retried)
    writer.join(240)
    assert not writer.is_alive(), "the writer did not finish"
    assert sorted(writer.acked) == sorted(writer.sent), "a raw PUT was never acknowledged"
    assert len(writer.wheels) == 3, writer.wheels
    assert len(writer.tarballs) == 3, writer.tarballs
    assert len(writer.images) == 3, writer.images
    assert cluster.balancer is not None
    assert cluster.balancer.served.get(("127.0.0.1", b.port), 0) > 0

    def check(replica: Replica) -> None:
        for path, data in writer.acked.items():
            got = httpx.get(f"{replica.url}/raw/{path}", headers=BOB)
            assert got.status_code == 200, (replica.name, path)
            assert sha256_hex(got.content) == sha256_hex(data), (replica.name, path)
        for path, data in writer.sent.items():  # never half a file: missing or whole
            got = httpx.get(f"{replica.url}/raw/{path}", headers=BOB)
            assert got.status_code == 404 or got.content == data, (replica.name, path)
        missing = httpx.get(f"{replica.url}/raw/cluster/stream/doomed.bin", headers=BOB)
        assert missing.status_code == 404, replica.name
        whole = httpx.get(f"{replica.url}/raw/cluster/stream/retried.bin", headers=BOB)
        assert sha256_hex(whole.content) == sha256_hex(retried), replica.name
        page_url = f"{replica.url}/simple/cluster-stream/"
        page = httpx.get(page_url, headers=SIMPLE_JSON)
        files = {f["filename"]: f for f in page.json()["files"]}
        assert lost.name not in files, replica.name  # the upload A never finished
        for wheel in writer.wheels.values():
            entry = files[wheel.name]
            assert entry["hashes"]["sha256"] == sha256_hex(wheel.read_bytes())
            got = httpx.get(urljoin(page_url, entry["url"]), headers=BOB, follow_redirects=True)
            assert hashlib.sha256(got.content).hexdigest() == entry["hashes"]["sha256"]
        packument = httpx.get(f"{replica.url}/npm/cluster-kill", headers=BOB).json()
        for version, tarball in writer.tarballs.items():
            dist = packument["versions"][version]["dist"]
            assert dist["shasum"] == hashlib.sha1(tarball).hexdigest(), (replica.name, version)
            got = httpx.get(dist["tarball"].replace(cluster.url, replica.url), headers=BOB)
            assert got.content == tarball, (replica.name, version)
        gone = httpx.get(f"{replica.url}/npm/cluster-doomed", headers=BOB)
        assert gone.status_code == 404, replica.name  # the publish A never finished
        for tag, digest in writer.images.items():
            manifest = httpx.get(
                f"{replica.url}/v2/cluster/kill/manifests/{tag}",
                headers={**BOB, "Accept": OCI_MANIFEST},
            )
            assert manifest.headers.get("docker-content-digest") == digest, (replica.name, tag)
        blob = httpx.head(f"{replica.url}/v2/cluster/doomed/blobs/{doomed_blob}", headers=BOB)
        assert blob.status_code == 404, replica.name  # the layer A never finished

    check(b)
    a.start()  # same port, same backends
    assert httpx.get(a.url + "/ready").status_code == 200
    check(a)
