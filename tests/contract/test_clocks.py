"""The Clock contract against the system and the fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.clock import FixedClock, SystemClock
from domain.ports import Clock
from tests.contract.clock_contract import ClockContract


class TestSystemClock(ClockContract):
    @pytest.fixture
    def clock(self) -> Clock:
        return SystemClock()


class TestFixedClock(ClockContract):
    @pytest.fixture
    def clock(self) -> Clock:
        return FixedClock()

    def test_moves_only_when_told(self) -> None:
        clock = FixedClock(datetime(2026, 5, 1, tzinfo=UTC))
        assert clock.now() == clock.now()
        assert clock.advance(timedelta(seconds=5)) == datetime(2026, 5, 1, 0, 0, 5, tzinfo=UTC)
        with pytest.raises(ValueError, match="timezone"):
            FixedClock(datetime(2026, 5, 1))
