"""npm's part of the dashboard: packages, versions, dist-tags, deprecations, tarball hashes."""

from __future__ import annotations

from typing import Final

from domain.npm.grammar import parse_name, semver_key
from domain.npm.registry import NpmRegistry
from domain.packages import PackageFile, PackageVersion
from entrypoints.http.ui.packages import PackageReads
from entrypoints.http.ui.section import (
    Cell,
    Command,
    ItemView,
    Mark,
    Table,
    UiRequest,
    UiSection,
    base_url,
    facade,
)

__all__ = ["UI", "install_command"]

_WORD: Final = "npm"


def _npm(request: UiRequest) -> NpmRegistry:
    registry: NpmRegistry = facade(request, _WORD)
    return registry


def install_command(base: str, name: str, version: str) -> str:
    """``npm install <name>@<version> --registry <base>/npm/``."""
    return f"npm install {name}@{version} --registry {base}/npm/"


def _tarball(entry: PackageVersion) -> PackageFile | None:
    return entry.files[0] if entry.files else None


def _version_row(entry: PackageVersion, tags: list[str]) -> list[Cell]:
    file = _tarball(entry)
    badges: list[tuple[str, Mark]] = [(tag, "info") for tag in tags]
    if entry.deprecated:
        badges.append(("deprecated", "warn"))
    sha512 = file.digest("sha512") if file is not None else None
    sha1 = file.digest("sha1") if file is not None else None
    return [
        Cell(entry.version, code=True, badges=tuple(badges)),
        Cell(f"{entry.uploaded:%Y-%m-%d %H:%M}"),
        Cell(entry.deprecated),
        Cell(file.filename if file is not None else "", code=True),
        Cell(str(file.size) if file is not None else ""),
        Cell(sha512.sri() if sha512 is not None else "", code=True),
        Cell(sha1.hex if sha1 is not None else "", code=True),
    ]


async def _item(request: UiRequest, name: str) -> ItemView:
    package = (await _npm(request).index.get(parse_name(name).full)).package
    order = sorted(package.versions.values(), key=lambda v: semver_key(v.version), reverse=True)
    tags_of: dict[str, list[str]] = {}
    for tag, version in sorted(package.dist_tags.items()):
        tags_of.setdefault(version, []).append(tag)
    latest = package.dist_tags.get("latest") or (order[0].version if order else "")
    newest = package.versions.get(latest)
    badges: tuple[tuple[str, Mark], ...] = ()
    if newest is not None and newest.deprecated:
        badges = (("deprecated", "warn"),)
    commands = (
        [Command("Install with npm", install_command(base_url(request), package.name, latest))]
        if latest
        else []
    )
    facts = [
        ("Latest", latest or "—"),
        ("Versions", str(len(package.versions))),
        ("Dist-tags", ", ".join(f"{t}: {v}" for t, v in sorted(package.dist_tags.items())) or "—"),
        ("Maintainers", ", ".join(package.owners) or "—"),
        ("Keywords", ", ".join(package.keywords) or "—"),
        ("Created", f"{package.created:%Y-%m-%d %H:%M} UTC"),
        ("Modified", f"{package.modified:%Y-%m-%d %H:%M} UTC"),
    ]
    versions = Table(
        caption="Versions",
        columns=(
            "Version",
            "Published (UTC)",
            "Deprecated",
            "Tarball",
            "Bytes",
            "Integrity",
            "shasum",
        ),
        rows=[_version_row(entry, tags_of.get(entry.version, [])) for entry in order],
    )
    return ItemView(
        name=package.name,
        description=package.description,
        facts=facts,
        badges=badges,
        commands=commands,
        tables=[versions],
    )


_READS = PackageReads(_WORD, lambda request: _npm(request).index)

UI = UiSection(
    word=_WORD,
    title="npm",
    noun="package",
    list_page=_READS.list_page,
    item=_item,
    counts=_READS.counts,
    search=_READS.search,
    order=20,
)
