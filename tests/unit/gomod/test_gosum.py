"""go.sum for mirroring: lines, pins, the h1 hash the go command computes, hostile input."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput, TooLarge
from domain.gomod.gosum import MAX_GOSUM, ModuleSum, hash1, hash_gomod, parse_gosum

GO_MOD = b"module example.com/m\n\ngo 1.19\n"
SOURCE = b'package m\n\nfunc Hello() string { return "hi" }\n'
# Both hashes were printed by the real go command (go mod download -json) for this module.
MOD_SUM = "h1:c7eb1HtAGcXC5xl8fDvw0SlSffdsUomPvNZGVXleRQ4="
ZIP_SUM = "h1:/W6kjrPpOmuPJnA+OIVd/L6wYm86T6aY96pM5qj4cTA="


def test_hashes_match_the_go_command() -> None:
    assert hash_gomod(GO_MOD) == MOD_SUM
    files = [
        ("example.com/m@v1.0.0/m.go", hashlib.sha256(SOURCE).digest()),
        ("example.com/m@v1.0.0/go.mod", hashlib.sha256(GO_MOD).digest()),
    ]
    assert hash1(files) == ZIP_SUM


def test_a_name_with_a_newline_cannot_be_hashed() -> None:
    with pytest.raises(InvalidInput):
        hash1([("a\nb", b"\0" * 32)])


def test_lines_group_by_module_version() -> None:
    text = f"""example.com/m v1.0.0 {ZIP_SUM}
example.com/m v1.0.0/go.mod {MOD_SUM}
example.com/only/v2 v2.1.0-rc.1/go.mod {MOD_SUM}

example.com/Upper v0.0.0-20240101120000-abcdef123456 {ZIP_SUM}
example.com/old v3.0.0+incompatible/go.mod {MOD_SUM}
example.com/m v1.0.0/go.mod {MOD_SUM}
"""
    assert parse_gosum(text.encode()) == (
        ModuleSum(module="example.com/m", version="v1.0.0", mod_hash=MOD_SUM, zip_hash=ZIP_SUM),
        ModuleSum(module="example.com/only/v2", version="v2.1.0-rc.1", mod_hash=MOD_SUM),
        ModuleSum(
            module="example.com/Upper",
            version="v0.0.0-20240101120000-abcdef123456",
            zip_hash=ZIP_SUM,
        ),
        ModuleSum(module="example.com/old", version="v3.0.0+incompatible", mod_hash=MOD_SUM),
    )
    assert [m.needs_zip for m in parse_gosum(text.encode())] == [True, False, True, False]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("example.com/m v1.0.0", "expected"),
        (f"example.com/m v1.0.0 {ZIP_SUM} extra", "expected"),
        (f"nodot/m v1.0.0 {ZIP_SUM}", "missing dot"),
        (f"example.com/../m v1.0.0 {ZIP_SUM}", "malformed module path"),
        (f"example.com/m 1.0.0 {ZIP_SUM}", "invalid version"),
        (f"example.com/m v2.0.0 {ZIP_SUM}", "path suffix /v2"),
        ("example.com/m v1.0.0 h2:abc=", "only h1"),
        ("example.com/m v1.0.0 h1:!!!", "not base64"),
        ("example.com/m v1.0.0 h1:YWJj", "not a sha256"),
    ],
)
def test_bad_lines_name_their_number(line: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_gosum(f"example.com/ok v1.0.0 {ZIP_SUM}\n{line}\n".encode())
    assert caught.value.detail.startswith("go.sum line 2: ")
    assert says in caught.value.detail
    assert caught.value.subject == "gosum"


def test_two_hashes_for_one_file_are_refused() -> None:
    text = f"example.com/m v1.0.0 {ZIP_SUM}\nexample.com/m v1.0.0 {MOD_SUM}\n"
    with pytest.raises(InvalidInput, match="different hash"):
        parse_gosum(text.encode())


def test_not_utf8_and_too_large_are_refused() -> None:
    with pytest.raises(InvalidInput, match="UTF-8"):
        parse_gosum(b"\xff")
    with pytest.raises(TooLarge):
        parse_gosum(b"\n" * (MAX_GOSUM + 1))


def _check(data: bytes) -> None:
    try:
        found = parse_gosum(data)
    except InvalidInput as exc:
        assert exc.detail
        assert "\n" not in exc.detail
        return
    for entry in found:
        assert entry.mod_hash or entry.zip_hash
        assert " " not in str(entry)


@settings(max_examples=400)
@given(st.binary(max_size=300))
def test_any_bytes_are_a_gosum_or_refused(data: bytes) -> None:
    _check(data)


_FIELD = st.one_of(
    st.sampled_from(
        ["example.com/m", "example.com/m/v2", "v1.0.0", "v2.0.0/go.mod", "v1.2.3-pre", ZIP_SUM,
         MOD_SUM, "h1:", "gopkg.in/yaml.v3", "v3.0.1"]
    ),
    st.text(max_size=15),
)  # fmt: skip


@settings(max_examples=400)
@given(st.lists(st.lists(_FIELD, min_size=1, max_size=4).map(" ".join), max_size=6))
def test_any_field_soup_is_a_gosum_or_refused(lines: list[str]) -> None:
    _check("\n".join(lines).encode("utf-8", "surrogatepass"))
