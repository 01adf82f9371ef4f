"""Maven's version order (the rules of ``ComparableVersion``, as its documentation states them).

A version splits at ``.``, at ``-`` and where digits meet letters; ``-`` and
a letter/digit transition open a sub-list. Numbers compare as numbers;
qualifiers in the order ``alpha < beta < milestone < rc = cr < snapshot <
"" = ga = final = release < sp``, unknown qualifiers after all of them in
lexical order; ``a``, ``b`` and ``m`` right before a digit mean alpha, beta
and milestone. Trailing "null" items (0, the release qualifier, empty lists)
are dropped, so ``1 = 1.0 = 1.0.0 = 1-ga``. Across kinds: a number beats a
list, which beats a qualifier (``1.1 > 1-1 > 1-sp``). So
``1.0-alpha < 1.0 < 1.0.1 < 1.10``.

ComparableVersion's rules are not a total order (``1.0.rc1 > 1-sp > 1 > 1.0.rc1``,
``"" < "a" < "0a0" < ""``), and sorting needs one. Two departures make it total
while every documented comparison keeps its answer (the tests hold them): a "null"
item before a sub-list stays (``1.0-sp`` is 1, 0, [sp]; Maven drops the 0), and a
single item meets a list as the one-item list it would be, a tie going to the
number, then the list, then the qualifier. Only odd spellings move: ``1-sp`` now
sorts just above ``1.0-sp`` instead of equal to it.
"""

from __future__ import annotations

import functools
from typing import Final, Union

__all__ = ["MavenVersion", "version_key"]

_QUALIFIERS: Final = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES: Final = {"ga": "", "final": "", "release": "", "cr": "rc"}
_RELEASE: Final = _QUALIFIERS.index("")
_SHORT: Final = {"a": "alpha", "b": "beta", "m": "milestone"}

# An item: int (a number), str (a qualifier, already made comparable), or list (a sub-list).
_Item = Union[int, "_Qualifier", list["_Item"]]


class _Qualifier:
    __slots__ = ("rank", "text")

    def __init__(self, text: str, followed_by_digit: bool) -> None:
        if followed_by_digit and len(text) == 1:
            text = _SHORT.get(text, text)
        text = _ALIASES.get(text, text)
        self.text = text
        self.rank = _QUALIFIERS.index(text) if text in _QUALIFIERS else len(_QUALIFIERS)

    def key(self) -> tuple[int, str]:
        return (self.rank, self.text if self.rank == len(_QUALIFIERS) else "")

    def __repr__(self) -> str:
        return repr(self.text)


def _is_null(item: _Item) -> bool:
    if isinstance(item, bool):  # pragma: no cover - never built
        return False
    if isinstance(item, int):
        return item == 0
    if isinstance(item, _Qualifier):
        return item.rank == _RELEASE
    return not item


def _normalise(items: list[_Item]) -> None:
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if not _is_null(item):
            break
        del items[index]


def _parse(version: str) -> list[_Item]:
    text = version.lower()
    root: list[_Item] = []
    current = root
    stack = [root]
    is_digit = False
    start = 0

    def item(digit: bool, part: str) -> _Item:
        return int(part) if digit else _Qualifier(part, False)

    def open_list() -> None:
        nonlocal current
        child: list[_Item] = []
        current.append(child)
        current = child
        stack.append(child)

    for index, char in enumerate(text):
        if char == ".":
            current.append(0 if index == start else item(is_digit, text[start:index]))
            start = index + 1
        elif char == "-":
            current.append(0 if index == start else item(is_digit, text[start:index]))
            start = index + 1
            open_list()
        elif "0" <= char <= "9":
            if not is_digit and index > start:
                current.append(_Qualifier(text[start:index], True))
                start = index
                open_list()
            is_digit = True
        else:
            if is_digit and index > start:
                current.append(int(text[start:index]))
                start = index
                open_list()
            is_digit = False
    if len(text) > start:
        current.append(item(is_digit, text[start:]))
    while stack:
        _normalise(stack.pop())
    return root


def _scalar(item: int | _Qualifier | None) -> tuple[int, int, str]:
    """Where a single item stands: pre-release qualifiers, then "nothing" (padding, 0 and
    the release qualifier, all equal), then ``sp`` and unknown qualifiers, then numbers."""
    if item is None or item == 0:
        return (1, 0, "")
    if isinstance(item, int):
        return (3, item, "")
    if item.rank < _RELEASE:
        return (0, item.rank, "")
    if item.rank == _RELEASE:
        return (1, 0, "")
    return (2, item.rank, item.text if item.rank == len(_QUALIFIERS) else "")


def _kind(item: _Item | None) -> int:
    """The tie-break between a list and a single item whose items compare equal: a qualifier
    below the list, a number above it (``1-sp < 1-1 < 1.1``); "nothing" beside it."""
    if item is None or isinstance(item, list) or _scalar(item)[0] == 1:
        return 1
    return 0 if isinstance(item, _Qualifier) else 2


def _compare(left: _Item | None, right: _Item | None) -> int:
    """-1, 0 or 1; ``None`` stands for a missing item (padding of the shorter list).

    Maven's own rules are not a total order once lists meet padding or qualifiers ("" <
    "a" < "0a0" < "" in ComparableVersion): sorting needs one. Here a single item meets a
    list as the one-item list it would be, lists compare item by item with padding, and
    a tie between a list and a single item goes by kind. Real versions keep Maven's
    answers (the documented order is a test).
    """
    if not isinstance(left, list) and not isinstance(right, list):
        a, b = _scalar(left), _scalar(right)
        return (a > b) - (a < b)
    lefts = left if isinstance(left, list) else ([] if left is None else [left])
    rights = right if isinstance(right, list) else ([] if right is None else [right])
    for index in range(max(len(lefts), len(rights))):
        result = _compare(
            lefts[index] if index < len(lefts) else None,
            rights[index] if index < len(rights) else None,
        )
        if result:
            return result
    a_kind, b_kind = _kind(left), _kind(right)
    return (a_kind > b_kind) - (a_kind < b_kind)


def _canonical(items: list[_Item]) -> str:
    parts: list[str] = []
    for item in items:
        if isinstance(item, list):
            parts.append("-" + _canonical(item))
        else:
            # "nothing" (0, ga, final, release, "") is one class however it is spelled
            text = (
                "0" if _scalar(item)[0] == 1 else str(item) if isinstance(item, int) else item.text
            )
            parts.append(("." if parts else "") + text)
    return "".join(parts)


@functools.total_ordering
class MavenVersion:
    """A version string with Maven's order; equal versions may be spelled differently."""

    __slots__ = ("_items", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._items = _parse(text)

    @property
    def canonical(self) -> str:
        """One spelling per equivalence class (``1.0.0`` and ``1-ga`` are both ``1``)."""
        return _canonical(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MavenVersion):
            return NotImplemented
        return _compare(self._items, other._items) == 0

    def __lt__(self, other: MavenVersion) -> bool:
        return _compare(self._items, other._items) < 0

    def __hash__(self) -> int:
        return hash(self.canonical)

    def __repr__(self) -> str:
        return f"MavenVersion({self.text!r})"


def version_key(text: str) -> MavenVersion:
    """Sort key for version strings: ``sorted(versions, key=version_key)``."""
    return MavenVersion(text)
