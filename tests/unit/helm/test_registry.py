"""HelmRegistry: uploads, index.yaml (order, fields, caching), files, the API, overwrite,
provenance and deletes; a refused upload stores nothing."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from domain.errors import Conflict, InvalidInput, NotFound, TooLarge
from tests.contract.helpers import read_all
from tests.unit.helm.conftest import Repo, archive, chart, chart_yaml

pytestmark = pytest.mark.anyio


def prov_for(filename: str, data: bytes) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    return (
        b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nname: x\n\n...\nfiles:\n  "
        + filename.encode()
        + b": sha256:"
        + digest.encode()
        + b"\n-----BEGIN PGP SIGNATURE-----\n\nsig\n-----END PGP SIGNATURE-----\n"
    )


async def test_index_lists_versions_newest_first_with_every_field(repo: Repo) -> None:
    extra = (
        "deprecated: true\nannotations:\n  a: b\ndependencies:\n- name: base\n  version: 1.0.0\n"
    )
    for version in ("0.9.0", "1.10.0", "1.2.0", "1.10.0-rc.1"):
        await repo.upload(chart("web", version, extra))
    await repo.upload(chart("api", "0.1.0"))
    doc = msgspec.yaml.decode((await repo.registry.index_yaml()).body)
    assert doc["apiVersion"] == "v1"
    assert list(doc["entries"]) == ["api", "web"]
    web = doc["entries"]["web"]
    assert [e["version"] for e in web] == ["1.10.0", "1.10.0-rc.1", "1.2.0", "0.9.0"]
    first = web[0]
    assert first["urls"] == ["charts/web-1.10.0.tgz"]
    assert first["digest"] == hashlib.sha256(chart("web", "1.10.0", extra)).hexdigest()
    assert first["deprecated"] is True
    assert first["annotations"] == {"a": "b"}
    assert first["dependencies"] == [{"name": "base", "version": "1.0.0"}]
    assert first["apiVersion"] == "v2"
    assert "created" in first


async def test_index_is_rendered_once_per_change(repo: Repo) -> None:
    await repo.upload(chart("a", "1.0.0"))
    first = await repo.registry.index_yaml()
    assert await repo.registry.index_yaml() is first
    await repo.upload(chart("a", "1.1.0"))
    second = await repo.registry.index_yaml()
    assert second.etag != first.etag
    assert b"1.1.0" in second.body
    only_b = await repo.registry.index_yaml(lambda name: name == "b")
    assert msgspec.json.decode(only_b.body)["entries"] == {}


async def test_chart_file_and_api(repo: Repo) -> None:
    data = chart("web", "1.0.0")
    await repo.upload(data)
    download = await repo.registry.chart_file("web-1.0.0.tgz")
    assert download.size == len(data)
    assert download.key is not None
    assert await read_all(await repo.blobs.open(download.key)) == data
    with pytest.raises(NotFound):
        await repo.registry.chart_file("web-2.0.0.tgz")
    with pytest.raises(InvalidInput):
        await repo.registry.chart_file("../web-1.0.0.tgz")
    assert [e["version"] for e in (await repo.registry.charts())["web"]] == ["1.0.0"]
    assert (await repo.registry.version("web", "1.0.0"))["name"] == "web"
    with pytest.raises(NotFound):
        await repo.registry.version("web", "9.9.9")
    with pytest.raises(NotFound):
        await repo.registry.versions("nope")


async def test_duplicate_and_force(repo: Repo) -> None:
    await repo.upload(chart("web", "1.0.0"))
    with pytest.raises(Conflict):
        await repo.upload(chart("web", "1.0.0", "description: changed\n"))
    with pytest.raises(Conflict):  # force needs the setting
        await repo.upload(chart("web", "1.0.0", "description: changed\n"), force=True)
    assert await repo.staged() == 0
    allowed = Repo(overwrite=True)
    await allowed.upload(chart("web", "1.0.0"))
    await allowed.upload(chart("web", "1.0.0", "description: changed\n"), force=True)
    assert (await allowed.registry.version("web", "1.0.0"))["description"] == "changed"


async def test_bad_uploads_store_nothing(repo: Repo) -> None:
    for bad in (b"junk", archive({"x/Chart.yaml": chart_yaml()}), chart("web", "1.0")):
        with pytest.raises(InvalidInput):
            await repo.upload(bad)
    small = Repo(limit=100)
    with pytest.raises(TooLarge):
        await small.upload(chart())
    for each in (repo, small):
        assert await each.names() == []
        assert await each.staged() == 0
        assert (await each.blobs.list("blobs/")).items == []


async def test_mismatched_filename_is_refused(repo: Repo) -> None:
    staged = await repo.registry.stage(_chunks(chart("web", "1.0.0")))
    with pytest.raises(InvalidInput):
        await repo.registry.publish(staged, filename="web-2.0.0.tgz")
    assert await repo.names() == []
    assert await repo.staged() == 0


async def test_provenance(repo: Repo) -> None:
    data = chart("web", "1.0.0")
    await repo.upload(data, prov=prov_for("web-1.0.0.tgz", data))
    assert (await repo.registry.chart_file("web-1.0.0.tgz.prov")).size
    other = chart("web", "2.0.0")
    with pytest.raises(InvalidInput):
        await repo.upload(other, prov=prov_for("web-2.0.0.tgz", b"other bytes"))
    await repo.upload(other)
    with pytest.raises(InvalidInput):
        await repo.registry.add_prov(prov_for("web-2.0.0.tgz", b"other bytes"))
    assert await repo.registry.add_prov(prov_for("web-2.0.0.tgz", other)) == "web-2.0.0.tgz.prov"
    with pytest.raises(NotFound):
        await repo.registry.add_prov(prov_for("web-3.0.0.tgz", other))


async def test_delete(repo: Repo) -> None:
    await repo.upload(chart("web", "1.0.0"))
    await repo.upload(chart("web", "2.0.0"))
    await repo.registry.delete("web", "1.0.0")
    assert [e["version"] for e in await repo.registry.versions("web")] == ["2.0.0"]
    with pytest.raises(NotFound):
        await repo.registry.delete("web", "1.0.0")
    await repo.registry.delete("web", "2.0.0")
    assert msgspec.json.decode((await repo.registry.index_yaml()).body)["entries"] == {}


async def _chunks(data: bytes):  # type: ignore[no-untyped-def]
    yield data
