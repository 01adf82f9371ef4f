"""Whole blobs leave through the pathsend extension on both servers (granian's own file
sender, NORA's sendfile(2) under uvicorn): the bytes, the metrics and the access log must
match what streaming would say, ranges still stream, and a reader that is slow or leaves
half-way harms nothing."""

from __future__ import annotations

import json
import os
import socket

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.oci_support import push_blob
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


def sent_bytes(server: NoraProcess) -> float:
    text = httpx.get(server.url + "/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "nora_http_sent_bytes_total" and sample.labels["route"] == "/v2/{path}"
    )


@pytest.mark.parametrize("server_kind", ["granian", "uvicorn"])
def test_whole_blob_downloads(start_nora, server_kind: str) -> None:  # type: ignore[no-untyped-def]
    server: NoraProcess = start_nora(env={"NORA_SERVER": server_kind, "NORA_LOG_LEVEL": "info"})
    data = os.urandom(6 * 1024 * 1024 + 7)
    digest = push_blob(server.url, "granian/app", data)
    url = f"{server.url}/v2/granian/app/blobs/{digest}"

    before = sent_bytes(server)
    whole = httpx.get(url)
    assert whole.status_code == 200
    assert (whole.headers.get("server") == "granian") is (server_kind == "granian")
    assert whole.headers["content-length"] == str(len(data))
    assert whole.headers["docker-content-digest"] == digest
    assert whole.content == data
    assert sent_bytes(server) - before == len(data)
    logged = [
        json.loads(line)
        for line in server.log().splitlines()
        if '"logger":"nora.access"' in line and f'"path":"/v2/granian/app/blobs/{digest}"' in line
    ]
    assert [(entry["status"], entry["bytes_out"]) for entry in logged] == [(200, len(data))]

    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == data[100:200]
    head = httpx.head(url)
    assert (head.status_code, head.headers["content-length"]) == (200, str(len(data)))
    missing = httpx.get(f"{server.url}/v2/granian/app/blobs/sha256:{'0' * 64}")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "BLOB_UNKNOWN"

    # a pathsend body is not cut off by a client that reads slowly
    with httpx.stream("GET", url) as slow:
        got = bytearray()
        for chunk in slow.iter_raw(256 * 1024):
            got += chunk
    assert bytes(got) == data

    # a client that leaves half-way through: the server answers the next one in full
    target = httpx.URL(url)
    for _ in range(3):
        with socket.create_connection((target.host, target.port), timeout=10) as left:
            left.sendall(f"GET {target.raw_path.decode()} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert left.recv(65536).startswith(b"HTTP/1.1 200")
    with httpx.Client() as client:  # keep-alive: two whole files on one connection
        assert [client.get(url).content == data for _ in range(2)] == [True, True]
    assert httpx.get(server.url + "/health").status_code == 200
