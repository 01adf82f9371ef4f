"""Docker / OCI's part of the dashboard: repositories, tags, digests, sizes, platforms, referrers.

Only hosted repositories are listed (as ``/v2/_catalog`` lists them); a page
shows a repository's newest tags with what each manifest holds, and the
artifacts (signatures, SBOMs) that refer to them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from domain.digests import Digest
from domain.errors import NotFound
from domain.oci.grammar import parse_name
from domain.oci.media import OCI_INDEX
from domain.oci.registry import OciRegistry
from domain.oci.summary import ManifestSummary, summarise
from entrypoints.http.ui.pages import human_bytes
from entrypoints.http.ui.section import (
    Cell,
    Command,
    Counts,
    ItemPage,
    ItemView,
    Listed,
    Table,
    UiRequest,
    UiSection,
    base_url,
    facade,
    host_of,
    visible,
)

__all__ = ["UI", "pull_command"]

_WORD: Final = "docker"
_TAGS_SHOWN: Final = 100
_REFERRERS_SHOWN: Final = 50
_COUNT_TAGS_UP_TO: Final = 500
"""The overview counts tags only up to this many repositories (a scan each)."""
_SCAN: Final = 1000


def _oci(request: UiRequest) -> OciRegistry:
    registry: OciRegistry = facade(request, _WORD)
    return registry


def pull_command(base: str, name: str, reference: str) -> str:
    """``docker pull <host:port>/<name>:<tag>`` (``@<digest>`` for a digest)."""
    separator = "@" if ":" in reference else ":"
    return f"docker pull {host_of(base)}/{name}{separator}{reference}"


async def _names(registry: OciRegistry, request: UiRequest) -> list[str]:
    """Every hosted repository the caller may read (for counts and search)."""
    allowed = visible(request, _WORD)
    names: list[str] = []
    last: str | None = None
    while True:
        page = await registry.catalog(_SCAN, last, allowed)
        names.extend(page.items)
        if not page.more or not page.items:
            return names
        last = page.items[-1]


async def _list(request: UiRequest, after: str | None, limit: int) -> ItemPage:
    page = await _oci(request).catalog(limit, after, visible(request, _WORD))
    items = [Listed(name=name) for name in page.items]
    return ItemPage(items=items, next=items[-1].name if page.more and items else None)


async def _search(request: UiRequest, text: str, offset: int, limit: int) -> ItemPage:
    terms = text.lower().split()
    found = [n for n in await _names(_oci(request), request) if all(t in n for t in terms)]
    found.sort(key=lambda n: (not any(n == t or n.endswith("/" + t) for t in terms), n))
    return ItemPage(
        items=[Listed(name=n) for n in found[offset : offset + limit]], total=len(found)
    )


async def _counts(request: UiRequest) -> Counts:
    registry = _oci(request)
    names = await _names(registry, request)
    if len(names) > _COUNT_TAGS_UP_TO:
        return Counts(items=len(names))
    tags = 0
    for name in names:
        tags += len(await registry.hosted_tags(name))
    return Counts(items=len(names), versions=tags)


def _kind(summary: ManifestSummary | None) -> str:
    if summary is None:
        return "unreadable"
    if summary.platforms or summary.media_type == OCI_INDEX:
        return "index"
    if summary.artifact_type and "image.config" not in summary.artifact_type:
        return summary.artifact_type
    return "image"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else ""


async def _item(request: UiRequest, name: str) -> ItemView:
    registry = _oci(request)
    name = parse_name(name)
    if not await registry.is_hosted(name):
        raise NotFound(f"repository {name!r} not found", subject="repository")
    tags = await registry.hosted_tags(name)
    _epoch = datetime.min
    newest = sorted(
        tags,
        key=lambda pair: ((pair[1].pushed or _epoch).replace(tzinfo=None), pair[0]),
        reverse=True,
    )
    shown = newest[:_TAGS_SHOWN]
    summaries: dict[str, ManifestSummary | None] = {}
    for _, doc in shown:
        if doc.digest not in summaries:
            stored = await registry.manifest(name, Digest.parse(doc.digest))
            summaries[doc.digest] = summarise(stored.body, stored.media_type)
    rows = []
    for tag, doc in shown:
        summary = summaries[doc.digest]
        platforms = (
            ", ".join(p.platform for p in summary.platforms if p.platform) if summary else ""
        )
        rows.append(
            [
                Cell(tag, code=True),
                Cell(doc.digest, code=True),
                Cell(_kind(summary)),
                Cell(human_bytes(summary.size) if summary else ""),
                Cell(platforms),
                Cell(_when(doc.pushed)),
            ]
        )
    referrers = []
    tag_of = {doc.digest: tag for tag, doc in reversed(shown)}
    for digest in list(summaries)[:_REFERRERS_SHOWN]:
        page = await registry.referrers(name, Digest.parse(digest), n=_REFERRERS_SHOWN)
        for descriptor in page.items:
            referrers.append(
                [
                    Cell(tag_of.get(digest, digest), code=True),
                    Cell(descriptor.artifactType or descriptor.mediaType),
                    Cell(descriptor.digest, code=True),
                    Cell(human_bytes(descriptor.size)),
                ]
            )
    base = base_url(request)
    commands = []
    if newest:
        pick = next((tag for tag, _ in newest if tag == "latest"), newest[0][0])
        commands.append(Command("Pull with docker", pull_command(base, name, pick)))
        digest = dict(newest)[pick].digest
        commands.append(Command("Pull by digest", pull_command(base, name, digest)))
    facts = [("Tags", str(len(tags)))]
    if len(tags) > len(shown):
        facts.append(("Shown", f"the {len(shown)} most recently pushed tags"))
    return ItemView(
        name=name,
        facts=facts,
        commands=commands,
        tables=[
            Table(
                caption="Tags",
                columns=("Tag", "Digest", "Kind", "Size", "Platforms", "Pushed (UTC)"),
                rows=rows,
                empty="No tags.",
            ),
            Table(
                caption="Referrers (signatures, SBOMs, attestations)",
                columns=("Refers to", "Artifact type", "Digest", "Size"),
                rows=referrers,
                empty="No artifacts refer to these tags.",
            ),
        ],
    )


UI = UiSection(
    word=_WORD,
    title="Docker / OCI",
    noun="repository",
    plural="repositories",
    list_page=_list,
    item=_item,
    counts=_counts,
    search=_search,
    order=10,
)
