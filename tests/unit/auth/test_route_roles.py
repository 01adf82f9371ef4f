"""Every route the app serves declares the role it needs, in its format's descriptor."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.auth.model import Role
from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.access import client_address, route_templates
from entrypoints.http.app import create_app
from entrypoints.http.registry import FORMATS

ROUTE_ROLES = FORMATS.roles
role_for = FORMATS.role_for


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    return create_app(build_container(Settings(storage_mode="memory", metadata_url="memory://")))


def test_every_route_and_method_declares_a_role(app) -> None:  # type: ignore[no-untyped-def]
    missing: list[str] = []
    for template, methods in route_templates(app):
        if template.startswith("/schema"):
            continue  # the OpenAPI document and its UI are public by design
        declared = ROUTE_ROLES.get(template, {})
        missing += [f"{method} {template}" for method in sorted(methods) if method not in declared]
    assert missing == []


def test_declared_routes_exist(app) -> None:  # type: ignore[no-untyped-def]
    served = {template for template, _ in route_templates(app)}
    assert set(ROUTE_ROLES) - served == set()


def test_roles_inside_catch_alls() -> None:
    assert role_for("/npm/{path}", "PUT", "/npm/-/user/org.couchdb.user:alice") is None
    assert role_for("/npm/{path}", "PUT", "/npm/left-pad") == Role.WRITE
    assert role_for("/npm/{path}", "GET", "/npm/left-pad") == Role.READ
    assert role_for("/v2/{path}", "DELETE", "/v2/a/manifests/x") == Role.WRITE
    assert role_for("/undeclared", "GET", "/undeclared") == Role.ADMIN


@pytest.mark.parametrize(
    ("path", "fmt", "name"),
    [
        ("/v2/team/sub/app/manifests/v1", "docker", "team/sub/app"),
        ("/v2/a/blobs/uploads/", "docker", "a"),
        ("/v2/a/b/blobs/uploads/123", "docker", "a/b"),
        ("/v2/x/blobs/sha256:abc", "docker", "x"),
        ("/v2/x/tags/list", "docker", "x"),
        ("/v2/_catalog", "docker", None),
        ("/npm/@acme%2futil", "npm", "@acme/util"),
        ("/npm/@acme/util/-/util-1.0.0.tgz", "npm", "@acme/util"),
        ("/npm/left-pad/1.0.0", "npm", "left-pad"),
        ("/npm/-/package/@acme/util/dist-tags/beta", "npm", "@acme/util"),
        ("/npm/-/v1/search", "npm", None),
        ("/simple/internal-tools/", "pypi", "internal-tools"),
        ("/pypi/internal-tools/json", "pypi", "internal-tools"),
        ("/health", "ops", None),
    ],
)
def test_names_and_formats_from_paths(path: str, fmt: str, name: str | None) -> None:
    assert FORMATS.format_of(path) == fmt
    assert FORMATS.name_of(path) == name


@given(st.text(max_size=200))
def test_name_of_never_fails(path: str) -> None:
    result = FORMATS.name_of("/" + path)
    assert result is None or isinstance(result, str)


def test_forwarded_for_only_from_trusted_proxies() -> None:
    import ipaddress

    trusted = [ipaddress.ip_network("10.0.0.0/8")]
    headers = [(b"x-forwarded-for", b"203.0.113.9, 10.1.1.1")]
    assert client_address({"client": ("10.2.2.2", 1), "headers": headers}, trusted) == "203.0.113.9"
    assert (
        client_address({"client": ("198.51.100.7", 1), "headers": headers}, trusted)
        == "198.51.100.7"
    )
    assert client_address({"client": ("198.51.100.7", 1), "headers": headers}, []) == "198.51.100.7"
