"""Maven artifacts: deploy, list, read and delete them by coordinates.

The same operations ``mvn deploy`` and a Maven build reach under ``/maven2/``,
through the same registry facade, without HTTP: a deploy stores the file and
its POM at the paths ``mvn deploy`` uses, and NORA regenerates every
``maven-metadata.xml`` and serves every checksum exactly as after ``mvn deploy``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from typing import Any, Final
from xml.sax.saxutils import escape

import msgspec

from domain.digests import Digest, hash_bytes
from domain.errors import InvalidInput, NotFound, TooLarge
from domain.maven.grammar import METADATA, SNAPSHOT, parse_path
from domain.maven.registry import HOSTED, Listing, MavenFile, MavenRegistry
from domain.maven.safexml import MAX_XML_BYTES, read_texts
from domain.maven.version import version_key
from domain.paths import DirEntry, PathEntry
from domain.streams import read_limited
from nora._content import Content, chunks_of, stream_blob

__all__ = ["Maven", "MavenArtifact", "MavenFileInfo", "MavenVersion"]

_PART: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+~-]*")
_LEVEL: Final = "level"


class MavenFileInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One stored file of a version, with the checksums Maven clients verify."""

    path: str
    """Its path in the repository (``com/acme/lib/1.0/lib-1.0.jar``)."""
    filename: str
    classifier: str
    extension: str
    build: str
    """``<timestamp>-<build number>`` of a SNAPSHOT build's file; ``""`` otherwise."""
    size: int
    sha256: str
    sha1: str
    md5: str
    sha512: str
    uploaded: datetime


class MavenVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One version of an artifact."""

    group_id: str
    artifact_id: str
    version: str
    snapshot: bool
    updated: datetime | None
    """When its newest file was deployed (None when it holds only directories)."""


class MavenArtifact(msgspec.Struct, frozen=True, kw_only=True):
    """An artifact and its versions, in Maven's order (as its maven-metadata.xml lists them)."""

    group_id: str
    artifact_id: str
    versions: list[str]
    latest: str
    release: str
    """The newest version that is not a SNAPSHOT; ``""`` when there is none."""


def _check_part(value: str, what: str) -> str:
    if not isinstance(value, str) or _PART.fullmatch(value) is None or len(value) > 200:
        raise InvalidInput(f"invalid {what} {str(value)[:100]!r}", subject="coordinate")
    return value


def _group_path(group_id: str) -> str:
    _check_part(group_id, "groupId")
    if any(not piece for piece in group_id.split(".")):
        raise InvalidInput(f"invalid groupId {group_id[:100]!r}", subject="coordinate")
    return group_id.replace(".", "/")


def _artifact_dir(group_id: str, artifact_id: str) -> str:
    return f"{_group_path(group_id)}/{_check_part(artifact_id, 'artifactId')}"


def _version_dir(group_id: str, artifact_id: str, version: str) -> str:
    return f"{_artifact_dir(group_id, artifact_id)}/{_check_part(version, 'version')}"


def _file(path: str, entry: PathEntry) -> MavenFileInfo:
    parsed = parse_path(path)
    return MavenFileInfo(
        path=path,
        filename=parsed.filename,
        classifier=parsed.classifier,
        extension=parsed.extension or parsed.filename.rpartition(".")[2],
        build=parsed.build,
        size=entry.size,
        sha256=entry.sha256,
        sha1=entry.digests.get("sha1", ""),
        md5=entry.digests.get("md5", ""),
        sha512=entry.digests.get("sha512", ""),
        uploaded=entry.uploaded,
    )


