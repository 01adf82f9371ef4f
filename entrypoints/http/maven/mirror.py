"""``nora mirror maven FILE``: the POM and artifact of every listed coordinate, with their .sha1.

NORA's Maven proxy verifies each file against its upstream's checksum as it
stores it; the mirror then asks for the ``.sha1`` beside each file too, since
mvn reads those on every resolution. What ``mvn package`` needs offline is
the dependencies, their parent POMs and imported BOMs, and the build plugins
with their own dependencies: list them all (``mvn dependency:list`` prints the
dependencies in this format; a walk of a local repository after one build gives
everything, plugins included).
"""

from __future__ import annotations

from domain.maven.coordinates import Coordinate, parse_coordinates
from entrypoints.mirror import Failed, MirrorClient, MirrorSource, Outcome, Want
from entrypoints.mirror import cached as all_cached
from entrypoints.mirror import fetched as any_fetched

__all__ = ["MIRROR"]

_ROOT = "/maven2/"


def plan(data: bytes) -> list[Want[Coordinate]]:
    """One want per coordinate of the list."""
    return [Want(str(coordinate), coordinate) for coordinate in parse_coordinates(data)]


async def fetch(client: MirrorClient, want: Want[Coordinate]) -> Outcome:
    """Each file of the coordinate, then its ``.sha1`` (answered from the stored file)."""
    files = 0
    nbytes = 0
    hits = 0
    for path in want.item.paths:
        read = await client.download(_ROOT + path)
        checksum = await client.document(_ROOT + path + ".sha1", limit=1024)
        if not checksum.body.strip():
            raise Failed(f"{path}.sha1 is empty")
        files += 2
        hits += read.cached
        nbytes += read.nbytes + len(checksum.body)
    done = all_cached if hits == len(want.item.paths) else any_fetched
    return done(want, files=files, nbytes=nbytes)


MIRROR = MirrorSource(
    word="maven",
    input="a list of coordinates, one per line: groupId:artifactId[:type[:classifier]]:version",
    example="nora mirror maven deps.txt --url http://127.0.0.1:4000",
    plan=plan,
    fetch=fetch,
)
