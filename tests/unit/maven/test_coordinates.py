"""Maven coordinate lists for mirroring: the grammar, dependency:list lines, hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput, TooLarge
from domain.maven.coordinates import MAX_LIST, Coordinate, parse_coordinates
from domain.maven.grammar import parse_path


def test_a_list_with_comments_types_classifiers_and_scopes() -> None:
    text = b"""# what the build needs
com.acme:lib:1.0
com.acme:lib:1.0            # again: listed once
com.acme:parent:pom:2.0
org.x:natives:jar:linux-x86_64:3.1
org.apache.maven.plugins:maven-jar-plugin:maven-plugin:3.3.0
   org.y:helper:test-jar:0.9:test -- module helper

org.z:web:war:1.2:compile
"""
    found = parse_coordinates(text)
    assert [c.paths for c in found] == [
        ("com/acme/lib/1.0/lib-1.0.pom", "com/acme/lib/1.0/lib-1.0.jar"),
        ("com/acme/parent/2.0/parent-2.0.pom",),
        ("org/x/natives/3.1/natives-3.1.pom", "org/x/natives/3.1/natives-3.1-linux-x86_64.jar"),
        (
            "org/apache/maven/plugins/maven-jar-plugin/3.3.0/maven-jar-plugin-3.3.0.pom",
            "org/apache/maven/plugins/maven-jar-plugin/3.3.0/maven-jar-plugin-3.3.0.jar",
        ),
        ("org/y/helper/0.9/helper-0.9.pom", "org/y/helper/0.9/helper-0.9-tests.jar"),
        ("org/z/web/1.2/web-1.2.pom", "org/z/web/1.2/web-1.2.war"),
    ]
    assert str(found[2]) == "org.x:natives:jar:linux-x86_64:3.1"
    assert str(found[0]) == "com.acme:lib:1.0"


def test_an_empty_list_is_nothing_to_do() -> None:
    assert parse_coordinates(b"\n# nothing\n\n") == ()


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("com.acme:lib", "expected groupId:artifactId"),
        ("a:b:c:d:e:f", "expected groupId:artifactId"),
        ("com.acme::1.0", "invalid part"),
        ("com.acme:lib:../1.0", "invalid part"),
        ("com..acme:lib:1.0", "empty segment"),
        ("com.acme:l ib:1.0", "invalid part"),
        ("com.acme:lib:1.0\x00", "invalid part"),
        ("a:" + "b" * 700 + ":1", "longer than"),
    ],
)
def test_bad_lines_name_their_number(line: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_coordinates(f"# first\n{line}\n".encode())
    assert caught.value.detail.startswith("line 2: ")
    assert says in caught.value.detail
    assert caught.value.subject == "coordinate"


def test_not_utf8_and_too_large_are_refused() -> None:
    with pytest.raises(InvalidInput, match="UTF-8"):
        parse_coordinates(b"\xff:a:1")
    with pytest.raises(TooLarge):
        parse_coordinates(b"#" * (MAX_LIST + 1))


def _check(data: bytes) -> None:
    try:
        found = parse_coordinates(data)
    except InvalidInput as exc:
        assert exc.detail
        assert "\n" not in exc.detail
        return
    for coordinate in found:
        assert isinstance(coordinate, Coordinate)
        for path in coordinate.paths:
            assert parse_path(path).kind == "artifact"


@settings(max_examples=400)
@given(st.binary(max_size=300))
def test_any_bytes_are_a_list_or_refused(data: bytes) -> None:
    _check(data)


_PART = st.one_of(
    st.sampled_from(["com.acme", "lib", "1.0", "jar", "pom", "test-jar", "compile", "x-1", ""]),
    st.text(max_size=12),
)


@settings(max_examples=400)
@given(st.lists(st.lists(_PART, min_size=1, max_size=7).map(":".join), max_size=6))
def test_any_colon_separated_lines_are_a_list_or_refused(lines: list[str]) -> None:
    _check("\n".join(lines).encode("utf-8", "surrogatepass"))
