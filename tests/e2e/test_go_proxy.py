"""The Go pull-through cache with a second NORA as the upstream GOPROXY, driven by go.

A consumer whose dependencies exist only upstream builds through NORA, and
builds again from an empty module cache once the upstream is stopped (files
kept, list and @latest served stale). A module path hosted here shadows the
upstream. The checksum-database door is tested against a local fake database.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.e2e.go_support import GoEnv, go_build_cache, make_module, nora_go_publish
from tests.e2e.server import NoraProcess

__all__ = ["go_build_cache"]

pytestmark = pytest.mark.e2e

LIB = "example.com/Up/Lib"
DEP = "example.com/up/dep"


def _publish(
    root: Path, registry: str, module: str, version: str, files: dict[str, str], extra: str = ""
) -> None:
    tree = make_module(
        root / f"{module.replace('/', '_')}-{version}", module, files, go_mod_extra=extra
    )
    done = nora_go_publish(tree, f"{module}@{version}", registry)
    assert done.returncode == 0, done.stderr


def test_a_consumer_builds_through_the_cache_and_again_with_the_upstream_down(
    start_nora: Callable[..., NoraProcess], tmp_path: Path, go_build_cache: Path
) -> None:
    upstream = start_nora()
    up = upstream.url + "/go"
    for version in ("v1.0.0", "v1.1.0"):
        source = f'package lib\n\nfunc Name() string {{ return "lib {version}" }}\n'
        _publish(tmp_path, up, LIB, version, {"lib.go": source})
    dep = (
        f'package dep\n\nimport lib "{LIB}"\n\n'
        + 'func Name() string { return "dep+" + lib.Name() }\n'
    )
    _publish(tmp_path, up, DEP, "v0.3.0", {"dep.go": dep}, f"\nrequire {LIB} v1.1.0\n")
    nora = start_nora(env={"NORA_GO_PROXY": up, "NORA_GO_METADATA_TTL": "0"})
    go = GoEnv(tmp_path / "go", nora.url + "/go", cache=go_build_cache)
    main = f'package main\n\nimport (\n\t"fmt"\n\n\t"{DEP}"\n)\n\n'
    main += "func main() { fmt.Println(dep.Name()) }\n"
    app = make_module(tmp_path / "app", "example.com/app", {"main.go": main})
    go.ok("mod", "tidy", cwd=app)
    assert f"{DEP} v0.3.0" in (app / "go.mod").read_text()
    assert go.ok("run", ".", cwd=app).strip() == "dep+lib v1.1.0"
    listed = go.ok("list", "-m", "-versions", LIB, cwd=app).split()
    assert listed == [LIB, "v1.0.0", "v1.1.0"]
    zip_path = "/go/example.com/!up/!lib/@v/v1.1.0.zip"
    assert httpx.get(nora.url + zip_path).content == httpx.get(upstream.url + zip_path).content

    upstream.stop()
    go.clean_cache(app)
    (app / "go.sum").unlink()
    assert go.ok("run", ".", cwd=app).strip() == "dep+lib v1.1.0"
    assert go.ok("list", "-m", "-versions", LIB, cwd=app).split() == listed  # stale list
    go.ok("get", f"{LIB}@latest", cwd=app)  # stale @latest decision
    missing = go.run("get", "example.com/up/never@v1.0.0", cwd=app)
    assert missing.returncode != 0
    assert "503" in missing.stderr or "404" in missing.stderr

    # a path hosted here shadows the upstream entirely
    _publish(tmp_path / "hosted", nora.url + "/go", LIB, "v1.5.0", {"lib.go": "package lib\n"})
    assert httpx.get(nora.url + "/go/example.com/!up/!lib/@v/list").text == "v1.5.0\n"
    assert httpx.get(nora.url + zip_path).status_code == 404


class _FakeSumdb(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        _FakeSumdb.seen.append(self.path)
        body = b"go.sum database tree\n7\nsignature\n" if self.path == "/latest" else b""
        if self.path.startswith("/lookup/"):
            body = b"42\nexample.com/pub v1.0.0 h1:abc=\n\n\xe2\x80\x94 sig\n"
        self.send_response(200 if body else 404)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def fake_sumdb() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeSumdb)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_checksum_database_is_proxied_except_for_hosted_paths(
    start_nora: Callable[..., NoraProcess], tmp_path: Path, fake_sumdb: str
) -> None:
    nora = start_nora(env={"NORA_GO_SUMDB": fake_sumdb})
    base = nora.url + "/go/sumdb/127.0.0.1"
    _publish(
        tmp_path, nora.url + "/go", "example.com/private/mod", "v1.0.0", {"a.go": "package a\n"}
    )
    assert httpx.get(base + "/supported").status_code == 200
    assert httpx.get(nora.url + "/go/sumdb/sum.example/supported").status_code == 404
    lookup = httpx.get(base + "/lookup/example.com/pub@v1.0.0")
    assert lookup.status_code == 200
    assert b"example.com/pub v1.0.0 h1:abc=" in lookup.content
    assert httpx.get(base + "/latest").content.startswith(b"go.sum database tree")
    hidden = httpx.get(base + "/lookup/example.com/private/mod@v1.0.0")
    assert hidden.status_code == 404
    assert httpx.get(base + "/../../example.com/x/@v/list").status_code in (400, 404)
    assert _FakeSumdb.seen == ["/lookup/example.com/pub@v1.0.0", "/latest"]
