"""``nora mirror pypi requirements.txt``: every file of every pinned version.

For each ``name==version``: NORA's simple page of the project (PEP 691 JSON),
then each file of that version. With ``--hash`` options only the files
whose hashes are listed are fetched (what ``pip install --require-hashes``
can choose from); without, every file of the version, for every platform.
Each file's bytes are checked against the sha256 the page gives.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from domain.errors import InvalidInput
from domain.pypi.grammar import check_filename
from domain.pypi.requirements import Pin, parse_requirements
from domain.pypi.simple import JSON_V1
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


def plan(data: bytes) -> list[Want[Pin]]:
    """The file's pins, one want each."""
    return [Want(pin.label, pin) for pin in parse_requirements(data)]


async def fetch(client: MirrorClient, want: Want[Pin]) -> Outcome:
    """The project's simple page, then the files of the pinned version."""
    pin = want.item
    page = await client.document(f"/simple/{pin.name}/", accept=JSON_V1)
    files = _files_of(page.json(), pin)
    if not files:
        raise Failed(f"the index has no file of {pin.label}")
    if pin.hashes:
        listed = {(h.algorithm, h.hexdigest) for h in pin.hashes}
        files = [f for f in files if listed & set(_hashes(f).items())]
        if not files:
            raise Failed(f"no file of {pin.label} has a hash the requirements file lists")
    missed = nbytes = 0
    for entry in files:
        digest = _hashes(entry).get("sha256")
        expect = Expected("sha256", digest) if digest else None
        read = await client.download(client.target(urljoin(page.url, entry["url"])), expect=expect)
        missed += not read.cached
        nbytes += read.nbytes
    if missed:
        return fetched(want, files=len(files), nbytes=nbytes)
    return cached(want, files=len(files))


def _files_of(page: Any, pin: Pin) -> list[dict[str, Any]]:
    """The page's entries of files that belong to the pinned name and version."""
    entries = page.get("files") if isinstance(page, dict) else None
    if not isinstance(entries, list):
        raise Failed(f"the simple page of {pin.name} lists no files")
    found: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        filename, url = entry.get("filename"), entry.get("url")
        if not isinstance(filename, str) or not isinstance(url, str):
            continue
        try:
            check_filename(filename, pin.name, pin.version)
        except InvalidInput:
            continue
        found.append(entry)
    return found


def _hashes(entry: dict[str, Any]) -> dict[str, str]:
    hashes = entry.get("hashes")
    if not isinstance(hashes, dict):
        return {}
    return {k: v.lower() for k, v in hashes.items() if isinstance(k, str) and isinstance(v, str)}


MIRROR = MirrorSource(
    word="pypi",
    input="a requirements file pinned with ==, with --hash options when given",
    example="nora mirror pypi requirements.txt",
    plan=plan,
    fetch=fetch,
)
