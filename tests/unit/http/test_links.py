"""Absolute links start at NORA_PUBLIC_URL when it is set, else at the request's own base."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from litestar import Litestar, Request, get
from litestar.testing import TestClient

from entrypoints.container import Services
from entrypoints.http.links import public_base


def _app(public_url: str) -> Litestar:
    services = cast(Services, SimpleNamespace(settings=SimpleNamespace(public_url=public_url)))

    @get("/base")
    async def base(request: Request[Any, Any, Any]) -> str:
        return public_base(request, services)

    return Litestar(route_handlers=[base])


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
