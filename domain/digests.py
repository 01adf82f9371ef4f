"""Content digests: the :class:`Digest` value object and one-pass multi-hashing.

Every byte stream NORA stores is hashed once, while it streams, with all the
algorithms any format needs (OCI: sha256/sha512, npm: sha1/sha512, PyPI:
sha256/md5, Maven: sha1/md5), so nothing is ever re-read to compute a checksum.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Final, Literal

import msgspec

from domain.errors import InvalidInput

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "Digest",
    "MultiHasher",
    "hash_bytes",
    "hashing",
]

Algorithm = Literal["sha256", "sha512", "sha1", "md5"]

ALGORITHMS: Final[dict[str, int]] = {"sha256": 64, "sha512": 128, "sha1": 40, "md5": 32}
"""Supported algorithms and the length of their lowercase hex encoding."""

_HEX = re.compile(r"[0-9a-f]+")


class Digest(msgspec.Struct, frozen=True, order=True):
    """An algorithm and its lowercase hex value, written ``algorithm:hex``."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``sha256:<64 hex>``; anything else raises :class:`InvalidInput`."""
        if not isinstance(text, str) or len(text) > 200:
            raise InvalidInput("digest is not a string of reasonable length", subject="digest")
        algorithm, sep, value = text.partition(":")
        if not sep:
            raise InvalidInput(f"digest {text[:80]!r} has no algorithm prefix", subject="digest")
        return cls.of(algorithm, value)

    @classmethod
    def of(cls, algorithm: str, value: str) -> Digest:
        """Build a digest from its parts, checking algorithm and hex length."""
        expected = ALGORITHMS.get(algorithm)
        if expected is None:
            raise InvalidInput(f"unsupported digest algorithm {algorithm[:40]!r}", subject="digest")
        if len(value) != expected or _HEX.fullmatch(value) is None:
            raise InvalidInput(
                f"{algorithm} digest must be {expected} lowercase hex characters", subject="digest"
            )
        return cls(algorithm, value)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    def base64(self) -> str:
        """The raw digest in standard base64, as npm's ``integrity`` wants it."""
        return base64.b64encode(bytes.fromhex(self.hex)).decode("ascii")

    def sri(self) -> str:
        """Subresource-integrity form, ``sha512-<base64>``."""
        return f"{self.algorithm}-{self.base64()}"


class MultiHasher:
    """Feeds one stream to several hash functions and counts its bytes."""

    __slots__ = ("_hashes", "size")

    def __init__(self, algorithms: Iterable[str] = ("sha256",)) -> None:
        self._hashes = {}
        for name in algorithms:
            if name not in ALGORITHMS:
                raise InvalidInput(f"unsupported digest algorithm {name!r}", subject="digest")
            self._hashes[name] = hashlib.new(name)
        self.size = 0

    def update(self, chunk: bytes) -> None:
        """Add a chunk; hashlib releases the GIL for large chunks."""
        for h in self._hashes.values():
            h.update(chunk)
        self.size += len(chunk)

    def digest(self, algorithm: str = "sha256") -> Digest:
        """The digest so far for one algorithm (the hasher stays usable)."""
        try:
            h = self._hashes[algorithm]
        except KeyError:
            raise InvalidInput(
                f"{algorithm} was not computed for this stream", subject="digest"
            ) from None
        return Digest(algorithm, h.hexdigest())

    def digests(self) -> dict[str, Digest]:
        """Every computed digest, keyed by algorithm."""
        return {name: Digest(name, h.hexdigest()) for name, h in self._hashes.items()}


def hash_bytes(data: bytes, algorithm: str = "sha256") -> Digest:
    """Digest of an in-memory byte string (small documents only)."""
    hasher = MultiHasher((algorithm,))
    hasher.update(data)
    return hasher.digest(algorithm)


async def hashing(chunks: AsyncIterable[bytes], hasher: MultiHasher) -> AsyncIterator[bytes]:
    """Pass ``chunks`` through unchanged while feeding ``hasher``."""
    async for chunk in chunks:
        hasher.update(chunk)
        yield chunk
