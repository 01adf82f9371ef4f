"""The simple repository API's wire format: negotiation, rendering, and reading upstream pages.

PEP 503 (HTML), PEP 691 (JSON, chosen by ``Accept`` with quality values),
PEP 592 (yanked), PEP 658/714 (core metadata), PEP 700 (versions, size,
upload-time; API version 1.1). Upstream pages are read in either flavour
into :class:`SimpleFile` records, with relative URLs resolved against the
page's URL, so the pull-through cache can rewrite them to NORA.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any, Final

import msgspec

from domain.codecs.json import check_depth
from domain.errors import InvalidInput

__all__ = [
    "HTML",
    "HTML_V1",
    "JSON_V1",
    "MEDIA_TYPES",
    "SimpleFile",
    "SimpleProject",
    "assemble_project",
    "negotiate",
    "parse_project_page",
    "render_files",
    "render_index",
    "render_project",
    "resolve_url",
]

JSON_V1: Final = "application/vnd.pypi.simple.v1+json"
HTML_V1: Final = "application/vnd.pypi.simple.v1+html"
HTML: Final = "text/html"
MEDIA_TYPES: Final = (HTML, JSON_V1, HTML_V1)
"""What NORA serves, in its order of preference when the client's weights tie."""

_ALIASES: Final = {
    "application/vnd.pypi.simple.latest+json": JSON_V1,
    "application/vnd.pypi.simple.latest+html": HTML_V1,
}
_QVALUE: Final = re.compile(r"(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)")
_MAX_ACCEPT: Final = 4096
_API_VERSION: Final = "1.1"
_LEGACY_API_VERSION: Final = "1.0"
_HASH_FRAGMENT: Final = re.compile(r"([a-z0-9_]+)=([0-9a-fA-F]+)")


class SimpleFile(msgspec.Struct, frozen=True, kw_only=True):
    """One distribution file as the simple API describes it.

    ``yanked`` is False, True, or the reason (a non-empty string).
    ``core_metadata`` is None when no metadata file is offered, else the
    hashes of the ``.metadata`` file (possibly empty when unknown).
    """

    filename: str
    url: str
    hashes: dict[str, str] = {}
    requires_python: str | None = None
    yanked: bool | str = False
    core_metadata: dict[str, str] | None = None
    size: int | None = None
    upload_time: str | None = None


class SimpleProject(msgspec.Struct, frozen=True, kw_only=True):
    """A project page: its normalised name, files and (PEP 700) versions."""

    name: str
    files: list[SimpleFile]
    versions: list[str] = []


# ---------------------------------------------------------------- negotiation


def negotiate(accept: str | None) -> str | None:
    """The media type to answer with, or None when the client accepts none of ours.

    No header means ``text/html``. Each media range gets its ``q`` (default
    1, invalid values count as 0); a specific type outweighs a wildcard that
    also covers it; ``q=0`` refuses. The highest weight wins, ties go to
    :data:`MEDIA_TYPES` order.
    """
    if accept is None or not accept.strip():
        return HTML
    weights: dict[str, tuple[int, float]] = {}
    for item in accept[:_MAX_ACCEPT].split(","):
        kind, _, rest = item.partition(";")
        kind = _ALIASES.get(kind.strip().lower(), kind.strip().lower())
        quality = 1.0
        for param in rest.split(";"):
            key, sep, value = param.partition("=")
            if sep and key.strip().lower() == "q":
                value = value.strip()
                quality = float(value) if _QVALUE.fullmatch(value) else 0.0
        for offered in MEDIA_TYPES:
            specificity = _specificity(kind, offered)
            if specificity < 0:
                continue
            best = weights.get(offered)
            if best is None or (specificity, quality) > best:
                weights[offered] = (specificity, quality)
    chosen: str | None = None
    chosen_q = 0.0
    for offered in MEDIA_TYPES:
        entry = weights.get(offered)
        if entry is not None and entry[1] > chosen_q:
            chosen, chosen_q = offered, entry[1]
    return chosen


def _specificity(media_range: str, offered: str) -> int:
    """2 for an exact match, 1 for ``type/*``, 0 for ``*/*``, -1 for no match."""
    if media_range == offered:
        return 2
    if media_range == "*/*":
        return 0
    major, sep, minor = media_range.partition("/")
    if sep and minor == "*" and offered.startswith(major + "/"):
        return 1
    return -1


# ---------------------------------------------------------------- rendering


