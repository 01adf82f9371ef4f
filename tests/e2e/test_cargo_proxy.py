"""The Cargo pull-through cache, with a second NORA as the upstream.

cargo resolves every dependency through NORA by source replacement; index
files are cached and served stale once the upstream is stopped, ``.crate``
files are fetched once and verified against the upstream's ``cksum``, and a
crate hosted here shadows the upstream's crate of the same name.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.cargo_support import CargoClient, write_crate
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e


def _lib(root: Path, name: str, version: str, body: str = "", text: str = "") -> Path:
    says = text or f"{name} {version}"
    fn = name.replace("-", "_")
    return write_crate(
        root, name, version, body=body, lib=f'pub fn {fn}() -> String {{ "{says}".into() }}\n'
    )


def test_source_replacement_through_the_cache_survives_the_upstream(
    start_nora: Callable[..., NoraProcess], tmp_path: Path
) -> None:
    upstream = start_nora()
    publisher = CargoClient(tmp_path / "pub", upstream.url, token="t")
    publisher.publish(_lib(tmp_path, "px-base", "1.0.0"))
    publisher.publish(_lib(tmp_path, "px-shadow", "1.0.0", text="from upstream"))
    publisher.publish(
        write_crate(
            tmp_path,
            "px-lib",
            "1.0.0",
            body='[dependencies]\npx-base = { version = "1", registry = "local" }\n',
            lib='pub fn px_lib() -> String { format!("lib on {}", px_base::px_base()) }\n',
        )
    )
    cache = start_nora(
        env={
            "NORA_CARGO_PROXY": upstream.url + "/cargo/index/",
            "NORA_CARGO_METADATA_TTL": "1",
        }
    )
    # a crate hosted here shadows the upstream's crate of the same name entirely
    CargoClient(tmp_path / "own", cache.url, token="t").publish(
        _lib(tmp_path / "own", "px-shadow", "2.0.0", text="hosted here")
    )

    target = tmp_path / "target"
    cargo = CargoClient(tmp_path / "home", cache.url, target=target)
    project = write_crate(
        tmp_path,
        "consumer",
        "0.1.0",
        body='publish = false\n[dependencies]\npx-lib = "1"\npx-shadow = "2"\n',
        main='fn main() { println!("{} / {}", px_lib::px_lib(), px_shadow::px_shadow()); }\n',
    )
    assert "lib on px-base 1.0.0 / hosted here" in cargo.ok("run", "--quiet", cwd=project)
    shadow = httpx.get(cache.url + "/cargo/index/px/-s/px-shadow").text.splitlines()
    assert [json.loads(line)["vers"] for line in shadow] == ["2.0.0"]
    proxied = httpx.get(cache.url + "/cargo/index/px/-b/px-base")
    assert proxied.status_code == 200
    assert proxied.text == httpx.get(upstream.url + "/cargo/index/px/-b/px-base").text
    crate = httpx.get(cache.url + "/cargo/api/v1/crates/px-base/1.0.0/download").content
    assert hashlib.sha256(crate).hexdigest() == json.loads(proxied.text)["cksum"]
    assert httpx.get(cache.url + "/cargo/index/px/-n/px-none").status_code == 404

    upstream.stop()
    time.sleep(1.2)  # past the TTL: the cache must revalidate, fail, and serve what it has
    fresh = CargoClient(tmp_path / "fresh", cache.url, target=target)
    shutil.rmtree(target, ignore_errors=True)  # rebuild from crates the cache serves
    assert "lib on px-base 1.0.0 / hosted here" in fresh.ok("run", "--quiet", cwd=project)
    stale = httpx.get(cache.url + "/cargo/index/px/-l/px-lib")
    assert stale.status_code == 200
    assert "max-age=0" in stale.headers["cache-control"]
    unknown = httpx.get(cache.url + "/cargo/index/px/-o/px-other")
    assert unknown.status_code == 503
    assert unknown.json()["errors"][0]["detail"]
