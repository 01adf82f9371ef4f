"""The [[retention]] parser: policies, or one InvalidInput sentence naming table and field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.retention import Item, Policy, doomed, parse_policies

FORMATS = ("docker", "npm", "pypi", "raw")


def test_a_full_table_is_read() -> None:
    [policy] = parse_policies(
        [
            {
                "format": "docker",
                "names": ["team/*"],
                "keep_last": 10,
                "older_than": "90d",
                "protect": ["v*", "latest"],
            }
        ],
        FORMATS,
    )
    assert policy == Policy(
        index=1,
        format="docker",
        names=("team/*",),
        keep_last=10,
        older_than=timedelta(days=90),
        protect=("v*", "latest"),
    )
    assert not policy.cache
    assert policy.matches("team/a/b")
    assert not policy.matches("other/app")
    assert policy.protects("v1.2")
    assert not policy.protects("dev")


def test_defaults_and_cache_policies() -> None:
    first, second = parse_policies(
        [{"format": "npm", "keep_last": 3}, {"format": "pypi", "fetched_within": "30d"}],
        FORMATS,
    )
    assert first.names == ("*",)
    assert first.older_than is None
    assert first.matches("@acme/tool")  # * crosses the scope's slash
    assert second.cache
    assert second.fetched_within == timedelta(days=30)
    assert parse_policies(None, FORMATS) == []


@pytest.mark.parametrize(
    ("tables", "words"),
    [
        ([{"format": "npm"}], "table 1, keep_last"),
        ([{"format": "gem", "keep_last": 1}], "table 1, format"),
        ([{"keep_last": 1}], "table 1, format"),
        ([{"format": "npm", "keep_last": 1}, {"format": "npm", "keep": 1}], "table 2, keep"),
        ([{"format": "npm", "keep_last": 0}], "table 1, keep_last"),
        ([{"format": "npm", "keep_last": True}], "table 1, keep_last"),
        ([{"format": "npm", "older_than": "ninety days"}], "table 1, older_than"),
        ([{"format": "npm", "older_than": "0"}], "table 1, older_than"),
        ([{"format": "npm", "fetched_within": "1d", "keep_last": 2}], "table 1, keep_last"),
        ([{"format": "npm", "fetched_within": "1d", "protect": "x"}], "table 1, protect"),
        ([{"format": "npm", "keep_last": 1, "names": []}], "table 1, names"),
        ([{"format": "npm", "keep_last": 1, "names": [""]}], "table 1, names"),
        ([{"format": "npm", "keep_last": 1, "protect": [3]}], "table 1, protect"),
        (["npm"], "table 1"),
        ({"format": "npm"}, "list of [[retention]] tables"),
    ],
)
def test_errors_name_the_table_and_field(tables: Any, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_policies(tables, FORMATS)
    assert words in caught.value.detail
    assert "\n" not in caught.value.detail


_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["npm", "docker", "1d", "90d", "*", "0", "3w2d"]),
)
_value = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    ["format", "names", "keep_last", "older_than", "protect", "fetched_within", "other"]
)
_table = st.dictionaries(_keys, _value, max_size=6) | _value


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.lists(_table, max_size=4), _value))
def test_any_toml_shaped_value_is_policies_or_invalid_input(tables: Any) -> None:
    try:
        policies = parse_policies(tables, FORMATS)
    except InvalidInput as exc:
        assert exc.detail.startswith("retention")
        return
    for number, policy in enumerate(policies, start=1):
        assert policy.index == number
        assert policy.format in FORMATS
        assert policy.names
        assert policy.cache or policy.keep_last is not None or policy.older_than is not None


NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _items(*ages_days: float | None, pinned: tuple[str, ...] = ()) -> tuple[Item, ...]:
    return tuple(
        Item(
            id=f"v{n}",
            at=None if age is None else NOW - timedelta(days=age),
            pinned=f"v{n}" in pinned,
        )
        for n, age in enumerate(ages_days)
    )


def _ids(items: list[Item]) -> list[str]:
    return [item.id for item in items]


def _policy(**fields: Any) -> Policy:
    return Policy(index=1, format="npm", **fields)


def test_keep_last_keeps_the_newest_n() -> None:
    assert _ids(doomed(_items(1, 2, 3, 4), _policy(keep_last=2), NOW)) == ["v2", "v3"]


def test_older_than_alone() -> None:
    policy = _policy(older_than=timedelta(days=10))
    assert _ids(doomed(_items(1, 11, 5, 30, None), policy, NOW)) == ["v1", "v3"]


def test_both_rules_must_agree() -> None:
    policy = _policy(keep_last=2, older_than=timedelta(days=10))
    # v1 is old but among the newest two; v2 is beyond two but young; v3 both
    assert _ids(doomed(_items(20, 30, 5, 40), policy, NOW)) == ["v3"]


def test_protected_and_pinned_never_go_but_take_their_place() -> None:
    policy = _policy(keep_last=1, protect=("v2",))
    items = _items(1, 2, 3, 4, pinned=("v3",))
    assert _ids(doomed(items, policy, NOW)) == ["v1"]


def test_an_item_of_unknown_age_never_goes_even_beyond_keep_last() -> None:
    # OCI tags pushed before NORA kept push times: their rank would be a guess
    assert _ids(doomed(_items(1, 2, None, None), _policy(keep_last=1), NOW)) == ["v1"]


def test_nothing_matches_nothing_goes() -> None:
    assert doomed((), _policy(keep_last=1), NOW) == []
    assert not _policy(keep_last=1, names=("other",)).matches("mine")
