"""go.sum read for mirroring, and the ``h1:`` hash its lines pin.

A go.sum line is ``<module> <version>[/go.mod] h1:<base64 sha256>``. A line
with ``/go.mod`` pins only the module's go.mod (the build read it to resolve
the module graph); a line without pins the module's zip (the build compiles
its code). So a module version needs its ``.mod``, plus ``.info`` and ``.zip``
when its source is pinned too. :func:`hash1` is the go command's ``h1`` hash
(a sha256 over sorted ``<sha256 hex>  <file name>`` lines), which lets a mirror
check what it fetched against the pins.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Final

import msgspec

from domain.errors import InvalidInput, TooLarge
from domain.gomod.grammar import check_major, check_path, parse_version

__all__ = ["MAX_GOSUM", "ModuleSum", "hash1", "hash_gomod", "parse_gosum"]

MAX_GOSUM: Final = 16 << 20
"""Largest go.sum read (big monorepos stay under a few MiB)."""
_GO_MOD: Final = "/go.mod"
_HASH_SIZE: Final = 32


class ModuleSum(msgspec.Struct, frozen=True, kw_only=True):
    """One module version of a go.sum and the hashes pinned for it.

    ``zip_hash`` is ``""`` when only the go.mod is pinned: then only ``.mod``
    is needed. ``mod_hash`` is ``""`` when the go.sum has no /go.mod line.
    """

    module: str
    version: str
    mod_hash: str = ""
    zip_hash: str = ""

    @property
    def needs_zip(self) -> bool:
        return bool(self.zip_hash)

    def __str__(self) -> str:
        return f"{self.module}@{self.version}"


def _bad(number: int, line: str, why: str) -> InvalidInput:
    return InvalidInput(f"go.sum line {number}: {line[:120]!r}: {why}", subject="gosum")


def _hash(number: int, line: str, text: str) -> str:
    if not text.startswith("h1:"):
        raise _bad(number, line, "only h1: hashes are known")
    try:
        raw = base64.b64decode(text[3:], validate=True)
    except ValueError:
        raise _bad(number, line, "the hash is not base64") from None
    if len(raw) != _HASH_SIZE:
        raise _bad(number, line, "the hash is not a sha256")
    return text


def _entry(number: int, line: str) -> tuple[str, str, bool, str]:
    fields = line.split()
    if len(fields) != 3:
        raise _bad(number, line, "expected '<module> <version>[/go.mod] h1:<hash>'")
    module, version, digest = fields
    mod_only = version.endswith(_GO_MOD)
    version = version.removesuffix(_GO_MOD)
    try:
        check_path(module)
        check_major(module, parse_version(version))
    except InvalidInput as exc:
        raise _bad(number, line, exc.detail) from None
    return module, version, mod_only, _hash(number, line, digest)


def parse_gosum(data: bytes) -> tuple[ModuleSum, ...]:
    """Every module version a go.sum pins, each once, in file order.

    Raises:
        InvalidInput: (subject "gosum") a malformed line, naming its number, or
            two different hashes pinned for the same file.
        TooLarge: a file over :data:`MAX_GOSUM`.
    """
    if len(data) > MAX_GOSUM:
        raise TooLarge(f"go.sum is larger than {MAX_GOSUM >> 20} MiB", subject="gosum")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("go.sum is not UTF-8 text", subject="gosum") from None
    found: dict[tuple[str, str], ModuleSum] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        module, version, mod_only, digest = _entry(number, line)
        earlier = found.get((module, version), ModuleSum(module=module, version=version))
        field = "mod_hash" if mod_only else "zip_hash"
        pinned = getattr(earlier, field)
        if pinned and pinned != digest:
            raise _bad(number, line, "a second, different hash for the same file")
        found[(module, version)] = msgspec.structs.replace(earlier, **{field: digest})
    return tuple(found.values())


def hash1(files: Iterable[tuple[str, bytes]]) -> str:
    """The ``h1:`` hash of files given as ``(name, sha256 digest of the content)``.

    Raises ``InvalidInput`` (subject "zip") for a name holding a newline, which
    the hash's line format cannot carry.
    """
    summary = hashlib.sha256()
    for name, digest in sorted(files):
        if "\n" in name:
            raise InvalidInput(f"file name {name[:100]!r} holds a newline", subject="zip")
        summary.update(f"{digest.hex()}  {name}\n".encode())
    return "h1:" + base64.b64encode(summary.digest()).decode("ascii")


def hash_gomod(data: bytes) -> str:
    """The ``h1:`` hash go.sum pins for a module's ``.mod`` file."""
    return hash1([("go.mod", hashlib.sha256(data).digest())])
