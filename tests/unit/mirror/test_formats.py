"""Each format's fetch against a fake NORA: the URLs asked for, what counts, what fails."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx
import pytest

from entrypoints.http.npm.mirror import MIRROR as NPM
from entrypoints.http.oci.mirror import MIRROR as DOCKER
from entrypoints.http.pypi.mirror import MIRROR as PYPI
from entrypoints.mirror import Failed, MirrorClient
from entrypoints.mirror.sources import discover

pytestmark = pytest.mark.anyio


class FakeNora:
    """Answers from a dict of path -> (body, headers); records every path asked for."""

    def __init__(self, routes: dict[str, bytes], hits: frozenset[str] = frozenset()) -> None:
        self.routes = routes
        self.hits = hits
        self.asked: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode()
        self.asked.append(path)
        if path not in self.routes:
            return httpx.Response(404, json={"error": "not found"})
        cache = "hit" if path in self.hits else "miss"
        return httpx.Response(200, content=self.routes[path], headers={"x-nora-cache": cache})

    def client(self) -> MirrorClient:
        http = httpx.AsyncClient(
            transport=httpx.MockTransport(self.handler), base_url="http://nora.test"
        )

        async def no_wait(_: float) -> None:
            return None

        return MirrorClient(http, retries=0, sleep=no_wait)


def _sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_every_format_here_is_found_by_its_word() -> None:
    found = discover()
    assert found["npm"] is NPM
    assert found["pypi"] is PYPI
    assert found["docker"] is DOCKER


async def test_npm_fetches_the_packument_then_the_tarball_it_names() -> None:
    tarball = b"tgz bytes"
    packument = {
        "versions": {
            "1.0.0": {
                "dist": {
                    "tarball": "https://public.test/npm/@s/p/-/p-1.0.0.tgz",
                    "shasum": "0" * 40,
                }
            }
        }
    }
    nora = FakeNora(
        {"/npm/@s%2Fp": json.dumps(packument).encode(), "/npm/@s/p/-/p-1.0.0.tgz": tarball}
    )
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "node_modules/@s/p": {"version": "1.0.0", "integrity": _sri(tarball)},
            "node_modules/q": {"version": "2.0.0"},
        },
    }
    wants = NPM.plan(json.dumps(lock).encode())
    assert [w.label for w in wants] == ["@s/p@1.0.0", "q@2.0.0"]
    outcome = await NPM.fetch(nora.client(), wants[0])
    assert (outcome.state, outcome.files, outcome.nbytes) == ("fetched", 1, len(tarball))
    assert nora.asked == ["/npm/@s%2Fp", "/npm/@s/p/-/p-1.0.0.tgz"]
    with pytest.raises(Failed, match=r"/npm/q: not found \(404\)"):
        await NPM.fetch(nora.client(), wants[1])
    nora.routes["/npm/q"] = b'{"versions": {}}'
    with pytest.raises(Failed, match=r"q has no version 2\.0\.0 upstream"):
        await NPM.fetch(nora.client(), wants[1])


async def test_npm_checks_the_tarball_against_the_lockfile() -> None:
    packument = {"versions": {"1.0.0": {"dist": {"tarball": "http://nora.test/npm/p/-/p.tgz"}}}}
    nora = FakeNora({"/npm/p": json.dumps(packument).encode(), "/npm/p/-/p.tgz": b"evil"})
    lock = {"packages": {"node_modules/p": {"version": "1.0.0", "integrity": _sri(b"good")}}}
    want = NPM.plan(json.dumps({"lockfileVersion": 2, **lock}).encode())[0]
    with pytest.raises(Failed, match="its sha512 is not the expected one"):
        await NPM.fetch(nora.client(), want)


def _page(*files: tuple[str, bytes]) -> bytes:
    entries = [
        {"filename": name, "url": f"{name}", "hashes": {"sha256": hashlib.sha256(data).hexdigest()}}
        for name, data in files
    ]
    entries.append({"filename": "x-9.0-py3-none-any.whl", "url": "../other", "hashes": {}})
    return json.dumps({"name": "x", "files": entries}).encode()


async def test_pypi_fetches_the_files_the_hashes_allow() -> None:
    wheel, sdist, other = b"wheel", b"sdist", b"not this version"
    files = (("x-1.0-py3-none-any.whl", wheel), ("x-1.0.tar.gz", sdist), ("x-1.1.tar.gz", other))
    nora = FakeNora(
        {
            "/simple/x/": _page(*files),
            "/simple/x/x-1.0-py3-none-any.whl": wheel,
            "/simple/x/x-1.0.tar.gz": sdist,
        },
        hits=frozenset({"/simple/x/x-1.0.tar.gz"}),
    )
    hashed = PYPI.plan(f"X==1.0 --hash=sha256:{hashlib.sha256(wheel).hexdigest()}".encode())[0]
    outcome = await PYPI.fetch(nora.client(), hashed)
    assert (outcome.state, outcome.files) == ("fetched", 1)
    assert nora.asked == ["/simple/x/", "/simple/x/x-1.0-py3-none-any.whl"]
    nora.hits = frozenset(nora.routes)
    every = PYPI.plan(b"x==1.0")[0]
    outcome = await PYPI.fetch(nora.client(), every)
    assert (outcome.state, outcome.files) == ("cached", 2)
    wrong = PYPI.plan(f"x==1.0 --hash=sha256:{'0' * 64}".encode())[0]
    with pytest.raises(Failed, match=r"no file of x==1\.0 has a hash"):
        await PYPI.fetch(nora.client(), wrong)
    with pytest.raises(Failed, match=r"the index has no file of x==2\.0"):
        await PYPI.fetch(nora.client(), PYPI.plan(b"x==2.0")[0])


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _image(config: bytes, *layers: bytes, foreign: bool = False) -> dict[str, Any]:
    descriptors = [{"mediaType": "l", "digest": _digest(layer)} for layer in layers]
    if foreign:
        descriptors.append(
            {
                "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                "digest": _digest(b"elsewhere"),
                "urls": ["https://example.test/layer"],
            }
        )
    return {"schemaVersion": 2, "config": {"digest": _digest(config)}, "layers": descriptors}


async def test_docker_walks_an_index_and_skips_foreign_layers() -> None:
    amd = json.dumps(_image(b"c1", b"l1", b"shared", foreign=True)).encode()
    arm = json.dumps(_image(b"c2", b"shared")).encode()
    index = json.dumps(
        {
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"digest": _digest(amd)}, {"digest": _digest(arm)}],
        }
    ).encode()
    routes = {
        "/v2/team/app/manifests/v1": index,
        f"/v2/team/app/manifests/{_digest(amd)}": amd,
        f"/v2/team/app/manifests/{_digest(arm)}": arm,
    }
    for blob in (b"c1", b"c2", b"l1", b"shared"):
        routes[f"/v2/team/app/blobs/{_digest(blob)}"] = blob
    nora = FakeNora(routes)
    want = DOCKER.plan(b"registry.test/team/app:v1\n")[0]
    outcome = await DOCKER.fetch(nora.client(), want)
    assert (outcome.state, outcome.files) == ("fetched", 4)
    blobs = [path for path in nora.asked if "/blobs/" in path]
    assert len(blobs) == 4  # the shared layer once, the foreign one never
    assert not any(_digest(b"elsewhere") in path for path in nora.asked)


async def test_docker_checks_a_manifest_asked_for_by_digest() -> None:
    body = json.dumps(_image(b"c")).encode()
    wanted = _digest(b"something else")
    nora = FakeNora({f"/v2/app/manifests/{wanted}": body})
    want = DOCKER.plan(f"app@{wanted}".encode())[0]
    with pytest.raises(Failed, match="does not match its digest"):
        await DOCKER.fetch(nora.client(), want)


async def test_docker_a_malformed_manifest_is_a_failure_not_a_crash() -> None:
    nora = FakeNora({"/v2/app/manifests/latest": b'{"layers": [{"digest": "nope"}]}'})
    with pytest.raises(Failed, match="malformed digest"):
        await DOCKER.fetch(nora.client(), DOCKER.plan(b"app")[0])
