"""The two body readers every route uses: whole and small, or streamed; both bounded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar, Request, Response, post
from litestar.testing import TestClient

from domain import errors as e
from entrypoints.http.bodies import content_length, read_body, stream_body, too_large

LIMIT = 100


def _refusal(exc: e.NoraError) -> Response[Any]:
    return Response(
        {"kind": type(exc).__name__, "subject": exc.subject, "detail": exc.detail},
        status_code=413 if isinstance(exc, e.TooLarge) else 400,
    )


@post("/whole", request_max_body_size=None)
async def whole(request: Request[Any, Any, Any]) -> Response[Any]:
    try:
        return Response(await read_body(request, LIMIT, what="manifest", subject="manifest"))
    except e.NoraError as exc:
        return _refusal(exc)


@post("/streamed", request_max_body_size=None)
async def streamed(request: Request[Any, Any, Any]) -> Response[Any]:
    seen = 0
    try:
        async for chunk in stream_body(request, LIMIT):
            seen += len(chunk)
            assert seen <= LIMIT
    except e.NoraError as exc:
        return _refusal(exc)
    return Response({"bytes": seen})


@post("/framework-limit", request_max_body_size=10)
async def framework_limit(request: Request[Any, Any, Any]) -> Response[Any]:
    try:
        return Response(await read_body(request, LIMIT))
    except e.NoraError as exc:
        return _refusal(exc)


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Litestar]]:
    app = Litestar(route_handlers=[whole, streamed, framework_limit])
    with TestClient(app) as test_client:
        yield test_client


def test_a_small_body_is_read_whole(client: TestClient[Litestar]) -> None:
    assert client.post("/whole", content=b"x" * LIMIT).content == b"x" * LIMIT
    assert client.post("/whole", content=b"").content == b""


def test_an_announced_length_over_the_limit_is_refused_before_reading(
    client: TestClient[Litestar],
) -> None:
    answer = client.post("/whole", content=b"x" * (LIMIT + 1))
    assert answer.status_code == 413
    assert answer.json() == {
        "kind": "TooLarge",
        "subject": "manifest",
        "detail": "manifest exceeds 100 bytes",
    }
    refused = client.post("/streamed", content=b"x" * (LIMIT + 1))
    assert refused.status_code == 413
    assert refused.json()["detail"] == "request body exceeds 100 bytes"


def test_an_unannounced_body_is_cut_at_the_limit(client: TestClient[Litestar]) -> None:
    def chunks(total: int) -> Iterator[bytes]:
        for _ in range(total // 10):
            yield b"x" * 10

    assert client.post("/streamed", content=chunks(LIMIT)).json() == {"bytes": LIMIT}
    refused = client.post("/streamed", content=chunks(LIMIT + 10))
    assert refused.status_code == 413
    assert refused.json()["kind"] == "TooLarge"
    assert client.post("/whole", content=chunks(LIMIT + 10)).status_code == 413


def test_the_frameworks_own_limit_is_a_domain_error_too(client: TestClient[Litestar]) -> None:
    answer = client.post("/framework-limit", content=b"x" * 50)
    assert answer.status_code == 413
    assert answer.json()["kind"] == "TooLarge"


@pytest.mark.parametrize(
    ("limit", "text"),
    [(64 * 1024, "64 KiB"), (512 * 1024 * 1024, "512 MiB"), (4_000_000, "4000000 bytes")],
)
def test_the_message_names_the_limit(limit: int, text: str) -> None:
    assert too_large(limit).detail == f"request body exceeds {text}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("12", 12),
        (b" 12 ", 12),
        ("", None),
        ("-1", None),
        ("+1", None),
        ("1_000", None),
        ("\u0661", None),
        ("9" * 5000, 2**63),
    ],
)
def test_content_length(value: str | bytes | None, expected: int | None) -> None:
    assert content_length(value) == expected


@given(st.text(max_size=60) | st.binary(max_size=60))
def test_any_content_length_is_a_number_or_none(value: str | bytes) -> None:
    parsed = content_length(value)
    assert parsed is None or 0 <= parsed <= 2**63
