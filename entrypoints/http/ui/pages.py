"""The dashboard's routes: overview, per-format lists and items, search, static files.

Every page reads through the formats' sections (:mod:`entrypoints.http.ui.sections`),
which read through the same facades as the protocols; the access layer has
already checked that the caller may read at all, each section filters the
names it lists through ``readable``, and an item page checks its one name the same
way before the section is asked. Static files are versioned in their links
(``?v=``), so an upgrade is seen at once despite their hour of caching.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote, urlencode, urlsplit

import anyio
from litestar import Controller, Request, Response, route
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect

from domain import errors as e
from domain.auth.activity import ActivityEvent
from domain.auth.model import Role
from domain.reports import read_reports
from entrypoints.http.access import login_of, principal_of, readable
from entrypoints.http.answer import Answer
from entrypoints.http.deps import container_of
from entrypoints.http.errors import status_for
from entrypoints.http.links import public_base
from entrypoints.http.ui.forms import form_token
from entrypoints.http.ui.query import PAGE_SIZE, parse_cursor, parse_page, parse_query
from entrypoints.http.ui.render import READS, STATIC, html, render
from entrypoints.http.ui.section import Counts, ItemPage, UiSection, plural
from entrypoints.http.ui.sections import discover, section

__all__ = [
    "RootController",
    "UiController",
    "is_admin",
    "page_root",
    "render_error",
    "show_page",
]

_CHECK_TIMEOUT: Final = 5.0
_SEARCH_PREVIEW: Final = 10
_ACTIVITY_ROWS: Final = 10
_STATIC_HEADERS: Final = {
    "Cache-Control": "public, max-age=3600",
    "X-Content-Type-Options": "nosniff",
}


def page_root(request: Request[Any, Any, Any]) -> str:
    """The path NORA is served under (from NORA_PUBLIC_URL), for every link a page writes."""
    return urlsplit(public_base(request)).path.rstrip("/")


def item_href(root: str, word: str, name: str) -> str:
    """The item page of ``name`` in format ``word``."""
    return f"{root}/ui/{word}/{quote(name, safe='/@:+')}"


def _who(request: Request[Any, Any, Any]) -> str:
    principal = principal_of(request)
    return "" if principal.anonymous else principal.name


def is_admin(request: Request[Any, Any, Any]) -> bool:
    """Who may see the activity trail: anyone when access control is off, else admins."""
    if not container_of(request.app).auth.policy().enabled:
        return True
    principal = principal_of(request)
    return not principal.anonymous and principal.role == Role.ADMIN and not principal.scopes


def show_page(
    request: Request[Any, Any, Any], template: str, *, status: int = 200, **context: Any
) -> Response[str]:
    """A dashboard page: ``template`` with what every page's header needs."""
    root = page_root(request)
    enabled = container_of(request.app).auth.policy().enabled
    anonymous = principal_of(request).anonymous
    body = render(
        template,
        {
            "root": root,
            "sections": discover(),
            "who": _who(request),
            "item_href": lambda word, name: item_href(root, word, name),
            "plural": plural,
            "active": context.pop("active", ""),
            "show_activity": is_admin(request),
            "show_tokens": enabled and not anonymous,
            "sign_in": enabled and anonymous,
            # only a cookie session can be signed out (credentials in a header are the client's)
            "logout_csrf": form_token(request)[0] if login_of(request) is not None else "",
            **context,
        },
    )
    return html(body, status=status, head=request.method == "HEAD")


def _section_or_404(word: str) -> UiSection:
    found = section(word)
    if found is None:
        raise e.NotFound(f"no format {word[:40]!r} in this registry", subject="format")
    return found


