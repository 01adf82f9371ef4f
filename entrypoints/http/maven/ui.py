"""Maven's part of the dashboard: artifacts by group, their versions and each version's files.

The list shows artifacts (``group:artifact``), found from the deployed files'
own layout (``<group path>/<artifact>/<version>/<artifact>-<version>...``):
one walk of the facade's path index per generation of the hosted repository,
cached in process and checked against the store's generation on every request.
An artifact's page lists its versions; a version's page lists its files and the
``<dependency>`` snippet; any other directory (a group) lists its children.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from xml.sax.saxutils import escape

from domain.errors import InvalidInput, NotFound
from domain.maven.grammar import METADATA, SNAPSHOT, parse_directory, parse_path, scope_name
from domain.maven.registry import HOSTED, MavenRegistry
from domain.maven.version import version_key
from domain.paths import DirEntry, PathEntry
from domain.paths.follow import Followed
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

__all__ = ["UI", "dependency_snippet", "repository_snippet"]

_WORD: Final = "maven"
_ROWS: Final = 500
_FOLDER: Final[tuple[tuple[str, Mark], ...]] = (("group", "info"),)

Visible = Callable[[str], bool] | None


def _maven(request: UiRequest) -> MavenRegistry:
    registry: MavenRegistry = facade(request, _WORD)
    return registry


def dependency_snippet(group: str, artifact: str, version: str, kind: str = "jar") -> str:
    """The ``<dependency>`` element for ``pom.xml`` (``<type>`` only when not a jar)."""
    lines = [
        "<dependency>",
        f"  <groupId>{escape(group)}</groupId>",
        f"  <artifactId>{escape(artifact)}</artifactId>",
        f"  <version>{escape(version)}</version>",
    ]
    if kind != "jar":
        lines.append(f"  <type>{escape(kind)}</type>")
    lines.append("</dependency>")
    return "\n".join(lines)


def repository_snippet(base: str) -> str:
    """The ``<repository>`` element that resolves through this registry."""
    return f"<repository>\n  <id>nora</id>\n  <url>{escape(base)}/maven2/</url>\n</repository>"


def _allowed(allowed: Visible, path: str) -> bool:
    if allowed is None:
        return True
    name = scope_name(path)
    return name is not None and allowed(name)


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _newest(versions: Sequence[str]) -> str:
    """The newest release, else the newest version (SNAPSHOTs only)."""
    releases = [v for v in versions if not v.endswith(SNAPSHOT)] or list(versions)
    return max(releases, key=version_key) if releases else ""


# ---------------------------------------------------------------- artifacts, per generation


@dataclass(slots=True)
class _Artifact:
    directory: str
    group: str
    artifact: str
    versions: dict[str, datetime] = field(default_factory=dict)
    """Version -> the newest upload time of its files."""

    @property
    def coordinates(self) -> str:
        return f"{self.group}:{self.artifact}"


@dataclass(frozen=True, slots=True)
class _Catalog:
    artifacts: dict[str, _Artifact]
    keys: list[str]
    """The artifact directories, sorted (list pages bisect them)."""


_FOLLOWED: Followed[_Catalog] = Followed()


def _add(found: dict[str, _Artifact], path: str, entry: PathEntry) -> None:
    """Count the file at ``path`` into its artifact (checksums and metadata are no files)."""
    try:
        parsed = parse_path(path)
    except InvalidInput:
        return
    if parsed.kind != "artifact" or parsed.checksum is not None:
        return
    directory = path.rsplit("/", 2)[0]
    artifact = found.get(directory)
    if artifact is None:
        artifact = found[directory] = _Artifact(
            directory=directory, group=parsed.group, artifact=parsed.artifact
        )
    seen = artifact.versions.get(parsed.version)
    if seen is None or entry.uploaded > seen:
        artifact.versions[parsed.version] = entry.uploaded


async def _catalog(registry: MavenRegistry) -> _Catalog:
    """Every artifact of the hosted repository, followed from the repository's journal (an
    artifact a change touched is walked again, nothing else)."""
    index = registry.index

    async def walk() -> _Catalog:
        found: dict[str, _Artifact] = {}
        async for path, entry in index.walk(HOSTED):
            _add(found, path, entry)
        return _Catalog(found, sorted(found))

    async def update(old: _Catalog, changed: tuple[str, ...]) -> _Catalog:
        found = dict(old.artifacts)
        # the artifact each path belongs to (its metadata and checksums included)
        touched = (scope_name(path) for path in changed)
        for directory in dict.fromkeys(name for name in touched if name):
            found.pop(directory, None)
            async for path, entry in index.walk(HOSTED, directory):
                if path.rsplit("/", 2)[0] == directory:  # not a nested artifact's files
                    _add(found, path, entry)
        return _Catalog(found, sorted(found))

    return await _FOLLOWED.get(index, HOSTED, walk=walk, update=update)


def _listed(artifact: _Artifact) -> Listed:
    latest = _newest(list(artifact.versions))
    updated = max(artifact.versions.values())
    count = len(artifact.versions)
    return Listed(
        name=artifact.directory,
        summary=artifact.coordinates,
        detail=f"latest {latest} · {count} version{'s' if count != 1 else ''} · "
        f"updated {updated:%Y-%m-%d}",
    )


# ---------------------------------------------------------------- pages


def artifact_view(artifact: _Artifact, base: str) -> ItemView:
    """An artifact's page: its versions, newest first, and the newest release's snippet."""
    ordered = sorted(artifact.versions, key=version_key, reverse=True)
    latest = _newest(ordered)
    rows = [
        [
            Cell(
                version,
                href=item_href("", _WORD, f"{artifact.directory}/{version}"),
                code=True,
                badges=(("snapshot", "info"),) if version.endswith(SNAPSHOT) else (),
            ),
            Cell(_when(artifact.versions[version])),
        ]
        for version in ordered[:_ROWS]
    ]
    caption = "Versions" if len(ordered) <= _ROWS else f"Newest {_ROWS} of {len(ordered)} versions"
    return ItemView(
        name=artifact.coordinates,
        facts=[
            ("Group ID", artifact.group),
            ("Artifact ID", artifact.artifact),
            ("Latest version", latest),
            ("Path", f"{artifact.directory}/"),
        ],
        commands=[
            Command(
                "pom.xml <dependency>",
                dependency_snippet(artifact.group, artifact.artifact, latest),
            ),
            Command("pom.xml <repository>", repository_snippet(base)),
        ],
        tables=[Table(caption=caption, columns=("Version", "Last deployed"), rows=rows)],
    )


def _kind(artifact: str, version: str, files: Sequence[str]) -> str:
    """The dependency ``<type>``: jar when there is one, else the main file's extension."""
    extensions = []
    for name in files:
        stem = f"{artifact}-{version}."
        if name.startswith(stem):
            extensions.append(name[len(stem) :])
    if "jar" in extensions or not extensions:
        return "jar"
    others = [ext for ext in extensions if ext != "pom" and "." not in ext]
    return others[0] if others else "pom"