def _json_file(file: SimpleFile) -> dict[str, Any]:
    out: dict[str, Any] = {"filename": file.filename, "url": file.url, "hashes": file.hashes}
    if file.requires_python:
        out["requires-python"] = file.requires_python
    if file.yanked:
        out["yanked"] = file.yanked
    if file.core_metadata is not None:
        value: dict[str, str] | bool = file.core_metadata or True
        out["core-metadata"] = value
        out["dist-info-metadata"] = value
    if file.size is not None:
        out["size"] = file.size
    if file.upload_time:
        out["upload-time"] = file.upload_time
    return out


def _html_file(file: SimpleFile) -> str:
    href = file.url
    digest = file.hashes.get("sha256")
    if digest:
        href += f"#sha256={digest}"
    attrs = [f'href="{html.escape(href)}"']
    if file.requires_python:
        attrs.append(f'data-requires-python="{html.escape(file.requires_python)}"')
    if file.yanked:
        reason = file.yanked if isinstance(file.yanked, str) else ""
        attrs.append(f'data-yanked="{html.escape(reason)}"')
    if file.core_metadata is not None:
        meta_hash = file.core_metadata.get("sha256")
        value = f"sha256={meta_hash}" if meta_hash else "true"
        attrs.append(f'data-core-metadata="{value}"')
        attrs.append(f'data-dist-info-metadata="{value}"')
    return f"    <a {' '.join(attrs)}>{html.escape(file.filename)}</a><br />\n"


def render_project(project: SimpleProject, media_type: str) -> bytes:
    """The project page as ``media_type`` (one of :data:`MEDIA_TYPES`)."""
    complete = all(file.size is not None for file in project.files)
    entries = [render_files([file], media_type) for file in project.files]
    return assemble_project(project.name, entries, project.versions, media_type, complete=complete)


def render_files(files: Iterable[SimpleFile], media_type: str) -> bytes:
    """The entries of ``files`` on a project page, for :func:`assemble_project`.

    Rendered apart so a hosted project's page is re-assembled from cached
    entries per release after a change, not rendered whole again.
    """
    if media_type == JSON_V1:
        return b",".join(msgspec.json.encode(_json_file(file)) for file in files)
    return "".join(_html_file(file) for file in files).encode("utf-8")


def assemble_project(
    name: str,
    entries: Iterable[bytes],
    versions: list[str],
    media_type: str,
    *,
    complete: bool,
) -> bytes:
    """A project page from :func:`render_files` entries (in page order).

    ``complete`` says every file's size is known (API version 1.1, with
    ``versions``); otherwise the page is API version 1.0.
    """
    api_version = _API_VERSION if complete else _LEGACY_API_VERSION
    if media_type == JSON_V1:
        files = msgspec.Raw(b"[" + b",".join(entry for entry in entries if entry) + b"]")
        doc: dict[str, Any] = {
            "meta": {"api-version": api_version},
            "name": name,
            "files": files,
        }
        if complete:
            doc["versions"] = versions
        return msgspec.json.encode(doc)
    escaped = html.escape(name)
    head = (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{api_version}">\n'
        f"    <title>Links for {escaped}</title>\n  </head>\n  <body>\n"
        f"    <h1>Links for {escaped}</h1>\n"
    )
    return b"".join([head.encode("utf-8"), *entries, b"  </body>\n</html>\n"])


def render_index(names: Iterable[tuple[str, str]], media_type: str) -> bytes:
    """The root page listing ``(display name, normalised name)`` pairs."""
    pairs = list(names)
    if media_type == JSON_V1:
        return msgspec.json.encode(
            {
                "meta": {"api-version": _API_VERSION},
                "projects": [{"name": display} for display, _ in pairs],
            }
        )
    links = "".join(
        f'    <a href="{html.escape(normalised)}/">{html.escape(display)}</a><br />\n'
        for display, normalised in pairs
    )
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{_API_VERSION}">\n'
        "    <title>Simple index</title>\n  </head>\n  <body>\n"
        f"{links}  </body>\n</html>\n"
    ).encode()


# ---------------------------------------------------------------- reading upstream pages


