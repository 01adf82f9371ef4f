"""The dashboard's query parameters: list cursors, page numbers and search text.

Each parser returns a value or raises ``InvalidInput``; the page answers it as a
400 page, never a 500.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from domain.errors import InvalidInput

__all__ = ["MAX_PAGE", "MAX_QUERY", "PAGE_SIZE", "parse_cursor", "parse_page", "parse_query"]

PAGE_SIZE: Final = 50
MAX_PAGE: Final = 1000
"""Search pages beyond this are refused (50,000 hits deep is no longer browsing)."""
MAX_QUERY: Final = 200
_MAX_CURSOR: Final = 1024


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
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
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
