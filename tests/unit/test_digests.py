"""Digest parsing and one-pass multi-hashing."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.digests import ALGORITHMS, Digest, MultiHasher, hash_bytes, hashing
from domain.errors import InvalidInput


@given(st.text(max_size=300))
def test_parse_returns_a_digest_or_raises_invalid_input(text: str) -> None:
    try:
        digest = Digest.parse(text)
    except InvalidInput as exc:
        assert exc.subject == "digest"
    else:
        assert str(digest) == text
        assert len(digest.hex) == ALGORITHMS[digest.algorithm]


@given(st.sampled_from(sorted(ALGORITHMS)), st.binary(max_size=2048))
def test_round_trip_for_every_algorithm(algorithm: str, data: bytes) -> None:
    digest = hash_bytes(data, algorithm)
    assert digest.hex == hashlib.new(algorithm, data).hexdigest()
    assert Digest.parse(str(digest)) == digest


@pytest.mark.parametrize(
    "text",
    [
        "sha256:" + "A" * 64,  # upper case
        "sha256:" + "a" * 63,
        "sha256:" + "g" * 64,
        "sha384:" + "a" * 96,  # not offered
        "SHA256:" + "a" * 64,
        ":" + "a" * 64,
        "sha256",
        "sha256:" + "a" * 64 + "\n",
    ],
)
def test_bad_digests(text: str) -> None:
    with pytest.raises(InvalidInput):
        Digest.parse(text)


def test_sri_form_matches_npm_integrity() -> None:
    data = b"tarball"
    digest = hash_bytes(data, "sha512")
    assert digest.sri() == "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@given(st.lists(st.binary(max_size=5000), max_size=20))
def test_multihasher_is_one_pass_over_chunks(chunks: list[bytes]) -> None:
    hasher = MultiHasher(ALGORITHMS)
    for chunk in chunks:
        hasher.update(chunk)
    whole = b"".join(chunks)
    assert hasher.size == len(whole)
    for name, digest in hasher.digests().items():
        assert digest.hex == hashlib.new(name, whole).hexdigest()


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(InvalidInput):
        MultiHasher(("crc32",))
    with pytest.raises(InvalidInput):
        MultiHasher(("sha256",)).digest("md5")


@pytest.mark.anyio
async def test_hashing_passes_chunks_through() -> None:
    async def source():  # type: ignore[no-untyped-def]
        yield b"ab"
        yield b"cd"

    hasher = MultiHasher(("sha256", "md5"))
    assert [c async for c in hashing(source(), hasher)] == [b"ab", b"cd"]
    assert hasher.digest("md5").hex == hashlib.md5(b"abcd").hexdigest()
