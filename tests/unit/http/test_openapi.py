"""The OpenAPI document NORA serves validates with a standard validator (openapi-spec-validator).

It documents every format's protocol endpoints (one tag each) and NORA's own API and
operations; schemathesis drives the live server from it (tests/e2e/test_openapi_fuzz.py).
"""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient
from openapi_spec_validator import validate

from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.registry import FORMATS

_UNDOCUMENTED = {"ui"}
"""The dashboard serves HTML pages for browsers, and no JSON."""


def _served() -> dict[str, Any]:
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    app = create_app(container)
    with TestClient(app) as client:
        answer = client.get("/schema/openapi.json")
        assert answer.status_code == 200
        document: dict[str, Any] = answer.json()
    return document


def test_the_served_document_is_valid_openapi() -> None:
    document = _served()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any violation of the specification


def test_nora_s_own_api_is_in_it() -> None:
    paths = _served()["paths"]
    for path in ("/health", "/ready", "/api/tokens", "/api/tokens/{token_id}", "/api/activity"):
        assert path in paths, path
    assert {"get", "post"} <= set(paths["/api/tokens"])


def test_every_format_has_its_tag_and_operations() -> None:
    document = _served()
    tags = {tag["name"] for tag in document["tags"]}
    by_tag: dict[str, int] = {}
    for item in document["paths"].values():
        for op in item.values():
            for tag in op["tags"]:
                by_tag[tag] = by_tag.get(tag, 0) + 1
    for fmt in FORMATS.formats:
        if fmt.name in _UNDOCUMENTED:
            continue
        assert fmt.openapi is not None, fmt.name
        assert fmt.name in tags, fmt.name
        assert by_tag.get(fmt.name, 0) >= 1, fmt.name


def test_every_operation_is_named_and_says_how_it_refuses() -> None:
    ids: set[str] = set()
    for template, item in _served()["paths"].items():
        assert ":path}" not in template, template  # a catch-all is documented by its operations
        for method, op in item.items():
            assert op["operationId"] not in ids, (method, template)
            ids.add(op["operationId"])
            assert "429" in op["responses"], (method, template)
            if op.get("security") != []:
                assert {"401", "403"} <= set(op["responses"]), (method, template)
