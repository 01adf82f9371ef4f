"""Raw files' part of the dashboard: folders and files with size, date, sha256 and versions.

The list is the root folder; a folder's page lists its children (one page of
them) and a file's page shows its current content, its kept versions and the
``curl -O`` line. Search and the overview's counts need every path: they read
one walk of the facade's path index per generation (cached in process and
checked against the store's generation on every request, like the package
listings), so a page load never walks the store twice for an unchanged registry.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import quote

from domain.errors import InvalidInput, NotFound
from domain.paths import DirEntry, PathEntry
from domain.paths.follow import Followed
from domain.raw.grammar import parse_path, scope_name
from domain.raw.registry import REPOSITORY, RawFile, RawRegistry, RawVersion
from entrypoints.http.ui.pages import human_bytes, item_href
from entrypoints.http.ui.query import parse_cursor
from entrypoints.http.ui.section import (
    Cell,
    Command,
    Counts,
    ItemPage,
    ItemView,
    Listed,
    Mark,
    Table,
    UiRequest,
    UiSection,
    base_url,
    facade,
    visible,
)

__all__ = ["UI", "download_command", "file_view", "folder_view"]

_WORD: Final = "raw"
_ROWS: Final = 500
"""Children shown on a folder's page (the protocol's own listing pages through all)."""
_FOLDER: Final[tuple[tuple[str, Mark], ...]] = (("folder", "info"),)

Visible = Callable[[str], bool] | None


def _files(request: UiRequest) -> RawRegistry:
    registry: RawRegistry = facade(request, _WORD)
    return registry


def _url(base: str, path: str) -> str:
    return f"{base}/raw/{quote(path, safe='/')}"


def download_command(base: str, path: str) -> str:
    """``curl -O`` of the file at ``path``, quoted for a POSIX shell."""
    return f"curl -fO {shlex.quote(_url(base, path))}"


def _shows(allowed: Visible, path: str, is_dir: bool) -> bool:
    """A file the caller may read; a folder a scope could reach into (as /raw/ lists)."""
    if allowed is None:
        return True
    name = scope_name(path)
    return name is not None and (allowed(name) or (is_dir and allowed(name + "/")))


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _child_row(directory: str, item: DirEntry) -> list[Cell]:
    path = f"{directory}/{item.name}" if directory else item.name
    href = item_href("", _WORD, path)
    if item.entry is None:
        return [Cell(item.name + "/", href=href, code=True, badges=_FOLDER), *(Cell(""),) * 3]
    return [
        Cell(item.name, href=href, code=True),
        Cell(human_bytes(item.entry.size)),
        Cell(_when(item.entry.uploaded)),
        Cell(item.entry.sha256, code=True),
    ]


def folder_view(
    directory: str,
    items: list[DirEntry],
    base: str,
    *,
    next_after: str | None = None,
    continued: bool = False,
) -> ItemView:
    """A folder's page: its children (already filtered), a page at a time, and a recursive
    download."""
    caption = "Contents, continued" if continued else "Contents"
    return ItemView(
        name=directory + "/",
        badges=_FOLDER,
        facts=[("Entries shown", str(len(items))), ("Listing", _url(base, directory) + "/")],
        commands=[
            Command(
                "Download the folder",
                f"wget -r -np -nH -e robots=off {shlex.quote(_url(base, directory) + '/')}",
            )
        ],
        tables=[
            Table(
                caption=caption,
                columns=("Name", "Size", "Uploaded", "sha256"),
                rows=[_child_row(directory, item) for item in items],
                empty="Empty folder.",
            )
        ],
        next_after=next_after,
    )


def file_view(found: RawFile, versions: list[RawVersion], base: str) -> ItemView:
    """A file's page: its current content, the versions kept, and ``curl -O``."""
    revision = found.revision
    rows = [
        [
            Cell(str(v.version), badges=(("current", "good"),) if v.current else ()),
            Cell(_when(v.uploaded)),
            Cell(human_bytes(v.size)),
            Cell(v.content_type, code=True),
            Cell(v.sha256, code=True),
        ]
        for v in versions
    ]
    return ItemView(
        name=found.path,
        facts=[
            ("Size", f"{human_bytes(revision.size)} ({revision.size} bytes)"),
            ("Uploaded", _when(revision.uploaded)),
            ("Content type", revision.content_type),
            ("sha256", revision.sha256),
            ("Version", str(found.version)),
        ],
        commands=[Command("curl", download_command(base, found.path))],
        tables=[
            Table(
                caption="Versions",
                columns=("Version", "Uploaded", "Size", "Content type", "sha256"),
                rows=rows,
            )
        ],
    )


