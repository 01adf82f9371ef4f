"""Go modules with access control on: publishing needs write, token scopes such as
``go:example.com/acme/*`` reach matching module paths only, and reads need read.

The go command sends credentials (GOAUTH, ~/.netrc, or a GOPROXY URL's user
information) only over HTTPS, so against a plain-HTTP NORA it reads anonymously:
the test shows it refused without anonymous reads and served with them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.auth_support import USERS, auth_env, basic, create_token
from tests.e2e.go_support import GoEnv, go_build_cache, make_module, nora_go_publish
from tests.e2e.server import NoraProcess

__all__ = ["go_build_cache"]

pytestmark = pytest.mark.e2e


def _tree(root: Path, module: str) -> Path:
    return make_module(root / module.replace("/", "_"), module, {"a.go": "package a\n"})


def test_publishing_and_reading_follow_roles_and_scopes(
    start_nora: Callable[..., NoraProcess], tmp_path: Path, go_build_cache: Path
) -> None:
    nora = start_nora(env=auth_env(tmp_path))
    registry = nora.url + "/go"
    acme, other = "example.com/acme/lib", "example.com/other/lib"
    writer = create_token(nora, "bob", "write")
    scoped = create_token(nora, "carol", "write", "go:example.com/acme/*")
    reader = create_token(nora, "bob", "read")

    anonymous = nora_go_publish(_tree(tmp_path, acme), f"{acme}@v1.0.0", registry)
    assert anonymous.returncode == 1
    assert "401" in anonymous.stderr
    read_only = nora_go_publish(
        _tree(tmp_path, acme), f"{acme}@v1.0.0", registry, "--token", reader
    )
    assert "403" in read_only.stderr
    out_of_scope = nora_go_publish(
        _tree(tmp_path, other), f"{other}@v1.0.0", registry, "--token", scoped
    )
    assert out_of_scope.returncode == 1
    assert "403" in out_of_scope.stderr
    in_scope = nora_go_publish(_tree(tmp_path, acme), f"{acme}@v1.0.0", registry, "--token", scoped)
    assert in_scope.returncode == 0, in_scope.stderr
    password = nora_go_publish(
        _tree(tmp_path, other), f"{other}@v1.0.0", registry, "--user", f"bob:{USERS['bob']}"
    )
    assert password.returncode == 0, password.stderr
    assert nora_go_publish(
        _tree(tmp_path, "example.com/w/lib"), "example.com/w/lib@v1.0.0", registry,
        "--token", writer,
    ).returncode == 0  # fmt: skip

    def get(path: str, token: str | None = None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{registry}/{path}", headers=headers).status_code

    assert get(f"{acme}/@v/list") == 401
    assert get(f"{acme}/@v/list", scoped) == 200
    assert get(f"{acme}/@v/v1.0.0.zip", scoped) == 200
    assert get(f"{other}/@v/list", scoped) == 403
    assert get(f"{other}/@v/v1.0.0.zip", scoped) == 403
    assert get("example.com/!acme/lib/@v/list", scoped) == 403  # another module: example.com/Acme
    assert get("example.com/acme/lib/!/@v/list", scoped) in (400, 403)
    assert get(f"{other}/@v/list", reader) == 200
    assert (
        httpx.get(f"{registry}/{other}/@latest", headers=basic("bob", USERS["bob"])).json()[
            "Version"
        ]
        == "v1.0.0"
    )

    # the go command cannot send credentials over plain HTTP: refused, with go's own message
    go = GoEnv(tmp_path / "go", registry, cache=go_build_cache)
    app = make_module(tmp_path / "app", "example.com/app", {})
    refused = go.run("mod", "download", "-json", f"{acme}@v1.0.0", cwd=app)
    assert refused.returncode != 0
    assert "401 Unauthorized" in refused.stdout


def test_anonymous_reads_serve_go_but_never_writes(
    start_nora: Callable[..., NoraProcess], tmp_path: Path, go_build_cache: Path
) -> None:
    nora = start_nora(env=auth_env(tmp_path, NORA_AUTH_ANONYMOUS_READ="true"))
    registry = nora.url + "/go"
    module = "example.com/open/lib"
    token = create_token(nora, "bob", "write", "go:example.com/open/*")
    published = nora_go_publish(
        _tree(tmp_path, module), f"{module}@v1.0.0", registry, "--token", token
    )
    assert published.returncode == 0, published.stderr
    assert httpx.put(f"{registry}/{module}/@v/v1.1.0.zip", content=b"PK").status_code == 401
    go = GoEnv(tmp_path / "go", registry, cache=go_build_cache)
    app = make_module(tmp_path / "app", "example.com/app", {})
    listed = go.ok("list", "-m", "-versions", module, cwd=app)
    assert listed.split() == [module, "v1.0.0"]
    go.ok("mod", "download", f"{module}@v1.0.0", cwd=app)
