"""NORA on granian: whole blobs leave through the pathsend extension (the bytes, the
metrics and the access log must match what streaming would say), ranges still stream,
and SIGTERM drains an in-flight request before exiting 0."""

from __future__ import annotations

import json
import os

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


def test_blob_downloads_on_granian(start_nora) -> None:  # type: ignore[no-untyped-def]
    server: NoraProcess = start_nora(env={"NORA_SERVER": "granian", "NORA_LOG_LEVEL": "info"})
    data = os.urandom(6 * 1024 * 1024 + 7)
    digest = push_blob(server.url, "granian/app", data)
    url = f"{server.url}/v2/granian/app/blobs/{digest}"

    before = sent_bytes(server)
    whole = httpx.get(url)
    assert whole.status_code == 200
    assert whole.headers["server"] == "granian"
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
