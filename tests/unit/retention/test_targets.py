"""Each format's retention target over memory adapters and a fixed clock: what a policy
plans, and that applying the plan removes exactly that (and records and counts it)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import anyio
import anyio.lowlevel
import msgspec
import pytest

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.auth.activity import ActivityLog
from domain.digests import Digest, hash_bytes
from domain.errors import Conflict, NotFound
from domain.maven.retention import SnapshotRetention
from domain.npm.registry import NpmRegistry
from domain.oci import ManifestService
from domain.oci.media import OCI_INDEX, OCI_MANIFEST
from domain.oci.retention import TagRetention
from domain.packages.retention import PackageRetention
from domain.pypi.registry import PypiRegistry
from domain.raw.retention import RawRetention
from domain.reports import Reports, read_reports
from domain.retention import ACTION, Deletion, FormatRetention, Policy, Retention, Target
from domain.uploads import UploadSessions
from tests.unit.helm.conftest import Repo as HelmRepo
from tests.unit.helm.conftest import chart
from tests.unit.maven.conftest import Repo as MavenRepo
from tests.unit.maven.conftest import pom
from tests.unit.npm.bodies import publish_body
from tests.unit.pypi.test_registry import World as PypiWorld
from tests.unit.pypi.test_registry import fields_for, form, wheel
from tests.unit.raw.conftest import Repo as RawRepo

pytestmark = pytest.mark.anyio
DAY = timedelta(days=1)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def apply_checked(
    target: Target, policy: Policy, clock: FixedClock, meta: MemoryMetadataStore
) -> list[Deletion]:
    """Plan twice (a dry run changes nothing), apply, and check the run removed the plan."""
    activity = ActivityLog(meta, clock)
    retention = Retention(
        {target.format: FormatRetention(hosted=target)},
        clock=clock,
        activity=activity,
        reports=Reports(meta, clock),
        actor="cli:test",
    )
    planned = await retention.plan([policy])
    assert await retention.plan([policy]) == planned
    result = await retention.apply(planned)
    assert result.deleted == planned
    assert result.already_gone == []
    assert await retention.plan([policy]) == []  # nothing left to do
    events = (await activity.query(actions=[ACTION], limit=1000)).items
    assert sorted(e.target for e in events) == sorted(d.target for d in planned)
    return planned


# --- npm: package versions, dist-tags pinned ------------------------------------------


class Npm:
    def __init__(self) -> None:
        self.clock = FixedClock()
        self.meta = MemoryMetadataStore()
        blobs = MemoryBlobStore()
        uploads = UploadSessions(blobs, self.meta, self.clock)
        self.npm = NpmRegistry(meta=self.meta, blobs=blobs, uploads=uploads, clock=self.clock)

    async def publish(self, name: str, version: str, tag: str = "latest") -> None:
        self.clock.advance(DAY)
        body = publish_body(name, version, f"tarball {version}".encode(), tag=tag)
        await self.npm.put(name, _once(json.dumps(body).encode()))

    async def versions(self, name: str) -> list[str]:
        return sorted((await self.npm.index.get(name)).package.versions)


async def test_npm_keep_last_spares_dist_tag_targets() -> None:
    npm = Npm()
    for version in ("1.0.0", "1.1.0", "2.0.0-beta.1", "1.2.0", "1.3.0"):
        await npm.publish("@acme/tool", version, tag="beta" if "beta" in version else "latest")
    await npm.publish("other", "1.0.0")
    await npm.publish("other", "2.0.0")
    target = PackageRetention("npm", npm.npm.index)
    policy = Policy(index=1, format="npm", names=("@acme/*",), keep_last=2)
    planned = await apply_checked(target, policy, npm.clock, npm.meta)
    assert [(d.kind, d.name, d.item) for d in planned] == [
        ("version", "@acme/tool", "1.1.0"),
        ("version", "@acme/tool", "1.0.0"),
    ]  # 2.0.0-beta.1 is beyond the newest two but the beta tag points at it
    assert await npm.versions("@acme/tool") == ["1.2.0", "1.3.0", "2.0.0-beta.1"]
    assert await npm.npm.dist_tags("@acme/tool") == {"latest": "1.3.0", "beta": "2.0.0-beta.1"}
    assert await npm.versions("other") == ["1.0.0", "2.0.0"]  # not matched: untouched
    [report] = await read_reports(npm.meta)
    counted = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in report.samples}
    assert counted[("nora_retention_deleted_total", (("format", "npm"), ("kind", "version")))] == 2
    assert counted[("nora_retention_runs_total", ())] == 1


async def test_npm_a_version_tagged_after_the_plan_stays() -> None:
    npm = Npm()
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        await npm.publish("tool", version)
    target = PackageRetention("npm", npm.npm.index)
    planned = await target.plan(Policy(index=1, format="npm", keep_last=1), npm.clock.now())
    assert [d.item for d in planned] == ["1.1.0", "1.0.0"]
    await npm.npm.set_dist_tag("tool", "stable", b'"1.0.0"')  # a rollback tag, mid-run
    assert [await target.delete(d) for d in planned] == [True, False]
    assert await npm.versions("tool") == ["1.0.0", "1.2.0"]


async def test_npm_older_than_with_keep_last_needs_both() -> None:
    npm = Npm()
    for version in ("1.0.0", "1.1.0", "1.2.0", "1.3.0"):
        await npm.publish("lib", version)
        npm.clock.advance(10 * DAY)
    target = PackageRetention("npm", npm.npm.index)
    policy = Policy(index=1, format="npm", keep_last=1, older_than=timedelta(days=25))
    planned = await apply_checked(target, policy, npm.clock, npm.meta)
    # ages now: 1.0.0 41d, 1.1.0 30d, 1.2.0 19d, 1.3.0 8d (newest, and latest)
    assert [d.item for d in planned] == ["1.1.0", "1.0.0"]


# --- OCI: tags, protect, manifests that lose their last tag ---------------------------


class Oci:
    def __init__(self) -> None:
        self.clock = FixedClock()
        self.meta = MemoryMetadataStore()
        self.blobs = MemoryBlobStore()
        self.uploads = UploadSessions(self.blobs, self.meta, self.clock)
        self.oci = ManifestService(self.blobs, self.meta, delete_enabled=False, clock=self.clock)

    async def blob(self, name: str, data: bytes) -> Digest:
        digest = hash_bytes(data, "sha256")
        stored = await self.uploads.store(_once(data), digest)
        await self.oci.link_blob(name, stored, digest)
        return digest

    async def image(self, name: str, tag: str, layer: bytes) -> Digest:
        self.clock.advance(DAY)
        config = await self.blob(name, b"{}")
        digest = await self.blob(name, layer)
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": str(config),
                    "size": 2,
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": str(digest),
                        "size": len(layer),
                    }
                ],
            }
        ).encode()
        return (await self.oci.put_manifest(name, tag, body, OCI_MANIFEST)).digest

    async def index(self, name: str, tag: str, child: Digest, size: int) -> Digest:
        self.clock.advance(DAY)
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_INDEX,
                "manifests": [{"mediaType": OCI_MANIFEST, "digest": str(child), "size": size}],
            }
        ).encode()
        return (await self.oci.put_manifest(name, tag, body, OCI_INDEX)).digest

    async def tags(self, name: str) -> list[str]:
        return (await self.oci.tags(name)).items

    async def has_manifest(self, name: str, digest: Digest) -> bool:
        try:
            await self.oci.resolve(name, digest)
        except NotFound:
            return False
        return True


async def test_oci_keep_last_with_protect_and_shared_manifests() -> None:
    reg = Oci()
    one = await reg.image("team/app", "v1", b"one")
    two = await reg.image("team/app", "build-2", b"two")
    await reg.oci.put_manifest("team/app", "stable", *await _same(reg, "team/app", one))
    three = await reg.image("team/app", "build-3", b"three")
    four = await reg.image("team/app", "build-4", b"four")
    await reg.image("solo", "build-1", b"solo")
    target = TagRetention("docker", reg.oci)
    policy = Policy(index=1, format="docker", names=("team/*",), keep_last=2, protect=("v*",))
    planned = await apply_checked(target, policy, reg.clock, reg.meta)
    assert [(d.kind, d.item) for d in planned] == [
        ("tag", "stable"),
        ("tag", "build-2"),
        ("manifest", str(two)),
    ]  # one is still tagged v1 (protected), so only two's manifest goes
    assert await reg.tags("team/app") == ["build-3", "build-4", "v1"]
    assert await reg.has_manifest("team/app", one)
    assert not await reg.has_manifest("team/app", two)
    assert await reg.has_manifest("team/app", three)
    assert await reg.has_manifest("team/app", four)
    assert await reg.tags("solo") == ["build-1"]  # not matched by team/*


async def _same(reg: Oci, name: str, digest: Digest) -> tuple[bytes, str]:
    stored = await reg.oci.get_manifest(name, digest)
    return stored.body, stored.media_type


async def test_oci_child_of_a_kept_index_stays() -> None:
    reg = Oci()
    child = await reg.image("app", "amd64", b"amd64 layer")
    size = (await reg.oci.stat_manifest("app", child)).size
    await reg.index("app", "latest", child, size)
    policy = Policy(index=1, format="docker", keep_last=1)
    planned = await apply_checked(TagRetention("docker", reg.oci), policy, reg.clock, reg.meta)
    assert [(d.kind, d.item) for d in planned] == [("tag", "amd64")]
    assert await reg.has_manifest("app", child)  # the kept index still lists it


async def test_oci_a_tag_moved_after_planning_stays() -> None:
    reg = Oci()
    await reg.image("app", "old", b"old")
    await reg.image("app", "new", b"new")
    target = TagRetention("docker", reg.oci)
    policy = Policy(index=1, format="docker", keep_last=1)
    planned = await target.plan(policy, reg.clock.now())
    assert [d.item for d in planned if d.kind == "tag"] == ["old"]
    moved = await reg.image("app", "old", b"moved")  # re-pushed after the plan
    assert not await target.delete(planned[0])
    assert (await reg.oci.resolve("app", "old"))[0] == moved


# --- raw: earlier versions of a path; the current content is pinned --------------------


async def test_raw_versions_beyond_keep_last_go() -> None:
    repo = RawRepo(keep=10)
    for n in range(5):
        await repo.put("dist/app.tar.gz", f"build {n}".encode())
    await repo.put("dist/notes.txt", b"only one")
    policy = Policy(index=1, format="raw", names=("dist/*.gz",), keep_last=2)
    planned = await apply_checked(RawRetention("raw", repo.registry), policy, repo.clock, repo.meta)
    assert [(d.kind, d.name, d.item) for d in planned] == [
        ("revision", "dist/app.tar.gz", "3"),
        ("revision", "dist/app.tar.gz", "2"),
        ("revision", "dist/app.tar.gz", "1"),
    ]
    assert [v.version for v in await repo.registry.versions("dist/app.tar.gz")] == [5, 4]
    assert await repo.read("dist/app.tar.gz") == b"build 4"


async def test_raw_current_content_is_never_removed() -> None:
    repo = RawRepo(keep=10)
    await repo.put("a.bin", b"first")
    await repo.put("a.bin", b"second")
    repo.clock.advance(100 * DAY)
    policy = Policy(index=1, format="raw", older_than=timedelta(days=1))
    planned = await apply_checked(RawRetention("raw", repo.registry), policy, repo.clock, repo.meta)
    assert [d.item for d in planned] == ["1"]
    assert await repo.read("a.bin") == b"second"


# --- Maven: timestamped SNAPSHOT builds ------------------------------------------------

G = "com/acme/lib"


async def test_maven_old_snapshot_builds_go_releases_stay() -> None:
    repo = MavenRepo(keep=0)
    v = f"{G}/1.0-SNAPSHOT"
    for n in (1, 2, 3):
        await repo.put(f"{v}/lib-1.0-20261130.10150{n}-{n}.jar", f"build{n}".encode())
        await repo.put(f"{v}/lib-1.0-20261130.10150{n}-{n}.pom", pom())
    await repo.put(f"{G}/0.9/lib-0.9.jar", b"release")
    await repo.put(f"{G}/0.9/lib-0.9.pom", pom())
    policy = Policy(index=1, format="maven", names=("com.acme:*",), keep_last=1)
    planned = await apply_checked(
        SnapshotRetention("maven", repo.registry), policy, repo.clock, repo.meta
    )
    assert [(d.kind, d.name, d.item) for d in planned] == [
        ("snapshot", "com.acme:lib:1.0-SNAPSHOT", "20261130.101502-2"),
        ("snapshot", "com.acme:lib:1.0-SNAPSHOT", "20261130.101501-1"),
    ]
    assert await repo.read(f"{v}/lib-1.0-SNAPSHOT.jar") == b"build3"
    with pytest.raises(NotFound):
        await repo.read(f"{v}/lib-1.0-20261130.101501-1.jar")
    assert await repo.read(f"{G}/0.9/lib-0.9.jar") == b"release"
    xml = (await repo.read(f"{v}/maven-metadata.xml")).decode()
    assert "20261130.101503" in xml
    assert "101501" not in xml


# --- Helm and PyPI: removal through the format's own delete ----------------------------


async def test_helm_old_chart_versions_leave_index_yaml() -> None:
    repo = HelmRepo()
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        await repo.upload(chart("web", version))
    target = PackageRetention("helm", repo.index, repo.registry.delete)
    policy = Policy(index=1, format="helm", names=("web",), keep_last=1)
    planned = await apply_checked(target, policy, repo.clock, repo.meta)
    assert [d.item for d in planned] == ["1.1.0", "1.0.0"]
    index = msgspec.json.decode((await repo.registry.index_yaml()).body)
    assert [e["version"] for e in index["entries"]["web"]] == ["2.0.0"]


async def test_pypi_removed_releases_retire_their_file_names() -> None:
    world = PypiWorld()
    world.registry = PypiRegistry(  # with the store that remembers retired names
        index=world.registry.index,
        blobs=world.blobs,
        uploads=world.uploads,
        clock=world.clock,
        proxy=None,
        upstreams=[],
        ttl=timedelta(minutes=5),
        meta=world.meta,
    )
    for version in ("1.0.0", "2.0.0"):
        world.clock.advance(DAY)
        data = wheel("demo", version)
        name = f"demo-{version}-py3-none-any.whl"
        await world.upload(form(fields_for("demo", version, data), name, data))
    target = PackageRetention("pypi", world.registry.index, world.registry.delete_release)
    policy = Policy(index=1, format="pypi", keep_last=1)
    planned = await apply_checked(target, policy, world.clock, world.meta)
    assert [(d.name, d.item) for d in planned] == [("demo", "1.0.0")]
    again = wheel("demo", "1.0.0")
    with pytest.raises(Conflict):  # PyPI never accepts a deleted file name again
        await world.upload(
            form(fields_for("demo", "1.0.0", again), "demo-1.0.0-py3-none-any.whl", again)
        )


# --- an interrupted run ---------------------------------------------------------------


class _Interrupting:
    """A target during whose second removal the run is cancelled (as Ctrl-C does)."""

    format = "npm"

    def __init__(self, scope: anyio.CancelScope) -> None:
        self.scope = scope
        self.removed: list[str] = []

    async def plan(self, policy: Policy, now: Any) -> list[Deletion]:
        return [
            Deletion(format="npm", kind="version", name="pkg", item=v, policy=1)
            for v in ("1", "2", "3")
        ]

    async def delete(self, deletion: Deletion) -> bool:
        if len(self.removed) == 1:
            self.scope.cancel()
            await anyio.lowlevel.checkpoint()
        self.removed.append(deletion.item)
        return True


async def test_an_interrupted_run_records_and_counts_what_it_removed() -> None:
    clock, meta = FixedClock(), MemoryMetadataStore()
    activity = ActivityLog(meta, clock)
    with anyio.CancelScope() as scope:
        target = _Interrupting(scope)
        retention = Retention(
            {"npm": FormatRetention(hosted=target)},
            clock=clock,
            activity=activity,
            reports=Reports(meta, clock),
        )
        await retention.apply(await retention.plan([Policy(index=1, format="npm", keep_last=1)]))
    assert scope.cancelled_caught
    assert target.removed == ["1", "2"]  # the removal under way finished; "3" never began
    events = (await activity.query(actions=[ACTION])).items
    assert sorted(e.target for e in events) == ["pkg@1", "pkg@2"]
    [report] = await read_reports(meta)
    deleted = [s for s in report.samples if s.name == "nora_retention_deleted_total"]
    assert [(s.labels, s.value) for s in deleted] == [({"format": "npm", "kind": "version"}, 2)]
