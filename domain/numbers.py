"""Reading numbers from client text.

``str.isdigit`` is true for superscripts and other digit characters that ``int``
refuses (``"²"``), so a check with it followed by ``int`` turns hostile input into a
ValueError (a 500 at the edge). Every such check uses :func:`is_digits` instead.
"""

from __future__ import annotations

__all__ = ["is_digits"]


def is_digits(text: str) -> bool:
    """True for a non-empty run of ASCII digits ``0-9``, which ``int`` always reads."""
    return text.isascii() and text.isdigit()
