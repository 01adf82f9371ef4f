"""PypiRegistry over memory adapters: uploads in any field order, refusals, pages, proxy."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.errors import Conflict, DigestMismatch, InvalidInput, NotFound, Transient
from domain.proxy import PullThrough
from domain.pypi.registry import PypiRegistry, new_pypi_index
from domain.pypi.simple import HTML, JSON_V1
from domain.uploads import UploadSessions
from tests.unit.fakes import FakeUpstream
from tests.zipmember import member

pytestmark = pytest.mark.anyio

UP = "http://127.0.0.1:9/simple"
BOUNDARY = "----nora-test"


def wheel(name: str, version: str, *, meta_version: str | None = None) -> bytes:
    buffer = io.BytesIO()
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(member(f"{name.replace('-', '_')}/__init__.py"), b"")
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {meta_version or version}\n"
        out.writestr(member(f"{dist_info}/METADATA"), metadata + "Requires-Python: >=3.9\n\n")
        out.writestr(member(f"{dist_info}/WHEEL"), b"Wheel-Version: 1.0\n")
    return buffer.getvalue()


def form(
    fields: list[tuple[str, str]], filename: str, data: bytes, *, file_first: bool = False
) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields
    ]
    file_part = (
        (
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
            f'name="content"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )
    ordered = [file_part, *parts] if file_first else [*parts, file_part]
    return b"".join(ordered) + f"--{BOUNDARY}--\r\n".encode()


def fields_for(name: str, version: str, data: bytes, **extra: str) -> list[tuple[str, str]]:
    out = {
        ":action": "file_upload",
        "name": name,
        "version": version,
        "sha256_digest": hashlib.sha256(data).hexdigest(),
        "summary": "a summary",
    }
    out.update(extra)
    return list(out.items())


async def chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for pos in range(0, len(data), size):
        yield data[pos : pos + size]


class World:
    def __init__(self, *, proxy: bool = False) -> None:
        self.clock = FixedClock()
        self.blobs = MemoryBlobStore()
        self.meta = MemoryMetadataStore()
        self.uploads = UploadSessions(self.blobs, self.meta, self.clock)
        self.upstream = FakeUpstream()
        pull = PullThrough(
            "pypi",
            upstream=self.upstream,
            meta=self.meta,
            blobs=self.blobs,
            uploads=self.uploads,
            clock=self.clock,
        )
        self.registry = PypiRegistry(
            index=new_pypi_index(
                meta=self.meta, blobs=self.blobs, uploads=self.uploads, clock=self.clock
            ),
            blobs=self.blobs,
            uploads=self.uploads,
            clock=self.clock,
            proxy=pull if proxy else None,
            upstreams=[UP] if proxy else [],
            ttl=timedelta(minutes=5),
        )

    async def upload(self, body: bytes) -> None:
        await self.registry.upload(chunks(body), f"multipart/form-data; boundary={BOUNDARY}")

    async def stored(self) -> list[str]:
        page = await self.blobs.list("blobs/")
        return [item.key for item in page.items]

    async def read(self, key: str) -> bytes:
        reader = await self.blobs.open(key)
        return b"".join([chunk async for chunk in reader])


@pytest.mark.parametrize("file_first", [False, True])
async def test_upload_in_either_field_order(file_first: bool) -> None:
    world = World()
    data = wheel("demo", "1.0.0")
    name = "demo-1.0.0-py3-none-any.whl"
    await world.upload(
        form(
            fields_for("Demo", "1.0.0", data, requires_python=">=3.8"),
            name,
            data,
            file_first=file_first,
        )
    )
    page = json.loads((await world.registry.project_page("demo", JSON_V1)).body)
    [entry] = page["files"]
    assert entry["hashes"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["requires-python"] == ">=3.8"
    download = await world.registry.download("demo", name + ".metadata")
    assert download.key is not None
    metadata = await world.read(download.key)
    assert metadata.startswith(b"Metadata-Version: 2.1\nName: demo")
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    doc = json.loads(await world.registry.project_json("demo", "http://nora"))
    [file] = doc["urls"]
    assert file["digests"]["md5"] == hashlib.md5(data).hexdigest()
    assert file["digests"]["blake2b_256"] == hashlib.blake2b(data, digest_size=32).hexdigest()
    assert doc["info"]["summary"] == "a summary"


async def test_wrong_digest_after_the_file_stores_nothing() -> None:
    world = World()
    data = wheel("demo", "1.0")
    body = form(
        fields_for("demo", "1.0", data, sha256_digest="0" * 64),
        "demo-1.0-py3-none-any.whl",
        data,
        file_first=True,
    )
    with pytest.raises(DigestMismatch):
        await world.upload(body)
    assert await world.stored() == []
    with pytest.raises(NotFound):
        await world.registry.project_page("demo", HTML)


async def test_metadata_mismatch_removes_the_new_blob_but_keeps_shared_ones() -> None:
    world = World()
    data = wheel("demo", "1.0", meta_version="2.0")
    with pytest.raises(InvalidInput):
        await world.upload(form(fields_for("demo", "1.0", data), "demo-1.0-py3-none-any.whl", data))
    assert await world.stored() == []


async def test_same_release_under_another_spelling_and_duplicates() -> None:
    world = World()
    data = wheel("demo", "1.0.0")
    await world.upload(form(fields_for("demo", "1.0.0", data), "demo-1.0.0-py3-none-any.whl", data))
    sdist = b"\x1f\x8b" + b"tarball"
    await world.upload(form(fields_for("demo", "1.0", sdist), "demo-1.0.tar.gz", sdist))
    snap = await world.registry.index.get("demo")
    assert list(snap.package.versions) == ["1.0.0"]
    assert len(snap.package.versions["1.0.0"].files) == 2
    before = await world.stored()
    with pytest.raises(Conflict):
        await world.upload(form(fields_for("demo", "1.0", sdist), "demo-1.0.tar.gz", sdist))
    assert await world.stored() == before


async def test_yank_delete_and_render_cache() -> None:
    world = World()
    for version in ("1.0", "2.0"):
        data = wheel("demo", version)
        await world.upload(
            form(fields_for("demo", version, data), f"demo-{version}-py3-none-any.whl", data)
        )
    first = await world.registry.project_page("demo", HTML)
    again = await world.registry.project_page("demo", HTML)
    assert again.body is first.body  # rendered once per document version
    assert await world.registry.yank("Demo", "2.0.0", reason="oops") == "2.0"
    yanked = await world.registry.project_page("demo", HTML)
    assert yanked.etag != first.etag
    assert b'data-yanked="oops"' in yanked.body
    doc = json.loads(await world.registry.project_json("demo", "http://nora"))
    assert doc["info"]["version"] == "1.0"
    await world.registry.delete_file("demo", "2.0", "demo-2.0-py3-none-any.whl")
    assert b"demo-2.0" not in (await world.registry.project_page("demo", HTML)).body
    with pytest.raises(NotFound):
        await world.registry.delete_release("demo", "2.0")
    await world.registry.delete_release("demo", "1.0")
    with pytest.raises(NotFound):
        await world.registry.project_page("demo", HTML)


def upstream_page(files: dict[str, bytes], digest_override: str | None = None) -> bytes:
    links = "".join(
        f'<a href="../../packages/{name}#sha256='
        f'{digest_override or hashlib.sha256(data).hexdigest()}">{name}</a>'
        for name, data in files.items()
    )
    return f"<html><body>{links}</body></html>".encode()


async def drain(stream: AsyncIterator[bytes] | None) -> bytes:
    assert stream is not None
    return b"".join([chunk async for chunk in stream])


async def test_proxy_caches_verified_files_and_serves_stale() -> None:
    world = World(proxy=True)
    data = wheel("up", "1.0")
    name = "up-1.0-py3-none-any.whl"
    world.upstream.serve(
        f"{UP}/up/", upstream_page({name: data}), content_type="text/html", etag='"v1"'
    )
    world.upstream.serve(f"http://127.0.0.1:9/packages/{name}", data)
    page = (await world.registry.project_page("up", HTML)).body
    assert f'href="{name}#sha256='.encode() in page
    assert b"127.0.0.1:9" not in page
    live = await world.registry.download("up", name)
    assert await drain(live.stream) == data
    cached = await world.registry.download("up", name)
    assert cached.stream is None
    assert cached.key is not None
    assert await world.read(cached.key) == data
    assert world.upstream.count(f"http://127.0.0.1:9/packages/{name}") == 1

    world.clock.advance(timedelta(minutes=10))
    world.upstream.down = True
    assert name.encode() in (await world.registry.project_page("up", HTML)).body
    with pytest.raises(Transient):
        await world.registry.project_page("other", HTML)


async def test_proxy_refuses_files_that_do_not_match_the_upstream_hash() -> None:
    world = World(proxy=True)
    name = "bad-1.0-py3-none-any.whl"
    world.upstream.serve(
        f"{UP}/bad/",
        upstream_page({name: b""}, digest_override="ab" * 32),
        content_type="text/html",
    )
    world.upstream.serve(f"http://127.0.0.1:9/packages/{name}", b"tampered bytes")
    source = await world.registry.download("bad", name)
    with pytest.raises(DigestMismatch):
        await drain(source.stream)
    again = await world.registry.download("bad", name)
    assert again.stream is not None  # nothing was cached
    with pytest.raises(DigestMismatch):
        await drain(again.stream)


async def test_local_project_shadows_upstream() -> None:
    world = World(proxy=True)
    world.upstream.serve(
        f"{UP}/demo/", upstream_page({"demo-9.9.tar.gz": b"x"}), content_type="text/html"
    )
    data = wheel("demo", "0.1")
    await world.upload(form(fields_for("demo", "0.1", data), "demo-0.1-py3-none-any.whl", data))
    page = (await world.registry.project_page("demo", HTML)).body
    assert b"demo-0.1" in page
    assert b"demo-9.9" not in page
    for missing in ("demo-9.9.tar.gz", "demo-9.9-py3-none-any.whl.metadata"):
        with pytest.raises(NotFound) as caught:
            await world.registry.download("demo", missing)
        assert caught.value.subject == "file"
    assert world.upstream.requests == []


async def test_without_an_upstream_an_unknown_project_is_a_missing_page_or_file() -> None:
    world = World()
    with pytest.raises(NotFound) as page:
        await world.registry.project_page("nowhere", HTML)
    assert page.value.subject == "package"
    for filename in ("nowhere-1.0.tar.gz", "nowhere-1.0-py3-none-any.whl.metadata"):
        with pytest.raises(NotFound) as file:
            await world.registry.download("nowhere", filename)
        assert file.value.subject == "file"


def _worker(world: World) -> PypiRegistry:
    """Another worker process over the same stores: nothing cached in common."""
    return PypiRegistry(
        index=new_pypi_index(
            meta=world.meta, blobs=world.blobs, uploads=world.uploads, clock=world.clock
        ),
        blobs=world.blobs,
        uploads=world.uploads,
        clock=world.clock,
        meta=world.meta,
    )


async def _sdist(world: World, name: str, version: str) -> None:
    data = b"\x1f\x8b" + f"{name}-{version}".encode()
    await world.upload(form(fields_for(name, version, data), f"{name}-{version}.tar.gz", data))


async def test_root_index_is_rendered_once_per_change_and_filtered_per_caller() -> None:
    world = World()
    scans = 0
    scan = world.meta.scan

    async def counting(prefix: str = "", **kwargs: Any) -> Any:
        nonlocal scans
        scans += prefix.startswith("pkg/")
        return await scan(prefix, **kwargs)

    world.meta.scan = counting  # type: ignore[method-assign]
    for name in ("Alpha", "beta.two"):
        await _sdist(world, name, "1.0")
    first = await world.registry.index_page(HTML)
    again = await world.registry.index_page(HTML)
    assert again.body is first.body
    assert scans == 1
    assert b'<a href="beta-two/">beta.two</a>' in first.body
    only = await world.registry.index_page(JSON_V1, lambda name: name == "beta-two")
    assert json.loads(only.body)["projects"] == [{"name": "beta.two"}]
    assert scans == 1  # filtered from the cached names
    await _sdist(world, "gamma", "1.0")
    page = json.loads((await world.registry.index_page(JSON_V1)).body)
    assert [p["name"] for p in page["projects"]] == ["Alpha", "beta.two", "gamma"]
    assert scans == 1, "the change is read from the generation's journal, not by a scan"


async def test_root_index_and_pages_follow_another_worker() -> None:
    world = World()
    other = _worker(world)
    await _sdist(world, "alpha", "1.0")
    assert b"alpha" in (await other.index_page(HTML)).body
    await other.upload(
        chunks(form(fields_for("beta", "1.0", b"\x1f\x8bb"), "beta-1.0.tar.gz", b"\x1f\x8bb")),
        f"multipart/form-data; boundary={BOUNDARY}",
    )
    assert b"beta" in (await world.registry.index_page(HTML)).body
    for version in ("1.1", "1.0.post1", "2.0"):
        await _sdist(world, "alpha", version)

    async def pages(registry: PypiRegistry) -> list[bytes]:
        out = [(await registry.project_page("alpha", m)).body for m in (HTML, JSON_V1)]
        out.append(await registry.project_json("alpha", "http://nora"))
        out.append(await registry.project_json("alpha", "http://nora", "1.1.0"))
        return out

    assert await pages(world.registry) == await pages(other)
    await other.yank("alpha", "1.1", reason="broken")
    await other.delete_release("alpha", "1.0")
    mine = await pages(world.registry)
    assert mine == await pages(_worker(world))
    assert b'data-yanked="broken"' in mine[0]
    assert json.loads(mine[1])["versions"] == ["1.0.post1", "1.1", "2.0"]
    assert json.loads(mine[3])["info"]["yanked"] is True
    assert list(json.loads(mine[2])["releases"]) == ["1.0.post1", "1.1", "2.0"]
