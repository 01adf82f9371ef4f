"""PyPI's grammar: project names (PEP 508 / 503), versions (PEP 440) and file names.

Written from the specifications: the name pattern of the core metadata spec,
PEP 503 normalisation, PEP 440's version grammar and ordering, the wheel file
name convention (PEP 427 / 491) and the sdist naming rule (PEP 625). Every
parser returns a value or raises :class:`~domain.errors.InvalidInput` with a
subject (``"name"``, ``"version"``, ``"filename"``), nothing else.
"""

from __future__ import annotations

import re
from typing import Final, Literal

import msgspec

from domain.errors import InvalidInput
from domain.numbers import is_digits

__all__ = [
    "MAX_FILENAME_LENGTH",
    "MAX_NAME_LENGTH",
    "DistFilename",
    "Version",
    "check_filename",
    "normalise",
    "parse_filename",
    "parse_name",
    "parse_version",
    "version_key",
]

MAX_NAME_LENGTH: Final = 200
MAX_FILENAME_LENGTH: Final = 255
_MAX_VERSION_LENGTH: Final = 128

_NAME: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?", re.ASCII)
_SEPARATORS: Final = re.compile(r"[-_.]+")
_FILENAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*", re.ASCII)
_TAG: Final = re.compile(r"[A-Za-z0-9_.]+", re.ASCII)
_BUILD: Final = re.compile(r"[0-9][A-Za-z0-9_.]*", re.ASCII)

# PEP 440, appendix B: the permissive grammar every normalisation starts from.
_VERSION: Final = re.compile(
    r"""
    v?
    (?:(?P<epoch>[0-9]+)!)?
    (?P<release>[0-9]+(?:\.[0-9]+)*)
    (?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
    (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?
    (?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
    """,
    re.VERBOSE | re.IGNORECASE | re.ASCII,
)
_PRE_SPELLING: Final = {
    "alpha": "a",
    "a": "a",
    "beta": "b",
    "b": "b",
    "c": "rc",
    "pre": "rc",
    "preview": "rc",
    "rc": "rc",
}

_LocalPart = tuple[int, int | str]
_Key = tuple[
    int,
    tuple[int, ...],
    tuple[int, str, int],
    tuple[int, int],
    tuple[int, int],
    tuple[_LocalPart, ...],
]


def normalise(name: str) -> str:
    """PEP 503: runs of ``-``, ``_`` and ``.`` become one ``-``, then lower case."""
    return _SEPARATORS.sub("-", name).lower()


def parse_name(text: str) -> str:
    """Check a project name against the core metadata grammar; returns it unchanged."""
    if not isinstance(text, str) or not text:
        raise InvalidInput("project name must not be empty", subject="name")
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"project name must be at most {MAX_NAME_LENGTH} characters", subject="name"
        )
    if _NAME.fullmatch(text) is None:
        raise InvalidInput(
            f"invalid project name {text[:100]!r}: use letters, digits, '.', '_' and '-', "
            "starting and ending with a letter or digit",
            subject="name",
        )
    return text


class Version(msgspec.Struct, frozen=True):
    """A parsed PEP 440 version; equality and order follow the PEP, not the spelling."""

    text: str
    """As given."""
    epoch: int
    release: tuple[int, ...]
    pre: tuple[str, int] | None
    post: int | None
    dev: int | None
    local: tuple[int | str, ...]

    @property
    def canonical(self) -> str:
        """The normalised spelling (``1.0a1.post2.dev3+ubuntu.1``), trailing zeros kept."""
        out = f"{self.epoch}!" if self.epoch else ""
        out += ".".join(str(part) for part in self.release)
        if self.pre is not None:
            out += f"{self.pre[0]}{self.pre[1]}"
        if self.post is not None:
            out += f".post{self.post}"
        if self.dev is not None:
            out += f".dev{self.dev}"
        if self.local:
            out += "+" + ".".join(str(part) for part in self.local)
        return out

    @property
    def is_prerelease(self) -> bool:
        """Pre-releases and development releases (PEP 440's exclusion by default)."""
        return self.pre is not None or self.dev is not None

    @property
    def key(self) -> _Key:
        """Sort key implementing PEP 440's ordering."""
        release = list(self.release)
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        # a dev release without pre or post sorts before any pre-release of the release
        if self.pre is None and self.post is None and self.dev is not None:
            pre: tuple[int, str, int] = (-1, "", 0)
        elif self.pre is None:
            pre = (1, "", 0)
        else:
            pre = (0, self.pre[0], self.pre[1])
        post = (0, 0) if self.post is None else (1, self.post)
        dev = (1, 0) if self.dev is None else (0, self.dev)
        local = tuple((1, part) if isinstance(part, int) else (0, part) for part in self.local)
        return (self.epoch, tuple(release), pre, post, dev, local)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __str__(self) -> str:
        return self.text


def parse_version(text: str) -> Version:
    """Parse a PEP 440 version (any spelling the PEP normalises); ``InvalidInput`` if none."""
    if not isinstance(text, str) or not text:
        raise InvalidInput("version must not be empty", subject="version")
    if len(text) > _MAX_VERSION_LENGTH:
        raise InvalidInput(
            f"version must be at most {_MAX_VERSION_LENGTH} characters", subject="version"
        )
    match = _VERSION.fullmatch(text)
    if match is None:
        raise InvalidInput(f"{text[:100]!r} is not a valid PEP 440 version", subject="version")
    pre: tuple[str, int] | None = None
    if match["pre"]:
        pre = (_PRE_SPELLING[match["pre_l"].lower()], int(match["pre_n"] or 0))
    post: int | None = None
    if match["post"]:
        post = int(match["post_n1"] or match["post_n2"] or 0)
    dev = int(match["dev_n"] or 0) if match["dev"] else None
    local: tuple[int | str, ...] = ()
    if match["local"]:
        local = tuple(
            int(part) if is_digits(part) else part.lower()
            for part in _SEPARATORS.split(match["local"])
        )
    return Version(
        text=text,
        epoch=int(match["epoch"] or 0),
        release=tuple(int(part) for part in match["release"].split(".")),
        pre=pre,
        post=post,
        dev=dev,
        local=local,
    )


