"""A list of image references, one a line: what ``nora mirror docker`` fetches.

Each line is ``[registry/]name[:tag][@digest]``, as ``docker pull`` takes it;
blank lines and ``#`` comments are skipped. NORA serves every repository of
its upstreams under the same name, so a leading registry host (a first
component with a ``.`` or a ``:port``, or ``localhost``) is dropped: the image is
fetched from NORA's configured upstreams. Without a tag or a digest the tag
is ``latest``. Names, tags and digests follow the distribution spec's grammar
(:mod:`domain.oci.grammar`); anything else is ``InvalidInput`` naming the line.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from domain.errors import InvalidInput
from domain.oci.grammar import parse_digest, parse_name, parse_tag

__all__ = ["ImageRef", "parse_image_list", "parse_image_ref"]

_MAX_LINE: Final = 1024
_HOST: Final = re.compile(r"localhost(?::[0-9]+)?|[^/:]*\.[^/:]*(?::[0-9]+)?|[^/:]+:[0-9]+")
"""A registry host as docker tells one from a name: a dot, a port, or localhost."""
_MAX_LINES: Final = 100_000


class ImageRef(msgspec.Struct, frozen=True):
    """An image: its repository in NORA, a tag and/or a digest (at least one)."""

    name: str
    tag: str | None = None
    digest: str | None = None

    @property
    def label(self) -> str:
        """``name:tag``, ``name@digest`` or ``name:tag@digest``."""
        text = self.name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def parse_image_ref(text: str) -> ImageRef:
    """One reference; ``InvalidInput`` when it is not one ``docker pull`` would take."""
    if not isinstance(text, str) or not text or len(text) > _MAX_LINE:
        raise InvalidInput("an image reference is 1 to 1024 characters")
    rest, at, digest_text = text.partition("@")
    digest = str(parse_digest(digest_text)) if at else None
    name, tag = rest, None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        name, tag = rest[:colon], parse_tag(rest[colon + 1 :])
    first, sep, remainder = name.partition("/")
    if sep and _HOST.fullmatch(first):
        name = remainder
    name = parse_name(name)
    if tag is None and digest is None:
        tag = "latest"
    return ImageRef(name, tag, digest)


def parse_image_list(data: bytes) -> list[ImageRef]:
    """Every reference of an image list, repeats dropped, in the order given."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("an image list is UTF-8 text") from None
    lines = text.splitlines()
    if len(lines) > _MAX_LINES:
        raise InvalidInput(f"an image list of more than {_MAX_LINES} lines")
    found: dict[ImageRef, None] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            found[parse_image_ref(line)] = None
        except InvalidInput as exc:
            raise InvalidInput(f"line {number}: {exc.detail}") from None
    return list(found)
