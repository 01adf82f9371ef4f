"""Helm's part of the dashboard: charts of the classic repository and their versions.

A chart page shows the ``index.yaml`` entries the facade serves (newest first):
version, app version, digest, deprecated marks; and the ``helm repo add`` +
``helm pull`` lines for this repository.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from domain.errors import InvalidInput, NotFound
from domain.helm.grammar import parse_name
from domain.helm.registry import HelmRegistry
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
    visible,
)

__all__ = ["UI", "chart_view", "pull_command"]

_WORD: Final = "helm"
_REPO: Final = "nora"
"""The repository's name in the ``helm repo add`` line."""
_ROWS: Final = 200


def _charts(request: UiRequest) -> HelmRegistry:
    registry: HelmRegistry = facade(request, _WORD)
    return registry


def pull_command(base: str, chart: str, version: str) -> str:
    """Add this repository to helm, then pull ``chart`` at ``version``."""
    return f"helm repo add {_REPO} {base}/helm && helm pull {_REPO}/{chart} --version {version}"


def _text(entry: Mapping[str, Any], field: str) -> str:
    value = entry.get(field)
    return value if isinstance(value, str) else ""


def chart_view(
    name: str, entries: Sequence[Mapping[str, Any]], base: str, updated: str = ""
) -> ItemView:
    """The chart page of its index entries (newest first, as the facade gives them)."""
    newest = entries[0] if entries else {}
    rows: list[list[Cell]] = []
    for entry in entries[:_ROWS]:
        badges: tuple[tuple[str, Mark], ...] = (
            (("deprecated", "warn"),) if entry.get("deprecated") is True else ()
        )
        rows.append(
            [
                Cell(_text(entry, "version"), code=True, badges=badges),
                Cell(_text(entry, "appVersion")),
                Cell(_text(entry, "created")[:16].replace("T", " ")),
                Cell(_text(entry, "digest"), code=True),
            ]
        )
    version = _text(newest, "version")
    facts = [
        ("Latest version", version),
        ("App version", _text(newest, "appVersion")),
        ("Type", _text(newest, "type")),
        ("Home", _text(newest, "home")),
        ("Updated", updated),
    ]
    caption = "Versions" if len(entries) <= _ROWS else f"Newest {_ROWS} of {len(entries)} versions"
    return ItemView(
        name=name,
        description=_text(newest, "description"),
        facts=[(label, value) for label, value in facts if value],
        badges=(("deprecated", "warn"),) if newest.get("deprecated") is True else (),
        commands=[Command("helm", pull_command(base, name, version))] if version else [],
        tables=[
            Table(
                caption=caption,
                columns=("Version", "App version", "Created", "Digest (sha256)"),
                rows=rows,
                empty="No versions.",
            )
        ],
    )


async def _item(request: UiRequest, name: str) -> ItemView:
    try:
        chart = parse_name(name)
    except InvalidInput:
        raise NotFound(f"chart {name[:100]!r} not found", subject="package") from None
    check = visible(request, _WORD)
    if check is not None and not check(chart):
        raise NotFound(f"chart {chart[:100]!r} not found", subject="package")
    registry = _charts(request)
    package = (await registry.index.get(chart)).package
    entries = await registry.versions(chart)
    return chart_view(package.name, entries, base_url(request), f"{package.modified:%Y-%m-%d}")


_READS = PackageReads(_WORD, lambda request: _charts(request).index)

UI = UiSection(
    word=_WORD,
    title="Helm charts",
    noun="chart",
    list_page=_READS.list_page,
    item=_item,
    counts=_READS.counts,
    search=_READS.search,
    order=80,
)