def version_key(text: str) -> tuple[int, _Key | str]:
    """Sort key for stored version strings; unparsable ones sort first, by text."""
    try:
        return (1, parse_version(text).key)
    except InvalidInput:
        return (0, text)


class DistFilename(msgspec.Struct, frozen=True, kw_only=True):
    """What a distribution's file name says about it."""

    filename: str
    kind: Literal["bdist_wheel", "sdist"]
    name: str
    """The name as spelled in the file name (escaped for wheels)."""
    version: Version
    build: str = ""
    python_tag: str = ""
    abi_tag: str = ""
    platform_tag: str = ""


def _safe_filename(filename: str) -> str:
    if not isinstance(filename, str) or not filename:
        raise InvalidInput("file name must not be empty", subject="filename")
    if len(filename) > MAX_FILENAME_LENGTH:
        raise InvalidInput(
            f"file name must be at most {MAX_FILENAME_LENGTH} characters", subject="filename"
        )
    if _FILENAME.fullmatch(filename) is None or ".." in filename:
        raise InvalidInput(f"invalid file name {filename[:100]!r}", subject="filename")
    return filename


def parse_filename(filename: str) -> DistFilename:
    """Parse a wheel (``.whl``) or sdist (``.tar.gz``, ``.zip``) file name.

    Wheels split unambiguously on ``-``. An sdist's name may contain ``-``
    (legacy spellings), so the version is the longest valid suffix after a
    ``-`` whose prefix is a valid name.
    """
    _safe_filename(filename)
    if filename.endswith(".whl"):
        parts = filename[: -len(".whl")].split("-")
        if len(parts) not in (5, 6):
            raise InvalidInput(
                f"wheel file name {filename[:100]!r} must be "
                "name-version[-build]-python-abi-platform.whl",
                subject="filename",
            )
        name, version_text = parts[0], parts[1]
        build = parts[2] if len(parts) == 6 else ""
        python_tag, abi_tag, platform_tag = parts[-3:]
        if build and _BUILD.fullmatch(build) is None:
            raise InvalidInput("wheel build tag must start with a digit", subject="filename")
        if not all(_TAG.fullmatch(tag) for tag in (python_tag, abi_tag, platform_tag)):
            raise InvalidInput(f"invalid wheel tags in {filename[:100]!r}", subject="filename")
        try:
            parse_name(name)
            version = parse_version(version_text)
        except InvalidInput as exc:
            raise InvalidInput(
                f"invalid wheel file name {filename[:100]!r}: {exc.detail}", subject="filename"
            ) from None
        return DistFilename(
            filename=filename,
            kind="bdist_wheel",
            name=name,
            version=version,
            build=build,
            python_tag=python_tag,
            abi_tag=abi_tag,
            platform_tag=platform_tag,
        )
    for extension in (".tar.gz", ".zip"):
        if filename.endswith(extension):
            stem = filename[: -len(extension)]
            break
    else:
        raise InvalidInput(
            f"invalid file extension in {filename[:100]!r}: use .whl, .tar.gz or .zip",
            subject="filename",
        )
    for at in [pos for pos, ch in enumerate(stem) if ch == "-"]:
        try:
            name = parse_name(stem[:at])
            version = parse_version(stem[at + 1 :])
        except InvalidInput:
            continue
        return DistFilename(filename=filename, kind="sdist", name=name, version=version)
    raise InvalidInput(
        f"sdist file name {filename[:100]!r} must be name-version{extension}", subject="filename"
    )


def check_filename(filename: str, name: str, version: str) -> DistFilename:
    """Parse ``filename`` and require it to belong to project ``name`` at ``version``.

    Names compare after PEP 503 normalisation, versions by PEP 440 equality.
    An sdist name containing ``-`` is matched at every split, so
    ``foo-bar-1.0.tar.gz`` belongs to ``foo-bar`` 1.0.
    """
    parsed = parse_filename(filename)
    wanted_name, wanted_version = normalise(parse_name(name)), parse_version(version)
    if parsed.kind == "sdist":
        stem = filename[: -len(".tar.gz")] if filename.endswith(".tar.gz") else filename[:-4]
        for at in [pos for pos, ch in enumerate(stem) if ch == "-"]:
            if normalise(stem[:at]) != wanted_name:
                continue
            try:
                candidate = parse_version(stem[at + 1 :])
            except InvalidInput:
                continue
            if candidate == wanted_version:
                return msgspec.structs.replace(parsed, name=stem[:at], version=candidate)
        raise InvalidInput(
            f"file name {filename[:100]!r} does not match project {name[:100]!r} "
            f"version {version[:50]!r}",
            subject="filename",
        )
    if normalise(parsed.name) != wanted_name:
        raise InvalidInput(
            f"file name {filename[:100]!r} does not belong to project {name[:100]!r}",
            subject="filename",
        )
    if parsed.version != wanted_version:
        raise InvalidInput(
            f"file name {filename[:100]!r} does not match version {version[:50]!r}",
            subject="filename",
        )
    return parsed
