"""What an uploaded chart archive must be, and its Chart.yaml read safely.

A chart is a gzip tar whose regular files all sit under one top-level
directory named after the chart, holding ``Chart.yaml`` (apiVersion v1 or
v2, a name, a SemVer 2 version). The archive is inspected while it streams
(:class:`~domain.codecs.tar.TarScanner`), so nothing is held whole.

YAML is decoded by ``msgspec.yaml`` (PyYAML's safe loader: no tags that
build objects) from at most :data:`MAX_CHART_YAML` bytes, and then walked
within a node budget and a depth limit: an alias bomb (a billion laughs made
of anchors) shares objects rather than copying them, so it is refused by the
walk before anything expands. The walk also turns the document into plain
JSON-ready values (dates as text, keys as strings) for ``index.yaml``.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, Final

import msgspec

from domain.codecs.tar import TarScanner
from domain.errors import InvalidInput, TooLarge
from domain.helm.grammar import parse_name, parse_version

__all__ = [
    "MAX_CHART_YAML",
    "ChartMeta",
    "ChartReader",
    "load_yaml",
    "parse_chart_yaml",
    "prov_target",
]

MAX_CHART_YAML: Final = 256 * 1024
MAX_NODES: Final = 20_000
MAX_DEPTH: Final = 32
_API_VERSIONS: Final = frozenset({"v1", "v2"})
_TOTAL: Final = 128 * 1024 * 1024
_ENTRIES: Final = 20_000


class ChartMeta(msgspec.Struct, frozen=True, kw_only=True):
    """A chart's identity and its whole Chart.yaml as JSON-ready ``fields``."""

    name: str
    version: str
    api_version: str
    fields: dict[str, Any]


def _bad(detail: str) -> InvalidInput:
    return InvalidInput(detail, subject="chart")


def load_yaml(
    data: bytes,
    *,
    what: str = "Chart.yaml",
    max_bytes: int = MAX_CHART_YAML,
    max_nodes: int = MAX_NODES,
) -> Any:
    """A YAML document as plain values, refusing bombs, tags and deep nesting."""
    if len(data) > max_bytes:
        raise TooLarge(f"{what} exceeds {max_bytes} bytes", subject="chart")
    try:
        raw = msgspec.yaml.decode(data)
    except msgspec.DecodeError as exc:
        raise _bad(f"{what} is not valid YAML: {str(exc).splitlines()[0][:200]}") from None
    except (RecursionError, MemoryError, ValueError, TypeError):
        raise _bad(f"{what} is not valid YAML") from None
    return _Plain(max_nodes).convert(raw, 0)


class _Plain:
    """Copies a decoded document into JSON-ready values within the node budget."""

    def __init__(self, max_nodes: int) -> None:
        self.nodes = 0
        self.max_nodes = max_nodes

    def convert(self, value: Any, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise _bad("YAML document is too large once expanded (aliases?)")
        if depth > MAX_DEPTH:
            raise _bad(f"YAML nests deeper than {MAX_DEPTH} levels")
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        if isinstance(value, dict):
            return {self._key(key): self.convert(item, depth + 1) for key, item in value.items()}
        if isinstance(value, list | tuple | set):
            return [self.convert(item, depth + 1) for item in value]
        raise _bad(f"unsupported YAML value of type {type(value).__name__}")

    def _key(self, key: Any) -> str:
        self.nodes += 1
        if isinstance(key, str):
            return key
        if key is None or isinstance(key, bool | int | float):
            return str(key).lower() if isinstance(key, bool) or key is None else str(key)
        if isinstance(key, dt.datetime | dt.date):
            return key.isoformat()
        raise _bad("YAML mapping keys must be scalars")


def parse_chart_yaml(data: bytes) -> ChartMeta:
    """The identity of a chart from its Chart.yaml; ``InvalidInput`` if it has none."""
    doc = load_yaml(data)
    if not isinstance(doc, dict):
        raise _bad("Chart.yaml must be a mapping")
    api = doc.setdefault("apiVersion", "v1")  # Helm reads a missing apiVersion as v1
    if not isinstance(api, str) or api not in _API_VERSIONS:
        raise _bad(f"Chart.yaml apiVersion must be v1 or v2, not {str(api)[:20]!r}")
    name = parse_name(doc.get("name"))
    version = parse_version(doc.get("version"))
    for listed in ("dependencies", "maintainers", "keywords", "sources"):
        if listed in doc and doc[listed] is not None and not isinstance(doc[listed], list):
            raise _bad(f"Chart.yaml {listed} must be a list")
    annotations = doc.get("annotations")
    if annotations is not None and not isinstance(annotations, dict):
        raise _bad("Chart.yaml annotations must be a mapping")
    for dependency in doc.get("dependencies") or []:
        if not isinstance(dependency, dict) or not isinstance(dependency.get("name"), str):
            raise _bad("every Chart.yaml dependency needs a name")
    return ChartMeta(name=name, version=version, api_version=api, fields=doc)


class ChartReader:
    """Checks a chart archive as its bytes stream by: wrap the stream with :meth:`watch`,
    then :meth:`finish` for the chart's identity (``InvalidInput``/``TooLarge`` if bad)."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._tops: set[str] = set()
        self._loose = False
        self._scanner = TarScanner(
            self._wanted,
            max_bytes=MAX_CHART_YAML,
            max_total=_TOTAL,
            max_entries=_ENTRIES,
            max_found=2,  # keeps asking _wanted until a second directory shows
        )

    def _wanted(self, path: str) -> bool:
        top, slash, rest = path.partition("/")
        if not slash:
            self._loose = True
        self._tops.add(top)
        return rest == "Chart.yaml"

    async def watch(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """``chunks`` unchanged, each fed to the archive check (``TooLarge`` past the limit)."""
        seen = 0
        async for chunk in chunks:
            seen += len(chunk)
            if seen > self._max:
                raise TooLarge(f"a chart is limited to {self._max} bytes", subject="chart")
            self._scanner.feed(chunk)
            yield chunk

    def finish(self) -> ChartMeta:
        """The chart's identity once every byte went through :meth:`watch`."""
        found = self._scanner.finish()
        if self._loose or len(self._tops) != 1:
            raise _bad("a chart archive holds exactly one top-level directory")
        if not found:
            raise _bad("the chart archive has no <chart>/Chart.yaml")
        path, data = next(iter(found.items()))
        meta = parse_chart_yaml(data)
        top = path.partition("/")[0]
        if top != meta.name:
            raise _bad(f"the chart directory {top[:100]!r} is not named {meta.name!r}")
        return meta


_PROV_FILE: Final = re.compile(r"^files:\s*\n\s+(\S+\.tgz):\s*sha256:([0-9a-f]{64})\s*$", re.M)


def prov_target(data: bytes) -> tuple[str, str]:
    """The chart file a provenance file signs and its sha256: ``(filename, hex)``."""
    if len(data) > MAX_CHART_YAML:
        raise TooLarge("a provenance file is limited to 256 KiB", subject="prov")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("a provenance file is UTF-8 text", subject="prov") from None
    if not text.startswith("-----BEGIN PGP SIGNED MESSAGE-----"):
        raise InvalidInput("a provenance file is a PGP signed message", subject="prov")
    match = _PROV_FILE.search(text.replace("\r\n", "\n"))
    if match is None:
        raise InvalidInput("the provenance file names no chart archive", subject="prov")
    return match[1], match[2]
