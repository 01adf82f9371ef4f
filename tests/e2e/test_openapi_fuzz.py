"""schemathesis against the live server, from the OpenAPI document it serves (issue 19).

Every documented operation gets a bounded number of generated requests, valid and
hostile, in three situations: access control off; on, with a read-only user's
credentials; and on, anonymous. Whatever the input, the server never answers 5xx,
and every answer's status, content type, headers and body match what the document
says. Each situation shares one server per module; the examples per operation are
bounded (``_EXAMPLES``), so the module stops by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient
from schemathesis import checks

from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from tests.e2e.auth_support import auth_env, create_token
from tests.e2e.server import NoraProcess

_CHECKS: Final = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
_EXAMPLES: Final = 12
_SETTINGS: Final = settings(
    max_examples=_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@schemathesis.serializer("application/zip", "application/gzip", "application/pgp-signature")
def _as_bytes(ctx: Any, value: Any) -> bytes:
    """Archives and signatures go out as the bytes generated (or their text, encoded)."""
    return value if isinstance(value, bytes) else str(value).encode()


def _document() -> dict[str, Any]:
    """The document as the app builds it, read at collection to name one test per operation
    (schemathesis's lazy fixture loader does not run under this pytest)."""
    container = build_container(Settings(storage_mode="memory", metadata_url="memory://"))
    app = create_app(container)
    with TestClient(app) as client:
        document: dict[str, Any] = client.get("/schema/openapi.json").json()
    return document


DOCUMENT: Final = _document()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    with NoraProcess(tmp_path_factory.mktemp("open") / "data") as server:
        yield server


@pytest.fixture(scope="module")
def guarded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    root = tmp_path_factory.mktemp("guarded")
    rates = {"NORA_AUTH_READ_RATE": "100000/minute", "NORA_AUTH_WRITE_RATE": "100000/minute"}
    with NoraProcess(root / "data", env=auth_env(root, **rates)) as server:
        yield server


@pytest.fixture(scope="module")
def reader(guarded_server: NoraProcess) -> dict[str, str]:
    """A read-only token of a user who may write: what it asks beyond reading is refused."""
    return {"Authorization": f"Bearer {create_token(guarded_server, 'bob', 'read')}"}


def test_the_server_serves_the_document_fuzzed(open_server: NoraProcess) -> None:
    served = httpx.get(f"{open_server.url}/schema/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == DOCUMENT


@SCHEMA.parametrize()
@_SETTINGS
def test_access_control_off(case: Any, open_server: NoraProcess) -> None:
    case.call_and_validate(base_url=open_server.url, checks=_CHECKS, timeout=30)


@SCHEMA.parametrize()
@_SETTINGS
def test_access_control_on_as_a_reader(
    case: Any, guarded_server: NoraProcess, reader: dict[str, str]
) -> None:
    case.call_and_validate(base_url=guarded_server.url, checks=_CHECKS, headers=reader, timeout=30)


@SCHEMA.parametrize()
@_SETTINGS
def test_access_control_on_anonymous(case: Any, guarded_server: NoraProcess) -> None:
    case.call_and_validate(base_url=guarded_server.url, checks=_CHECKS, timeout=30)
