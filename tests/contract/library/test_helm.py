"""``nora.helm`` over every pair of adapters: charts packaged here, read back by digest."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nora import Nora
from nora.errors import Conflict, InvalidInput, NotFound
from tests.archives import tgz

pytestmark = pytest.mark.anyio


def chart(name: str, version: str, extra: str = "") -> bytes:
    """A packaged chart as ``helm package`` lays it out."""
    chart_yaml = f"apiVersion: v2\nname: {name}\nversion: {version}\n{extra}".encode()
    return tgz(
        {
            f"{name}/Chart.yaml": chart_yaml,
            f"{name}/values.yaml": b"replicas: 1\n",
            f"{name}/templates/cm.yaml": b"kind: ConfigMap\n",
        }
    )


def prov_for(filename: str, data: bytes) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    return (
        b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nname: x\n\n...\nfiles:\n  "
        + f"{filename}: sha256:{digest}".encode()
        + b"\n-----BEGIN PGP SIGNATURE-----\n\nsig\n-----END PGP SIGNATURE-----\n"
    )


async def chunks(data: bytes, size: int = 100) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_a_chart_uploaded_from_disk_reads_back_with_its_digest(
    nora: Nora, tmp_path: Path
) -> None:
    data = chart("web", "1.2.0", 'appVersion: "2.4"\ndescription: The web tier\n')
    path = tmp_path / "web-1.2.0.tgz"
    path.write_bytes(data)
    stored = await nora.helm.upload(path)
    assert (stored.name, stored.version, stored.filename) == ("web", "1.2.0", "web-1.2.0.tgz")
    assert stored.digest == sha256(data)
    assert stored.size == len(data)
    assert (stored.app_version, stored.description, stored.api_version) == (
        "2.4",
        "The web tier",
        "v2",
    )
    assert not stored.deprecated
    assert not stored.provenance
    assert stored.created.tzinfo is not None
    assert await nora.helm.download("web", "1.2.0") == data
    streamed = b"".join([c async for c in nora.helm.stream("web", "1.2.0")])
    assert sha256(streamed) == stored.digest


async def test_versions_newest_first_and_charts_by_name(nora: Nora) -> None:
    for version in ("0.9.0", "1.10.0", "1.2.0", "1.10.0-rc.1"):
        await nora.helm.upload(chart("web", version))
    await nora.helm.upload(chunks(chart("api", "0.1.0", "deprecated: true\n")))
    versions = await nora.helm.versions("web")
    assert [v.version for v in versions] == ["1.10.0", "1.10.0-rc.1", "1.2.0", "0.9.0"]
    charts = await nora.helm.charts()
    assert [c.name for c in charts] == ["api", "web"]
    assert charts[0].latest.deprecated is True
    assert charts[1].latest.version == "1.10.0"
    assert charts[1].versions == tuple(versions)
    one = await nora.helm.version("web", "1.2.0")
    assert one.digest == sha256(chart("web", "1.2.0"))


async def test_a_provenance_file_and_an_overwrite_refused(nora: Nora) -> None:
    data = chart("signed", "1.0.0")
    stored = await nora.helm.upload(data, prov=prov_for("signed-1.0.0.tgz", data))
    assert stored.provenance
    with pytest.raises(Conflict):
        await nora.helm.upload(chart("signed", "1.0.0", "description: again\n"))
    with pytest.raises(Conflict):  # force needs the registry's permission
        await nora.helm.upload(chart("signed", "1.0.0", "description: again\n"), force=True)
    assert await nora.helm.download("signed", "1.0.0") == data


async def test_delete_a_version(nora: Nora) -> None:
    await nora.helm.upload(chart("gone", "1.0.0"))
    await nora.helm.upload(chart("gone", "2.0.0"))
    await nora.helm.delete("gone", "1.0.0")
    assert [v.version for v in await nora.helm.versions("gone")] == ["2.0.0"]
    with pytest.raises(NotFound):
        await nora.helm.download("gone", "1.0.0")
    with pytest.raises(NotFound):
        await nora.helm.delete("gone", "1.0.0")
    await nora.helm.delete("gone", "2.0.0")
    with pytest.raises(NotFound):
        await nora.helm.versions("gone")
    assert await nora.helm.charts() == []


async def test_unknown_and_malformed_names_are_refused(nora: Nora) -> None:
    with pytest.raises(NotFound):
        await nora.helm.versions("nothing")
    with pytest.raises(NotFound):
        await nora.helm.download("nothing", "1.0.0")
    await nora.helm.upload(chart("web", "1.0.0"))
    with pytest.raises(NotFound):
        await nora.helm.version("web", "9.9.9")
    for name, version in (("../x", "1.0.0"), ("web", "latest"), ("", "1.0.0")):
        with pytest.raises(InvalidInput):
            await nora.helm.download(name, version)


@pytest.mark.parametrize(
    "data",
    [
        b"not a chart",
        tgz({"Chart.yaml": b"apiVersion: v2\nname: loose\nversion: 0.1.0\n"}),
        tgz({"bad/Chart.yaml": b"apiVersion: v2\nname: bad\nversion: latest\n"}),
        tgz({"other/Chart.yaml": b"apiVersion: v2\nname: bad\nversion: 0.1.0\n"}),
        tgz({"x/values.yaml": b"a: 1\n"}),
    ],
    ids=["not-gzip", "no-directory", "bad-version", "wrong-directory", "no-chart-yaml"],
)
async def test_a_bad_archive_stores_nothing(nora: Nora, data: bytes) -> None:
    with pytest.raises(InvalidInput):
        await nora.helm.upload(data)
    assert await nora.helm.charts() == []


async def test_a_file_name_or_provenance_for_other_bytes_stores_nothing(
    nora: Nora, tmp_path: Path
) -> None:
    data = chart("web", "1.0.0")
    misnamed = tmp_path / "web-2.0.0.tgz"
    misnamed.write_bytes(data)
    with pytest.raises(InvalidInput):
        await nora.helm.upload(misnamed)
    with pytest.raises(InvalidInput):
        await nora.helm.upload(data, prov=prov_for("web-1.0.0.tgz", b"other bytes"))
    assert await nora.helm.charts() == []