def version_view(artifact: _Artifact, version: str, files: list[DirEntry], base: str) -> ItemView:
    """A version's page: its files with sizes and checksums, and the dependency snippet."""
    stored = [(item.name, item.entry) for item in files if item.entry is not None]
    rows = [
        [
            Cell(name, code=True),
            Cell(human_bytes(entry.size)),
            Cell(_when(entry.uploaded)),
            Cell(entry.digests.get("sha1", ""), code=True),
            Cell(entry.sha256, code=True),
        ]
        for name, entry in stored
    ]
    kind = _kind(artifact.artifact, version, [name for name, _ in stored])
    badges: tuple[tuple[str, Mark], ...] = (
        (("snapshot", "info"),) if version.endswith(SNAPSHOT) else ()
    )
    return ItemView(
        name=f"{artifact.coordinates}:{version}",
        badges=badges,
        facts=[
            ("Group ID", artifact.group),
            ("Artifact ID", artifact.artifact),
            ("Version", version),
            ("Path", f"{artifact.directory}/{version}/"),
        ],
        commands=[
            Command(
                "pom.xml <dependency>",
                dependency_snippet(artifact.group, artifact.artifact, version, kind),
            ),
            Command("pom.xml <repository>", repository_snippet(base)),
        ],
        tables=[
            Table(
                caption="Files",
                columns=("File", "Size", "Uploaded", "sha1", "sha256"),
                rows=rows,
                empty="No files.",
            )
        ],
    )


