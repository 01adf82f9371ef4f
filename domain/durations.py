"""Durations as operators write them: ``90s``, ``30m``, ``24h``, ``7d``, ``2w``, or ``0``.

One grammar for every setting and flag that takes a span of time
(``NORA_GC_INTERVAL``, ``nora gc --grace``, retention's ``older_than``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Final

from domain.errors import InvalidInput

__all__ = ["MAX_DURATION", "format_duration", "parse_duration"]

_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_GRAMMAR: Final = re.compile(r"(?:(\d{1,9}(?:\.\d{1,6})?)([smhdw]))+|0", re.ASCII)
_PART: Final = re.compile(r"(\d{1,9}(?:\.\d{1,6})?)([smhdw])", re.ASCII)
MAX_DURATION: Final = timedelta(days=100 * 366)
"""Longer than any registry keeps anything; keeps arithmetic on datetimes in range."""


def parse_duration(text: str) -> timedelta:
    """``1h30m`` -> 90 minutes; raises ``InvalidInput`` for anything else or above 100 years."""
    cleaned = text.strip().lower()
    if len(cleaned) > 64 or not _GRAMMAR.fullmatch(cleaned):
        raise InvalidInput(
            f"{text[:64]!r} is not a duration such as 90s, 30m, 24h, 7d or 1h30m",
            subject="duration",
        )
    seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(cleaned))
    if seconds > MAX_DURATION.total_seconds():
        raise InvalidInput(f"{text[:64]!r} is longer than 100 years", subject="duration")
    return timedelta(seconds=seconds)


def format_duration(span: timedelta) -> str:
    """The shortest exact spelling ``parse_duration`` reads back (whole seconds)."""
    seconds = int(span.total_seconds())
    if seconds <= 0:
        return "0"
    parts = []
    for unit in ("d", "h", "m", "s"):
        amount, seconds = divmod(seconds, _UNITS[unit])
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)
