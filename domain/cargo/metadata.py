"""What ``cargo publish`` sends, checked, and what a version keeps of it.

The publish JSON (the Cargo book's "Web API: Publish") names dependencies as
cargo's manifest does (``version_req``, ``explicit_name_in_toml`` for a renamed
dependency); :func:`to_version` turns them into the sparse index's shape
(``req``; ``name`` is the name in the manifest and ``package`` the real crate)
and checks every field, so what is stored renders into a valid index line.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from domain.cargo.grammar import check_name, parse_version
from domain.codecs import json
from domain.errors import InvalidInput

__all__ = [
    "CrateVersion",
    "IndexDep",
    "PublishDep",
    "PublishMeta",
    "decode_publish",
    "to_version",
]

_MAX_DEPS: Final = 512
_MAX_FEATURES: Final = 1024
_MAX_TEXT: Final = 1024
_MAX_LONG: Final = 64 * 1024
_MAX_WORDS: Final = 16


class PublishDep(msgspec.Struct, kw_only=True):
    """One dependency as ``cargo publish`` sends it."""

    name: str
    version_req: str
    features: list[str] = []
    optional: bool = False
    default_features: bool = True
    target: str | None = None
    kind: str = "normal"
    registry: str | None = None
    explicit_name_in_toml: str | None = None


class PublishMeta(msgspec.Struct, kw_only=True):
    """The publish request's JSON (unknown fields are ignored, as cargo grows)."""

    name: str
    vers: str
    deps: list[PublishDep] = []
    features: dict[str, list[str]] = {}
    authors: list[str] = []
    description: str | None = None
    documentation: str | None = None
    homepage: str | None = None
    readme: str | None = None
    readme_file: str | None = None
    keywords: list[str] = []
    categories: list[str] = []
    license: str | None = None
    license_file: str | None = None
    repository: str | None = None
    links: str | None = None
    rust_version: str | None = None


class IndexDep(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One dependency as the sparse index lists it."""

    name: str
    req: str
    features: list[str]
    optional: bool
    default_features: bool
    target: str | None
    kind: Literal["normal", "dev", "build"]
    registry: str | None = None
    package: str | None = None


class CrateVersion(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a stored version keeps (its ``PackageVersion.metadata``)."""

    name: str
    vers: str
    deps: list[IndexDep] = []
    features: dict[str, list[str]] = {}
    links: str | None = None
    rust_version: str | None = None
    description: str = ""
    keywords: list[str] = []
    categories: list[str] = []
    license: str = ""
    homepage: str = ""
    repository: str = ""
    documentation: str = ""
    authors: list[str] = []


def _bad(detail: str) -> InvalidInput:
    return InvalidInput(detail, subject="metadata")


def decode_publish(body: bytes) -> PublishMeta:
    """The publish JSON, else ``InvalidInput`` (subject "metadata")."""
    return json.decode(body, PublishMeta, max_depth=8, subject="metadata")


def _text(value: str | None, field: str, limit: int = _MAX_TEXT) -> str:
    if value is None:
        return ""
    if len(value) > limit or "\x00" in value:
        raise _bad(f"{field} is too long or holds NUL")
    return value


def _words(values: list[str], field: str) -> list[str]:
    if len(values) > _MAX_WORDS:
        raise _bad(f"at most {_MAX_WORDS} {field}")
    for value in values:
        if not value or len(value) > 64 or not value.isprintable():
            raise _bad(f"invalid entry in {field}: {value[:64]!r}")
    return list(values)


def _dep(dep: PublishDep) -> IndexDep:
    check_name(dep.name)
    if dep.explicit_name_in_toml is not None:
        check_name(dep.explicit_name_in_toml)
    req = _text(dep.version_req, "version_req", 256)
    if not req:
        raise _bad(f"dependency {dep.name} has no version requirement")
    if dep.kind not in ("normal", "dev", "build"):
        raise _bad(f"dependency {dep.name} has unknown kind {dep.kind[:20]!r}")
    if len(dep.features) > _MAX_FEATURES:
        raise _bad(f"dependency {dep.name} enables too many features")
    for feature in dep.features:
        _text(feature, "feature", 256)
    renamed = dep.explicit_name_in_toml
    return IndexDep(
        name=renamed if renamed is not None else dep.name,
        req=req,
        features=list(dep.features),
        optional=dep.optional,
        default_features=dep.default_features,
        target=None if dep.target is None else _text(dep.target, "target", 256),
        kind=dep.kind,  # type: ignore[arg-type]
        registry=None if dep.registry is None else _text(dep.registry, "registry", 512),
        package=dep.name if renamed is not None else None,
    )


def to_version(meta: PublishMeta) -> CrateVersion:
    """The stored form of a publish request; ``InvalidInput`` for anything malformed."""
    check_name(meta.name)
    parse_version(meta.vers)
    if len(meta.deps) > _MAX_DEPS:
        raise _bad(f"at most {_MAX_DEPS} dependencies")
    if len(meta.features) > _MAX_FEATURES:
        raise _bad(f"at most {_MAX_FEATURES} features")
    for feature, enables in meta.features.items():
        _text(feature, "feature", 256)
        if not feature or len(enables) > _MAX_FEATURES:
            raise _bad(f"invalid feature {feature[:64]!r}")
        for item in enables:
            _text(item, "feature", 256)
    if meta.rust_version is not None and len(meta.rust_version) > 32:
        raise _bad("rust_version is too long")
    return CrateVersion(
        name=meta.name,
        vers=meta.vers,
        deps=[_dep(dep) for dep in meta.deps],
        features={key: list(value) for key, value in meta.features.items()},
        links=None if meta.links is None else _text(meta.links, "links", 256),
        rust_version=meta.rust_version,
        description=_text(meta.description, "description", _MAX_LONG),
        keywords=_words(meta.keywords, "keywords"),
        categories=_words(meta.categories, "categories"),
        license=_text(meta.license, "license"),
        homepage=_text(meta.homepage, "homepage"),
        repository=_text(meta.repository, "repository"),
        documentation=_text(meta.documentation, "documentation"),
        authors=[_text(a, "authors", 256) for a in meta.authors[:64]],
    )
