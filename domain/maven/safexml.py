"""A bounded XML reader for client documents (POMs, uploaded maven-metadata.xml).

Built on the stdlib's expat with everything that makes XML dangerous refused
rather than expanded: any DOCTYPE (so no entity declarations, no billion
laughs), any entity declaration, any external entity reference, processing of
parameter entities. Depth, element count and size are bounded. It collects
only the texts at the element paths the caller asks for; it never builds a
tree. Anything it refuses, or expat cannot parse, is ``InvalidInput``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final
from xml.parsers import expat

from domain.errors import InvalidInput

__all__ = ["MAX_DEPTH", "MAX_ELEMENTS", "MAX_XML_BYTES", "read_texts"]

MAX_DEPTH: Final = 64
MAX_ELEMENTS: Final = 100_000
MAX_XML_BYTES: Final = 4 * 1024 * 1024
_MAX_TEXT: Final = 64 * 1024


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_texts(
    data: bytes, wanted: Collection[str], *, subject: str = "xml"
) -> dict[str, list[str]]:
    """The stripped texts at each wanted path (``"project/packaging"``), in document order.

    Namespaces are ignored (``{uri}name`` and ``pfx:name`` count as ``name``).
    Raises ``InvalidInput`` (with ``subject``) for malformed or hostile XML.
    """
    if len(data) > MAX_XML_BYTES:
        raise InvalidInput("XML document is too large", subject=subject)
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    path: list[str] = []
    texts: dict[str, list[str]] = {name: [] for name in wanted}
    open_texts: list[list[str] | None] = []
    count = [0]
    size = [0]

    def refuse(*_: object) -> None:
        raise _Refused("DOCTYPE and entity declarations are not accepted")

    def refuse_external(*_: object) -> int:
        raise _Refused("external entities are not accepted")

    def start(name: str, _attrs: object) -> None:
        count[0] += 1
        if count[0] > MAX_ELEMENTS:
            raise _Refused("too many elements")
        path.append(name.rpartition(":")[2].rpartition("}")[2])
        if len(path) > MAX_DEPTH:
            raise _Refused("elements nested too deeply")
        open_texts.append([] if "/".join(path) in texts else None)

    def end(_name: str) -> None:
        collected = open_texts.pop()
        if collected is not None:
            texts["/".join(path)].append("".join(collected).strip())
        path.pop()

    def characters(data: str) -> None:
        collected = open_texts[-1] if open_texts else None
        if collected is not None:
            size[0] += len(data)
            if size[0] > _MAX_TEXT:
                raise _Refused("element text too long")
            collected.append(data)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_external
    parser.NotationDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise InvalidInput(f"refused XML: {exc.reason}", subject=subject) from None
    except expat.ExpatError as exc:
        raise InvalidInput(
            f"malformed XML: {expat.ErrorString(exc.code)}", subject=subject
        ) from None
    except (ValueError, RecursionError):
        raise InvalidInput("malformed XML", subject=subject) from None
    if count[0] == 0:
        raise InvalidInput("XML document has no element", subject=subject)
    return texts
