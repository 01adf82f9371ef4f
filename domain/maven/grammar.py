"""Maven repository paths: every client path is read here before it becomes a key.

Layout: ``<group path>/<artifactId>/<version>/<artifactId>-<version>[-<classifier>].<ext>``,
a SNAPSHOT's files either literal (``a-1.0-SNAPSHOT.jar``) or timestamped
(``a-1.0-20261130.101500-3.jar``); ``maven-metadata.xml`` at the group,
artifact or SNAPSHOT version level; and a checksum (``.md5``, ``.sha1``,
``.sha256``, ``.sha512``) beside any file. Segments use a conservative
alphabet, so no traversal, empty or dot segment, NUL or case trick reaches
storage.
"""

from __future__ import annotations

import re
from typing import Final, Literal

import msgspec

from domain.errors import InvalidInput
from domain.numbers import is_digits

__all__ = [
    "CHECKSUMS",
    "METADATA",
    "SNAPSHOT",
    "MavenPath",
    "content_type_of",
    "parse_directory",
    "parse_path",
    "scope_name",
]

CHECKSUMS: Final = ("md5", "sha1", "sha256", "sha512")
"""Checksum extensions NORA computes and serves for every stored file."""
METADATA: Final = "maven-metadata.xml"
SNAPSHOT: Final = "-SNAPSHOT"

_SEGMENT: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+~-]{0,199}")
_MAX_SEGMENTS: Final = 40
_MAX_LENGTH: Final = 900
_TIMESTAMP: Final = re.compile(r"(\d{8}\.\d{6})-([1-9]\d{0,8})")
_TYPES: Final = {
    "jar": "application/java-archive",
    "war": "application/java-archive",
    "ear": "application/java-archive",
    "aar": "application/java-archive",
    "pom": "application/xml",
    "xml": "application/xml",
    "module": "application/json",
    "json": "application/json",
    "asc": "application/pgp-signature",
    "md5": "text/plain",
    "sha1": "text/plain",
    "sha256": "text/plain",
    "sha512": "text/plain",
    "txt": "text/plain",
    "zip": "application/zip",
    "gz": "application/gzip",
}

Kind = Literal["artifact", "metadata", "file"]


class MavenPath(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed request path.

    ``path`` is the stored file (without a checksum extension); ``checksum``
    names the algorithm when a checksum of it was asked for. For an artifact,
    ``build`` is ``<timestamp>-<buildNumber>`` of a timestamped SNAPSHOT file.
    """

    path: str
    checksum: str | None = None
    kind: Kind = "file"
    group: str = ""
    artifact: str = ""
    version: str = ""
    build: str = ""
    classifier: str = ""
    extension: str = ""

    @property
    def directory(self) -> str:
        return self.path.rpartition("/")[0]

    @property
    def filename(self) -> str:
        return self.path.rpartition("/")[2]

    @property
    def snapshot(self) -> bool:
        """A file inside a SNAPSHOT version directory (always redeployable)."""
        return self.directory.rpartition("/")[2].endswith(SNAPSHOT)

    @property
    def artifact_dir(self) -> str:
        return self.path.rsplit("/", 2)[0]

    @property
    def literal_snapshot(self) -> bool:
        """``a-1.0-SNAPSHOT[-cls].ext``: to be resolved to the newest timestamped build."""
        return self.kind == "artifact" and self.snapshot and not self.build


def _segments(path: str) -> list[str]:
    if not isinstance(path, str) or len(path) > _MAX_LENGTH:
        raise InvalidInput("path is too long", subject="path")
    parts = path.split("/")
    if len(parts) > _MAX_SEGMENTS:
        raise InvalidInput("path is nested too deeply", subject="path")
    for part in parts:
        if _SEGMENT.fullmatch(part) is None:
            raise InvalidInput(f"invalid path segment {part[:80]!r}", subject="path")
    return parts


def parse_directory(path: str) -> str:
    """A directory path (slashes around it allowed); ``""`` is the repository root."""
    stripped = path.strip("/") if isinstance(path, str) else path
    if stripped == "":
        return ""
    return "/".join(_segments(stripped))


def parse_path(path: str) -> MavenPath:
    """Read a file path; ``InvalidInput`` (subject "path") for anything outside the grammar."""
    parts = _segments(path)
    name = parts[-1]
    checksum = None
    stem, dot, ext = name.rpartition(".")
    if dot and ext in CHECKSUMS and stem:
        checksum = ext
        name = stem
        parts[-1] = name
    full = "/".join(parts)
    if name == METADATA:
        return MavenPath(path=full, checksum=checksum, kind="metadata")
    if len(parts) >= 4:
        found = _artifact(parts)
        if found is not None:
            version, build, classifier, extension = found
            return MavenPath(
                path=full,
                checksum=checksum,
                kind="artifact",
                group=".".join(parts[:-3]),
                artifact=parts[-3],
                version=version,
                build=build,
                classifier=classifier,
                extension=extension,
            )
    return MavenPath(path=full, checksum=checksum, kind="file")


def _artifact(parts: list[str]) -> tuple[str, str, str, str] | None:
    """(version, build, classifier, extension) if the file name follows the layout."""
    artifact, version, name = parts[-3], parts[-2], parts[-1]
    if not name.startswith(artifact + "-"):
        return None
    rest = name[len(artifact) + 1 :]
    build = ""
    if rest.startswith(version) and rest[len(version) : len(version) + 1] in (".", "-"):
        rest = rest[len(version) :]
    elif version.endswith(SNAPSHOT):
        base = version[: -len(SNAPSHOT)]
        if not rest.startswith(base + "-"):
            return None
        match = _TIMESTAMP.match(rest, len(base) + 1)
        if match is None:
            return None
        build = f"{match[1]}-{match[2]}"
        rest = rest[match.end() :]
    else:
        return None
    classifier = ""
    if rest.startswith("-"):
        classifier, dot, extension = rest[1:].partition(".")
        if not classifier or not dot:
            return None
    elif rest.startswith("."):
        extension = rest[1:]
    else:
        return None
    if not extension or extension.endswith("."):
        return None
    return version, build, classifier, extension


def content_type_of(filename: str) -> str:
    """The Content-Type a file is served with, from its last extension."""
    ext = filename.rpartition(".")[2].lower()
    return _TYPES.get(ext, "application/octet-stream")


def scope_name(path: str) -> str | None:
    """The name a token scope (``maven:com/acme/*``) is matched against for ``path``.

    The artifact directory (``com/acme/lib``): the segments before the first
    one that starts with a digit (the version directory) or, without one,
    the path minus a trailing ``maven-metadata.xml[.<checksum>]``. A
    directory path names itself; the root names nothing.
    """
    parts = [part for part in path.split("/") if part]
    for index, part in enumerate(parts):
        if index > 0 and is_digits(part[:1]):
            return "/".join(parts[:index])
    if parts and parts[-1].startswith(METADATA):
        parts.pop()
    return "/".join(parts) or None
