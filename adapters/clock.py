"""Clock adapters: the system clock and a fixed clock for tests and replays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["FixedClock", "SystemClock"]


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to, so expiry can be tested exactly."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new time."""
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (timezone-aware)."""
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs timezone-aware times")
        self._now = moment
