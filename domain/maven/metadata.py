"""maven-metadata.xml as NORA generates it, at the artifact, SNAPSHOT version and group level.

The documents are rendered from what is stored (never kept as a client sent
them), with every text escaped; element order follows Maven's metadata model
(1.1.0) so every resolver reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final
from xml.sax.saxutils import escape

import msgspec

from domain.maven.version import version_key

__all__ = [
    "Build",
    "Plugin",
    "SnapshotFile",
    "artifact_metadata",
    "group_metadata",
    "last_updated",
    "newest_build",
    "plugin_prefix",
    "snapshot_metadata",
]

_HEAD: Final = '<?xml version="1.0" encoding="UTF-8"?>\n'


class SnapshotFile(msgspec.Struct, frozen=True, kw_only=True):
    """One timestamped file of a SNAPSHOT version."""

    classifier: str
    extension: str
    timestamp: str
    """``yyyyMMdd.HHmmss``."""
    build_number: int
    filename: str
    uploaded: datetime


class Build(msgspec.Struct, frozen=True, kw_only=True):
    """The newest SNAPSHOT build and, per (classifier, extension), its newest file."""

    timestamp: str
    build_number: int
    files: dict[tuple[str, str], SnapshotFile]


class Plugin(msgspec.Struct, frozen=True, kw_only=True):
    """A maven-plugin of a group, for the group-level metadata."""

    artifact: str
    prefix: str
    name: str


def last_updated(when: datetime) -> str:
    """Maven's ``lastUpdated``: ``yyyyMMddHHmmss`` in UTC."""
    return when.strftime("%Y%m%d%H%M%S")


def plugin_prefix(artifact: str) -> str:
    """The goal prefix Maven derives from a plugin's artifactId (``maven-x-plugin``,
    ``x-maven-plugin`` -> ``x``)."""
    if artifact.startswith("maven-") and artifact.endswith("-plugin") and len(artifact) > 13:
        return artifact[6:-7]
    if artifact.endswith("-maven-plugin") and len(artifact) > 13:
        return artifact[:-13]
    if artifact.endswith("-plugin") and len(artifact) > 7:
        return artifact[:-7]
    return artifact


def _x(text: str) -> str:
    return escape(text)


def artifact_metadata(
    group: str, artifact: str, versions: Iterable[str], updated: datetime
) -> bytes:
    """The artifact level: every version in Maven's order, ``latest`` and ``release``."""
    ordered = sorted(set(versions), key=version_key)
    releases = [v for v in ordered if not v.endswith("-SNAPSHOT")]
    lines = [
        _HEAD,
        "<metadata>\n",
        f"  <groupId>{_x(group)}</groupId>\n",
        f"  <artifactId>{_x(artifact)}</artifactId>\n",
        "  <versioning>\n",
    ]
    if ordered:
        lines.append(f"    <latest>{_x(ordered[-1])}</latest>\n")
    if releases:
        lines.append(f"    <release>{_x(releases[-1])}</release>\n")
    lines.append("    <versions>\n")
    lines.extend(f"      <version>{_x(v)}</version>\n" for v in ordered)
    lines.append("    </versions>\n")
    lines.append(f"    <lastUpdated>{last_updated(updated)}</lastUpdated>\n")
    lines.append("  </versioning>\n</metadata>\n")
    return "".join(lines).encode("utf-8")


def newest_build(files: Sequence[SnapshotFile]) -> Build | None:
    """The newest build (highest build number, then timestamp) and the newest file per kind."""
    if not files:
        return None
    newest = max(files, key=lambda f: (f.build_number, f.timestamp))
    per_kind: dict[tuple[str, str], SnapshotFile] = {}
    for item in sorted(files, key=lambda f: (f.build_number, f.timestamp)):
        per_kind[(item.classifier, item.extension)] = item
    return Build(timestamp=newest.timestamp, build_number=newest.build_number, files=per_kind)


def snapshot_metadata(
    group: str, artifact: str, version: str, build: Build | None, updated: datetime
) -> bytes:
    """The SNAPSHOT version level: the newest timestamp and build number, and
    ``snapshotVersions`` for every classifier and extension."""
    base = version[: -len("-SNAPSHOT")]
    lines = [
        _HEAD,
        '<metadata modelVersion="1.1.0">\n',
        f"  <groupId>{_x(group)}</groupId>\n",
        f"  <artifactId>{_x(artifact)}</artifactId>\n",
        f"  <version>{_x(version)}</version>\n",
        "  <versioning>\n",
    ]
    if build is not None:
        lines += [
            "    <snapshot>\n",
            f"      <timestamp>{build.timestamp}</timestamp>\n",
            f"      <buildNumber>{build.build_number}</buildNumber>\n",
            "    </snapshot>\n",
        ]
    else:
        lines.append("    <snapshot>\n      <localCopy>true</localCopy>\n    </snapshot>\n")
    lines.append(f"    <lastUpdated>{last_updated(updated)}</lastUpdated>\n")
    if build is not None:
        lines.append("    <snapshotVersions>\n")
        for (classifier, extension), item in sorted(build.files.items()):
            lines.append("      <snapshotVersion>\n")
            if classifier:
                lines.append(f"        <classifier>{_x(classifier)}</classifier>\n")
            lines.append(f"        <extension>{_x(extension)}</extension>\n")
            value = f"{base}-{item.timestamp}-{item.build_number}"
            lines.append(f"        <value>{_x(value)}</value>\n")
            lines.append(f"        <updated>{last_updated(item.uploaded)}</updated>\n")
            lines.append("      </snapshotVersion>\n")
        lines.append("    </snapshotVersions>\n")
    lines.append("  </versioning>\n</metadata>\n")
    return "".join(lines).encode("utf-8")


def group_metadata(plugins: Iterable[Plugin]) -> bytes:
    """The group level: the maven-plugins deployed in the group, with their prefixes."""
    lines = [_HEAD, "<metadata>\n", "  <plugins>\n"]
    for plugin in sorted(plugins, key=lambda p: p.artifact):
        lines += [
            "    <plugin>\n",
            f"      <name>{_x(plugin.name)}</name>\n",
            f"      <prefix>{_x(plugin.prefix)}</prefix>\n",
            f"      <artifactId>{_x(plugin.artifact)}</artifactId>\n",
            "    </plugin>\n",
        ]
    lines.append("  </plugins>\n</metadata>\n")
    return "".join(lines).encode("utf-8")