def resolve_url(base: str, ref: str) -> str:
    """RFC 3986 reference resolution, enough for links on index pages."""
    ref = ref.strip()
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", ref):
        return ref
    scheme, sep, rest = base.partition("://")
    if not sep:
        return ref
    authority, slash, path = rest.partition("/")
    path = slash + path
    path = path.split("#", 1)[0].split("?", 1)[0]
    if ref.startswith("//"):
        return f"{scheme}:{ref}"
    if ref.startswith("#"):
        return f"{scheme}://{authority}{path}{ref}"
    ref_path, query_sep, tail = ref.partition("?")
    fragment = ""
    if not query_sep:
        ref_path, fragment_sep, fragment = ref.partition("#")
        suffix = f"#{fragment}" if fragment_sep else ""
    else:
        suffix = "?" + tail
    if ref_path.startswith("/"):
        merged = ref_path
    elif ref_path == "":
        merged = path
    else:
        merged = path[: path.rfind("/") + 1] + ref_path
    return f"{scheme}://{authority}{_remove_dots(merged)}{suffix}"


def _remove_dots(path: str) -> str:
    out: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    joined = "/".join(out)
    return joined if joined.startswith("/") else "/" + joined


def _split_fragment(url: str) -> tuple[str, dict[str, str]]:
    bare, _, fragment = url.partition("#")
    match = _HASH_FRAGMENT.fullmatch(fragment)
    return bare, ({match[1]: match[2].lower()} if match else {})


def _metadata_attr(value: str | None) -> dict[str, str] | None:
    if value is None:
        return None
    if value.lower() == "true":
        return {}
    match = _HASH_FRAGMENT.fullmatch(value.strip())
    return {match[1]: match[2].lower()} if match else None


class _LinkParser(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.files: list[SimpleFile] = []
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self._open is None:
            href = dict(attrs).get("href")
            if href:
                self.base = resolve_url(self.base, href)
        elif tag == "a":
            self._open = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag != "a" or self._open is None:
            return
        attrs, self._open = self._open, None
        href = attrs.get("href")
        if not href:
            return
        url, hashes = _split_fragment(resolve_url(self.base, href))
        filename = "".join(self._text).strip() or url.rsplit("/", 1)[-1]
        yanked: bool | str = False
        if "data-yanked" in attrs:
            yanked = attrs["data-yanked"] or True
        core = _metadata_attr(attrs.get("data-core-metadata"))
        if core is None:
            core = _metadata_attr(attrs.get("data-dist-info-metadata"))
        self.files.append(
            SimpleFile(
                filename=filename,
                url=url,
                hashes=hashes,
                requires_python=attrs.get("data-requires-python") or None,
                yanked=yanked,
                core_metadata=core,
            )
        )


class _JsonFile(msgspec.Struct, kw_only=True, rename="kebab"):
    filename: str
    url: str
    hashes: dict[str, str] = {}
    requires_python: str | None = None
    yanked: bool | str = False
    core_metadata: bool | dict[str, str] | None = None
    dist_info_metadata: bool | dict[str, str] | None = None
    size: int | None = None
    upload_time: str | None = None


class _JsonPage(msgspec.Struct, kw_only=True):
    files: list[_JsonFile] = []


_json_page = msgspec.json.Decoder(_JsonPage)


def parse_project_page(body: bytes, content_type: str | None, url: str) -> list[SimpleFile]:
    """The files on an upstream project page (JSON or HTML, by its Content-Type)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind.endswith("+json") or kind == "application/json":
        try:
            check_depth(body, subject="upstream")
            page = _json_page.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidInput(
                f"upstream page is not valid JSON: {exc}", subject="upstream"
            ) from None
        out: list[SimpleFile] = []
        for item in page.files:
            meta = item.core_metadata if item.core_metadata is not None else item.dist_info_metadata
            core: dict[str, str] | None
            if meta is None or meta is False:
                core = None
            elif meta is True:
                core = {}
            else:
                core = {k: v.lower() for k, v in meta.items()}
            file_url, fragment_hashes = _split_fragment(resolve_url(url, item.url))
            out.append(
                SimpleFile(
                    filename=item.filename,
                    url=file_url,
                    hashes={k: v.lower() for k, v in item.hashes.items()} or fragment_hashes,
                    requires_python=item.requires_python,
                    yanked=item.yanked or False,
                    core_metadata=core,
                    size=item.size,
                    upload_time=item.upload_time,
                )
            )
        return out
    parser = _LinkParser(url)
    try:
        parser.feed(body.decode("utf-8", errors="replace"))
        parser.close()
    except (ValueError, AssertionError) as exc:
        raise InvalidInput(f"upstream page is not valid HTML: {exc}", subject="upstream") from None
    return parser.files
