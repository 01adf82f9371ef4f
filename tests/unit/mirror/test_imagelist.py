"""Image lists: one reference a line, as docker pull takes it; registry hosts dropped."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.oci.imagelist import ImageRef, parse_image_list, parse_image_ref

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alpine", ImageRef("alpine", "latest")),
        ("library/alpine:3.19", ImageRef("library/alpine", "3.19")),
        ("registry.example.test/team/app:v1", ImageRef("team/app", "v1")),
        ("localhost/app", ImageRef("app", "latest")),
        ("127.0.0.1:5000/a/b/c:dev", ImageRef("a/b/c", "dev")),
        (f"team/app@{D}", ImageRef("team/app", None, D)),
        (f"host:5000/team/app:v2@{D}", ImageRef("team/app", "v2", D)),
        ("team/app", ImageRef("team/app", "latest")),
    ],
)
def test_references(text: str, expected: ImageRef) -> None:
    assert parse_image_ref(text) == expected


def test_a_name_that_looks_like_a_host_is_one() -> None:
    assert parse_image_ref("a.b/c.d/e").name == "c.d/e"
    assert parse_image_ref("host:5000/app").name == "app"


def test_labels() -> None:
    assert ImageRef("a/b", "v1", D).label == f"a/b:v1@{D}"
    assert ImageRef("a/b", None, D).label == f"a/b@{D}"


def test_a_list_skips_comments_and_blanks_and_drops_repeats() -> None:
    data = b"# images for CI\n\nalpine:3\n  team/app:v1   # pinned\nalpine:3\n"
    assert parse_image_list(data) == [ImageRef("alpine", "3"), ImageRef("team/app", "v1")]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Upper/Case", "invalid repository name"),
        ("app:bad/tag", "invalid repository name"),
        ("app:-x", "invalid tag"),
        ("app@sha256:short!", "invalid digest"),
        ("app@md5:" + "a" * 32, "unsupported digest algorithm"),
        ("a" * 2000, "1 to 1024"),
    ],
)
def test_bad_lines_are_named(line: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=f"line 2: .*{message}"):
        parse_image_list(f"ok\n{line}\n".encode())


@settings(max_examples=500)
@given(
    st.lists(
        st.sampled_from(
            ["a", "b9", "/", ":", "@", ".", "-", "_", "sha256", "x" * 64, "A", " ", "#"]
        )
        | st.text(max_size=3),
        max_size=20,
    ).map("".join)
)
def test_reference_like_text_is_a_reference_or_invalid_input(text: str) -> None:
    try:
        found = parse_image_ref(text)
    except InvalidInput:
        return
    assert found.tag is not None or found.digest is not None
    again = parse_image_ref(found.label)  # a label reads back (a host-like name loses its host)
    assert (again.tag, again.digest) == (found.tag, found.digest)
    assert found.name.endswith(again.name)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_any_bytes_are_a_list_or_invalid_input(data: bytes) -> None:
    try:
        found = parse_image_list(data)
    except InvalidInput:
        return
    assert all(isinstance(image, ImageRef) for image in found)
