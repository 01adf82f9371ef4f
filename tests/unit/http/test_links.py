"""Absolute links start at NORA_PUBLIC_URL when it is set, else at the request's own base."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.testing import TestClient

from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.links import public_base


def _app(public_url: str) -> Litestar:
    container = build_container(
        Settings(storage_mode="memory", metadata_url="memory://", public_url=public_url)
    )

    @get("/base")
    async def base(request: Request[Any, Any, Any]) -> str:
        return public_base(request)

    return Litestar(route_handlers=[base], state=State({"container": container}))


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("", "http://testserver.local"),
        ("https://nora.example/registry", "https://nora.example/registry"),
        ("https://nora.example/", "https://nora.example"),
    ],
)
def test_public_base(configured: str, expected: str) -> None:
    with TestClient(_app(configured)) as client:
        assert client.get("/base").text == expected
