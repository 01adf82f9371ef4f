"""Lists of Maven coordinates read for mirroring: one artifact per line.

A line is Maven's own artifact coordinate, as ``mvn dependency:get -Dartifact=``
takes it and ``mvn dependency:list`` prints it::

    groupId:artifactId[:type[:classifier]]:version[:scope]

``type`` defaults to ``jar``; a known packaging type maps to its file extension
and classifier as Maven's artifact handlers do (``maven-plugin`` is a ``.jar``,
``test-jar`` a ``.jar`` classified ``tests``, ``pom`` the POM alone). A trailing
scope word (``compile``, ``provided``, ``runtime``, ``test``, ``system``) is
ignored, and so is a `` -- module …`` note, so ``dependency:list`` output pastes
unchanged. ``#`` starts a comment;
blank lines are skipped. Each coordinate names the POM and, unless it is a
``pom``, the artifact file; their paths are checked by the repository grammar.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from domain.errors import InvalidInput, TooLarge
from domain.maven.grammar import parse_path

__all__ = ["MAX_LIST", "Coordinate", "parse_coordinates"]

MAX_LIST: Final = 4 << 20
"""Largest list read (about 40,000 coordinates)."""
_MAX_LINE: Final = 600
_PART: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+~-]*")
_SCOPES: Final = frozenset({"compile", "provided", "runtime", "test", "system", "import"})
_HANDLERS: Final = {
    # type: (extension, classifier it implies)
    "maven-plugin": ("jar", ""),
    "ejb": ("jar", ""),
    "bundle": ("jar", ""),
    "ejb-client": ("jar", "client"),
    "test-jar": ("jar", "tests"),
    "javadoc": ("jar", "javadoc"),
    "java-source": ("jar", "sources"),
}


class Coordinate(msgspec.Struct, frozen=True, kw_only=True):
    """One artifact: the files of ``group:artifact:version`` to fetch."""

    group: str
    artifact: str
    version: str
    extension: str = "jar"
    classifier: str = ""

    @property
    def directory(self) -> str:
        """``com/acme/lib/1.0``: the version directory in the repository."""
        return f"{self.group.replace('.', '/')}/{self.artifact}/{self.version}"

    @property
    def pom_path(self) -> str:
        return f"{self.directory}/{self.artifact}-{self.version}.pom"

    @property
    def artifact_path(self) -> str | None:
        """The artifact's file; ``None`` for a ``pom`` (its POM is all there is)."""
        if self.extension == "pom" and not self.classifier:
            return None
        tail = f"-{self.classifier}" if self.classifier else ""
        return f"{self.directory}/{self.artifact}-{self.version}{tail}.{self.extension}"

    @property
    def paths(self) -> tuple[str, ...]:
        """Every file to fetch: the POM, then the artifact (checksums are the caller's)."""
        artifact = self.artifact_path
        return (self.pom_path,) if artifact is None else (self.pom_path, artifact)

    def __str__(self) -> str:
        middle = f":{self.extension}" if self.extension != "jar" or self.classifier else ""
        middle += f":{self.classifier}" if self.classifier else ""
        return f"{self.group}:{self.artifact}{middle}:{self.version}"


def _bad(number: int, line: str, why: str) -> InvalidInput:
    return InvalidInput(f"line {number}: {line[:100]!r}: {why}", subject="coordinate")


def _coordinate(number: int, line: str) -> Coordinate:
    parts = line.split(":")
    if len(parts) >= 4 and parts[-1] in _SCOPES:
        parts.pop()
    if not 3 <= len(parts) <= 5:
        raise _bad(number, line, "expected groupId:artifactId[:type[:classifier]]:version")
    for part in parts:
        if _PART.fullmatch(part) is None:
            raise _bad(number, line, f"invalid part {part[:60]!r}")
    group, artifact, *middle, version = parts
    kind = middle[0] if middle else "jar"
    extension, classifier = _HANDLERS.get(kind, (kind, ""))
    if len(middle) == 2:
        classifier = middle[1]
    if any(not piece for piece in group.split(".")):
        raise _bad(number, line, "the groupId has an empty segment")
    found = Coordinate(
        group=group, artifact=artifact, version=version, extension=extension, classifier=classifier
    )
    for path in found.paths:
        try:
            parse_path(path)
        except InvalidInput as exc:
            raise _bad(number, line, exc.detail) from None
    return found


def parse_coordinates(data: bytes) -> tuple[Coordinate, ...]:
    """Every coordinate of a list, each once, in list order.

    Raises:
        InvalidInput: (subject "coordinate") a line outside the grammar, naming its number.
        TooLarge: a list over :data:`MAX_LIST`.
    """
    if len(data) > MAX_LIST:
        raise TooLarge(f"coordinate list is larger than {MAX_LIST >> 20} MiB", subject="coordinate")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("coordinate list is not UTF-8 text", subject="coordinate") from None
    found: dict[Coordinate, None] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.partition("#")[0].partition(" -- ")[0].strip()
        if not line:
            continue
        if len(line) > _MAX_LINE:
            raise _bad(number, line, f"longer than {_MAX_LINE} characters")
        found.setdefault(_coordinate(number, line), None)
    return tuple(found)
