"""PyPI's part of the dashboard: projects, releases, yanked marks, files and their hashes."""

from __future__ import annotations

from typing import Final

from domain.packages import PackageVersion
from domain.packages.model import PackageSummary
from domain.pypi.grammar import version_key
from domain.pypi.metadata import kept_file_meta, kept_release_meta
from domain.pypi.registry import PypiRegistry
from entrypoints.http.ui.packages import PackageReads, listed
from entrypoints.http.ui.section import (
    Cell,
    Command,
    ItemView,
    Listed,
    Mark,
    Table,
    UiRequest,
    UiSection,
    base_url,
    facade,
)

__all__ = ["UI", "install_command"]

_WORD: Final = "pypi"


def _pypi(request: UiRequest) -> PypiRegistry:
    registry: PypiRegistry = facade(request, _WORD)
    return registry


def install_command(base: str, name: str, version: str) -> str:
    """``pip install --index-url <base>/simple/ <name>==<version>``."""
    return f"pip install --index-url {base}/simple/ {name}=={version}"


def _row(summary: PackageSummary) -> Listed:
    row = listed(summary)
    return Listed(name=row.name, summary=row.summary, detail=f"updated {summary.modified:%Y-%m-%d}")


def _release_row(entry: PackageVersion) -> list[Cell]:
    badges: tuple[tuple[str, Mark], ...] = (("yanked", "warn"),) if entry.yanked else ()
    meta = kept_release_meta(entry.metadata)
    return [
        Cell(entry.version, code=True, badges=badges),
        Cell(f"{entry.uploaded:%Y-%m-%d %H:%M}"),
        Cell(entry.yank_reason if entry.yanked else ""),
        Cell(meta.one("requires_python") or _requires(entry)),
        Cell(str(len(entry.files))),
    ]


def _requires(entry: PackageVersion) -> str:
    for item in entry.files:
        found = kept_file_meta(item.metadata).requires_python
        if found:
            return found
    return ""


def _file_rows(order: list[PackageVersion]) -> list[list[Cell]]:
    rows = []
    for entry in order:
        for item in entry.files:
            meta = kept_file_meta(item.metadata)
            md5 = item.digest("md5")
            rows.append(
                [
                    Cell(item.filename, code=True),
                    Cell(entry.version, code=True),
                    Cell(meta.packagetype),
                    Cell(meta.python_version),
                    Cell(str(item.size)),
                    Cell(item.sha256, code=True),
                    Cell(md5.hex if md5 is not None else "", code=True),
                ]
            )
    return rows


async def _item(request: UiRequest, name: str) -> ItemView:
    package = (await _pypi(request).index.get(name)).package
    order = sorted(package.versions.values(), key=lambda v: version_key(v.version), reverse=True)
    live = [entry for entry in order if not entry.yanked]
    newest = (live or order)[0] if order else None
    meta = kept_release_meta(newest.metadata) if newest is not None else None
    commands = (
        [
            Command(
                "Install with pip", install_command(base_url(request), package.name, newest.version)
            )
        ]
        if newest is not None
        else []
    )
    facts = [
        ("Latest", newest.version if newest is not None else "—"),
        ("Releases", str(len(package.versions))),
    ]
    if meta is not None:
        for label, field in (
            ("Author", "author"),
            ("License", "license"),
            ("Home page", "home_page"),
            ("Requires Python", "requires_python"),
        ):
            value = meta.one(field)
            if value:
                facts.append((label, value))
    facts.append(("Updated", f"{package.modified:%Y-%m-%d %H:%M} UTC"))
    badges: tuple[tuple[str, Mark], ...] = (
        (("every release yanked", "warn"),) if order and not live else ()
    )
    return ItemView(
        name=package.name,
        description=package.description,
        facts=facts,
        badges=badges,
        commands=commands,
        tables=[
            Table(
                caption="Releases",
                columns=("Version", "Uploaded (UTC)", "Yank reason", "Requires Python", "Files"),
                rows=[_release_row(entry) for entry in order],
            ),
            Table(
                caption="Files",
                columns=("File", "Version", "Type", "Python", "Bytes", "sha256", "md5"),
                rows=_file_rows(order),
            ),
        ],
    )


_READS = PackageReads(_WORD, lambda request: _pypi(request).index, describe=_row)

UI = UiSection(
    word=_WORD,
    title="PyPI",
    noun="project",
    list_page=_READS.list_page,
    item=_item,
    counts=_READS.counts,
    search=_READS.search,
    order=30,
)
