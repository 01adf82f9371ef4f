"""Raw files with the real curl and wget: upload, download byte for byte, Range, HEAD,
conditional GETs, listings (HTML, JSON, ``wget -r``), versions, an immutable prefix,
announced digests and the size limit."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.raw_support import curl, headers_of, wget
from tests.e2e.server import NoraProcess

MIB = 1024 * 1024


@dataclass
class Raw:
    server: NoraProcess
    url: str
    root: Path
    blob: Path


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Raw]:
    root = tmp_path_factory.mktemp("raw")
    blob = root / "installer.bin"
    blob.write_bytes(os.urandom(MIB + 12345))
    env = {
        "NORA_RAW_MAX_FILE_MB": "2",
        "NORA_RAW_KEEP_VERSIONS": "2",
        "NORA_RAW_IMMUTABLE_PREFIXES": "releases/",
    }
    with NoraProcess(root / "data", env=env) as server:
        url = server.url + "/raw/"
        put = curl("-f", "-T", str(blob), url + "team/builds/installer.bin")
        assert put.code == 0, put.err
        yield Raw(server=server, url=url, root=root, blob=blob)


def test_upload_then_download_byte_for_byte(raw: Raw) -> None:
    out = raw.root / "dl"
    out.mkdir(exist_ok=True)
    got = curl("-f", "-O", raw.url + "team/builds/installer.bin", cwd=out)
    assert got.code == 0, got.err
    assert (out / "installer.bin").read_bytes() == raw.blob.read_bytes()
    fetched = wget("-q", "-O", str(out / "via-wget.bin"), raw.url + "team/builds/installer.bin")
    assert fetched.code == 0, fetched.err
    assert (out / "via-wget.bin").read_bytes() == raw.blob.read_bytes()


def test_upload_answer_and_headers(raw: Raw) -> None:
    text = raw.root / "notes.txt"
    text.write_text("release notes\n")
    put = curl("-f", "-T", str(text), raw.url + "team/notes.txt")
    assert put.code == 0, put.err
    doc = json.loads(put.out)
    digest = hashlib.sha256(b"release notes\n").hexdigest()
    assert doc["sha256"] == digest
    assert doc["size"] == 14
    dump = raw.root / "h1"
    head = curl("-f", "-I", "-D", str(dump), "-o", os.devnull, raw.url + "team/notes.txt")
    assert head.code == 0, head.err
    status, headers = headers_of(dump)
    assert status == 200
    assert headers["content-length"] == "14"
    assert headers["content-type"].startswith("text/plain")
    assert headers["etag"] == f'"{digest}"'
    assert headers["x-checksum-sha256"] == digest
    b64 = base64.b64encode(bytes.fromhex(digest)).decode()
    assert headers["repr-digest"] == f"sha-256=:{b64}:"
    assert "last-modified" in headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "sandbox"
    own = raw.root / "data.json"
    own.write_text("{}")
    typed = curl(
        "-f",
        "-T",
        str(own),
        "-H",
        "Content-Type: application/vnd.acme+json",
        raw.url + "team/typed.bin",
    )
    assert typed.code == 0, typed.err
    dump2 = raw.root / "h2"
    curl("-f", "-I", "-D", str(dump2), "-o", os.devnull, raw.url + "team/typed.bin")
    assert headers_of(dump2)[1]["content-type"] == "application/vnd.acme+json"


def test_range_and_conditional_gets(raw: Raw) -> None:
    data = raw.blob.read_bytes()
    part = raw.root / "part"
    got = curl(
        "-f",
        "-r",
        "100-1099",
        "-o",
        str(part),
        "-D",
        str(raw.root / "h3"),
        raw.url + "team/builds/installer.bin",
    )
    assert got.code == 0, got.err
    assert part.read_bytes() == data[100:1100]
    status, headers = headers_of(raw.root / "h3")
    assert status == 206
    assert headers["content-range"] == f"bytes 100-1099/{len(data)}"
    beyond = curl(
        "-o",
        os.devnull,
        "-w",
        "%{http_code}",
        "-r",
        f"{len(data) + 10}-",
        raw.url + "team/builds/installer.bin",
    )
    assert beyond.out == "416"
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    same = curl(
        "-o",
        os.devnull,
        "-w",
        "%{http_code}",
        "-H",
        f"If-None-Match: {etag}",
        raw.url + "team/builds/installer.bin",
    )
    assert same.out == "304"
    other = curl(
        "-o",
        os.devnull,
        "-w",
        "%{http_code}",
        "-H",
        'If-None-Match: "nope"',
        raw.url + "team/builds/installer.bin",
    )
    assert other.out == "200"
    # curl -z sends If-Modified-Since from a file's time; an old file means "changed"
    fresh = raw.root / "fresh"
    fresh.write_text("x")
    os.utime(fresh, (2_000_000_000, 2_000_000_000))  # in 2033: nothing changed since
    later = curl(
        "-o",
        os.devnull,
        "-w",
        "%{http_code}",
        "-z",
        str(fresh),
        raw.url + "team/builds/installer.bin",
    )
    assert later.out == "304"
    os.utime(fresh, (1_000_000_000, 1_000_000_000))  # in 2001: changed since
    earlier = curl(
        "-o",
        os.devnull,
        "-w",
        "%{http_code}",
        "-z",
        str(fresh),
        raw.url + "team/builds/installer.bin",
    )
    assert earlier.out == "200"


def test_listing_html_json_and_wget_mirror(raw: Raw) -> None:
    src = raw.root / "tree"
    src.mkdir(exist_ok=True)
    files = {"site/index.txt": b"top", "site/a/one.txt": b"one", "site/a/b/two.bin": b"two" * 99}
    for name, data in files.items():
        local = src / name.replace("/", "_")
        local.write_bytes(data)
        assert curl("-f", "-T", str(local), raw.url + name).code == 0
    html = curl("-f", raw.url + "site/")
    assert html.code == 0
    assert '<a href="index.txt">index.txt</a>' in html.out
    assert '<a href="a/">a/</a>' in html.out
    assert hashlib.sha256(b"top").hexdigest() in html.out
    listing = json.loads(curl("-f", "-H", "Accept: application/json", raw.url + "site/a/").out)
    assert [(i["name"], i["directory"]) for i in listing["items"]] == [
        ("b", True),
        ("one.txt", False),
    ]
    one = listing["items"][1]
    assert one["size"] == 3
    assert one["sha256"] == hashlib.sha256(b"one").hexdigest()
    assert "modified" in one
    page = json.loads(curl("-f", "-H", "Accept: application/json", raw.url + "site/?limit=1").out)
    assert len(page["items"]) == 1
    assert page["next"] == "a/"
    rest = json.loads(
        curl("-f", "-H", "Accept: application/json", raw.url + "site/?limit=1&after=a/").out
    )
    assert [i["name"] for i in rest["items"]] == ["index.txt"]
    mirror = raw.root / "mirror"
    mirror.mkdir(exist_ok=True)
    fetched = wget("-r", "-np", "-nH", "--cut-dirs=1", "-q", raw.url + "site/", cwd=mirror)
    assert fetched.code == 0, fetched.err
    for name, data in files.items():
        assert (mirror / name).read_bytes() == data
    assert curl("-o", os.devnull, "-w", "%{http_code}", raw.url + "nothing/").out == "404"


def test_versions_kept_and_fetched(raw: Raw) -> None:
    local = raw.root / "v.txt"
    for n in range(1, 5):
        local.write_text(f"version {n}\n")
        assert curl("-f", "-T", str(local), raw.url + "team/config.txt").code == 0
    doc = json.loads(curl("-f", raw.url + "team/config.txt?versions").out)
    assert [v["version"] for v in doc["versions"]] == [4, 3, 2]  # current + 2 kept
    assert doc["versions"][0]["current"] is True
    assert curl("-f", raw.url + "team/config.txt?version=3").out == "version 3\n"
    assert curl("-f", raw.url + "team/config.txt").out == "version 4\n"
    gone = curl("-o", os.devnull, "-w", "%{http_code}", raw.url + "team/config.txt?version=1")
    assert gone.out == "404"


def test_immutable_prefix_refuses_overwrite(raw: Raw) -> None:
    local = raw.root / "r.txt"
    local.write_text("1.0\n")
    assert curl("-f", "-T", str(local), raw.url + "releases/app/1.0.txt").code == 0
    local.write_text("changed\n")
    again = curl(
        "-w", "%{http_code}", "-o", os.devnull, "-T", str(local), raw.url + "releases/app/1.0.txt"
    )
    assert again.out == "409"
    assert curl("-f", raw.url + "releases/app/1.0.txt").out == "1.0\n"


def test_digest_mismatch_and_oversize_store_nothing(raw: Raw) -> None:
    local = raw.root / "d.txt"
    local.write_bytes(b"digest me")
    bad = curl(
        "-w",
        "%{http_code}",
        "-o",
        os.devnull,
        "-T",
        str(local),
        "-H",
        f"X-Checksum-Sha256: {'0' * 64}",
        raw.url + "team/d.txt",
    )
    assert bad.out == "400"
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    bad2 = curl(
        "-w",
        "%{http_code}",
        "-o",
        os.devnull,
        "-T",
        str(local),
        "-H",
        f"Repr-Digest: sha-256=:{wrong}:",
        raw.url + "team/d.txt",
    )
    assert bad2.out == "400"
    assert curl("-o", os.devnull, "-w", "%{http_code}", raw.url + "team/d.txt").out == "404"
    right = base64.b64encode(hashlib.sha256(b"digest me").digest()).decode()
    good = curl(
        "-f", "-T", str(local), "-H", f"Repr-Digest: sha-256=:{right}:", raw.url + "team/d.txt"
    )
    assert good.code == 0, good.err
    big = raw.root / "big.bin"
    big.write_bytes(b"\0" * (3 * MIB))
    refused = curl("-w", "%{http_code}", "-o", os.devnull, "-T", str(big), raw.url + "team/big.bin")
    assert refused.out == "413"
    chunked = curl(
        "-w",
        "%{http_code}",
        "-o",
        os.devnull,
        "-T",
        str(big),
        "-H",
        "Transfer-Encoding: chunked",
        raw.url + "team/big.bin",
    )
    assert chunked.out == "413"
    assert curl("-o", os.devnull, "-w", "%{http_code}", raw.url + "team/big.bin").out == "404"


def test_traversal_is_refused(raw: Raw) -> None:
    for path in ("../etc/passwd", "team/%2e%2e/%2e%2e/x", "team//x", "a%00b"):
        put = curl(
            "--path-as-is",
            "-w",
            "%{http_code}",
            "-o",
            os.devnull,
            "-T",
            str(raw.blob),
            raw.server.url + "/raw/" + path,
        )
        assert put.out.startswith("4"), (path, put.out)
    root = json.loads(curl("-f", "-H", "Accept: application/json", raw.url).out)
    assert sorted(i["name"] for i in root["items"]) == ["releases", "site", "team"]


def test_delete(raw: Raw) -> None:
    local = raw.root / "del.txt"
    local.write_text("bye")
    assert curl("-f", "-T", str(local), raw.url + "team/del.txt").code == 0
    assert curl("-f", "-X", "DELETE", raw.url + "team/del.txt").code == 0
    assert curl("-o", os.devnull, "-w", "%{http_code}", raw.url + "team/del.txt").out == "404"