async def _health(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    """The checks /ready runs, as (backend, "ok" or what failed)."""
    container = container_of(request.app)
    out: list[tuple[str, str]] = []
    for name, provider in (
        ("storage", container.core.blob_store()),
        ("metadata", container.core.metadata_store()),
        ("rate limits", container.auth.rate_limiter()),
    ):
        try:
            with anyio.fail_after(_CHECK_TIMEOUT):
                await provider.check()
            out.append((name, "ok"))
        except (e.NoraError, TimeoutError, OSError) as exc:
            out.append((name, f"failed: {type(exc).__name__}"))
    return out


async def _storage(request: Request[Any, Any, Any]) -> tuple[dict[str, float], str] | None:
    """Bytes per format label and when they were measured, from the last GC report."""
    meta = container_of(request.app).core.metadata_store()
    try:
        with anyio.fail_after(_CHECK_TIMEOUT):
            reports = await read_reports(meta)
    except (e.NoraError, TimeoutError, OSError):
        return None
    for report in reports:
        measured = {
            sample.labels.get("format", ""): sample.value
            for sample in report.samples
            if sample.name == "nora_storage_bytes"
        }
        if measured:
            return measured, f"{report.at:%Y-%m-%d %H:%M} UTC"
    return None


def human_bytes(value: float) -> str:
    """1536 -> "1.5 KiB"."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop always returns


class UiController(Controller):
    """GET /ui/...: the read-only dashboard."""

    path = "/ui"
    include_in_schema = False

    @route("/", http_method=READS, cache_control=None)
    async def overview(self, request: Request[Any, Any, Any]) -> Response[str]:
        """GET /ui/: counts, storage, health and (admins) recent activity."""
        rows: list[tuple[UiSection, Counts | None, float | None]] = []
        storage = await _storage(request)
        # bytes stored are a figure about every name of a format: shown only to a caller
        # who may read every name of it (the total only to one who may read everything)
        whole = {part.word: readable(request, part.word) is None for part in discover()}
        for part in discover():
            try:
                counts: Counts | None = await part.counts(request)
            except e.NoraError:
                counts = None
            used = None
            if storage is not None and whole[part.word]:
                labels = part.storage_labels or (part.word,)
                found = [storage[0][label] for label in labels if label in storage[0]]
                used = sum(found) if found else 0.0
            rows.append((part, counts, used))
        activity: list[ActivityEvent] | None = None
        if is_admin(request):
            try:
                page = await container_of(request.app).auth.activity().query(limit=_ACTIVITY_ROWS)
                activity = page.items
            except e.NoraError:
                activity = []
        return show_page(
            request,
            "overview.html",
            title="Overview",
            active="overview",
            rows=rows,
            measured=storage[1] if storage is not None else None,
            everything=all(whole.values()),
            total=sum(storage[0].values()) if storage is not None else None,
            human_bytes=human_bytes,
            health=await _health(request),
            activity=activity,
        )

    @route("/search", http_method=READS)
    async def search(self, request: Request[Any, Any, Any]) -> Response[str]:
        """GET /ui/search?q=&format=&page=: every format's matches, or one format's, paged."""
        params = request.query_params
        text = parse_query(params.get("q"))
        page_no = parse_page(params.get("page"))
        word = params.get("format") or ""
        chosen = _section_or_404(word) if word else None
        results: list[tuple[UiSection, ItemPage]] = []
        if text:
            searched = [chosen] if chosen is not None else list(discover())
            size = PAGE_SIZE if chosen is not None else _SEARCH_PREVIEW
            offset = (page_no - 1) * size if chosen is not None else 0
            for part in searched:
                if part.search is not None:
                    results.append((part, await part.search(request, text, offset, size)))
        return show_page(
            request,
            "search.html",
            title=f"Search: {text}" if text else "Search",
            active="search",
            query=text,
            chosen=chosen,
            page_no=page_no,
            page_size=PAGE_SIZE,
            results=results,
        )

    @route("/static/{name:str}", http_method=READS, cache_control=None)
    async def static(self, request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
        """GET /ui/static/<name>: the dashboard's stylesheet and script (public)."""
        found = STATIC.get(name)
        if found is None:
            raise e.NotFound("no such file", subject="file")
        if request.method == "HEAD":
            sized = {**_STATIC_HEADERS, "content-length": str(len(found[0]))}
            return Answer(200, sized, media_type=f"{found[1]}; charset=utf-8")
        return Response(found[0], media_type=found[1], headers=_STATIC_HEADERS)

    @route("/{word:str}", http_method=READS)
    async def listing(self, request: Request[Any, Any, Any], word: FromPath[str]) -> Response[str]:
        """GET /ui/<word>/?after=: one page of a format's items, 50 at a time."""
        part = _section_or_404(word)
        after = parse_cursor(request.query_params.get("after"))
        page = await part.list_page(request, after, PAGE_SIZE)
        return show_page(
            request,
            "list.html",
            title=part.title,
            active=part.word,
            part=part,
            page=page,
            after=after,
        )

    @route("/{word:str}/{name:path}", http_method=READS)
    async def item(
        self, request: Request[Any, Any, Any], word: FromPath[str], name: FromPath[str]
    ) -> Response[str]:
        """GET /ui/<word>/<name>: one item with its versions, files and copy commands."""
        part = _section_or_404(word)
        name = name.lstrip("/")
        allowed = None if part.checks_access else readable(request, part.word)
        if allowed is not None and not allowed(name):  # as if it did not exist
            raise e.NotFound(f"{part.noun} {name[:100]!r} not found", subject=part.noun)
        view = await part.item(request, name)
        return show_page(
            request, "item.html", title=view.name, active=part.word, part=part, view=view
        )


class RootController(Controller):
    """GET / (browsers go to the dashboard) and GET /swagger-ui/ (the API's page)."""

    include_in_schema = False

    @route("/", http_method=READS)
    async def root(self, request: Request[Any, Any, Any]) -> Redirect:
        """GET /: to /ui/ when a browser asks; nothing else is served at the root."""
        if "text/html" not in request.headers.get("accept", ""):
            raise NotFoundException()
        return Redirect(f"{page_root(request)}/ui/", status_code=302)

    @route("/swagger-ui", http_method=READS)
    async def swagger(self, request: Request[Any, Any, Any]) -> Redirect:
        """GET /swagger-ui/: where the original NORA had Swagger UI; Litestar serves it."""
        return Redirect(f"{page_root(request)}/schema/swagger", status_code=302)


def render_error(request: Request[Any, Any, Any], exc: e.NoraError) -> Response[Any]:
    """A domain error (refusals included) as an HTML page; the access layer adds challenges."""
    status = status_for(exc)
    root = page_root(request)
    if isinstance(exc, e.Unauthenticated) and container_of(request.app).auth.policy().enabled:
        # a person, not a client: the login form instead of the browser's Basic dialog
        raw = request.scope.get("raw_path") or b""  # as asked: the routed path drops a final /
        path = raw.decode("latin-1").split("?", 1)[0] if raw else request.url.path
        back = path + (f"?{request.url.query}" if request.url.query else "")
        target = back if request.method in ("GET", "HEAD") else f"{root}/ui/"
        return Redirect(f"{root}/ui/login?{urlencode({'next': target})}", status_code=303)
    message = "Something went wrong on the server." if status == 500 else exc.detail
    body = render(
        "error.html",
        {
            "root": root,
            "sections": discover(),
            "who": "",
            "active": "",
            "show_activity": False,
            "show_tokens": False,
            "sign_in": False,
            "logout_csrf": "",
            "title": f"{status}",
            "status": status,
            "message": message,
        },
    )
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, e.RateLimited) else None
    return html(body, status=status, headers=headers, head=request.method == "HEAD")
