"""Cargo's part of the dashboard: crates, their versions, yanked marks and checksums.

The page reads the crate from the same facade the sparse index is served from,
and shows the two things a user pastes: the ``[dependencies]`` line and the
``$CARGO_HOME/config.toml`` that points cargo at this registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from domain.cargo.grammar import version_order
from domain.cargo.metadata import CrateVersion
from domain.cargo.registry import CargoRegistry
from domain.errors import InvalidInput, NotFound
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

__all__ = ["UI", "crate_view"]

_WORD: Final = "cargo"
_REGISTRY: Final = "nora"
"""The registry's name in the config snippet (``--registry nora``)."""
_ROWS: Final = 200
"""Versions shown on a crate's page, newest first."""
_meta: Final = msgspec.msgpack.Decoder(CrateVersion)


def _crates(request: UiRequest) -> CargoRegistry:
    registry: CargoRegistry = facade(request, _WORD)
    return registry


def _allowed(request: UiRequest, name: str) -> None:
    check = visible(request, _WORD)
    if check is not None and not check(name):
        raise NotFound(f"crate {name[:100]!r} not found", subject="package")


def _described(version: PackageVersion) -> CrateVersion | None:
    if not version.metadata:
        return None
    try:
        return _meta.decode(version.metadata)
    except msgspec.DecodeError:
        return None


def config_snippet(base: str) -> str:
    """``$CARGO_HOME/config.toml`` naming this registry and resolving crates through it."""
    return (
        f"[registries.{_REGISTRY}]\n"
        f'index = "sparse+{base}/cargo/index/"\n'
        "[source.crates-io]\n"
        f'replace-with = "{_REGISTRY}"'
    )


def crate_view(
    name: str,
    versions: Sequence[PackageVersion],
    base: str,
    facts: Sequence[tuple[str, str]] = (),
) -> ItemView:
    """The crate page of ``versions`` (any order), newest first, after ``facts``."""
    ordered = sorted(versions, key=lambda v: version_order(v.version), reverse=True)
    live = [v for v in ordered if not v.yanked]
    chosen = (live or ordered)[0] if ordered else None
    rows: list[list[Cell]] = []
    for version in ordered[:_ROWS]:
        badges: tuple[tuple[str, Mark], ...] = (("yanked", "warn"),) if version.yanked else ()
        crate = version.files[0] if version.files else None
        described = _described(version)
        rows.append(
            [
                Cell(version.version, code=True, badges=badges),
                Cell(f"{version.uploaded:%Y-%m-%d %H:%M} UTC"),
                Cell(human_bytes(crate.size) if crate is not None else ""),
                Cell(described.license if described is not None else ""),
                Cell(crate.sha256 if crate is not None else "", code=True),
            ]
        )
    caption = "Versions" if len(ordered) <= _ROWS else f"Newest {_ROWS} of {len(ordered)} versions"
    commands: list[Command] = []
    if chosen is not None:
        commands.append(Command("Cargo.toml [dependencies]", f'{name} = "{chosen.version}"'))
    commands.append(Command("$CARGO_HOME/config.toml", config_snippet(base)))
    latest = _described(chosen) if chosen is not None else None
    shown = [(label, value) for label, value in facts if value]
    if chosen is not None:
        shown.insert(0, ("Latest version", chosen.version))
    if latest is not None:
        shown += [
            (label, value)
            for label, value in (
                ("License", latest.license),
                ("Repository", latest.repository),
                ("Keywords", ", ".join(latest.keywords)),
            )
            if value
        ]
    return ItemView(
        name=name,
        description=latest.description if latest is not None else "",
        facts=shown,
        badges=(("all versions yanked", "warn"),) if ordered and not live else (),
        commands=commands,
        tables=[
            Table(
                caption=caption,
                columns=("Version", "Published", "Size", "License", "Checksum (sha256)"),
                rows=rows,
                empty="No versions.",
            )
        ],
    )


async def _item(request: UiRequest, name: str) -> ItemView:
    _allowed(request, name)
    try:
        package = (await _crates(request).index.get(name)).package
    except InvalidInput:  # not a crate name: no such crate
        raise NotFound(f"crate {name[:100]!r} not found", subject="package") from None
    _allowed(request, package.name)
    return crate_view(
        package.name,
        list(package.versions.values()),
        base_url(request),
        [
            ("Owners", ", ".join(package.owners)),
            ("Created", f"{package.created:%Y-%m-%d}"),
            ("Updated", f"{package.modified:%Y-%m-%d}"),
        ],
    )


_READS = PackageReads(_WORD, lambda request: _crates(request).index)

UI = UiSection(
    word=_WORD,
    title="Cargo",
    noun="crate",
    list_page=_READS.list_page,
    item=_item,
    counts=_READS.counts,
    search=_READS.search,
    order=40,
)
