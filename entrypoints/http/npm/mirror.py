"""``nora mirror npm package-lock.json``: every registry package the lockfile pins.

For each ``name@version``: the packument (so NORA knows the version and its
tarball), then the tarball at the address NORA's packument gives, its bytes
checked against the lockfile's ``integrity`` (or, without one, the packument's).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from domain.errors import InvalidInput
from domain.npm.lockfile import Integrity, LockedPackage, parse_integrity, parse_lockfile
from entrypoints.mirror import (
    Expected,
    Failed,
    MirrorClient,
    MirrorSource,
    Outcome,
    Want,
    cached,
    fetched,
)

__all__ = ["MIRROR"]


def plan(data: bytes) -> list[Want[LockedPackage]]:
    """The lockfile's registry packages, one want each."""
    return [Want(package.label, package) for package in parse_lockfile(data)]


async def fetch(client: MirrorClient, want: Want[LockedPackage]) -> Outcome:
    """The packument, then the tarball of the pinned version."""
    package = want.item
    packument = (await client.document(f"/npm/{quote(package.name, safe='@')}")).json()
    version = _version(packument, package)
    dist = version.get("dist")
    if not isinstance(dist, dict):
        dist = {}
    tarball = dist.get("tarball")
    if not isinstance(tarball, str) or not tarball:
        raise Failed(f"the packument of {package.name} names no tarball for {package.version}")
    digest = package.integrity or _dist_digest(dist)
    expect = Expected(digest.algorithm, digest.hexdigest) if digest else None
    read = await client.download(client.target(tarball), expect=expect)
    if read.cached:
        return cached(want, files=1)
    return fetched(want, files=1, nbytes=read.nbytes)


def _version(packument: Any, package: LockedPackage) -> dict[str, Any]:
    versions = packument.get("versions") if isinstance(packument, dict) else None
    found = versions.get(package.version) if isinstance(versions, dict) else None
    if not isinstance(found, dict):
        raise Failed(f"{package.name} has no version {package.version} upstream")
    return found


def _dist_digest(dist: dict[str, Any]) -> Integrity | None:
    """The packument's own digest of the tarball: ``integrity``, else the sha1 ``shasum``."""
    integrity = dist.get("integrity")
    if isinstance(integrity, str):
        try:
            return parse_integrity(integrity)
        except InvalidInput:  # a packument's odd integrity is not the lockfile's fault
            return None
    shasum = dist.get("shasum")
    if isinstance(shasum, str) and len(shasum) == 40:
        return Integrity("sha1", shasum.lower())
    return None


MIRROR = MirrorSource(
    word="npm",
    input="a package-lock.json or npm-shrinkwrap.json (lockfile version 1, 2 or 3)",
    example="nora mirror npm package-lock.json",
    plan=plan,
    fetch=fetch,
)
