"""cargo's error shape: every client error is a 4xx ``{"errors": [{"detail": ...}]}``."""

from __future__ import annotations

import json

import pytest

from domain import errors as e
from entrypoints.http.cargo import FORMAT
from entrypoints.http.cargo.routes import cargo_error


def _all_errors(kind: type[e.NoraError] = e.NoraError) -> list[type[e.NoraError]]:
    found = []
    for sub in kind.__subclasses__():
        if sub.__module__ == e.__name__:
            found += [sub, *_all_errors(sub)]
    return found


@pytest.mark.parametrize("kind", _all_errors(), ids=lambda k: k.__name__)
@pytest.mark.parametrize("subject", ["", "body", "name", "crate", "version", "owner", "upstream"])
def test_client_errors_are_4xx_in_cargo_shape(kind: type[e.NoraError], subject: str) -> None:
    response = cargo_error(kind("some detail", subject=subject), base="http://127.0.0.1:1")
    body = json.loads(response.render(response.content, "application/json"))
    assert body["errors"][0]["detail"].startswith("some detail")
    assert response.status_code is not None
    if issubclass(kind, e.Transient | e.Permanent):
        assert response.status_code >= 500
    else:
        assert 400 <= response.status_code < 500


def test_unauthenticated_tells_how_to_log_in() -> None:
    response = cargo_error(e.Unauthenticated("authentication required"), base="http://h")
    assert response.status_code == 401
    detail = json.loads(response.render(response.content, "application/json"))
    assert "cargo login" in detail["errors"][0]["detail"]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/cargo/index/se/rd/serde", "serde"),
        ("/cargo/index/config.json", None),
        ("/cargo/api/v1/crates/serde/1.0.0/download", "serde"),
        ("/cargo/api/v1/crates/serde/owners", "serde"),
        ("/cargo/api/v1/crates/new", None),
        ("/cargo/api/v1/crates", None),
        ("/cargo/me", None),
    ],
)
def test_names_for_scopes(path: str, name: str | None) -> None:
    assert FORMAT.name_of(path) == name
