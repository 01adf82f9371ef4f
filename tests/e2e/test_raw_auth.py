"""Raw files with access control on: curl with Basic credentials and tokens; a read
token cannot write, a scoped token (``raw:team-a/*``) reaches only its paths, and a
listing shows a scoped token only what it may read."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.auth_support import USERS, auth_env, create_token
from tests.e2e.raw_support import curl
from tests.e2e.server import NoraProcess


@dataclass
class Secured:
    server: NoraProcess
    url: str
    root: Path
    scoped: str
    reader: str


def _status(*args: str) -> str:
    return curl("-o", os.devnull, "-w", "%{http_code}", *args).out


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    root = tmp_path_factory.mktemp("raw-auth")
    with NoraProcess(root / "data", env=auth_env(root)) as server:
        url = server.url + "/raw/"
        local = root / "f.txt"
        local.write_text("secret\n")
        for path in ("team-a/f.txt", "team-b/f.txt"):
            put = curl("-f", "-u", f"bob:{USERS['bob']}", "-T", str(local), url + path)
            assert put.code == 0, put.err
        scoped = create_token(server, "carol", "write", "raw:team-a/*")
        reader = create_token(server, "carol", "read")
        yield Secured(server=server, url=url, root=root, scoped=scoped, reader=reader)


def test_anonymous_is_challenged(secured: Secured) -> None:
    dump = curl("-o", os.devnull, "-D", "-", secured.url + "team-a/f.txt").out.lower()
    assert " 401" in dump.splitlines()[0]
    assert "www-authenticate: basic" in dump


def test_read_token_reads_but_cannot_write(secured: Secured) -> None:
    bearer = f"Authorization: Bearer {secured.reader}"
    assert curl("-f", "-H", bearer, secured.url + "team-b/f.txt").out == "secret\n"
    local = secured.root / "w.txt"
    local.write_text("x")
    assert _status("-H", bearer, "-T", str(local), secured.url + "team-b/w.txt") == "403"


def test_scoped_token_reaches_only_its_paths(secured: Secured) -> None:
    auth = ["-u", f"carol:{secured.scoped}"]
    local = secured.root / "s.txt"
    local.write_text("mine")
    assert _status(*auth, "-T", str(local), secured.url + "team-a/new.txt") == "201"
    assert _status(*auth, "-T", str(local), secured.url + "team-b/new.txt") == "403"
    assert _status(*auth, secured.url + "team-b/f.txt") == "403"
    assert curl("-f", *auth, secured.url + "team-a/new.txt").out == "mine"
    # an encoded slash is part of a name, never a way out of team-a/
    sneaky = secured.url + "team-a%252F..%252Fteam-b/x.txt"
    assert _status(*auth, "-T", str(local), sneaky) == "403"
    root = json.loads(curl("-f", *auth, "-H", "Accept: application/json", secured.url).out)
    assert [i["name"] for i in root["items"]] == ["team-a"]
    everything = json.loads(
        curl("-f", "-u", f"bob:{USERS['bob']}", "-H", "Accept: application/json", secured.url).out
    )
    assert [i["name"] for i in everything["items"]] == ["team-a", "team-b"]
