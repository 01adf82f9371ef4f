"""MavenRegistry: deploys, checksums, generated metadata, SNAPSHOTs, deletes, upstreams."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from domain.errors import Conflict, DigestMismatch, InvalidInput, NotFound, TooLarge, Transient
from domain.maven.registry import MavenFile
from domain.maven.safexml import read_texts
from tests.unit.maven.conftest import UP1, UP2, Repo, pom

pytestmark = pytest.mark.anyio

G = "com/acme/lib"


def texts(xml: bytes, *paths: str) -> dict[str, list[str]]:
    return read_texts(xml, paths)


async def test_deploy_serves_bytes_and_every_checksum(repo: Repo) -> None:
    jar = b"PK jar bytes"
    await repo.put(f"{G}/1.0/lib-1.0.jar", jar)
    assert await repo.read(f"{G}/1.0/lib-1.0.jar") == jar
    for alg in ("md5", "sha1", "sha256", "sha512"):
        expected = hashlib.new(alg, jar).hexdigest().encode()
        assert await repo.read(f"{G}/1.0/lib-1.0.jar.{alg}") == expected
    found = await repo.registry.get(f"{G}/1.0/lib-1.0.jar")
    assert isinstance(found, MavenFile)
    assert found.content_type == "application/java-archive"
    assert found.etag == f'"{hashlib.sha256(jar).hexdigest()}"'
    assert found.size == len(jar)


async def test_uploaded_checksums_are_compared_not_stored(repo: Repo) -> None:
    jar = b"jar"
    await repo.put(f"{G}/1.0/lib-1.0.jar", jar)
    good = hashlib.sha1(jar).hexdigest()
    await repo.put(f"{G}/1.0/lib-1.0.jar.sha1", f"{good}  lib-1.0.jar\n".encode())
    with pytest.raises(DigestMismatch):
        await repo.put(f"{G}/1.0/lib-1.0.jar.sha1", b"0" * 40)
    with pytest.raises(DigestMismatch):
        await repo.put(f"{G}/1.0/lib-1.0.jar.md5", b"f" * 32)
    with pytest.raises(InvalidInput):
        await repo.put(f"{G}/1.0/lib-1.0.jar.sha1", b"not hex")
    with pytest.raises(InvalidInput):
        await repo.put(f"{G}/1.0/lib-9.jar.sha1", good.encode())  # no such file
    with pytest.raises(TooLarge):
        await repo.put(f"{G}/1.0/lib-1.0.jar.sha1", b"a" * 5000)
    assert await repo.read(f"{G}/1.0/lib-1.0.jar.sha1") == good.encode()


async def test_release_is_immutable_snapshot_is_not(repo: Repo) -> None:
    await repo.put(f"{G}/1.0/lib-1.0.jar", b"one")
    with pytest.raises(Conflict):
        await repo.put(f"{G}/1.0/lib-1.0.jar", b"two")
    with pytest.raises(Conflict):
        await repo.put(f"{G}/1.0/lib-1.0.jar", b"one")  # identical bytes too
    assert await repo.read(f"{G}/1.0/lib-1.0.jar") == b"one"
    await repo.put(f"{G}/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.jar", b"a")
    await repo.put(f"{G}/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.jar", b"b")
    assert await repo.read(f"{G}/1.0-SNAPSHOT/lib-1.0-SNAPSHOT.jar") == b"b"


async def test_redeploy_allowed_when_configured() -> None:
    repo = Repo(redeploy=True)
    await repo.put(f"{G}/1.0/lib-1.0.jar", b"one")
    await repo.put(f"{G}/1.0/lib-1.0.jar", b"two")
    assert await repo.read(f"{G}/1.0/lib-1.0.jar") == b"two"


async def test_artifact_metadata_field_by_field(repo: Repo) -> None:
    for version in ["1.10", "1.0", "1.0-alpha", "1.0.1", "2.0-SNAPSHOT"]:
        name = f"lib-{version}.pom"
        if version.endswith("-SNAPSHOT"):
            name = "lib-2.0-20261130.101500-1.pom"
        await repo.put(f"{G}/{version}/{name}", pom())
    xml = await repo.read(f"{G}/maven-metadata.xml")
    got = texts(
        xml,
        "metadata/groupId",
        "metadata/artifactId",
        "metadata/versioning/latest",
        "metadata/versioning/release",
        "metadata/versioning/versions/version",
        "metadata/versioning/lastUpdated",
    )
    assert got["metadata/groupId"] == ["com.acme"]
    assert got["metadata/artifactId"] == ["lib"]
    assert got["metadata/versioning/versions/version"] == [
        "1.0-alpha",
        "1.0",
        "1.0.1",
        "1.10",
        "2.0-SNAPSHOT",
    ]
    assert got["metadata/versioning/latest"] == ["2.0-SNAPSHOT"]
    assert got["metadata/versioning/release"] == ["1.10"]
    assert got["metadata/versioning/lastUpdated"] == [repo.clock.now().strftime("%Y%m%d%H%M%S")]
    assert await repo.read(f"{G}/maven-metadata.xml.sha1") == hashlib.sha1(xml).hexdigest().encode()


async def test_uploaded_metadata_is_checked_then_regenerated(repo: Repo) -> None:
    await repo.put(f"{G}/1.0/lib-1.0.jar", b"jar")
    before = await repo.read(f"{G}/maven-metadata.xml")
    client = (
        b"<metadata><groupId>evil</groupId><versioning><versions>"
        b"<version>6.6.6</version></versions></versioning></metadata>"
    )
    await repo.put(f"{G}/maven-metadata.xml", client)
    after = await repo.read(f"{G}/maven-metadata.xml")
    assert b"6.6.6" not in after
    assert b"evil" not in after
    assert texts(after, "metadata/versioning/versions/version") == texts(
        before, "metadata/versioning/versions/version"
    )
    await repo.put(f"{G}/maven-metadata.xml.sha1", hashlib.sha1(client).hexdigest().encode())
    for hostile in [
        b'<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><metadata>&x;</metadata>',
        b"<metadata><versioning>",
        b"<other/>",
    ]:
        with pytest.raises(InvalidInput):
            await repo.put(f"{G}/maven-metadata.xml", hostile)
    assert await repo.read(f"{G}/maven-metadata.xml") == after


async def test_hostile_pom_is_refused_and_nothing_stored(repo: Repo) -> None:
    with pytest.raises(InvalidInput):
        await repo.put(f"{G}/1.0/lib-1.0.pom", b'<!DOCTYPE p [<!ENTITY a "b">]><project/>')
    with pytest.raises(NotFound):
        await repo.registry.get(f"{G}/1.0/lib-1.0.pom")
    with pytest.raises(NotFound):
        await repo.registry.get(f"{G}/maven-metadata.xml")


async def test_snapshot_metadata_resolution_and_classifiers(repo: Repo) -> None:
    v = f"{G}/1.0-SNAPSHOT"
    await repo.put(f"{v}/lib-1.0-20261130.101500-1.jar", b"build1")
    await repo.put(f"{v}/lib-1.0-20261130.101500-1.pom", pom())
    await repo.put(f"{v}/lib-1.0-20261130.101500-1-sources.jar", b"src1")
    await repo.put(f"{v}/lib-1.0-20261130.111500-2.jar", b"build2")
    await repo.put(f"{v}/lib-1.0-20261130.111500-2.pom", pom())
    xml = await repo.read(f"{v}/maven-metadata.xml")
    got = texts(
        xml,
        "metadata/version",
        "metadata/versioning/snapshot/timestamp",
        "metadata/versioning/snapshot/buildNumber",
        "metadata/versioning/snapshotVersions/snapshotVersion/classifier",
        "metadata/versioning/snapshotVersions/snapshotVersion/extension",
        "metadata/versioning/snapshotVersions/snapshotVersion/value",
    )
    assert got["metadata/version"] == ["1.0-SNAPSHOT"]
    assert got["metadata/versioning/snapshot/timestamp"] == ["20261130.111500"]
    assert got["metadata/versioning/snapshot/buildNumber"] == ["2"]
    assert got["metadata/versioning/snapshotVersions/snapshotVersion/extension"] == [
        "jar",
        "pom",
        "jar",
    ]
    assert got["metadata/versioning/snapshotVersions/snapshotVersion/classifier"] == ["sources"]
    assert got["metadata/versioning/snapshotVersions/snapshotVersion/value"] == [
        "1.0-20261130.111500-2",
        "1.0-20261130.111500-2",
        "1.0-20261130.101500-1",
    ]
    assert await repo.read(f"{v}/lib-1.0-SNAPSHOT.jar") == b"build2"
    assert await repo.read(f"{v}/lib-1.0-SNAPSHOT-sources.jar") == b"src1"
    assert (
        await repo.read(f"{v}/lib-1.0-SNAPSHOT.jar.sha1")
        == hashlib.sha1(b"build2").hexdigest().encode()
    )
    assert await repo.read(f"{v}/lib-1.0-20261130.101500-1.jar") == b"build1"
    artifact = await repo.read(f"{G}/maven-metadata.xml")
    assert texts(artifact, "metadata/versioning/versions/version")[
        "metadata/versioning/versions/version"
    ] == ["1.0-SNAPSHOT"]


async def test_snapshot_keep_prunes_old_builds() -> None:
    repo = Repo(keep=2)
    v = f"{G}/1.0-SNAPSHOT"
    for n in range(1, 5):
        await repo.put(f"{v}/lib-1.0-20261130.10150{n}-{n}.jar", b"b%d" % n)
        await repo.put(f"{v}/lib-1.0-20261130.10150{n}-{n}.pom", pom())
    names = [item.name for item in (await repo.listing(v + "/")).items]
    assert sorted(names) == sorted(
        [
            "lib-1.0-20261130.101503-3.jar",
            "lib-1.0-20261130.101503-3.pom",
            "lib-1.0-20261130.101504-4.jar",
            "lib-1.0-20261130.101504-4.pom",
            "maven-metadata.xml",
        ]
    )
    assert await repo.read(f"{v}/lib-1.0-SNAPSHOT.jar") == b"b4"


async def test_plugin_prefix_at_group_level(repo: Repo) -> None:
    await repo.put(
        "org/acme/maven-hello-plugin/1.0/maven-hello-plugin-1.0.pom", pom("maven-plugin", "Hello")
    )
    await repo.put("org/acme/plain/1.0/plain-1.0.pom", pom())
    xml = await repo.read("org/acme/maven-metadata.xml")
    got = texts(
        xml,
        "metadata/plugins/plugin/prefix",
        "metadata/plugins/plugin/artifactId",
        "metadata/plugins/plugin/name",
    )
    assert got == {
        "metadata/plugins/plugin/prefix": ["hello"],
        "metadata/plugins/plugin/artifactId": ["maven-hello-plugin"],
        "metadata/plugins/plugin/name": ["Hello"],
    }
    await repo.registry.delete("org/acme/maven-hello-plugin")
    with pytest.raises(NotFound):
        await repo.registry.get("org/acme/maven-metadata.xml")


async def test_delete_file_and_version_regenerates(repo: Repo) -> None:
    await repo.put(f"{G}/1.0/lib-1.0.jar", b"a")
    await repo.put(f"{G}/2.0/lib-2.0.jar", b"b")
    await repo.put(f"{G}/2.0/lib-2.0.pom", pom())
    assert await repo.registry.delete(f"{G}/2.0/lib-2.0.jar") == [f"{G}/2.0/lib-2.0.jar"]
    assert b"<version>2.0</version>" in await repo.read(f"{G}/maven-metadata.xml")
    assert await repo.registry.delete(f"{G}/2.0/") == [f"{G}/2.0/lib-2.0.pom"]
    xml = await repo.read(f"{G}/maven-metadata.xml")
    assert b"2.0" not in xml
    assert b"<release>1.0</release>" in xml
    await repo.registry.delete(f"{G}/1.0")
    with pytest.raises(NotFound):
        await repo.registry.get(f"{G}/maven-metadata.xml")
    with pytest.raises(NotFound):
        await repo.registry.delete(f"{G}/1.0")
    with pytest.raises(InvalidInput):
        await repo.registry.delete("/")
    with pytest.raises(InvalidInput):
        await repo.registry.delete(f"{G}/maven-metadata.xml")


async def test_listings(repo: Repo) -> None:
    await repo.put(f"{G}/1.0/lib-1.0.jar", b"a")
    root = await repo.listing("")
    assert [(i.name, i.is_dir) for i in root.items] == [("com", True)]
    lib = await repo.listing(f"{G}")  # no trailing slash: still a directory
    assert [i.name for i in lib.items] == ["1.0", "maven-metadata.xml"]
    with pytest.raises(NotFound):
        await repo.registry.get("com/nothing/")
    with pytest.raises(InvalidInput):
        await repo.registry.get("com/../etc/")


async def test_traversal_never_reaches_storage(repo: Repo) -> None:
    for bad in ["../x.jar", "com/../../x", "com//x", "com/./x", "com/\x00/x"]:
        with pytest.raises(InvalidInput):
            await repo.put(bad, b"x")
    assert (await repo.listing("")).items == []


# ------------------------------------------------------------------ upstreams


def serve_artifact(repo: Repo, base: str, path: str, data: bytes, *, sums: bool = True) -> None:
    repo.upstream.serve(f"{base}/{path}", data)
    if sums:
        repo.upstream.serve(f"{base}/{path}.sha1", hashlib.sha1(data).hexdigest().encode())


async def test_upstreams_in_order_fetched_once_and_verified() -> None:
    repo = Repo(proxied=True)
    path = "org/up/dep/1.0/dep-1.0.jar"
    serve_artifact(repo, UP2, path, b"from two")
    assert await repo.read(path) == b"from two"
    assert repo.upstream.count(f"{UP1}/{path}") == 1  # 404 moved on
    assert await repo.read(path) == b"from two"
    assert repo.upstream.count(f"{UP2}/{path}") == 1  # stored, served from storage
    assert await repo.read(path + ".sha256") == hashlib.sha256(b"from two").hexdigest().encode()
    repo.upstream.down = True
    assert await repo.read(path) == b"from two"


async def test_upstream_checksum_mismatch_is_not_stored() -> None:
    repo = Repo(proxied=True)
    path = "org/up/bad/1.0/bad-1.0.jar"
    repo.upstream.serve(f"{UP1}/{path}", b"tampered")
    repo.upstream.serve(f"{UP1}/{path}.sha1", hashlib.sha1(b"original").hexdigest().encode())
    with pytest.raises(DigestMismatch):
        await repo.read(path)
    assert await repo.registry._proxy.cached_file(path) is None  # type: ignore[union-attr]


async def test_misses_are_cached_briefly() -> None:
    repo = Repo(proxied=True)
    path = "org/up/none/1.0/none-1.0.jar"
    for _ in range(5):
        with pytest.raises(NotFound):
            await repo.registry.get(path)
    assert repo.upstream.count(f"{UP1}/{path}") == 1
    repo.clock.advance(timedelta(minutes=2))
    serve_artifact(repo, UP1, path, b"late")
    repo.clock.advance(timedelta(minutes=20))
    assert await repo.read(path) == b"late"


async def test_upstream_metadata_ttl_and_stale() -> None:
    repo = Repo(proxied=True)
    meta = "org/up/dep/maven-metadata.xml"
    repo.upstream.serve(
        f"{UP1}/{meta}", b"<metadata><versioning><latest>1</latest></versioning></metadata>"
    )
    first = await repo.read(meta)
    repo.upstream.serve(
        f"{UP1}/{meta}", b"<metadata><versioning><latest>2</latest></versioning></metadata>"
    )
    assert await repo.read(meta) == first  # within the TTL
    repo.clock.advance(timedelta(minutes=11))
    assert b"<latest>2</latest>" in await repo.read(meta)
    repo.clock.advance(timedelta(minutes=11))
    repo.upstream.down = True
    assert b"<latest>2</latest>" in await repo.read(meta)  # stale, served
    assert (
        await repo.read(meta + ".sha1") == hashlib.sha1(await repo.read(meta)).hexdigest().encode()
    )


async def test_hostile_upstream_metadata_is_refused() -> None:
    repo = Repo(proxied=True)
    meta = "org/up/evil/maven-metadata.xml"
    repo.upstream.serve(f"{UP1}/{meta}", b'<!DOCTYPE m [<!ENTITY a "b">]><metadata>&a;</metadata>')
    with pytest.raises(InvalidInput):
        await repo.registry.get(meta)


async def test_hosted_artifact_shadows_upstream() -> None:
    repo = Repo(proxied=True)
    await repo.put(f"{G}/1.0/lib-1.0.jar", b"ours")
    serve_artifact(repo, UP1, f"{G}/2.0/lib-2.0.jar", b"theirs")
    repo.upstream.serve(
        f"{UP1}/{G}/maven-metadata.xml", b"<metadata><version>2.0</version></metadata>"
    )
    with pytest.raises(NotFound):
        await repo.registry.get(f"{G}/2.0/lib-2.0.jar")
    assert b"2.0" not in await repo.read(f"{G}/maven-metadata.xml")
    assert repo.upstream.requests == []


async def test_upstream_down_without_cache_is_transient() -> None:
    repo = Repo(proxied=True)
    repo.upstream.down = True
    with pytest.raises(Transient):
        await repo.registry.get("org/up/x/1.0/x-1.0.jar")
    assert await repo.registry._proxy.cached_file("org/up/x/1.0/x-1.0.jar") is None  # type: ignore[union-attr]


async def test_listing_pages_with_after(repo: Repo) -> None:
    for minor in range(5):
        await repo.put(f"{G}/1.{minor}/lib-1.{minor}.jar", b"x")
    first = await repo.registry.listing(G, limit=2)
    assert [i.name for i in first.items] == ["1.0", "1.1"]
    assert first.next_after is not None
    rest = await repo.registry.get(G + "/", after=first.next_after)
    assert not isinstance(rest, MavenFile)
    assert [i.name for i in rest.items][:3] == ["1.2", "1.3", "1.4"]


async def test_concurrent_deploys_lose_no_version_in_metadata() -> None:
    import anyio

    from tests.unit.packages.conftest import YieldingMetadataStore

    repo = Repo()
    racy = YieldingMetadataStore()
    repo.registry.index._meta = racy
    repo.registry._meta = racy

    async def deploy(minor: int) -> None:
        await repo.registry.deploy(f"{G}/2.{minor}/lib-2.{minor}.jar", _body(b"%d" % minor))

    async with anyio.create_task_group() as tg:
        for minor in range(8):
            tg.start_soon(deploy, minor)
    xml = await repo.read(f"{G}/maven-metadata.xml")
    versions = texts(xml, "metadata/versioning/versions/version")
    assert versions["metadata/versioning/versions/version"] == [f"2.{m}" for m in range(8)]
    assert racy.conflicts > 0  # the writers did race


async def _body(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_metadata_put_elsewhere_invents_no_artifact(repo: Repo) -> None:
    await repo.put(f"{G}/1.0/lib-1.0.jar", b"jar")
    await repo.put("com/acme/maven-metadata.xml", b"<metadata/>")
    await repo.put("com/maven-metadata.xml", b"<metadata/>")
    await repo.put("com/acme/lib/9.9-SNAPSHOT/maven-metadata.xml", b"<metadata/>")
    for path in ["com/acme/maven-metadata.xml", "com/maven-metadata.xml"]:
        with pytest.raises(NotFound):
            await repo.registry.get(path)
    with pytest.raises(NotFound):
        await repo.registry.get("com/acme/lib/9.9-SNAPSHOT/maven-metadata.xml")
    xml = await repo.read(f"{G}/maven-metadata.xml")
    assert texts(xml, "metadata/versioning/versions/version") == {
        "metadata/versioning/versions/version": ["1.0"]
    }
