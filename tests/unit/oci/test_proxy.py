"""OciProxy: the upstream's token challenge, credentials in upstream URLs, challenge parsing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.blobstore.memory import MemoryBlobStore
from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.digests import hash_bytes
from domain.oci.proxy import OciProxy, UpstreamRegistry, parse_challenge
from domain.proxy import PullThrough
from domain.uploads import UploadSessions
from tests.unit.fakes import FakeResponse, FakeUpstream

pytestmark = pytest.mark.anyio

UP = "http://up.test"
MANIFEST = json.dumps(
    {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
).encode()


class TokenRegistry(FakeUpstream):
    """Answers 401 + Bearer challenge unless the request carries the token it hands out."""

    @asynccontextmanager
    async def fetch(
        self, url: str, headers: Mapping[str, str] | None = None, *, method: str = "GET"
    ) -> AsyncIterator[FakeResponse]:
        sent = dict(headers or {})
        self.requests.append((url, sent))
        if url.startswith(f"{UP}/token"):
            ok = sent.get("Authorization") in (None, "Basic dTpwQHNz")
            body = json.dumps({"token": "t0k", "expires_in": 300}).encode()
            yield FakeResponse(200 if ok else 401, {}, body, 0)
        elif sent.get("Authorization") != "Bearer t0k":
            challenge = (
                f'Bearer realm="{UP}/token",service="up.test",scope="repository:lib/app:pull"'
            )
            yield FakeResponse(401, {"WWW-Authenticate": challenge}, b"", 0)
        else:
            headers_out = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
            yield FakeResponse(200, headers_out, MANIFEST, 0)


def make_proxy(upstream: FakeUpstream, url: str = UP) -> OciProxy:
    blobs, meta, clock = MemoryBlobStore(), MemoryMetadataStore(), FixedClock()
    uploads = UploadSessions(blobs, meta, clock)
    pull = PullThrough(
        "oci", upstream=upstream, meta=meta, blobs=blobs, uploads=uploads, clock=clock
    )
    return OciProxy(
        [url], pull=pull, upstream=upstream, blobs=blobs, clock=clock, ttl=timedelta(minutes=5)
    )


async def test_bearer_challenge_is_answered_with_a_token() -> None:
    upstream = TokenRegistry()
    proxy = make_proxy(upstream)
    manifest = await proxy.manifest("lib/app", "latest")
    assert manifest.body == MANIFEST
    assert manifest.digest == hash_bytes(MANIFEST)
    assert manifest.media_type == "application/vnd.oci.image.index.v1+json"
    token_urls = [url for url, _ in upstream.requests if "/token" in url]
    assert token_urls == [f"{UP}/token?service=up.test&scope=repository:lib/app:pull"]
    await proxy.manifest("lib/app", hash_bytes(MANIFEST))
    assert len([url for url, _ in upstream.requests if "/token" in url]) == 1  # token reused


async def test_credentials_in_the_upstream_url_go_to_the_token_realm() -> None:
    upstream = TokenRegistry()
    proxy = make_proxy(upstream, "http://u:p%40ss@up.test")
    assert (await proxy.manifest("lib/app", "v1")).body == MANIFEST
    sent = [headers for url, headers in upstream.requests if "/token" in url]
    assert sent == [{"Authorization": "Basic dTpwQHNz"}]


def test_upstream_registry_parsing() -> None:
    assert UpstreamRegistry.parse("https://r.test/") == UpstreamRegistry("https://r.test")
    assert UpstreamRegistry.parse("http://a:b@r.test:5000/x") == UpstreamRegistry(
        "http://r.test:5000/x", "a:b"
    )


def test_challenge_parsing() -> None:
    scheme, params = parse_challenge(
        'Bearer realm="https://a/token",service="reg", scope="x:y:pull"'
    )
    assert scheme == "bearer"
    assert params == {"realm": "https://a/token", "service": "reg", "scope": "x:y:pull"}
    assert parse_challenge('Basic realm="r"') == ("basic", {"realm": "r"})


@settings(deadline=None)
@given(st.text(max_size=200))
def test_any_challenge_header_parses(header: str) -> None:
    scheme, params = parse_challenge(header)
    assert isinstance(scheme, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())


class StorageRedirects(TokenRegistry):
    """Token-protected HEADs of blobs, answered with a redirect to a storage host."""

    @asynccontextmanager
    async def fetch(
        self, url: str, headers: Mapping[str, str] | None = None, *, method: str = "GET"
    ) -> AsyncIterator[FakeResponse]:
        if url.startswith("http://storage.test/"):
            self.requests.append((f"{method} {url}", dict(headers or {})))
            yield FakeResponse(200, {"Content-Length": "1234"}, b"", 0)
        elif "/blobs/" in url and (headers or {}).get("Authorization") == "Bearer t0k":
            self.requests.append((f"{method} {url}", dict(headers or {})))
            yield FakeResponse(307, {"Location": "http://storage.test/b?sig=1"}, b"", 0)
        else:
            async with super().fetch(url, headers, method=method) as response:
                yield response


async def test_blob_head_follows_the_challenge_and_the_storage_redirect() -> None:
    upstream = StorageRedirects()
    proxy = make_proxy(upstream)
    digest = hash_bytes(b"layer")
    assert await proxy.blob_size("lib/app", digest) == 1234
    sent = [(url, headers) for url, headers in upstream.requests if url.startswith("HEAD")]
    assert sent == [
        (f"HEAD {UP}/v2/lib/app/blobs/{digest}", {"Authorization": "Bearer t0k"}),
        ("HEAD http://storage.test/b?sig=1", {}),  # the registry's token stays with it
    ]