def _generated_pom(group_id: str, artifact_id: str, version: str, packaging: str) -> bytes:
    """The minimal POM ``mvn deploy:deploy-file`` generates for a file without one."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        f"  <groupId>{escape(group_id)}</groupId>\n"
        f"  <artifactId>{escape(artifact_id)}</artifactId>\n"
        f"  <version>{escape(version)}</version>\n"
        f"  <packaging>{escape(packaging)}</packaging>\n"
        "  <description>POM was created by NORA</description>\n"
        "</project>\n"
    ).encode()


def _check_pom(data: bytes, group_id: str, artifact_id: str, version: str) -> None:
    """A POM must be readable and, where it names them, name these coordinates."""
    wanted = ("project/groupId", "project/parent/groupId", "project/artifactId", "project/version")
    found = read_texts(data, ("project", *wanted), subject="pom")
    if not found["project"]:
        raise InvalidInput("the POM has no <project> root", subject="pom")
    group = (found["project/groupId"] or found["project/parent/groupId"] or [group_id])[0]
    named = (group, (found["project/artifactId"] or [artifact_id])[0])
    if named != (group_id, artifact_id) or (found["project/version"] or [version])[0] != version:
        raise InvalidInput(
            f"the POM names {named[0][:100]}:{named[1][:100]}, not {group_id}:{artifact_id}"
            f":{version}",
            subject="pom",
        )


async def _read_small(content: Content, limit: int, what: str) -> bytes:
    error = TooLarge(f"{what} is larger than {limit} bytes", subject=what)
    return await read_limited(chunks_of(content), limit, error)


class Maven:
    """Maven artifacts of an open registry (``nora.maven``)."""

    def __init__(self, part: Any) -> None:
        self._maven: MavenRegistry = part.registry()

    # ----------------------------------------------------------------- writes

    async def deploy(
        self,
        group_id: str,
        artifact_id: str,
        version: str,
        content: Content,
        *,
        classifier: str = "",
        extension: str = "jar",
        pom: Content | None = None,
        generate_pom: bool = True,
        sha1: str | None = None,
        sha256: str | None = None,
    ) -> MavenFileInfo:
        """Deploy one file of ``group_id:artifact_id:version``, as ``mvn deploy:deploy-file`` does.

        A SNAPSHOT version's files are stored timestamped with the next build
        number (``lib-1.0-20260101.120000-3.jar``), as ``mvn deploy`` stores them;
        ``lib-1.0-SNAPSHOT.jar`` then reads the newest build.

        Args:
            group_id: ``com.acme``.
            artifact_id: ``lib``.
            version: ``1.0`` or ``1.0-SNAPSHOT``.
            content: the file: a path, its bytes or async chunks.
            classifier: ``sources``, ``javadoc``…; ``""`` for the main artifact.
            extension: the file's type (``jar``, ``war``, ``pom``, ``zip``…).
            pom: the artifact's POM, deployed after the file; it must name the
                same coordinates where it names any.
            generate_pom: without ``pom``, deploy a minimal POM (packaging
                ``extension``) when the version has none yet, as ``deploy-file`` does.
            sha1: the file's expected sha1 (hex), checked before anything is stored.
            sha256: the file's expected sha256 (hex), likewise.

        Returns:
            The stored file with its checksums.

        Raises:
            InvalidInput: coordinates or a file name outside Maven's layout, or a
                POM that is malformed or names other coordinates.
            DigestMismatch: ``sha1`` or ``sha256`` differs from the content's.
            Conflict: a released file exists (releases are written once).
        """
        directory = _version_dir(group_id, artifact_id, version)
        _check_part(extension, "extension")
        if classifier:
            _check_part(classifier, "classifier")
        expected = [Digest.of(a, h.lower()) for a, h in (("sha1", sha1), ("sha256", sha256)) if h]
        is_pom = extension == "pom" and not classifier
        if pom is not None and is_pom:
            raise InvalidInput("the file is the POM: pass it as the content", subject="pom")
        snapshot = version.endswith(SNAPSHOT)
        stem = f"{artifact_id}-{version}"
        if snapshot:
            stem = f"{artifact_id}-{version[: -len(SNAPSHOT)]}-{await self._next_build(directory)}"
        path = f"{directory}/{stem}{'-' + classifier if classifier else ''}.{extension}"
        pom_path = f"{directory}/{stem}.pom"
        parsed = parse_path(path)
        if parsed.kind != "artifact" or (parsed.classifier, parsed.extension) != (
            classifier,
            extension,
        ):
            raise InvalidInput(f"{path[:200]} is outside Maven's layout", subject="coordinate")
        pom_bytes: bytes | None = None
        if pom is not None:
            pom_bytes = await _read_small(pom, MAX_XML_BYTES, "pom")
            _check_pom(pom_bytes, group_id, artifact_id, version)
            existing, _ = await self._maven.index.lookup(HOSTED, pom_path)
            if existing is not None and existing.sha256 == hash_bytes(pom_bytes, "sha256").hex:
                pom_bytes = None  # the very POM is there already
        elif generate_pom and not is_pom:
            existing, _ = await self._maven.index.lookup(HOSTED, pom_path)
            if existing is None:
                pom_bytes = _generated_pom(group_id, artifact_id, version, extension)
        if pom_bytes is not None:  # a POM that cannot be written refuses the whole deploy
            await self._maven.check_writable(pom_path)
        await self._maven.deploy(path, chunks_of(content), expected=expected)
        if pom_bytes is not None:
            await self._maven.deploy(pom_path, chunks_of(pom_bytes))
        return _file(path, await self._maven.index.get(HOSTED, path))

    async def delete(self, group_id: str, artifact_id: str, version: str) -> list[str]:
        """Delete a version with all its files; the artifact's metadata follows.

        Returns:
            The paths deleted.

        Raises:
            NotFound: the version holds no file.
        """
        gone = await self._maven.delete(_version_dir(group_id, artifact_id, version))
        if not gone:
            raise NotFound(f"{group_id}:{artifact_id}:{version} not found", subject="version")
        return gone

    # ------------------------------------------------------------------ reads

    async def groups(self) -> list[str]:
        """Every groupId holding at least one deployed artifact, sorted.

        This walks every stored path: meant for tools and reports, not hot paths.
        """
        found: set[str] = set()
        async for path, entry in self._maven.index.walk(HOSTED):
            if path.endswith("/" + METADATA) and entry.attributes.get(_LEVEL) == "artifact":
                found.add(path.rsplit("/", 2)[0].replace("/", "."))
        return sorted(found)

    async def artifacts(self, group_id: str) -> list[MavenArtifact]:
        """The artifacts of one groupId, by artifactId."""
        base = _group_path(group_id)
        found: list[MavenArtifact] = []
        for item in await self._children(base):
            if not item.is_dir:
                continue
            entry, _ = await self._maven.index.lookup(HOSTED, f"{base}/{item.name}/{METADATA}")
            if entry is not None and entry.attributes.get(_LEVEL) == "artifact":
                versions = [v.version for v in await self.versions(group_id, item.name)]
                releases = [v for v in versions if not v.endswith(SNAPSHOT)]
                found.append(
                    MavenArtifact(
                        group_id=group_id,
                        artifact_id=item.name,
                        versions=versions,
                        latest=versions[-1] if versions else "",
                        release=releases[-1] if releases else "",
                    )
                )
        return found

    async def versions(self, group_id: str, artifact_id: str) -> list[MavenVersion]:
        """The versions of an artifact in Maven's order, oldest first; ``NotFound`` if none."""
        base = _artifact_dir(group_id, artifact_id)
        names = [item.name for item in await self._children(base) if item.is_dir]
        if not names:
            raise NotFound(f"{group_id}:{artifact_id} not found", subject="artifact")
        found: list[MavenVersion] = []
        for name in sorted(names, key=version_key):
            files = [i.entry for i in await self._children(f"{base}/{name}") if i.entry]
            found.append(
                MavenVersion(
                    group_id=group_id,
                    artifact_id=artifact_id,
                    version=name,
                    snapshot=name.endswith(SNAPSHOT),
                    updated=max((e.uploaded for e in files), default=None),
                )
            )
        return found

    async def files(self, group_id: str, artifact_id: str, version: str) -> list[MavenFileInfo]:
        """Every file of a version (its generated maven-metadata.xml aside), by name."""
        base = _version_dir(group_id, artifact_id, version)
        found = [
            _file(f"{base}/{item.name}", item.entry)
            for item in await self._children(base)
            if item.entry is not None and item.name != METADATA
        ]
        if not found:
            raise NotFound(f"{group_id}:{artifact_id}:{version} not found", subject="version")
        return found

    async def get(
        self,
        group_id: str,
        artifact_id: str,
        version: str,
        *,
        classifier: str = "",
        extension: str = "jar",
    ) -> bytes:
        """A file's bytes at once (use :meth:`stream` for large files)."""
        stream = self.stream(
            group_id, artifact_id, version, classifier=classifier, extension=extension
        )
        return b"".join([chunk async for chunk in stream])

    async def stream(
        self,
        group_id: str,
        artifact_id: str,
        version: str,
        *,
        classifier: str = "",
        extension: str = "jar",
    ) -> AsyncIterator[bytes]:
        """A file's bytes, chunk by chunk, as a Maven build downloads it: a SNAPSHOT's newest
        build, and from an upstream when one is configured and the artifact is not hosted."""
        directory = _version_dir(group_id, artifact_id, version)
        tail = f"-{_check_part(classifier, 'classifier')}" if classifier else ""
        path = f"{directory}/{artifact_id}-{version}{tail}.{_check_part(extension, 'extension')}"
        async for chunk in self._read(path):
            yield chunk

    async def metadata(self, group_id: str, artifact_id: str, version: str | None = None) -> bytes:
        """The maven-metadata.xml NORA generated for an artifact (or a SNAPSHOT version)."""
        directory = (
            _artifact_dir(group_id, artifact_id)
            if version is None
            else _version_dir(group_id, artifact_id, version)
        )
        return b"".join([chunk async for chunk in self._read(f"{directory}/{METADATA}")])

    # ---------------------------------------------------------------- helpers

    async def _read(self, path: str) -> AsyncIterator[bytes]:
        found = await self._maven.get(path)
        if isinstance(found, Listing):
            raise NotFound(f"{path[:200]} not found", subject="path")
        chunks = self._chunks(found)
        async for chunk in chunks:
            yield chunk

    def _chunks(self, found: MavenFile) -> AsyncIterable[bytes]:
        if found.entry is not None:
            return stream_blob(self._maven.index.blobs, self._maven.index.blob_key(found.entry))
        if found.stream is not None:
            return found.stream
        return chunks_of(found.body or b"")

    async def _children(self, directory: str) -> list[DirEntry]:
        items: list[DirEntry] = []
        after: str | None = None
        while True:
            try:
                page = await self._maven.listing(directory, after=after)
            except NotFound:
                return items
            items += page.items
            if page.next_after is None:
                return items
            after = page.next_after

    async def _next_build(self, directory: str) -> str:
        """``<timestamp>-<n>``: the build a new SNAPSHOT deploy gets (one more than the newest)."""
        newest = 0
        for item in await self._children(directory):
            if item.entry is None:
                continue
            parsed = parse_path(f"{directory}/{item.name}")
            if parsed.build:
                newest = max(newest, int(parsed.build.rpartition("-")[2]))
        return f"{datetime.now(UTC):%Y%m%d.%H%M%S}-{newest + 1}"
