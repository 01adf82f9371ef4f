"""A pip requirements file, pinned: what ``nora mirror pypi`` fetches.

Reads what ``pip-compile --generate-hashes`` and ``pip freeze`` write:
``name[extras]==version ; markers`` lines, ``--hash=sha256:<hex>`` options
(several per line, on continuation lines ending in ``\\``) and comments.
Extras and markers are read past: a mirror serves every platform, so it
fetches a pin whatever its marker says. Options about where pip looks
(``--index-url``, ``--find-links``, ``--trusted-host``, ...) are ignored.

Refused, each with one sentence naming the line: a requirement that is not
pinned to one version (a range, a wildcard, a URL, a bare name), ``-r``/``-c``
includes (the mirror reads one file: pass the others too), editable installs
and hashes that are not hex of the algorithm's length.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from domain.errors import InvalidInput
from domain.pypi.grammar import normalise, parse_name, parse_version

__all__ = ["Hash", "Pin", "parse_requirements"]

_HEX_LENGTH: Final = {"sha256": 64, "sha384": 96, "sha512": 128}
_MAX_LINES: Final = 100_000
_REQUIREMENT: Final = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*"
    r"(?:\[(?P<extras>[^\]]*)\])?\s*"
    r"(?P<spec>[^;]*?)\s*"
    r"(?:;(?P<marker>.*))?",
    re.ASCII | re.DOTALL,
)
_PIN: Final = re.compile(r"===?\s*(?P<version>[^\s,*]+)", re.ASCII)
_IGNORED_OPTIONS: Final = (
    "-i",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "-f",
    "--find-links",
    "--trusted-host",
    "--pre",
    "--prefer-binary",
    "--only-binary",
    "--no-binary",
    "--require-hashes",
    "--use-feature",
)
_REFUSED_OPTIONS: Final = {
    "-r": "includes another file: mirror that file too",
    "--requirement": "includes another file: mirror that file too",
    "-c": "includes a constraints file: mirror that file too",
    "--constraint": "includes a constraints file: mirror that file too",
    "-e": "is an editable install, which no index serves",
    "--editable": "is an editable install, which no index serves",
}


class Hash(msgspec.Struct, frozen=True):
    """One ``--hash``: a ``hashlib`` algorithm name and the hex digest of one file."""

    algorithm: str
    hexdigest: str


class Pin(msgspec.Struct, frozen=True):
    """A project pinned to one version, with the hashes its files may have (any, if empty)."""

    name: str
    """PEP 503-normalised."""
    version: str
    hashes: tuple[Hash, ...] = ()

    @property
    def label(self) -> str:
        """``name==version``, as pip writes it."""
        return f"{self.name}=={self.version}"


def parse_requirements(data: bytes) -> list[Pin]:
    """Every pin of a requirements file, the hashes of a repeated pin merged, in name order.

    Raises ``InvalidInput`` (one sentence, with the line number) on anything else.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("a requirements file is UTF-8 text") from None
    pins: dict[tuple[str, str], Pin] = {}
    for number, line in _logical_lines(text):
        pin = _parse_line(line, number)
        if pin is None:
            continue
        key = (pin.name, pin.version)
        known = pins.get(key)
        if known is not None:
            merged = tuple(dict.fromkeys(known.hashes + pin.hashes))
            if known.hashes and pin.hashes:
                pin = Pin(pin.name, pin.version, merged)
            else:  # a pin without hashes allows any file
                pin = Pin(pin.name, pin.version, ())
        pins[key] = pin
    return sorted(pins.values(), key=lambda p: (p.name, p.version))


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines joined across trailing backslashes, comments dropped, numbered by their first line."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    physical = text.splitlines()
    if len(physical) > _MAX_LINES:
        raise InvalidInput(f"a requirements file of more than {_MAX_LINES} lines")
    for number, raw in enumerate(physical, start=1):
        if not pending:
            start = number
        line = _strip_comment(raw)
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined = " ".join(part.strip() for part in pending).strip()
        pending = []
        if joined:
            out.append((start, joined))
    if pending:
        joined = " ".join(part.strip() for part in pending).strip()
        if joined:
            out.append((start, joined))
    return out


def _strip_comment(line: str) -> str:
    """Drop a ``#`` comment: at the start, or after whitespace (a URL fragment is not one)."""
    if line.lstrip().startswith("#"):
        return ""
    match = re.search(r"\s#", line)
    return line[: match.start()] if match else line


def _parse_line(line: str, number: int) -> Pin | None:
    where = f"line {number}"
    words = line.split()
    first = words[0]
    if first.startswith("-"):
        option = first.split("=", 1)[0]
        if option in _REFUSED_OPTIONS:
            raise InvalidInput(f"{where} {_REFUSED_OPTIONS[option]}")
        if option in _IGNORED_OPTIONS:
            return None
        raise InvalidInput(f"{where}: unknown option {option[:40]!r}")
    requirement, hashes = _split_hashes(line, where)
    match = _REQUIREMENT.fullmatch(requirement)
    shown = requirement[:80]
    if match is None or "://" in requirement or " @ " in f" {requirement} ":
        raise InvalidInput(f"{where}: {shown!r} is not a pinned requirement (name==version)")
    try:
        name = parse_name(match["name"])
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.detail}") from None
    pin = _PIN.fullmatch(match["spec"])
    if pin is None:
        raise InvalidInput(
            f"{where}: {shown!r} is not pinned to one version; the mirror needs name==version "
            "lines (pip freeze and pip-compile write them)"
        )
    try:
        version = parse_version(pin["version"])
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.detail}") from None
    return Pin(normalise(name), str(version.text), hashes)


def _split_hashes(line: str, where: str) -> tuple[str, tuple[Hash, ...]]:
    """The requirement part of a line and its ``--hash=a:b`` (or ``--hash a:b``) options."""
    parts = re.split(r"\s--hash(?:\s*=\s*|\s+)", f" {line}")
    requirement = parts[0].strip()
    hashes: list[Hash] = []
    for part in parts[1:]:
        tokens = part.split()
        if not tokens:
            raise InvalidInput(f"{where}: --hash needs a value")
        value, *rest = tokens
        if rest:
            raise InvalidInput(f"{where}: only --hash options may follow a requirement")
        algorithm, sep, hexdigest = value.partition(":")
        length = _HEX_LENGTH.get(algorithm)
        if not sep or length is None:
            raise InvalidInput(f"{where}: --hash takes sha256:, sha384: or sha512: and hex")
        if len(hexdigest) != length or re.fullmatch(r"[0-9a-fA-F]+", hexdigest) is None:
            raise InvalidInput(f"{where}: the {algorithm} hash must be {length} hex digits")
        hashes.append(Hash(algorithm, hexdigest.lower()))
    if re.search(r"\s--", f" {requirement}"):
        option = re.search(r"\s(--\S+)", f" {requirement}")
        shown = option.group(1)[:40] if option else "--"
        raise InvalidInput(f"{where}: {shown!r} is not an option a requirement takes here")
    return requirement, tuple(hashes)
