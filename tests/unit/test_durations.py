"""The one duration grammar: values or InvalidInput, never anything else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.durations import MAX_DURATION, format_duration, parse_duration
from domain.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", timedelta(0)),
        ("90s", timedelta(seconds=90)),
        ("30m", timedelta(minutes=30)),
        ("24h", timedelta(hours=24)),
        (" 7D ", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_durations_operators_write(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "h", "10", "-1h", "1y", "1h 30m", "1e3s", "٣h", "99999999999d", "40000d"]
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text)


@given(st.text(max_size=80))
def test_random_text_is_a_duration_or_invalid_input(text: str) -> None:
    try:
        span = parse_duration(text)
    except InvalidInput:
        return
    assert timedelta(0) <= span <= MAX_DURATION


@given(st.integers(min_value=0, max_value=int(MAX_DURATION.total_seconds())))
def test_format_reads_back(seconds: int) -> None:
    span = timedelta(seconds=seconds)
    assert parse_duration(format_duration(span)) == span
