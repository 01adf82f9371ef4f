"""Every domain error a client can cause has a client status in every format's table.

A row forgotten in one table was a 500 (npm answered a refused token revocation
with 500); this walks every error class against every renderer, so a new error
or a new format cannot forget one again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import RequestFactory

from domain import errors as e
from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app
from entrypoints.http.errors import domain_error_response
from entrypoints.http.registry import FORMATS

SERVER_SIDE = (e.Transient, e.Permanent)
"""The only errors that are the registry's fault (503 and 500)."""


def _all_errors(kind: type[e.NoraError] = e.NoraError) -> list[type[e.NoraError]]:
    found = []
    for sub in kind.__subclasses__():
        if sub.__module__ == e.__name__:  # the closed set, not a module's private subclass
            found += [sub, *_all_errors(sub)]
    return found


_APP = create_app(build_container(Settings(storage_mode="memory", metadata_url="memory://")))


def _renderer(fmt: Any) -> Callable[[e.NoraError], Any]:
    prefix = fmt.prefixes[0] if fmt.prefixes else "/"
    request = RequestFactory(app=_APP).get(prefix + "/x")
    return lambda exc: fmt.render_error(request, exc)


RENDERERS: dict[str, Callable[[e.NoraError], Any]] = {
    "default": domain_error_response,
    **{fmt.name: _renderer(fmt) for fmt in FORMATS.formats},
}
"""Every registered format's own renderer, found rather than listed."""


@pytest.mark.parametrize("render", RENDERERS.values(), ids=RENDERERS.keys())
@pytest.mark.parametrize("kind", _all_errors(), ids=lambda k: k.__name__)
@pytest.mark.parametrize("subject", ["", "body", "token", "name", "manifest", "upload"])
def test_client_errors_never_render_as_server_errors(
    render: Callable[[e.NoraError], Any], kind: type[e.NoraError], subject: str
) -> None:
    status = render(kind("detail", subject=subject)).status_code
    if issubclass(kind, SERVER_SIDE):
        assert status >= 500
    else:
        assert 400 <= status < 500, (kind.__name__, subject, status)


_SERVES_FILES = [name for name in RENDERERS if name not in ("default", "ops", "api", "ui")]


@pytest.mark.parametrize("name", _SERVES_FILES)
def test_a_range_outside_a_file_is_416_with_the_size(name: str) -> None:
    """Every format that serves files answers an unsatisfiable Range with 416 and
    ``Content-Range: bytes */<size>`` (npm answered 400 without it)."""
    answer = RENDERERS[name](e.RangeNotSatisfiable("past the end", size=1234))
    assert answer.status_code == 416
    assert answer.headers.get("content-range") == "bytes */1234"
