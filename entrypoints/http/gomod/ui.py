"""Go's part of the dashboard: modules, their versions, retracted marks and zip checksums.

A module page reads the module from the facade the GOPROXY edge serves, marks
the versions its newest go.mod retracts (the versions ``@latest`` skips), and
gives the ``go get`` line with ``GOPROXY`` pointing here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from domain.errors import InvalidInput, NotFound
from domain.gomod.grammar import check_path, is_pseudo, order_key, parse_version
from domain.gomod.registry import GoRegistry
from domain.packages import PackageVersion
from entrypoints.http.ui.packages import PackageReads
from entrypoints.http.ui.pages import human_bytes
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

__all__ = ["UI", "get_command", "module_view"]

_WORD: Final = "go"
_ROWS: Final = 200
"""Versions shown on a module's page, newest first."""


def _modules(request: UiRequest) -> GoRegistry:
    registry: GoRegistry = facade(request, _WORD)
    return registry


def _allowed(request: UiRequest, name: str) -> None:
    check = visible(request, _WORD)
    if check is not None and not check(name):
        raise NotFound(f"module {name[:100]!r} not found", subject="package")


def get_command(base: str, module: str, version: str) -> str:
    """``go get module@version`` through this registry (private paths skip the checksum DB)."""
    return f"GOPROXY={base}/go GONOSUMDB={module} go get {module}@{version}"


def _ordered(versions: Sequence[PackageVersion]) -> list[PackageVersion]:
    return sorted(versions, key=lambda v: order_key(parse_version(v.version)), reverse=True)


def module_view(
    module: str,
    versions: Sequence[PackageVersion],
    retracted: Sequence[str],
    base: str,
    facts: Sequence[tuple[str, str]] = (),
) -> ItemView:
    """The module page: ``versions`` newest first, ``retracted`` ones marked."""
    ordered = _ordered(versions)
    gone = set(retracted)
    chosen = next(
        (v for v in ordered if v.version not in gone and not is_pseudo(v.version)),
        ordered[0] if ordered else None,
    )
    rows: list[list[Cell]] = []
    for version in ordered[:_ROWS]:
        badges: list[tuple[str, Mark]] = []
        if version.version in gone:
            badges.append(("retracted", "warn"))
        if is_pseudo(version.version):
            badges.append(("pseudo-version", "info"))
        archive = version.file(version.version + ".zip")
        rows.append(
            [
                Cell(version.version, code=True, badges=tuple(badges)),
                Cell(f"{version.uploaded:%Y-%m-%d %H:%M} UTC"),
                Cell(human_bytes(archive.size) if archive is not None else ""),
                Cell(archive.sha256 if archive is not None else "", code=True),
            ]
        )
    caption = "Versions" if len(ordered) <= _ROWS else f"Newest {_ROWS} of {len(ordered)} versions"
    shown = list(facts)
    if chosen is not None:
        shown.insert(0, ("Latest version", chosen.version))
    return ItemView(
        name=module,
        facts=[(label, value) for label, value in shown if value],
        commands=(
            [Command("go get", get_command(base, module, chosen.version))]
            if chosen is not None
            else []
        ),
        tables=[
            Table(
                caption=caption,
                columns=("Version", "Published", "Zip size", "Zip sha256"),
                rows=rows,
                empty="No versions.",
            )
        ],
    )


async def _item(request: UiRequest, name: str) -> ItemView:
    try:
        module = check_path(name)
    except InvalidInput:
        raise NotFound(f"module {name[:100]!r} not found", subject="package") from None
    _allowed(request, module)
    registry = _modules(request)
    package = (await registry.index.get(module)).package
    return module_view(
        package.name,
        list(package.versions.values()),
        await registry.retracted(module),
        base_url(request),
        [
            ("Created", f"{package.created:%Y-%m-%d}"),
            ("Updated", f"{package.modified:%Y-%m-%d}"),
        ],
    )


_READS = PackageReads(_WORD, lambda request: _modules(request).index)

UI = UiSection(
    word=_WORD,
    title="Go modules",
    noun="module",
    list_page=_READS.list_page,
    item=_item,
    counts=_READS.counts,
    search=_READS.search,
    order=50,
)
