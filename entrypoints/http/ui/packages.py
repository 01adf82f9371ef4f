"""Lists, searches and counts for formats built on the shared package core.

A package format's ``ui.py`` (npm, PyPI, Cargo, Go, Helm) hands these its
facade's :class:`~domain.packages.index.PackageIndex`; they read the index's
heads page by page (:meth:`PackageIndex.page`), so a page of a 10,000-package registry
reads about 50 heads, never every package, even right after a change; counts and search
use what the index keeps per generation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from domain.packages import PackageIndex
from domain.packages.model import PackageSummary
from entrypoints.http.ui.section import Counts, ItemPage, Listed, UiRequest, visible

__all__ = ["PackageReads", "count_packages", "list_packages", "listed", "search_packages"]

_SUMMARY: Final = 240
Describe = Callable[[PackageSummary], Listed]


def listed(summary: PackageSummary) -> Listed:
    """The default row of a package: its description, latest version and last change."""
    latest = summary.dist_tags.get("latest", "")
    detail = f"latest {latest} · " if latest else ""
    return Listed(
        name=summary.name,
        summary=_short(summary.description),
        detail=f"{detail}updated {summary.modified:%Y-%m-%d}",
    )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SUMMARY else text[: _SUMMARY - 1] + "…"


async def list_packages(
    index: PackageIndex,
    visible: Callable[[str], bool] | None,
    after: str | None,
    limit: int,
    describe: Describe = listed,
) -> ItemPage:
    """Packages after the package named ``after``, in the index's order, readable only."""
    summaries, more = await index.page(after=after, limit=limit, visible=visible)
    items = [describe(summary) for summary in summaries]
    return ItemPage(items=items, next=items[-1].name if more and items else None)


async def search_packages(
    index: PackageIndex,
    visible: Callable[[str], bool] | None,
    text: str,
    offset: int,
    limit: int,
    describe: Describe = listed,
) -> ItemPage:
    """Packages matching every word of ``text`` (name, description, keywords), best first."""
    page = await index.search(text, size=limit, offset=offset, visible=visible)
    return ItemPage(items=[describe(hit.package) for hit in page.items], total=page.total)


async def count_packages(index: PackageIndex, visible: Callable[[str], bool] | None) -> Counts:
    """Packages and versions the caller may read (one scan of the heads per generation)."""
    versions = await index.version_counts()
    if visible is None:
        return Counts(items=len(versions), versions=sum(versions.values()))
    names = [name for name in versions if visible(name)]
    return Counts(items=len(names), versions=sum(versions[name] for name in names))


@dataclass(frozen=True, slots=True)
class PackageReads:
    """A package format section's list, search and counts, over its facade's index.

    Each section names only its word, how a request reaches its index, and how
    a row reads; the caller's read filter is applied here, the same for all.
    """

    word: str
    index: Callable[[UiRequest], PackageIndex]
    describe: Describe = listed

    async def list_page(self, request: UiRequest, after: str | None, limit: int) -> ItemPage:
        index, allowed = self.index(request), visible(request, self.word)
        return await list_packages(index, allowed, after, limit, self.describe)

    async def search(self, request: UiRequest, text: str, offset: int, limit: int) -> ItemPage:
        index, allowed = self.index(request), visible(request, self.word)
        return await search_packages(index, allowed, text, offset, limit, self.describe)

    async def counts(self, request: UiRequest) -> Counts:
        return await count_packages(self.index(request), visible(request, self.word))
