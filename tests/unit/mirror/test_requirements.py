"""Pinned requirements files: what pip-compile and pip freeze write is read; the rest refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.pypi.requirements import Hash, Pin, parse_requirements

A = "a" * 64
B = "B" * 64


def test_pip_compile_output_with_hashes_markers_extras_and_options() -> None:
    text = f"""\
#
# pip-compile --generate-hashes
#
--index-url http://nora.test/simple/
--extra-index-url=http://other.test/simple/
--trusted-host nora.test

Foo.Bar[security,socks]==2.31.0 ; python_version >= "3.8" \\
    --hash=sha256:{A} \\
    --hash sha256:{B}
    # via app
baz===1.0.post1    # an arbitrary-equality pin
qux == 3.0rc1
"""
    assert parse_requirements(text.encode()) == [
        Pin("baz", "1.0.post1"),
        Pin("foo-bar", "2.31.0", (Hash("sha256", A), Hash("sha256", B.lower()))),
        Pin("qux", "3.0rc1"),
    ]


def test_a_repeated_pin_merges_its_hashes_and_no_hashes_means_any_file() -> None:
    hashed = parse_requirements(f"x==1 --hash=sha256:{A}\nX==1 --hash=sha256:{B}\n".encode())
    assert hashed == [Pin("x", "1", (Hash("sha256", A), Hash("sha256", B.lower())))]
    loose = parse_requirements(f"x==1 --hash=sha256:{A}\nx==1\n".encode())
    assert loose == [Pin("x", "1")]


def test_a_bom_crlf_and_a_dangling_backslash_are_read() -> None:
    data = b"\xef\xbb\xbfa==1\r\nb==2 \\"
    assert [p.label for p in parse_requirements(data)] == ["a==1", "b==2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x>=1", "line 1: 'x>=1' is not pinned to one version"),
        ("ok==1\nx", "line 2: 'x' is not pinned"),
        ("x==1.*", "not pinned"),
        ("x==1,<2", "not pinned"),
        ("x @ https://example.test/x.whl", "is not a pinned requirement"),
        ("https://example.test/x.whl", "is not a pinned requirement"),
        ("-r base.txt", "line 1 includes another file"),
        ("-c constraints.txt", "constraints file"),
        ("-e .", "editable"),
        ("--frobnicate", "unknown option"),
        ("x==1 --hash=md5:00", "--hash takes sha256"),
        ("x==1 --hash=sha256:abc", "64 hex digits"),
        ("x==1 --hash=", "--hash needs a value"),
        (f"x==1 --hash=sha256:{A} extra", "only --hash options"),
        ("x==1 --config-settings=a", "is not an option"),
        ("x==not a version", "not pinned"),
        ("x==1.0.0.0.0.dev1.post2.bogus", "not a valid PEP 440 version"),
        ("_x==1", "not a pinned requirement"),
    ],
)
def test_refusals_name_the_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_requirements(text.encode())


def test_not_utf8_is_refused() -> None:
    with pytest.raises(InvalidInput, match="UTF-8"):
        parse_requirements(b"\xff\xfe==1")


_pieces = st.sampled_from(
    [
        "x",
        "==",
        "===",
        "1.0",
        " ",
        "\\\n",
        "\n",
        "#",
        "[a]",
        ";",
        "--hash=",
        "sha256:",
        A,
        "-r",
        "-e",
        "--index-url",
        "@",
        "://",
        ">=",
        "*",
        ",",
        "\t",
        "\r",
        "Foo_Bar",
        "\x00",
    ]
)


@settings(max_examples=400)
@given(st.lists(_pieces, max_size=30).map("".join))
def test_requirement_like_text_is_pins_or_invalid_input(text: str) -> None:
    try:
        pins = parse_requirements(text.encode())
    except InvalidInput:
        return
    assert all(isinstance(p, Pin) and p.version for p in pins)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_any_bytes_are_pins_or_invalid_input(data: bytes) -> None:
    try:
        pins = parse_requirements(data)
    except InvalidInput:
        return
    assert all(isinstance(p, Pin) for p in pins)
