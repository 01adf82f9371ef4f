"""``nora mirror go go.sum``: every module version of a go.sum, through NORA's GOPROXY.

A version whose source go.sum pins gets ``.mod``, ``.info`` and ``.zip``; a
version pinned only by its ``/go.mod`` line gets ``.mod`` (the go command read
it to build the module graph, never the code). NORA's Go proxy stores what its
upstream sends as it is, so the mirror checks the pins itself: the ``.mod``
against its ``h1:`` hash, and a ``.zip`` fetched on this run (read back from
NORA's storage) against the zip's. A version the cache already held is not
read again.
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from typing import IO, Final

import anyio
import httpx

from domain.errors import InvalidInput
from domain.gomod.gosum import ModuleSum, hash1, hash_gomod, parse_gosum
from domain.gomod.grammar import escape
from domain.gomod.modzip import MAX_UNZIPPED
from entrypoints.mirror import Failed, MirrorClient, MirrorSource, Outcome, Want
from entrypoints.mirror import cached as all_cached
from entrypoints.mirror import fetched as any_fetched

__all__ = ["MIRROR"]

_HIT: Final = "hit"
_CACHE_HEADER: Final = "x-nora-cache"
_CHUNK: Final = 1 << 20
_MAX_MOD: Final = 16 << 20


def plan(data: bytes) -> list[Want[ModuleSum]]:
    """One want per module version of the go.sum."""
    return [Want(str(entry), entry) for entry in parse_gosum(data)]


async def fetch(client: MirrorClient, want: Want[ModuleSum]) -> Outcome:
    """``.mod`` (checked), then ``.info`` and ``.zip`` (checked if fetched) if source is pinned."""
    entry = want.item
    base = f"/go/{escape(entry.module)}/@v/{escape(entry.version)}"
    mod = await client.document(base + ".mod", limit=_MAX_MOD)
    if entry.mod_hash and hash_gomod(mod.body) != entry.mod_hash:
        raise Failed(f"the go.mod of {want.label} does not match go.sum")
    files, nbytes = 1, len(mod.body)
    hits = mod.headers.get(_CACHE_HEADER) == _HIT
    if entry.needs_zip:
        info = await client.download(base + ".info")
        archive = await client.download(base + ".zip")
        if not archive.cached and await _zip_hash(client, base + ".zip", entry) != entry.zip_hash:
            raise Failed(f"the zip of {want.label} does not match go.sum")
        files += 2
        nbytes += info.nbytes + archive.nbytes
        hits = hits and info.cached and archive.cached
    done = all_cached if hits else any_fetched
    return done(want, files=files, nbytes=nbytes)


async def _zip_hash(client: MirrorClient, path: str, entry: ModuleSum) -> str:
    """The ``h1:`` hash of the zip NORA now holds (read once more, from its storage)."""
    with tempfile.TemporaryFile() as spool:
        try:
            async with client.http.stream("GET", path) as response:
                if response.status_code != 200:
                    raise Failed(
                        f"{path}: reading it back for its hash gave {response.status_code}"
                    )
                async for chunk in response.aiter_bytes(_CHUNK):
                    spool.write(chunk)
        except httpx.TransportError as exc:
            raise Failed(f"{path}: reading it back for its hash failed: {exc}") from None
        spool.seek(0)
        try:
            return await anyio.to_thread.run_sync(_hash_zip, spool)
        except (zipfile.BadZipFile, InvalidInput, ValueError, OSError) as exc:
            raise Failed(f"the zip of {entry} is not readable: {str(exc)[:120]}") from None


def _hash_zip(spool: IO[bytes]) -> str:
    """The go command's ``h1`` over every file of the zip, within its size limit."""
    files: list[tuple[str, bytes]] = []
    total = 0
    with zipfile.ZipFile(spool) as archive:
        for info in archive.infolist():
            digest = hashlib.sha256()
            with archive.open(info) as member:
                while chunk := member.read(_CHUNK):
                    total += len(chunk)
                    if total > MAX_UNZIPPED:
                        raise ValueError("larger than the go command's limit once unpacked")
                    digest.update(chunk)
            files.append((info.filename, digest.digest()))
    return hash1(files)


MIRROR = MirrorSource(
    word="go",
    input="a go.sum (module versions; /go.mod lines fetch only the .mod)",
    example="nora mirror go go.sum --url http://127.0.0.1:4000",
    plan=plan,
    fetch=fetch,
)
