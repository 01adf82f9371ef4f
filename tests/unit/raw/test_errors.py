"""The raw error table: every client error renders as a 4xx, server faults as 5xx."""

from __future__ import annotations

import pytest

from domain import errors as e
from entrypoints.http.raw.routes import raw_error
from tests.unit.test_error_tables import SERVER_SIDE, _all_errors


@pytest.mark.parametrize("kind", _all_errors(), ids=lambda k: k.__name__)
@pytest.mark.parametrize("subject", ["", "path", "file", "digest", "version", "page"])
def test_client_errors_never_render_as_server_errors(kind: type[e.NoraError], subject: str) -> None:
    status = raw_error(kind("detail", subject=subject)).status_code
    assert status is not None
    if issubclass(kind, SERVER_SIDE):
        assert status >= 500
    else:
        assert 400 <= status < 500, (kind.__name__, subject, status)


def test_specific_statuses() -> None:
    assert raw_error(e.Conflict("x", subject="path")).status_code == 409
    assert raw_error(e.DigestMismatch("x", subject="digest")).status_code == 400
    assert raw_error(e.TooLarge("x", subject="file")).status_code == 413
    assert raw_error(e.NotFound("x")).status_code == 404
    assert raw_error(e.NotFound("x"), head=True).content == b""
    assert raw_error(e.NotFound("gone")).content == b"Not Found: gone\n"
