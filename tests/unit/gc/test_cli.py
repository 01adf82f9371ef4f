"""``nora gc``'s own input: --grace reads the one duration grammar, and nothing else."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from entrypoints.cli_gc import grace_argument


@given(st.text(max_size=80))
def test_grace_is_a_duration_or_an_argument_error(text: str) -> None:
    try:
        value = grace_argument(text)
    except argparse.ArgumentTypeError as exc:
        assert str(exc)
    else:
        assert isinstance(value, timedelta)
        assert value >= timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0s", timedelta(0)), ("24h", timedelta(hours=24)), ("1h30m", timedelta(minutes=90))],
)
def test_grace_spellings(text: str, expected: timedelta) -> None:
    assert grace_argument(text) == expected


def test_a_bad_grace_is_refused_with_the_grammar() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a duration"):
        grace_argument("soon")
