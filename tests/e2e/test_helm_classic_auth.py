"""The classic Helm repository with access control on: the Helm SDK reads with Basic
credentials; a token scoped to ``helm:web`` uploads only ``web`` (the name is read from
the archive), reads only ``web`` and sees only ``web`` in index.yaml; a read token cannot
upload."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.auth_support import USERS, auth_env, basic, create_token
from tests.e2e.helm_support import make_chart, upload
from tests.e2e.server import NoraProcess


@dataclass
class Secured:
    server: NoraProcess
    url: str
    root: Path
    scoped: str
    reader: str


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    root = tmp_path_factory.mktemp("helm-auth")
    with NoraProcess(root / "data", env=auth_env(root)) as server:
        url = server.url + "/helm"
        bob = basic("bob", USERS["bob"])
        for name in ("web", "db"):
            data = make_chart(root, name, "1.0.0").read_bytes()
            assert upload(url, data, headers=bob).status_code == 201
        scoped = create_token(server, "carol", "write", "helm:web")
        reader = create_token(server, "carol", "read")
        yield Secured(server=server, url=url, root=root, scoped=scoped, reader=reader)


def test_sdk_reads_with_credentials(secured: Secured) -> None:
    import helm_python as helm

    assert httpx.get(secured.url + "/index.yaml").status_code == 401
    index = helm.repo_index(secured.url, username="bob", password=USERS["bob"])
    assert sorted(index["entries"]) == ["db", "web"]
    out = secured.root / "pulled"
    out.mkdir()
    helm.pull(
        "db",
        repo_url=secured.url,
        version="1.0.0",
        destination=str(out),
        username="bob",
        password=USERS["bob"],
    )
    assert (out / "db-1.0.0.tgz").exists()


def test_scoped_token(secured: Secured) -> None:
    auth = {"Authorization": f"Bearer {secured.scoped}"}
    web = make_chart(secured.root, "web", "2.0.0").read_bytes()
    db = make_chart(secured.root, "db", "2.0.0").read_bytes()
    assert upload(secured.url, web, headers=auth).status_code == 201
    refused = upload(secured.url, db, headers=auth)
    assert refused.status_code == 403
    assert "error" in refused.json()
    assert httpx.get(secured.url + "/charts/db-1.0.0.tgz", headers=auth).status_code == 403
    assert httpx.get(secured.url + "/charts/web-2.0.0.tgz", headers=auth).status_code == 200
    index = httpx.get(secured.url + "/index.yaml", headers=auth).json()
    assert list(index["entries"]) == ["web"]
    assert list(httpx.get(secured.url + "/api/charts", headers=auth).json()) == ["web"]
    everything = httpx.get(secured.url + "/api/charts/db", headers=basic("bob", USERS["bob"]))
    assert [v["version"] for v in everything.json()] == ["1.0.0"]  # the refused upload left nothing


def test_read_token_cannot_upload(secured: Secured) -> None:
    auth = {"Authorization": f"Bearer {secured.reader}"}
    data = make_chart(secured.root, "web", "3.0.0").read_bytes()
    assert upload(secured.url, data, headers=auth).status_code == 403
    assert httpx.delete(secured.url + "/api/charts/web/1.0.0", headers=auth).status_code == 403
    assert httpx.get(secured.url + "/api/charts/web/1.0.0", headers=auth).status_code == 200
