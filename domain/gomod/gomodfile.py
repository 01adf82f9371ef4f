"""The two directives NORA reads from a go.mod: ``module`` and ``retract``.

A go.mod is line-oriented: a directive is a verb and its arguments on one line,
or a verb followed by ``(`` and one argument list per line up to ``)``. ``//``
starts a comment; arguments may be quoted. Only the module path (checked
against the path a version is published under) and the retracted versions
(hidden from ``@latest``) matter here; every other directive is the go
command's business and passes through untouched in the stored ``.mod``.
"""

from __future__ import annotations

import json
import re
from typing import Final

import msgspec

from domain.errors import InvalidInput
from domain.gomod.grammar import Version, order_key, parse_version

__all__ = ["GoMod", "Retraction", "parse_gomod"]

_TOKEN: Final = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`\n]*`|//.*|[()\[\],]|[^\s()\[\],"`]+|["`]')


class Retraction(msgspec.Struct, frozen=True):
    """A retracted interval of versions, ``low`` to ``high`` inclusive."""

    low: str
    high: str

    def covers(self, version: Version) -> bool:
        """True when ``version`` lies inside the interval."""
        key = order_key(version)
        return order_key(parse_version(self.low)) <= key <= order_key(parse_version(self.high))


class GoMod(msgspec.Struct, frozen=True):
    """What NORA needs of a go.mod."""

    module: str
    retractions: tuple[Retraction, ...] = ()


def _bad(why: str) -> InvalidInput:
    return InvalidInput(f"invalid go.mod: {why}", subject="gomod")


def _unquote(token: str) -> str:
    if token.startswith("`"):
        if len(token) < 2 or not token.endswith("`"):
            raise _bad("unterminated raw string")
        return token[1:-1]
    if token.startswith('"'):
        try:
            value = json.loads(token)
        except ValueError:
            raise _bad("bad quoted string") from None
        if not isinstance(value, str):
            raise _bad("bad quoted string")
        return value
    return token


def _lines(text: str) -> list[list[str]]:
    lines: list[list[str]] = []
    for raw in text.splitlines():
        tokens = [t for t in _TOKEN.findall(raw) if not t.startswith("//")]
        if tokens:
            lines.append(tokens)
    return lines


def _retraction(args: list[str]) -> Retraction:
    if len(args) == 1:
        version = parse_version(_unquote(args[0])).text
        return Retraction(version, version)
    if len(args) == 5 and args[0] == "[" and args[2] == "," and args[4] == "]":
        low = parse_version(_unquote(args[1]))
        high = parse_version(_unquote(args[3]))
        if order_key(low) > order_key(high):
            raise _bad(f"retract interval [{low.text}, {high.text}] is empty")
        return Retraction(low.text, high.text)
    raise _bad("retract takes a version or [low, high]")


def parse_gomod(data: bytes) -> GoMod:
    """Read the module path and the retractions; ``InvalidInput`` (subject "gomod") if unusable."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("not UTF-8") from None
    module: str | None = None
    retractions: list[Retraction] = []
    block: str | None = None
    try:
        for tokens in _lines(text):
            if block is not None:
                if tokens == [")"]:
                    block = None
                    continue
                args = tokens
                verb = block
            else:
                verb, args = tokens[0], tokens[1:]
                if args == ["("]:
                    block = verb
                    continue
            if verb == "module":
                if module is not None or len(args) != 1:
                    raise _bad("needs exactly one module directive with one path")
                module = _unquote(args[0])
            elif verb == "retract":
                retractions.append(_retraction(args))
    except InvalidInput as exc:
        if exc.subject == "gomod":
            raise
        raise _bad(exc.detail) from None
    if block is not None:
        raise _bad(f"unterminated {block[:20]} block")
    if module is None:
        raise _bad("no module directive")
    return GoMod(module=module, retractions=tuple(retractions))
