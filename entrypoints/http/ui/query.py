"""The dashboard's query parameters: cursors, page numbers, search text and activity filters.

Each parser returns a value or raises ``InvalidInput``; the page answers it as a
400 page, never a 500.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Final

from domain.errors import InvalidInput
from domain.keys import ACTIVITY_PREFIX
from domain.numbers import is_digits

__all__ = [
    "MAX_ACTOR",
    "MAX_PAGE",
    "MAX_QUERY",
    "PAGE_SIZE",
    "parse_activity_cursor",
    "parse_actor",
    "parse_choice",
    "parse_cursor",
    "parse_moment",
    "parse_page",
    "parse_query",
]

PAGE_SIZE: Final = 50
MAX_PAGE: Final = 1000
"""Search pages beyond this are refused (50,000 hits deep is no longer browsing)."""
MAX_QUERY: Final = 200
_MAX_CURSOR: Final = 1024
MAX_ACTOR: Final = 200
_ACTIVITY_CURSOR: Final = re.compile(re.escape(ACTIVITY_PREFIX) + r"[0-9]{17}-[0-9a-f]{1,32}")
_MOMENT: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?"
)
_FIRST_YEAR: Final = 1970
_LAST_YEAR: Final = 4000


def _printable(text: str) -> bool:
    return not any(unicodedata.category(char) in ("Cc", "Cs") for char in text)


def parse_cursor(text: str | None) -> str | None:
    """A list cursor (the last name of the previous page): None for the first page."""
    if text is None or text == "":
        return None
    if len(text) > _MAX_CURSOR or not _printable(text):
        raise InvalidInput("bad page cursor", subject="cursor")
    return text


def parse_page(text: str | None) -> int:
    """A 1-based page number of search results (1 when absent)."""
    if text is None or text == "":
        return 1
    if not is_digits(text) or len(text) > 6:
        raise InvalidInput("the page must be a number", subject="page")
    page = int(text)
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInput(f"the page must be between 1 and {MAX_PAGE}", subject="page")
    return page


def parse_query(text: str | None) -> str:
    """Search text: words separated by spaces, at most ``MAX_QUERY`` characters.

    Control characters are refused; surrounding and repeated spaces are dropped.
    """
    if text is None:
        return ""
    if len(text) > MAX_QUERY:
        raise InvalidInput(f"search text is limited to {MAX_QUERY} characters", subject="query")
    if not _printable(text):
        raise InvalidInput("search text must be printable", subject="query")
    return " ".join(text.split())


def parse_actor(text: str | None) -> str | None:
    """A user or token name to filter the activity trail by (None: anyone).

    Surrounding spaces are dropped; control characters and more than
    ``MAX_ACTOR`` characters are refused.
    """
    if text is None:
        return None
    if len(text) > MAX_ACTOR:
        raise InvalidInput(f"the actor is limited to {MAX_ACTOR} characters", subject="actor")
    if not _printable(text):
        raise InvalidInput("the actor must be printable", subject="actor")
    return text.strip() or None


def parse_choice(text: str | None, allowed: Collection[str], subject: str) -> str | None:
    """One of ``allowed`` (None for absent, empty or ``any``): a select's value."""
    if text is None or text in ("", "any"):
        return None
    if text not in allowed:
        raise InvalidInput(f"unknown {subject}", subject=subject)
    return text


def parse_moment(text: str | None, *, end: bool = False, subject: str = "time") -> datetime | None:
    """A UTC time from a date (``2026-01-31``) or a datetime-local (``2026-01-31T09:30[:15]``).

    The value is the start of the day, minute or second given, or with ``end``
    its last microsecond (so "until 2026-01-31" includes that whole day).
    """
    if text is None or text == "":
        return None
    found = _MOMENT.fullmatch(text) if len(text) <= 19 and text.isascii() else None
    if found is None:
        raise InvalidInput(
            f"the {subject} must look like 2026-01-31 or 2026-01-31T09:30", subject=subject
        )
    year, month, day = (int(part) for part in found.group(1, 2, 3))
    hour, minute, second = (None if part is None else int(part) for part in found.group(4, 5, 6))
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        raise InvalidInput(
            f"the {subject} must lie between {_FIRST_YEAR} and {_LAST_YEAR}", subject=subject
        )
    try:
        moment = datetime(year, month, day, hour or 0, minute or 0, second or 0, tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"the {subject} is not a real date or time", subject=subject) from None
    if end:
        step = timedelta(days=1) if hour is None else timedelta(minutes=1)
        step = timedelta(seconds=1) if second is not None else step
        moment += step - timedelta(microseconds=1)
    return moment


def parse_activity_cursor(text: str | None) -> str | None:
    """An activity trail cursor (an event's key, as a previous page handed it on)."""
    if text is None or text == "":
        return None
    if len(text) > 100 or _ACTIVITY_CURSOR.fullmatch(text) is None:
        raise InvalidInput("bad page cursor", subject="cursor")
    return text
