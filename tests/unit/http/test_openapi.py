"""The OpenAPI document NORA serves validates with a standard validator (openapi-spec-validator).

Today it documents NORA's own API and operations; the formats' protocol endpoints are the
rest of issue 19. What is there must be a valid OpenAPI 3.1 document, served as it is built.
"""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient
from openapi_spec_validator import validate

from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app


def _served() -> dict[str, Any]:
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    app = create_app(container)
    app.state["container"] = container
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