# ---------------------------------------------------------------- every path, per generation


@dataclass(frozen=True, slots=True)
class _Stored:
    path: str
    size: int
    uploaded: datetime
    versions: int


def _stored(path: str, entry: PathEntry) -> _Stored:
    return _Stored(
        path=path, size=entry.size, uploaded=entry.uploaded, versions=1 + len(entry.history)
    )


_FOLLOWED: Followed[list[_Stored]] = Followed()


async def _catalog(registry: RawRegistry) -> list[_Stored]:
    """Every stored file in path order, followed from the repository's journal."""
    index = registry.index

    async def walk() -> list[_Stored]:  # the walk is in path order
        return [_stored(path, entry) async for path, entry in index.walk(REPOSITORY)]

    async def update(old: list[_Stored], changed: tuple[str, ...]) -> list[_Stored]:
        files = {item.path: item for item in old}
        for path in dict.fromkeys(changed):
            entry, _ = await index.lookup(REPOSITORY, path)
            if entry is None:
                files.pop(path, None)
            else:
                files[path] = _stored(path, entry)
        return [files[path] for path in sorted(files)]

    return await _FOLLOWED.get(index, REPOSITORY, walk=walk, update=update)


def _listed_file(item: _Stored) -> Listed:
    return Listed(
        name=item.path,
        summary=human_bytes(item.size),
        detail=f"uploaded {item.uploaded:%Y-%m-%d}"
        + (f" · {item.versions} versions" if item.versions > 1 else ""),
    )


# ---------------------------------------------------------------- the section


async def _list(request: UiRequest, after: str | None, limit: int) -> ItemPage:
    allowed = visible(request, _WORD)
    listing = await _files(request).listing("", after=after, limit=limit)
    items: list[Listed] = []
    for item in listing.items:
        if not _shows(allowed, item.name, item.is_dir):
            continue
        if item.entry is None:
            items.append(Listed(name=item.name, summary="folder", badges=_FOLDER))
        else:
            items.append(
                Listed(
                    name=item.name,
                    summary=human_bytes(item.entry.size),
                    detail=f"uploaded {item.entry.uploaded:%Y-%m-%d}",
                )
            )
    return ItemPage(items=items, next=listing.next_after)


async def _search(request: UiRequest, text: str, offset: int, limit: int) -> ItemPage:
    allowed = visible(request, _WORD)
    terms = text.lower().split()
    found = [
        item
        for item in await _catalog(_files(request))
        if all(term in item.path.lower() for term in terms) and _shows(allowed, item.path, False)
    ]
    return ItemPage(
        items=[_listed_file(item) for item in found[offset : offset + limit]], total=len(found)
    )


async def _counts(request: UiRequest) -> Counts:
    allowed = visible(request, _WORD)
    files = [s for s in await _catalog(_files(request)) if _shows(allowed, s.path, False)]
    return Counts(items=len(files), versions=sum(s.versions for s in files))


async def _item(request: UiRequest, name: str) -> ItemView:
    try:
        path = parse_path(name)
    except InvalidInput:
        raise NotFound(f"{name[:200]} not found", subject="path") from None
    allowed = visible(request, _WORD)
    registry = _files(request)
    base = base_url(request)
    try:
        if not _shows(allowed, path, False):
            raise NotFound(f"{path[:200]} not found", subject="path")
        return file_view(await registry.get(path), await registry.versions(path), base)
    except NotFound:
        if not _shows(allowed, path, True):
            raise
        after = parse_cursor(request.query_params.get("after"))
        # NotFound: neither file nor folder
        listing = await registry.listing(path, after=after, limit=_ROWS)
        items = [
            item
            for item in listing.items
            if _shows(allowed, f"{listing.directory}/{item.name}", item.is_dir)
        ]
        return folder_view(
            listing.directory,
            items,
            base,
            next_after=listing.next_after,
            continued=after is not None,
        )


UI = UiSection(
    word=_WORD,
    title="Raw files",
    noun="file",
    list_page=_list,
    item=_item,
    counts=_counts,
    search=_search,
    order=70,
    checks_access=True,
)
