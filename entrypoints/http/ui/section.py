"""What a format hands the dashboard: :class:`UiSection`, and the views its pages show.

The dashboard's templates know no format. A format describes its items in
these neutral shapes (facts, tables of cells, commands), and the templates lay
them out; so a new format adds one ``ui.py`` and no template.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from litestar import Request

from entrypoints.http.access import readable
from entrypoints.http.deps import container_of
from entrypoints.http.links import public_base

__all__ = [
    "Cell",
    "Command",
    "Counts",
    "ItemPage",
    "ItemView",
    "Listed",
    "Mark",
    "Table",
    "UiRequest",
    "UiSection",
    "base_url",
    "facade",
    "host_of",
    "plural",
    "visible",
]

UiRequest = Request[Any, Any, Any]
"""The request a section is called with (for its facade, access filter and base URL)."""

Mark = Literal["", "good", "warn", "bad", "info"]
"""How a badge is coloured: ``warn`` for yanked or deprecated, ``info`` for tags."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One table cell: text, optionally a link (inside /ui/), monospace, or a badge."""

    text: str
    href: str = ""
    code: bool = False
    mark: Mark | None = None
    """Not None: shown as a badge coloured by the mark."""
    badges: tuple[tuple[str, Mark], ...] = ()
    """Badges shown after the text (dist-tags, "yanked", "deprecated")."""


@dataclass(frozen=True, slots=True)
class Table:
    """A captioned table of an item: versions, tags, files, referrers."""

    caption: str
    columns: tuple[str, ...]
    rows: Sequence[Sequence[Cell]]
    empty: str = "None."


@dataclass(frozen=True, slots=True)
class Command:
    """A command (or snippet) a user copies to fetch the item with its client."""

    label: str
    text: str
    """Shown as selectable text; the copy button copies exactly this."""


@dataclass(frozen=True, slots=True)
class Listed:
    """One row of a list or of search results."""

    name: str
    """The item's name as the item page's URL takes it (``/ui/<word>/<name>``)."""
    summary: str = ""
    """A short description (the package's own, or "3 tags")."""
    detail: str = ""
    """A second, dimmer fact: latest version, last change."""
    badges: tuple[tuple[str, Mark], ...] = ()


@dataclass(frozen=True, slots=True)
class ItemPage:
    """One page of a list or search: at most the page size of items."""

    items: Sequence[Listed]
    next: str | None = None
    """The cursor of the next page (lists), None on the last page."""
    total: int | None = None
    """How many items match, when known cheaply (search)."""


@dataclass(frozen=True, slots=True)
class ItemView:
    """Everything an item page shows."""

    name: str
    description: str = ""
    facts: Sequence[tuple[str, str]] = ()
    """(label, value) pairs: latest version, created, owners, digest."""
    badges: tuple[tuple[str, Mark], ...] = ()
    commands: Sequence[Command] = ()
    tables: Sequence[Table] = ()
    next_after: str | None = None
    """Where the next page of a long listing (a folder) starts: the page links ``?after=``."""


@dataclass(frozen=True, slots=True)
class Counts:
    """What the overview shows of a format: items (packages, repositories) and versions."""

    items: int
    versions: int | None = None
    """Versions (or tags); None when the format cannot count them cheaply."""


ListPage = Callable[[UiRequest, str | None, int], Awaitable[ItemPage]]
Search = Callable[[UiRequest, str, int, int], Awaitable[ItemPage]]


@dataclass(frozen=True, slots=True)
class UiSection:
    """A format's part of the dashboard, declared as ``UI`` in ``entrypoints/http/<pkg>/ui.py``.

    Every callable gets the request first: it reaches its facade with
    :func:`facade`, filters names with :func:`entrypoints.http.access.readable`
    (``visible`` below) and builds links with :func:`base_url`.
    """

    word: str
    """The format word (``npm``, ``docker``): the URL segment /ui/<word>/ and the scope word."""
    title: str
    """The nav entry and heading ("npm", "Docker / OCI")."""
    noun: str
    """What one item is called, singular ("package", "repository")."""
    list_page: ListPage
    """``(request, after, limit)``: items after the cursor ``after`` (None: from the start),
    in a stable order, at most ``limit``, only names the caller may read; ``next`` is the
    cursor of the following page (the last name shown, or anything the section parses)."""
    item: Callable[[UiRequest, str], Awaitable[ItemView]]
    """``(request, name)``: the item page; raise ``NotFound`` for an unknown or unreadable name."""
    counts: Callable[[UiRequest], Awaitable[Counts]]
    """``(request)``: the overview's figures, over the names the caller may read; cheap."""
    search: Search | None = None
    """``(request, text, offset, limit)``: items matching every word of ``text`` by name (and
    description where stored), best first, readable only, with ``total``. None: not searchable."""
    order: int = 50
    """Position in the nav (smaller first; then by word)."""
    plural: str = ""
    """The noun's plural when it is not ``noun + "s"`` ("repositories")."""
    checks_access: bool = False
    """True when ``item`` checks the caller's access itself: path formats, whose URL names
    (a version directory, a folder) are not the names their scopes match. Otherwise the
    core refuses a name the caller may not read before ``item`` is asked."""
    storage_labels: tuple[str, ...] = field(default=())
    """``nora_storage_bytes`` format labels this section's storage is reported under
    (default: its word)."""


def plural(part: UiSection) -> str:
    """What several items of ``part`` are called."""
    return part.plural or part.noun + "s"


def facade(request: UiRequest, word: str) -> Any:
    """The registry facade of format ``word``: the one the protocol handlers use."""
    return getattr(container_of(request.app), word).registry()


def visible(request: UiRequest, word: str) -> Callable[[str], bool] | None:
    """The caller's read filter for ``word`` (None: every name)."""
    return readable(request, word)


def base_url(request: UiRequest) -> str:
    """``NORA_PUBLIC_URL`` or the request's base URL, no trailing slash."""
    return public_base(request)


def host_of(base: str) -> str:
    """``host:port/path`` of a base URL (what ``docker pull`` takes)."""
    return base.split("://", 1)[-1].rstrip("/")
