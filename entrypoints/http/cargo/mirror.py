"""``nora mirror cargo Cargo.lock``: every registry crate of a lockfile, through NORA's cache.

For each crate it reads the crate's sparse index file (so cargo can resolve
offline: NORA serves its copy stale once the upstream is gone), checks that
the index's ``cksum`` is the lockfile's checksum, then downloads the ``.crate``
and checks its sha256 against it. Path and git packages are in no registry:
they are named on stderr as skipped (the shared summary has no place for them).
"""

from __future__ import annotations

import sys

from domain.cargo.grammar import index_path
from domain.cargo.index_lines import checksums
from domain.cargo.lockfile import LockedCrate, parse_lockfile
from domain.errors import InvalidInput
from entrypoints.mirror import Expected, Failed, MirrorClient, MirrorSource, Outcome, Want
from entrypoints.mirror import cached as all_cached
from entrypoints.mirror import fetched as any_fetched

__all__ = ["MIRROR"]


def plan(data: bytes) -> list[Want[LockedCrate]]:
    """The lockfile's registry crates; the skipped packages are named on stderr."""
    lock = parse_lockfile(data)
    if lock.skipped:
        names = ", ".join(f"{p.name} {p.version} ({p.reason})" for p in lock.skipped)
        print(f"skipped, not in a registry: {names}", file=sys.stderr)
    return [Want(f"{crate.name}@{crate.version}", crate) for crate in lock.crates]


async def fetch(client: MirrorClient, want: Want[LockedCrate]) -> Outcome:
    """The crate's index file, then its ``.crate``, both checked against the lockfile."""
    crate = want.item
    index = await client.document(f"/cargo/index/{index_path(crate.name)}")
    try:
        listed = checksums(index.body)
    except InvalidInput as exc:
        raise Failed(f"the index file of {crate.name} is unreadable: {exc.detail}") from None
    cksum = listed.get(crate.version)
    if cksum is None:
        raise Failed(f"{crate.name} {crate.version} is not in the registry's index")
    if crate.checksum and cksum.lower() != crate.checksum:
        raise Failed(f"the index's checksum of {want.label} is not the one Cargo.lock pins")
    read = await client.download(
        f"/cargo/api/v1/crates/{crate.name}/{crate.version}/download",
        expect=Expected("sha256", crate.checksum or cksum.lower()),
    )
    done = all_cached if read.cached else any_fetched
    return done(want, files=1, nbytes=len(index.body) + read.nbytes)


MIRROR = MirrorSource(
    word="cargo",
    input="a Cargo.lock (registry crates; path and git packages are skipped)",
    example="nora mirror cargo Cargo.lock --url http://127.0.0.1:4000",
    plan=plan,
    fetch=fetch,
)
