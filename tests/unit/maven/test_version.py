"""Maven's version order (ComparableVersion rules), with examples and properties."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.maven.version import MavenVersion, version_key

ORDERED = [
    "1.0-alpha",
    "1.0-alpha-1",
    "1.0-alpha2",
    "1.0-beta",
    "1.0-milestone-1",
    "1.0-rc1",
    "1.0-SNAPSHOT",
    "1.0",
    "1.0-sp",
    "1.0-foo",
    "1.0-1",
    "1.0.1",
    "1.1",
    "1.2",
    "1.10",
    "2-alpha",
    "2",
]


def test_documented_order() -> None:
    assert sorted(reversed(ORDERED), key=version_key) == ORDERED
    for low, high in itertools.pairwise(ORDERED):
        assert MavenVersion(low) < MavenVersion(high), (low, high)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1", "1.0"),
        ("1.0.0", "1"),
        ("1-ga", "1"),
        ("1.0-final", "1"),
        ("1-release", "1.0"),
        ("1.0-cr1", "1.0-rc1"),
        ("1-a1", "1-alpha-1"),
        ("1.0-ALPHA", "1.0-alpha"),
    ],
)
def test_equal_spellings(a: str, b: str) -> None:
    assert MavenVersion(a) == MavenVersion(b)
    assert hash(MavenVersion(a)) == hash(MavenVersion(b))
    assert MavenVersion(a).canonical == MavenVersion(b).canonical


def test_numbers_compare_as_numbers_and_beat_qualifiers() -> None:
    assert MavenVersion("1.9") < MavenVersion("1.10")
    assert MavenVersion("1-sp") < MavenVersion("1-1") < MavenVersion("1.1")
    assert MavenVersion("1.0-zzz") > MavenVersion("1.0-sp")
    assert MavenVersion("1.0-aaa") < MavenVersion("1.0-bbb")
    assert MavenVersion("99999999999999999999") > MavenVersion("9999999999999999999")


versions = st.text(alphabet="0123456789.-abcrSNAPSHOTspgfinal", max_size=20) | st.text(max_size=30)


@settings(max_examples=400, deadline=None)
@given(versions, versions, versions)
def test_order_is_total_and_consistent(a: str, b: str, c: str) -> None:
    va, vb, vc = MavenVersion(a), MavenVersion(b), MavenVersion(c)
    assert (va < vb) + (vb < va) + (va == vb) == 1
    if va <= vb and vb <= vc:
        assert va <= vc
    assert (va == vb) == (MavenVersion(va.canonical) == MavenVersion(vb.canonical))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=4))
def test_plain_numbers_sort_like_tuples(parts: list[int]) -> None:
    text = ".".join(map(str, parts))
    bumped = ".".join(map(str, [*parts[:-1], parts[-1] + 1]))
    assert MavenVersion(text) < MavenVersion(bumped)
    assert MavenVersion(text + "-alpha") < MavenVersion(text) < MavenVersion(text + ".1")


@pytest.mark.parametrize(
    "cycle",
    [
        ("", "A", "0A0"),  # ComparableVersion: "" < "A" < "0A0" < ""
        ("1.0.rc1", "1-sp", "1"),  # ComparableVersion: 1.0.rc1 > 1-sp > 1 > 1.0.rc1
        ("-.1", "", "A"),
    ],
)
def test_maven_s_own_cycles_are_broken(cycle: tuple[str, str, str]) -> None:
    ordered = sorted(cycle, key=version_key)
    for low, high in itertools.pairwise(ordered):
        assert MavenVersion(low) <= MavenVersion(high)
    assert MavenVersion(ordered[0]) <= MavenVersion(ordered[2])
    assert sorted(reversed(cycle), key=version_key) == ordered, "whatever the input order"
    assert MavenVersion("1.0.rc1") < MavenVersion("1"), "a release candidate stays below"


@given(versions, versions)
def test_equal_versions_share_their_canonical_spelling_and_hash(a: str, b: str) -> None:
    va, vb = MavenVersion(a), MavenVersion(b)
    if va == vb:
        assert va.canonical == vb.canonical
        assert hash(va) == hash(vb)


@pytest.mark.parametrize(
    ("a", "b"),
    [("1.ga.1", "1.0.1"), ("0-2", "ga2"), ("-alpha", "final-alpha"), ("1.final.2", "1.0.2")],
)
def test_equal_spellings_of_nothing_share_a_hash(a: str, b: str) -> None:
    assert MavenVersion(a) == MavenVersion(b)
    assert hash(MavenVersion(a)) == hash(MavenVersion(b))
    assert len({MavenVersion(a), MavenVersion(b)}) == 1