def folder_view(
    directory: str,
    items: list[DirEntry],
    *,
    next_after: str | None = None,
    continued: bool = False,
) -> ItemView:
    """A group directory's page: its subdirectories and files, a page at a time."""
    rows: list[list[Cell]] = []
    for item in items:
        path = f"{directory}/{item.name}"
        entry: PathEntry | None = item.entry
        if entry is None:
            rows.append(
                [Cell(item.name + "/", href=item_href("", _WORD, path), code=True), Cell("")]
            )
        else:
            rows.append([Cell(item.name, code=True), Cell(human_bytes(entry.size))])
    return ItemView(
        name=directory.replace("/", ".") if directory else "/",
        badges=_FOLDER,
        facts=[("Path", f"{directory}/")],
        tables=[
            Table(
                caption="Contents, continued" if continued else "Contents",
                columns=("Name", "Size"),
                rows=rows,
                empty="Empty.",
            )
        ],
        next_after=next_after,
    )


# ---------------------------------------------------------------- the section


async def _list(request: UiRequest, after: str | None, limit: int) -> ItemPage:
    allowed = visible(request, _WORD)
    catalog = await _catalog(_maven(request))
    start = 0 if after is None else bisect.bisect_right(catalog.keys, after)
    items: list[Listed] = []
    position = start
    while position < len(catalog.keys) and len(items) < limit:
        key = catalog.keys[position]
        position += 1
        if _allowed(allowed, key):
            items.append(_listed(catalog.artifacts[key]))
    more = any(_allowed(allowed, key) for key in catalog.keys[position:])
    return ItemPage(items=items, next=items[-1].name if more and items else None)


async def _search(request: UiRequest, text: str, offset: int, limit: int) -> ItemPage:
    allowed = visible(request, _WORD)
    terms = text.lower().split()
    catalog = await _catalog(_maven(request))
    found = [
        catalog.artifacts[key]
        for key in catalog.keys
        if _allowed(allowed, key)
        and all(term in catalog.artifacts[key].coordinates.lower() for term in terms)
    ]
    return ItemPage(items=[_listed(a) for a in found[offset : offset + limit]], total=len(found))


async def _counts(request: UiRequest) -> Counts:
    allowed = visible(request, _WORD)
    catalog = await _catalog(_maven(request))
    shown = [a for key, a in catalog.artifacts.items() if _allowed(allowed, key)]
    return Counts(items=len(shown), versions=sum(len(a.versions) for a in shown))


async def _item(request: UiRequest, name: str) -> ItemView:
    try:
        directory = parse_directory(name)
    except InvalidInput:
        raise NotFound(f"{name[:200]} not found", subject="path") from None
    allowed = visible(request, _WORD)
    if not directory or not _allowed(allowed, directory):
        raise NotFound(f"{name[:200]} not found", subject="path")
    registry = _maven(request)
    catalog = await _catalog(registry)
    artifact = catalog.artifacts.get(directory)
    if artifact is not None:
        return artifact_view(artifact, base_url(request))
    parent, _, version = directory.rpartition("/")
    artifact = catalog.artifacts.get(parent)
    if artifact is not None and version in artifact.versions:
        listing = await registry.listing(directory, limit=_ROWS)  # a version: a few files
        return version_view(artifact, version, listing.items, base_url(request))
    after = parse_cursor(request.query_params.get("after"))
    listing = await registry.listing(directory, after=after, limit=_ROWS)  # NotFound: unknown
    items = [
        item
        for item in listing.items
        if item.name != METADATA and _allowed(allowed, f"{directory}/{item.name}")
    ]
    return folder_view(directory, items, next_after=listing.next_after, continued=after is not None)


UI = UiSection(
    word=_WORD,
    title="Maven",
    noun="artifact",
    list_page=_list,
    item=_item,
    counts=_counts,
    search=_search,
    order=60,
    checks_access=True,
)
