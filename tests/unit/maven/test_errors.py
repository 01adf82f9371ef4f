"""Maven's error table: every client error renders as a 4xx, server faults as 5xx."""

from __future__ import annotations

import pytest

from domain import errors as e
from entrypoints.http.maven.routes import maven_error
from tests.unit.test_error_tables import SERVER_SIDE, _all_errors


@pytest.mark.parametrize("kind", _all_errors(), ids=lambda k: k.__name__)
@pytest.mark.parametrize("subject", ["", "path", "checksum", "metadata", "release", "upstream"])
def test_client_errors_never_render_as_server_errors(kind: type[e.NoraError], subject: str) -> None:
    status = maven_error(kind("detail", subject=subject)).status_code
    assert status is not None
    if issubclass(kind, SERVER_SIDE):
        assert status >= 500
    else:
        assert 400 <= status < 500, (kind.__name__, subject, status)


def test_specific_statuses() -> None:
    assert maven_error(e.Conflict("x", subject="release")).status_code == 409
    assert maven_error(e.DigestMismatch("x", subject="checksum")).status_code == 400
    assert maven_error(e.InvalidInput("x", subject="path")).status_code == 400
    assert maven_error(e.NotFound("x")).status_code == 404
    assert maven_error(e.TooLarge("x")).status_code == 413
    assert maven_error(e.NotFound("x"), head=True).content == b""
    assert maven_error(e.NotFound("gone")).content == b"Not Found: gone\n"
