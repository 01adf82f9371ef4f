"""Maven with access control on: mvn deploys with Basic credentials from settings.xml,
resolves after the 401 + Basic challenge, and a read-only token cannot deploy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.auth_support import USERS, auth_env, basic, create_token
from tests.e2e.maven_support import MavenRun, consumer_pom, library, mvn, write_settings
from tests.e2e.server import NoraProcess


@dataclass
class Secured:
    server: NoraProcess
    url: str
    runs: dict[str, MavenRun]
    root: Path


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    root = tmp_path_factory.mktemp("maven-auth")
    with NoraProcess(root / "data", env=auth_env(root)) as server:
        url = server.url + "/maven2/"
        runs: dict[str, MavenRun] = {}
        writer = write_settings(
            root / "writer.xml",
            url,
            user="bob",
            password=USERS["bob"],
            read_user="bob",
            read_password=USERS["bob"],
        )
        lib = library(root / "lib", "com.acme.secure", "lib", "1.0", url, marker="secure")
        runs["deploy"] = mvn(lib, writer, root / "m2", "deploy", "-Dmaven.test.skip=true")
        consumer = consumer_pom(root / "consumer", url, [("com.acme.secure", "lib", "1.0")])
        runs["consumer"] = mvn(consumer, writer, root / "m2c", "package")
        token = create_token(server, "carol", "read")
        reader = write_settings(
            root / "reader.xml",
            url,
            user="carol",
            password=token,
            read_user="carol",
            read_password=token,
        )
        other = library(root / "other", "com.acme.secure", "other", "1.0", url)
        runs["read-only"] = mvn(other, reader, root / "m2r", "deploy", "-Dmaven.test.skip=true")
        yield Secured(server=server, url=url, runs=runs, root=root)


def test_deploy_with_basic_credentials_from_settings(secured: Secured) -> None:
    assert secured.runs["deploy"].ok, secured.runs["deploy"].output[-4000:]
    got = httpx.get(
        secured.url + "com/acme/secure/lib/1.0/lib-1.0.jar", headers=basic("bob", USERS["bob"])
    )
    assert got.status_code == 200
    assert got.content[:2] == b"PK"


def test_reads_are_challenged_and_mvn_then_sends_credentials(secured: Secured) -> None:
    anonymous = httpx.get(secured.url + "com/acme/secure/lib/maven-metadata.xml")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].lower().startswith("basic")
    run = secured.runs["consumer"]
    assert run.ok, run.output[-4000:]
    assert (secured.root / "m2c/com/acme/secure/lib/1.0/lib-1.0.jar").exists()
    wrong = httpx.get(secured.url + "com/acme/secure/", headers=basic("bob", "nope"))
    assert wrong.status_code == 401


def test_a_read_only_token_cannot_deploy(secured: Secured) -> None:
    run = secured.runs["read-only"]
    assert not run.ok
    assert "403" in run.output
    token = create_token(secured.server, "carol", "read")
    auth = basic("carol", token)
    refused = httpx.put(
        secured.url + "com/acme/secure/other/1.0/other-1.0.jar", content=b"x", headers=auth
    )
    assert refused.status_code == 403
    assert httpx.get(secured.url + "com/acme/secure/other/", headers=auth).status_code == 404
    assert (
        httpx.get(secured.url + "com/acme/secure/lib/1.0/lib-1.0.pom", headers=auth).status_code
        == 200
    )


def test_scoped_tokens_reach_only_matching_artifacts(secured: Secured) -> None:
    token = create_token(secured.server, "bob", "write", "maven:com/acme/team/*")
    auth = basic("bob", token)
    inside = httpx.put(
        secured.url + "com/acme/team/tool/1.0/tool-1.0.jar", content=b"tool", headers=auth
    )
    assert inside.status_code == 201
    outside = httpx.put(
        secured.url + "com/acme/secure/lib/2.0/lib-2.0.jar", content=b"x", headers=auth
    )
    assert outside.status_code == 403
    read_outside = httpx.get(secured.url + "com/acme/secure/lib/1.0/lib-1.0.jar", headers=auth)
    assert read_outside.status_code == 403
    json = {**auth, "Accept": "application/json"}
    assert httpx.get(secured.url + "com/acme/", headers=json).status_code == 403
    listing = httpx.get(secured.url + "com/acme/team/tool/", headers=json)
    assert listing.status_code == 200
    assert [i["name"] for i in listing.json()["items"]] == ["1.0", "maven-metadata.xml"]
    deleted = httpx.delete(secured.url + "com/acme/team/tool/1.0/tool-1.0.jar", headers=auth)
    assert deleted.status_code == 403  # deletes are for admins
    admin = httpx.delete(
        secured.url + "com/acme/team/tool/1.0/tool-1.0.jar", headers=basic("alice", USERS["alice"])
    )
    assert admin.status_code == 200
