"""The /go/ edge: every client error gets a client status, and request paths decode to a
request or a domain error, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import errors as e
from entrypoints.http.gomod.routes import ModuleRequest, go_error, module_of, parse_request


def _all_errors(kind: type[e.NoraError] = e.NoraError) -> list[type[e.NoraError]]:
    found = []
    for sub in kind.__subclasses__():
        if sub.__module__ == e.__name__:
            found += [sub, *_all_errors(sub)]
    return found


@pytest.mark.parametrize("kind", _all_errors(), ids=lambda k: k.__name__)
@pytest.mark.parametrize("subject", ["", "zip", "module", "version", "gomod", "sumdb"])
def test_client_errors_never_render_as_server_errors(kind: type[e.NoraError], subject: str) -> None:
    status = go_error(kind("detail", subject=subject)).status_code
    if issubclass(kind, (e.Transient, e.Permanent)):
        assert status >= 500
    else:
        assert 400 <= status < 500


def test_not_found_is_404_so_go_falls_through() -> None:
    response = go_error(e.NotFound("module example.com/x: no versions"))
    assert response.status_code == 404
    assert response.content == b"not found: module example.com/x: no versions\n"


def test_parse_request() -> None:
    assert parse_request("example.com/!team/!lib/@v/list") == ModuleRequest(
        "example.com/Team/Lib", "list"
    )
    assert parse_request("example.com/m/@latest") == ModuleRequest("example.com/m", "latest")
    assert parse_request("example.com/m/@v/v1.0.0-!r!c1.zip") == ModuleRequest(
        "example.com/m", ".zip", "v1.0.0-RC1"
    )
    for bad in ("example.com/m", "example.com/m/@v/", "example.com/m/@v/x/y.zip", "@v/list"):
        with pytest.raises(e.NotFound):
            parse_request(bad)
    with pytest.raises(e.InvalidInput):
        parse_request("example.com/!/@v/list")


def test_module_of_names_the_module_for_scopes() -> None:
    assert module_of("/go/example.com/!acme/x/@v/v1.0.0.zip") == "example.com/Acme/x"
    assert module_of("/go/sumdb/sum.example/supported") is None
    # an undecodable escape still names something a scope must match
    assert module_of("/go/example.com/acme/!/@v/list") == "example.com/acme/!"


@settings(max_examples=500)
@given(st.text(st.sampled_from(list("ab.!A/@vlistzpinfomd0123%-")), max_size=40))
def test_hostile_paths_give_a_request_or_a_domain_error(path: str) -> None:
    try:
        found = parse_request(path)
    except e.NoraError as exc:
        assert 400 <= go_error(exc).status_code < 500
        return
    assert found.kind in ("list", "latest", ".info", ".mod", ".zip")
    assert module_of("/go/" + path) == found.module
