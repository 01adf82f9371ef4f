"""Helm's error table: every client error renders as a 4xx, server faults as 5xx."""

from __future__ import annotations

import msgspec
import pytest

from domain import errors as e
from entrypoints.http.helm.routes import helm_error
from tests.unit.test_error_tables import SERVER_SIDE, _all_errors


@pytest.mark.parametrize("kind", _all_errors(), ids=lambda k: k.__name__)
@pytest.mark.parametrize("subject", ["", "chart", "name", "version", "file", "prov"])
def test_client_errors_never_render_as_server_errors(kind: type[e.NoraError], subject: str) -> None:
    status = helm_error(kind("detail", subject=subject)).status_code
    assert status is not None
    if issubclass(kind, SERVER_SIDE):
        assert status >= 500
    else:
        assert 400 <= status < 500, (kind.__name__, subject, status)


def test_chartmuseum_shape() -> None:
    answer = helm_error(e.Conflict("exists", subject="version"))
    assert answer.status_code == 409
    assert msgspec.json.decode(answer.content) == {"error": "exists"}
    assert helm_error(e.TooLarge("x")).status_code == 413
    assert helm_error(e.NotFound("x"), head=True).content == b""
