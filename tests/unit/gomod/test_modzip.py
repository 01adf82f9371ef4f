"""The module zip rules and the go.mod reader, on well-formed and hostile input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.codecs.zipread import ZipEntry
from domain.errors import InvalidInput, TooLarge
from domain.gomod.gomodfile import parse_gomod
from domain.gomod.grammar import parse_version
from domain.gomod.modzip import MAX_GO_MOD, check_directory, check_file_path, excluded

PREFIX = "example.com/m@v1.0.0/"


def _entries(*names: str, size: int = 1) -> list[ZipEntry]:
    return [
        ZipEntry(
            name=name, method=0, flags=0, crc=0, compressed_size=size, size=size, header_offset=0
        )
        for name in names
    ]


def test_a_good_directory_returns_its_go_mod() -> None:
    found = check_directory(
        _entries(
            PREFIX + "go.mod", PREFIX + "a.go", PREFIX + "sub/b.go", PREFIX + "vendor/modules.txt"
        ),
        "example.com/m",
        "v1.0.0",
    )
    assert found is not None
    assert found.name == PREFIX + "go.mod"
    assert check_directory(_entries(PREFIX + "a.go"), "example.com/m", "v1.0.0") is None


@pytest.mark.parametrize(
    "names",
    [
        ("example.com/m@v1.0.1/a.go",),  # another version
        ("elsewhere/a.go",),
        (PREFIX + "../escape.go",),
        (PREFIX + "a.go", PREFIX + "A.go"),  # same name modulo case
        (PREFIX + "dir/x.go", PREFIX + "DIR"),  # a file colliding with a directory
        (PREFIX + "Dir", PREFIX + "dir/x.go"),
        (PREFIX + "vendor/x/y.go",),
        (PREFIX + "pkg/vendor/v.go",),  # the go command's own offset quirk
        (PREFIX + "sub/vendor/x/y.go",),
        (PREFIX + "bad:name.go",),
        (PREFIX + "a//b.go",),
    ],
)
def test_bad_directories_are_refused(names: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput):
        check_directory(_entries(*names), "example.com/m", "v1.0.0")


def test_limits() -> None:
    with pytest.raises(TooLarge):
        check_directory(_entries(PREFIX + "go.mod", size=MAX_GO_MOD + 1), "example.com/m", "v1.0.0")
    with pytest.raises(TooLarge):
        check_directory(
            _entries(PREFIX + "LICENSE", size=MAX_GO_MOD + 1), "example.com/m", "v1.0.0"
        )


def test_file_paths_and_vendoring() -> None:
    assert check_file_path("a/b-c_d.go") == "a/b-c_d.go"
    assert excluded("vendor/x/y.go")
    assert excluded("a/vendor/x/y.go")
    assert not excluded("vendor/modules.txt")
    assert not excluded("vendor/README")  # directly in vendor/: kept, as the go command keeps it
    assert excluded("sub/vendor/sub.txt")
    assert excluded("pkg/vendor/vendor.go")
    assert not excluded("a/b.go")


def test_go_mod_module_and_retractions() -> None:
    gomod = parse_gomod(
        b'// c\nmodule "example.com/m" // x\ngo 1.21\nretract v1.0.0 // broken\n'
        b"retract (\n  [v1.1.0, v1.1.5]\n  `v1.3.0`\n)\nrequire example.com/x v1.0.0\n"
    )
    assert gomod.module == "example.com/m"
    assert [(r.low, r.high) for r in gomod.retractions] == [
        ("v1.0.0", "v1.0.0"),
        ("v1.1.0", "v1.1.5"),
        ("v1.3.0", "v1.3.0"),
    ]
    assert gomod.retractions[1].covers(parse_version("v1.1.3"))
    assert not gomod.retractions[1].covers(parse_version("v1.2.0"))


@pytest.mark.parametrize(
    "text",
    [
        b"go 1.21\n",
        b"module a\nmodule b\n",
        b"module\n",
        b"module x\nretract [v1.2.0, v1.0.0]\n",
        b"module x\nretract banana\n",
        b"module x\nretract (\n v1.0.0\n",
        b'module "x\n',
        b"\xff\xfe",
    ],
)
def test_bad_go_mods_are_refused(text: bytes) -> None:
    with pytest.raises(InvalidInput):
        parse_gomod(text)


@settings(max_examples=400)
@given(
    st.binary(max_size=200)
    | st.text(st.sampled_from(list('module retract()[],"`v1.0-/\n x')), max_size=80).map(str.encode)
)
def test_hostile_go_mods_give_a_value_or_a_domain_error(data: bytes) -> None:
    try:
        gomod = parse_gomod(data)
    except InvalidInput:
        return
    assert isinstance(gomod.module, str)


@settings(max_examples=300)
@given(st.lists(st.text(st.sampled_from(list("aA/.-_:~ \x00@vendor")), max_size=20), max_size=6))
def test_hostile_directories_give_a_value_or_a_domain_error(names: list[str]) -> None:
    with contextlib.suppress(InvalidInput):
        check_directory(_entries(*(PREFIX + n for n in names)), "example.com/m", "v1.0.0")
