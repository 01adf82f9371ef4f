"""Core metadata (the ``METADATA`` / ``PKG-INFO`` file) and what NORA keeps of an upload.

The core metadata format is RFC 822 style headers followed by an optional
body (the long description). :func:`parse_core_metadata` reads the headers
without the ``email`` package's leniency surprises: ``Key: value`` lines,
continuation lines starting with whitespace, a blank line ending the block.
"""

from __future__ import annotations

from typing import Final

import msgspec

from domain.errors import InvalidInput

__all__ = [
    "MAX_METADATA_BYTES",
    "CoreMetadata",
    "FileMeta",
    "ReleaseMeta",
    "form_fields",
    "kept_file_meta",
    "kept_release_meta",
    "parse_core_metadata",
]

MAX_METADATA_BYTES: Final = 4 * 1024 * 1024
"""A METADATA file larger than this is refused (the description lives in it)."""


class CoreMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """The fields NORA checks or serves; ``fields`` holds every header (multi-valued)."""

    name: str
    version: str
    requires_python: str = ""
    summary: str = ""
    fields: dict[str, list[str]] = {}


def parse_core_metadata(data: bytes) -> CoreMetadata:
    """Read the header block of a METADATA file; ``InvalidInput`` (subject "metadata")."""
    if len(data) > MAX_METADATA_BYTES:
        raise InvalidInput("METADATA is too large", subject="metadata")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("METADATA is not UTF-8", subject="metadata") from None
    fields: dict[str, list[str]] = {}
    last: tuple[str, int] | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        if line == "":
            break
        if line[0] in " \t":
            if last is None:
                raise InvalidInput("METADATA starts with a continuation line", subject="metadata")
            key, index = last
            fields[key][index] += "\n" + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or key != key.strip():
            raise InvalidInput("METADATA has a malformed header line", subject="metadata")
        values = fields.setdefault(key.lower(), [])
        values.append(value.strip())
        last = (key.lower(), len(values) - 1)
    names, versions = fields.get("name"), fields.get("version")
    if not names or not names[0] or not versions or not versions[0]:
        raise InvalidInput("METADATA lacks Name or Version", subject="metadata")
    return CoreMetadata(
        name=names[0],
        version=versions[0],
        requires_python=(fields.get("requires-python") or [""])[0],
        summary=(fields.get("summary") or [""])[0],
        fields=fields,
    )


_FORM_NAMES: Final = {"classifier": "classifiers", "project-url": "project_urls"}


def form_fields(data: bytes) -> dict[str, list[str]]:
    """The upload form fields twine sends for a METADATA or PKG-INFO file.

    Each header under its lower-case, underscored name (``Requires-Python`` ->
    ``requires_python``; ``Classifier`` -> ``classifiers``, ``Project-URL`` ->
    ``project_urls``), and the body, when there is one, as ``description``.
    """
    core = parse_core_metadata(data)
    fields = {
        _FORM_NAMES.get(key, key.replace("-", "_")): list(values)
        for key, values in core.fields.items()
    }
    _, blank, body = data.decode("utf-8").replace("\r\n", "\n").partition("\n\n")
    if blank and body.strip() and "description" not in fields:
        fields["description"] = [body]
    return fields


class ReleaseMeta(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Kept per version: the upload form's metadata fields (first upload wins)."""

    fields: dict[str, list[str]] = {}

    def one(self, name: str) -> str:
        """The first value of ``name``, or ``""``."""
        values = self.fields.get(name)
        return values[0] if values else ""

    def many(self, name: str) -> list[str]:
        """Every non-empty value of ``name``."""
        return [value for value in self.fields.get(name, []) if value]


class FileMeta(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Kept per file: what the simple and JSON APIs say about it."""

    packagetype: str
    python_version: str = ""
    requires_python: str = ""
    metadata_sha256: str = ""
    """sha256 of the extracted METADATA (wheels only); its bytes are a blob by that digest."""


_kept_release = msgspec.msgpack.Decoder(ReleaseMeta)
_kept_file = msgspec.msgpack.Decoder(FileMeta)


def kept_release_meta(raw: bytes) -> ReleaseMeta:
    """A version's stored :class:`ReleaseMeta` (empty when absent or unreadable), for displays."""
    try:
        return _kept_release.decode(raw) if raw else ReleaseMeta()
    except msgspec.DecodeError:
        return ReleaseMeta()


def kept_file_meta(raw: bytes) -> FileMeta:
    """A file's stored :class:`FileMeta` (``packagetype`` empty when absent), for displays."""
    try:
        return _kept_file.decode(raw) if raw else FileMeta(packagetype="")
    except msgspec.DecodeError:
        return FileMeta(packagetype="")
