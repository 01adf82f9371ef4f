"""MirrorClient: only transient failures retried, hits not read, digests checked, links mapped."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from entrypoints.mirror.client import Expected, MirrorClient
from entrypoints.mirror.core import Failed

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, *, retries: int = 3) -> tuple[MirrorClient, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://nora.test")
    return MirrorClient(http, retries=retries, backoff=0.5, sleep=sleep), slept


def _sequence(*responses: httpx.Response | Exception) -> tuple[Handler, list[str]]:
    seen: list[str] = []
    pending = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        answer = pending.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler, seen


async def test_transient_answers_are_retried_with_growing_backoff() -> None:
    handler, seen = _sequence(
        httpx.Response(503),
        httpx.ConnectError("refused"),
        httpx.Response(502),
        httpx.Response(200, content=b"{}"),
    )
    client, slept = _client(handler)
    document = await client.document("/npm/pkg")
    assert document.json() == {}
    assert seen == ["/npm/pkg"] * 4
    assert len(slept) == 3
    assert 0.25 <= slept[0] <= 0.5
    assert 0.5 <= slept[1] <= 1.0
    assert 1.0 <= slept[2] <= 2.0


async def test_retry_after_is_honoured_and_bounded() -> None:
    handler, _ = _sequence(
        httpx.Response(429, headers={"retry-after": "7"}),
        httpx.Response(429, headers={"retry-after": "100000"}),
        httpx.Response(200, content=b"[]"),
    )
    client, slept = _client(handler)
    await client.document("/x")
    assert slept == [7.0, 60.0]


async def test_a_missing_name_fails_at_once_with_what_nora_said() -> None:
    handler, seen = _sequence(httpx.Response(404, json={"error": "no such package"}))
    client, slept = _client(handler)
    with pytest.raises(Failed) as caught:
        await client.download("/npm/nope/-/nope-1.0.0.tgz")
    assert seen == ["/npm/nope/-/nope-1.0.0.tgz"]
    assert slept == []
    assert "not found (404)" in caught.value.reason
    assert "no such package" in caught.value.reason
    assert not caught.value.transient


async def test_refusals_name_the_credentials_options() -> None:
    handler, _ = _sequence(httpx.Response(401))
    client, _ = _client(handler)
    with pytest.raises(Failed, match="--token or --user"):
        await client.document("/v2/app/manifests/v1")


async def test_retries_run_out_as_a_transient_failure() -> None:
    handler, seen = _sequence(*(httpx.ConnectError("refused") for _ in range(3)))
    client, slept = _client(handler, retries=2)
    with pytest.raises(Failed) as caught:
        await client.download("/f")
    assert len(seen) == 3
    assert len(slept) == 2
    assert caught.value.transient
    assert "after 3 attempts" in caught.value.reason
    handler, _ = _sequence(httpx.Response(500), httpx.Response(500))
    client, _ = _client(handler, retries=1)
    with pytest.raises(Failed, match=r"failed \(500, after 2 attempts\)"):
        await client.document("/f")


async def _never_read() -> AsyncIterator[bytes]:
    raise AssertionError("the body of a cache hit was read")
    yield b""  # pragma: no cover


async def test_a_cache_hit_is_not_read_and_a_miss_is_read_and_counted() -> None:
    data = b"x" * 10_000
    seen_bytes: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/hit":
            return httpx.Response(200, headers={"x-nora-cache": "hit"}, content=_never_read())
        return httpx.Response(200, headers={"x-nora-cache": "miss"}, content=data)

    client, _ = _client(handler)
    client._on_bytes = seen_bytes.append
    hit = await client.download("/hit")
    assert hit.cached
    assert hit.nbytes == 0
    miss = await client.download("/miss")
    assert not miss.cached
    assert miss.nbytes == len(data)
    assert sum(seen_bytes) == len(data)


async def test_a_redirect_to_signed_storage_is_a_hit() -> None:
    handler, _ = _sequence(
        httpx.Response(307, headers={"x-nora-cache": "hit", "location": "http://s3.test/x"})
    )
    client, _ = _client(handler)
    assert (await client.download("/blob")).cached


async def test_the_digest_the_input_gives_is_checked() -> None:
    data = b"package bytes"
    good = Expected("sha512", hashlib.sha512(data).hexdigest())
    bad = Expected("sha256", hashlib.sha256(b"other").hexdigest())
    client, _ = _client(lambda _: httpx.Response(200, content=data))
    assert (await client.download("/f", expect=good)).nbytes == len(data)
    with pytest.raises(Failed, match="its sha256 is not the expected one"):
        await client.download("/f", expect=bad)
    with pytest.raises(Failed, match="unknown digest algorithm"):
        await client.download("/f", expect=Expected("crc32", "00"))


async def test_documents_are_bounded_and_must_be_json_when_asked() -> None:
    client, _ = _client(lambda _: httpx.Response(200, content=b"y" * 5000))
    with pytest.raises(Failed, match="larger than 1000 bytes"):
        await client.document("/big", limit=1000)
    document = await client.document("/big")
    with pytest.raises(Failed, match="not valid JSON"):
        document.json()
    deep = b"[" * 100 + b"]" * 100
    client, _ = _client(lambda _: httpx.Response(200, content=deep))
    with pytest.raises(Failed, match="not valid JSON"):
        (await client.document("/deep")).json()


async def test_accept_is_sent_for_documents() -> None:
    accepted: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        accepted.append(request.headers.get("accept"))
        return httpx.Response(200, content=b"{}")

    client, _ = _client(handler)
    await client.document("/simple/x/", accept="application/vnd.pypi.simple.v1+json")
    assert accepted == ["application/vnd.pypi.simple.v1+json"]


def test_links_in_documents_become_paths_of_this_client() -> None:
    client, _ = _client(lambda _: httpx.Response(200))
    assert client.target("http://nora.test/npm/a/-/a-1.0.0.tgz") == "/npm/a/-/a-1.0.0.tgz"
    assert client.target("https://public.example/npm/a/-/a.tgz?x=1") == "/npm/a/-/a.tgz?x=1"
    assert client.target("/simple/a/a-1.0.whl") == "/simple/a/a-1.0.whl"
    client.public_url = "https://nora.example.test/registry"  # behind a proxy, under a path
    assert client.target("https://nora.example.test/registry/npm/a.tgz") == "/npm/a.tgz"
