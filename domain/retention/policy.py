"""Retention policies: the ``[[retention]]`` tables of the config file, checked once.

A policy names a format word and name globs, then says what may go:

- ``keep_last = N``: everything beyond the newest N items of a name;
- ``older_than = "90d"``: items stored longer ago than that;
- both: only items beyond the newest N **and** older than D (the safe reading:
  each rule alone would keep them, so both must agree before anything goes);
- ``protect = ["v*", "latest"]``: item globs (tags, versions) never deleted;
- ``fetched_within = "30d"``: a pull-through cache policy instead; cache
  entries no client fetched in that span go (no other rule may be given).

Names are matched with :func:`fnmatch.fnmatchcase` against a format's canonical
names, where ``*`` also matches ``/``: ``@acme/*`` is every npm package of
scope ``@acme``, ``team/*`` every OCI repository below ``team/`` at any depth,
``com.example:*`` every Maven artifact of group ``com.example``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from fnmatch import fnmatchcase
from typing import Any, Final

import msgspec

from domain.durations import parse_duration
from domain.errors import InvalidInput

__all__ = ["MAX_KEEP", "Policy", "parse_policies"]

MAX_KEEP: Final = 100_000
_MAX_POLICIES: Final = 1000
_MAX_GLOBS: Final = 100
_MAX_GLOB: Final = 200
_FIELDS: Final = ("format", "names", "keep_last", "older_than", "protect", "fetched_within")
_UNKNOWN: Final = re.compile(r"unknown field `([^`]*)`")
_AT: Final = re.compile(r"at `\$\.([A-Za-z_]+)")


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    """One checked ``[[retention]]`` table (``index`` counts from 1, as operators read)."""

    index: int
    format: str
    names: tuple[str, ...] = ("*",)
    keep_last: int | None = None
    older_than: timedelta | None = None
    protect: tuple[str, ...] = ()
    fetched_within: timedelta | None = None

    @property
    def cache(self) -> bool:
        """Whether this policy prunes the pull-through cache rather than hosted content."""
        return self.fetched_within is not None

    def matches(self, *names: str) -> bool:
        """Whether any spelling of a name (as published, normalised) matches a glob."""
        return any(fnmatchcase(name, glob) for name in names for glob in self.names)

    def protects(self, item: str) -> bool:
        return any(fnmatchcase(item, glob) for glob in self.protect)


class _Table(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    format: str
    names: list[str] | str = msgspec.field(default_factory=lambda: ["*"])
    keep_last: int | None = None
    older_than: str | None = None
    protect: list[str] | str = msgspec.field(default_factory=list)
    fetched_within: str | None = None


def parse_policies(tables: Any, formats: Iterable[str]) -> list[Policy]:
    """Check the value of the ``retention`` key (a list of tables) into policies.

    ``formats`` are the format words that accept policies. Every error is one
    ``InvalidInput`` sentence naming the table (from 1) and the field.
    """
    known = sorted(set(formats))
    if tables is None:
        return []
    if not isinstance(tables, list):
        raise InvalidInput("retention must be a list of [[retention]] tables", subject="retention")
    if len(tables) > _MAX_POLICIES:
        raise InvalidInput(f"retention holds more than {_MAX_POLICIES} tables", subject="retention")
    return [_policy(number, table, known) for number, table in enumerate(tables, start=1)]


def _fail(number: int, field: str, message: str) -> InvalidInput:
    return InvalidInput(f"retention table {number}, {field}: {message}", subject="retention")


def _policy(number: int, table: Any, known: Sequence[str]) -> Policy:
    if not isinstance(table, Mapping):
        raise InvalidInput(f"retention table {number} is not a table", subject="retention")
    try:
        raw = msgspec.convert(dict(table), _Table, strict=True)
    except msgspec.ValidationError as exc:
        text = str(exc)
        unknown = _UNKNOWN.search(text)
        if unknown:
            raise _fail(
                number, unknown.group(1)[:40], f"unknown field; known: {', '.join(_FIELDS)}"
            ) from None
        if "missing required field `format`" in text:
            raise _fail(number, "format", "required (one of " + ", ".join(known) + ")") from None
        where = _AT.search(text)
        field = where.group(1) if where else "table"
        raise _fail(number, field, text.split(" - ")[0][:200]) from None
    if raw.format not in known:
        raise _fail(number, "format", f"{raw.format[:40]!r} is not one of {', '.join(known)}")
    names = _globs(number, "names", raw.names)
    if not names:
        raise _fail(number, "names", 'give at least one glob ("*" for every name)')
    protect = _globs(number, "protect", raw.protect)
    if raw.keep_last is not None and not 1 <= raw.keep_last <= MAX_KEEP:
        raise _fail(number, "keep_last", f"must be 1 to {MAX_KEEP}")
    older = _duration(number, "older_than", raw.older_than)
    fetched = _duration(number, "fetched_within", raw.fetched_within)
    if fetched is not None:
        for field, value in (("keep_last", raw.keep_last), ("older_than", older)):
            if value is not None:
                raise _fail(number, field, "a fetched_within (cache) policy takes no " + field)
        if protect:
            raise _fail(number, "protect", "a fetched_within (cache) policy takes no protect")
    elif raw.keep_last is None and older is None:
        raise _fail(number, "keep_last", "give keep_last, older_than or fetched_within")
    return Policy(
        index=number,
        format=raw.format,
        names=names,
        keep_last=raw.keep_last,
        older_than=older,
        protect=protect,
        fetched_within=fetched,
    )


def _globs(number: int, field: str, value: list[str] | str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if len(items) > _MAX_GLOBS:
        raise _fail(number, field, f"at most {_MAX_GLOBS} globs")
    for glob in items:
        if not glob or len(glob) > _MAX_GLOB or not glob.isprintable():
            raise _fail(
                number, field, f"{glob[:40]!r} is not a glob of 1 to {_MAX_GLOB} characters"
            )
    return tuple(dict.fromkeys(items))


def _duration(number: int, field: str, text: str | None) -> timedelta | None:
    if text is None:
        return None
    try:
        span = parse_duration(text)
    except InvalidInput as exc:
        raise _fail(number, field, exc.detail) from None
    if span <= timedelta(0):
        raise _fail(number, field, "must be longer than 0")
    return span
