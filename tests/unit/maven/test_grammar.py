"""Maven path grammar: layout parsing, and hostile paths never reach storage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.keys import check_key
from domain.maven.grammar import content_type_of, parse_directory, parse_path, scope_name


def test_release_artifact() -> None:
    p = parse_path("com/acme/lib/1.0/lib-1.0-sources.jar.sha1")
    assert (p.kind, p.group, p.artifact, p.version) == ("artifact", "com.acme", "lib", "1.0")
    assert (p.classifier, p.extension, p.checksum) == ("sources", "jar", "sha1")
    assert p.path == "com/acme/lib/1.0/lib-1.0-sources.jar"
    assert p.artifact_dir == "com/acme/lib"
    assert not p.snapshot


def test_snapshot_files() -> None:
    stamped = parse_path("g/a/1.0-SNAPSHOT/a-1.0-20261130.101500-3-tests.jar")
    assert stamped.build == "20261130.101500-3"
    assert (stamped.classifier, stamped.extension) == ("tests", "jar")
    assert stamped.snapshot
    assert not stamped.literal_snapshot
    literal = parse_path("g/a/1.0-SNAPSHOT/a-1.0-SNAPSHOT.pom")
    assert literal.literal_snapshot
    assert literal.extension == "pom"
    other = parse_path("g/a/1.0-SNAPSHOT/notes.txt")
    assert other.kind == "file"
    assert other.snapshot


def test_metadata_and_plain_files() -> None:
    meta = parse_path("g/a/maven-metadata.xml.md5")
    assert (meta.kind, meta.checksum, meta.directory) == ("metadata", "md5", "g/a")
    assert parse_path("archetype-catalog.xml").kind == "file"
    assert parse_path("g/a/1.0/b-1.0.jar").kind == "file"  # not the artifact's name
    assert parse_path("a/b/1.0/b-1.0.tar.gz").extension == "tar.gz"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "../x",
        "a/../b",
        "a//b",
        "/abs",
        "a/./b",
        "a/.hidden",
        "a\x00b",
        "a\\b",
        "a/b/",
        "x" * 300,
    ],
)
def test_hostile_paths_refused(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_path(bad)
    assert info.value.subject == "path"


def test_directories_and_scope_names() -> None:
    assert parse_directory("/com/acme/") == "com/acme"
    assert parse_directory("") == ""
    with pytest.raises(InvalidInput):
        parse_directory("com/../x")
    assert scope_name("/com/acme/lib/1.0/lib-1.0.jar") == "com/acme/lib"
    assert scope_name("com/acme/lib/maven-metadata.xml.sha1") == "com/acme/lib"
    assert scope_name("com/acme/lib/1.0-SNAPSHOT/maven-metadata.xml") == "com/acme/lib"
    assert scope_name("com/acme/") == "com/acme"
    assert scope_name("/") is None


def test_content_types() -> None:
    assert content_type_of("a.jar") == "application/java-archive"
    assert content_type_of("a.pom") == "application/xml"
    assert content_type_of("a.module") == "application/json"
    assert content_type_of("a.jar.asc") == "application/pgp-signature"
    assert content_type_of("a.sha512") == "text/plain"
    assert content_type_of("a.bin") == "application/octet-stream"


segment = st.text(alphabet="abcZ09._-+~/\\\x00 %é", min_size=0, max_size=30)


@settings(max_examples=500, deadline=None)
@given(st.lists(segment, max_size=8).map("/".join) | st.text(max_size=200))
def test_any_input_parses_to_a_safe_key_or_raises_invalid_input(path: str) -> None:
    try:
        parsed = parse_path(path)
    except InvalidInput:
        return
    assert check_key(parsed.path) == parsed.path
    assert parsed.path in path
    assert ".." not in parsed.path.split("/")
    if parsed.kind == "artifact":
        assert parsed.filename.startswith(parsed.artifact + "-")
        assert parsed.extension
    try:
        directory = parse_directory(path)
    except InvalidInput:
        return
    assert directory == "" or check_key(directory) == directory
