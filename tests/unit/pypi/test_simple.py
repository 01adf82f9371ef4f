"""Simple API wire format: Accept negotiation, rendering, and reading upstream pages back."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.pypi.simple import (
    HTML,
    HTML_V1,
    JSON_V1,
    MEDIA_TYPES,
    SimpleFile,
    SimpleProject,
    negotiate,
    parse_project_page,
    render_index,
    render_project,
    resolve_url,
)

PIP = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
UV = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, HTML),
        ("", HTML),
        (PIP, JSON_V1),
        (UV, JSON_V1),
        ("text/html", HTML),
        ("application/vnd.pypi.simple.v1+html", HTML_V1),
        ("application/vnd.pypi.simple.latest+json", JSON_V1),
        ("*/*", HTML),
        ("application/*", JSON_V1),
        ("text/html;q=0, */*;q=0.5", JSON_V1),
        ("application/vnd.pypi.simple.v1+json;q=0.5, text/html;q=0.9", HTML),
        ("application/json", None),
        ("text/html;q=0", None),
        ("text/html;q=abc", None),
        ("application/vnd.pypi.simple.v1+json;q=2", None),
    ],
)
def test_negotiate(accept: str | None, chosen: str | None) -> None:
    assert negotiate(accept) == chosen


@settings(deadline=None, max_examples=300)
@given(
    st.one_of(
        st.text(max_size=200),
        st.lists(
            st.tuples(
                st.sampled_from([*MEDIA_TYPES, "*/*", "text/*", "application/*", "image/png", "x"]),
                st.one_of(
                    st.none(), st.floats(0, 1).map(lambda q: f"{q:.3f}"), st.text(max_size=5)
                ),
            ),
            max_size=6,
        ).map(lambda items: ", ".join(t if q is None else f"{t};q={q}" for t, q in items)),
    )
)
def test_negotiate_never_fails(accept: str) -> None:
    chosen = negotiate(accept)
    assert chosen is None or chosen in MEDIA_TYPES
    if chosen is not None and accept.strip():
        assert any(word in accept.lower() for word in ("*", "html", "json")), (
            "a type is only chosen when something in the header covers it"
        )


FILES = [
    SimpleFile(
        filename="demo-1.0-py3-none-any.whl",
        url="demo-1.0-py3-none-any.whl",
        hashes={"sha256": "ab" * 32},
        requires_python=">=3.8,<4",
        yanked='bad <release> & "quotes"',
        core_metadata={"sha256": "cd" * 32},
        size=123,
        upload_time="2024-01-02T03:04:05.000006Z",
    ),
    SimpleFile(
        filename="demo-1.0.tar.gz",
        url="demo-1.0.tar.gz",
        hashes={"sha256": "ef" * 32},
        yanked=True,
        size=45,
    ),
    SimpleFile(
        filename="demo-2.0.tar.gz", url="demo-2.0.tar.gz", hashes={"sha256": "01" * 32}, size=1
    ),
]


def test_render_html_escapes_and_announces() -> None:
    page = render_project(
        SimpleProject(name="demo", files=FILES, versions=["1.0", "2.0"]), HTML
    ).decode()
    assert '<meta name="pypi:repository-version" content="1.1">' in page
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in page
    assert 'data-yanked="bad &lt;release&gt; &amp; &quot;quotes&quot;"' in page
    assert f'data-core-metadata="sha256={"cd" * 32}"' in page
    assert f'data-dist-info-metadata="sha256={"cd" * 32}"' in page
    assert f'href="demo-1.0.tar.gz#sha256={"ef" * 32}" data-yanked=""' in page


def test_render_json_v1_1() -> None:
    doc = json.loads(
        render_project(SimpleProject(name="demo", files=FILES, versions=["1.0", "2.0"]), JSON_V1)
    )
    assert doc["meta"] == {"api-version": "1.1"}
    assert doc["versions"] == ["1.0", "2.0"]
    first, second, third = doc["files"]
    assert first["yanked"] == 'bad <release> & "quotes"'
    assert first["core-metadata"] == {"sha256": "cd" * 32}
    assert first["dist-info-metadata"] == first["core-metadata"]
    assert first["size"] == 123
    assert second["yanked"] is True
    assert "core-metadata" not in second
    assert "yanked" not in third


def test_pages_without_sizes_claim_api_1_0() -> None:
    sizeless = [SimpleFile(filename="a-1.0.tar.gz", url="a-1.0.tar.gz")]
    doc = json.loads(render_project(SimpleProject(name="a", files=sizeless), JSON_V1))
    assert doc["meta"]["api-version"] == "1.0"
    assert "versions" not in doc


def test_index_page() -> None:
    html = render_index([("Foo_Bar", "foo-bar")], HTML).decode()
    assert '<a href="foo-bar/">Foo_Bar</a>' in html
    assert json.loads(render_index([("Foo_Bar", "foo-bar")], JSON_V1))["projects"] == [
        {"name": "Foo_Bar"}
    ]


@pytest.mark.parametrize("media_type", [HTML, JSON_V1])
def test_rendered_pages_read_back(media_type: str) -> None:
    body = render_project(SimpleProject(name="demo", files=FILES), media_type)
    kind = "text/html" if media_type == HTML else media_type
    parsed = parse_project_page(body, kind, "http://up:8080/simple/demo/")
    assert [f.filename for f in parsed] == [f.filename for f in FILES]
    assert parsed[0].url == "http://up:8080/simple/demo/demo-1.0-py3-none-any.whl"
    assert parsed[0].hashes == {"sha256": "ab" * 32}
    assert parsed[0].requires_python == ">=3.8,<4"
    assert parsed[0].yanked == 'bad <release> & "quotes"'
    assert parsed[0].core_metadata == {"sha256": "cd" * 32}
    assert parsed[1].yanked is True
    assert parsed[2].yanked is False


def test_upstream_html_with_absolute_and_base_links() -> None:
    page = b"""<html><head><base href="/other/"></head><body>
    <a href="../packages/x-1.0.tar.gz#sha256=ABCD">x-1.0.tar.gz</a>
    <a href="https://files.example/x-2.0.tar.gz#md5=ff">x-2.0.tar.gz</a>
    <a href="x-3.0.tar.gz" data-dist-info-metadata="true">x-3.0.tar.gz</a>
    <a>no href</a></body></html>"""
    files = parse_project_page(page, "text/html; charset=utf-8", "http://up/simple/x/")
    assert [(f.url, f.hashes) for f in files] == [
        ("http://up/packages/x-1.0.tar.gz", {"sha256": "abcd"}),
        ("https://files.example/x-2.0.tar.gz", {"md5": "ff"}),
        ("http://up/other/x-3.0.tar.gz", {}),
    ]
    assert files[2].core_metadata == {}


def test_bad_upstream_json() -> None:
    with pytest.raises(InvalidInput):
        parse_project_page(b"{not json", JSON_V1, "http://up/simple/x/")


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("g", "http://a/b/c/g"),
        ("./g", "http://a/b/c/g"),
        ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"),
        ("//g", "http://g"),
        ("?y", "http://a/b/c/d;p?y"),
        ("g?y", "http://a/b/c/g?y"),
        ("#s", "http://a/b/c/d;p#s"),
        ("g#s", "http://a/b/c/g#s"),
        ("..", "http://a/b/"),
        ("../g", "http://a/b/g"),
        ("../..", "http://a/"),
        ("../../../g", "http://a/g"),
        ("g:h", "g:h"),
    ],
)
def test_resolve_url_rfc3986_examples(ref: str, expected: str) -> None:
    assert resolve_url("http://a/b/c/d;p?q", ref) == expected


@settings(deadline=None, max_examples=300)
@given(st.text(max_size=60))
def test_resolve_url_stays_on_http(ref: str) -> None:
    out = resolve_url("http://up:1/simple/p/", ref)
    assert isinstance(out, str)
    if ":" not in ref.split("/", 1)[0] and not ref.strip().startswith("//"):
        assert out.startswith("http://up:1/")


@settings(deadline=None, max_examples=200)
@given(st.binary(max_size=500), st.sampled_from(["text/html", JSON_V1, "application/json", None]))
def test_parse_project_page_returns_or_refuses(body: bytes, kind: str | None) -> None:
    try:
        files = parse_project_page(body, kind, "http://up/simple/x/")
    except InvalidInput as exc:
        assert exc.subject == "upstream"
        return
    assert all(isinstance(f, SimpleFile) for f in files)
