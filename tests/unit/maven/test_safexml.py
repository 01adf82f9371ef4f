"""The XML reader refuses DOCTYPEs and entities, and bounds depth and size."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.maven.safexml import MAX_DEPTH, MAX_XML_BYTES, read_texts

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<metadata>&lol3;</metadata>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE metadata [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><metadata>&xxe;</metadata>"""
EXTERNAL_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE metadata SYSTEM "http://127.0.0.1:1/x.dtd"><metadata/>'
)
PARAMETER = b'<!DOCTYPE m [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p">%p;]><m/>'


def test_reads_wanted_texts_ignoring_namespaces() -> None:
    pom = (
        b'<?xml version="1.0"?><project xmlns="http://maven.apache.org/POM/4.0.0">'
        b"<packaging> maven-plugin </packaging><name>A &amp; B</name>"
        b"<build><packaging>no</packaging></build></project>"
    )
    texts = read_texts(pom, ["project/packaging", "project/name", "project/missing"])
    assert texts == {
        "project/packaging": ["maven-plugin"],
        "project/name": ["A & B"],
        "project/missing": [],
    }


@pytest.mark.parametrize(
    "hostile",
    [
        BILLION_LAUGHS,
        XXE,
        EXTERNAL_DTD,
        PARAMETER,
        b"<a>&undefined;</a>",
        b"<a><b></a>",
        b"",
        b"no xml",
    ],
)
def test_hostile_or_malformed_documents_are_invalid_input(hostile: bytes) -> None:
    with pytest.raises(InvalidInput) as info:
        read_texts(hostile, ["metadata"], subject="metadata")
    assert info.value.subject == "metadata"


def test_depth_and_size_are_bounded() -> None:
    deep = b"<a>" * (MAX_DEPTH + 1) + b"</a>" * (MAX_DEPTH + 1)
    with pytest.raises(InvalidInput, match="deeply"):
        read_texts(deep, [])
    with pytest.raises(InvalidInput, match="too large"):
        read_texts(b"<a>" + b" " * MAX_XML_BYTES + b"</a>", [])


@settings(max_examples=400, deadline=None)
@given(
    st.binary(max_size=300)
    | st.text(alphabet="<>/!&;%[]\"' =?xmlDOCTYPEENTITYab", max_size=120).map(str.encode)
)
def test_any_bytes_give_texts_or_invalid_input(data: bytes) -> None:
    try:
        texts = read_texts(data, ["a"])
    except InvalidInput:
        return
    assert isinstance(texts["a"], list)
    assert b"<!DOCTYPE" not in data
