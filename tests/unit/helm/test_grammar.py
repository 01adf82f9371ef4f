"""Chart names, versions and file names: every input is a value or ``InvalidInput``."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.helm.grammar import (
    parse_chart_file,
    parse_name,
    parse_version,
    scope_name,
    version_key,
)


def test_names() -> None:
    for good in ("mychart", "my-chart", "a", "nginx.ingress", "A_b-1"):
        assert parse_name(good) == good
    for bad in ("", "-a", "a-", "../x", "a/b", "a..b", "x" * 101, None, 3, "a b"):
        with pytest.raises(InvalidInput):
            parse_name(bad)


def test_versions_and_order() -> None:
    for good in ("0.1.0", "1.2.3-rc.1", "1.0.0+build.5", "v2.0.0", "1.0.0-alpha-1"):
        assert parse_version(good) == good
    for bad in ("1.0", "01.0.0", "1.0.0-", "latest", "", "1.0.0-01", None):
        with pytest.raises(InvalidInput):
            parse_version(bad)
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.2.0",
        "1.10.0",
        "2.0.0",
    ]
    assert sorted(reversed(ordered), key=version_key) == ordered
    assert version_key("junk") < version_key("0.0.0")


def test_chart_files() -> None:
    found = parse_chart_file("my-chart-1.2.3-rc-1.tgz")
    assert (found.name, found.version, found.prov) == ("my-chart", "1.2.3-rc-1", False)
    prov = parse_chart_file("a-0.1.0.tgz.prov")
    assert (prov.name, prov.version, prov.prov) == ("a", "0.1.0", True)
    assert prov.filename == "a-0.1.0.tgz.prov"
    for bad in ("a.tgz", "a-1.0.tgz", "../a-1.0.0.tgz", "a-1.0.0.zip", "-1.0.0.tgz", ""):
        with pytest.raises(InvalidInput):
            parse_chart_file(bad)


def test_scope_names() -> None:
    assert scope_name("/api/charts/mychart/0.1.0") == "mychart"
    assert scope_name("/api/charts/mychart") == "mychart"
    assert scope_name("/charts/my-chart-0.1.0.tgz") == "my-chart"
    assert scope_name("/charts/junk") is None
    assert scope_name("/index.yaml") is None
    assert scope_name("/api/charts") is None


@given(st.text(max_size=150))
def test_any_text(text: str) -> None:
    for parse in (parse_name, parse_version):
        with contextlib.suppress(InvalidInput):
            assert parse(text) == text
    try:
        found = parse_chart_file(text)
    except InvalidInput:
        return
    assert "/" not in found.name
    assert ".." not in found.name
    assert found.filename == text
    version_key(text)
