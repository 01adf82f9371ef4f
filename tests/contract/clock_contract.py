"""The Clock contract."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from domain.ports import Clock


class ClockContract:
    @pytest.fixture
    def clock(self) -> Clock:
        raise NotImplementedError

    def test_now_is_aware_utc(self, clock: Clock) -> None:
        now = clock.now()
        assert now.tzinfo is not None
        assert now.utcoffset() == timedelta(0)
        assert now.astimezone(UTC) == now

    def test_never_goes_backwards(self, clock: Clock) -> None:
        readings = [clock.now() for _ in range(100)]
        assert readings == sorted(readings)
