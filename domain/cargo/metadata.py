"""What ``cargo publish`` sends, checked, and what a version keeps of it.

The publish JSON (the Cargo book's "Web API: Publish") names dependencies as
cargo's manifest does (``version_req``, ``explicit_name_in_toml`` for a renamed
dependency); :func:`to_version` turns them into the sparse index's shape
(``req``; ``name`` is the name in the manifest and ``package`` the real crate)
and checks every field, so what is stored renders into a valid index line.
"""

from __future__ import annotations

import tomllib
from typing import Any, Final, Literal

import msgspec

from domain.cargo.grammar import check_name, parse_version
from domain.codecs import json
from domain.errors import InvalidInput
from domain.numbers import is_digits

__all__ = [
    "CrateVersion",
    "IndexDep",
    "PublishDep",
    "PublishMeta",
    "decode_publish",
    "from_manifest",
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


_KINDS: Final = (
    ("dependencies", "normal"),
    ("build-dependencies", "build"),
    ("build_dependencies", "build"),
    ("dev-dependencies", "dev"),
    ("dev_dependencies", "dev"),
)


def _manifest_bad(detail: str) -> InvalidInput:
    return InvalidInput(f"the .crate's Cargo.toml {detail}", subject="crate")


def _field(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = table.get(key)
    if value is not None and not isinstance(value, kind):
        raise _manifest_bad(f"has a {where}{key} that is not a {kind.__name__}")
    return value


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _manifest_bad(f"has a {where} that is not a list of strings")
    return list(value)


def _requirement(text: str) -> str:
    """A version requirement as cargo writes it to the registry (``1.2`` -> ``^1.2``)."""
    parts = ["".join(part.split()) for part in text.split(",")]
    return ", ".join(
        "^" + part if is_digits(part[:1]) and not any(c in part for c in "*xX") else part
        for part in parts
    )


def _manifest_deps(
    table: Any,
    kind: str,
    target: str | None,
    *,
    own_index: str | None,
    default_registry: str | None,
) -> list[PublishDep]:
    if not isinstance(table, dict):
        raise _manifest_bad(f"has a {kind} dependency table that is not a table")
    found: list[PublishDep] = []
    for key, spec in table.items():
        if isinstance(spec, str):
            spec = {"version": spec}
        if not isinstance(spec, dict):
            raise _manifest_bad(
                f"has a dependency {str(key)[:64]!r} that is neither text nor table"
            )
        where = f"dependency {str(key)[:64]!r} "
        version = _field(spec, "version", str, where)
        if version is None and kind == "dev":
            continue  # cargo leaves a dev-dependency without a version out of the publish
        if _field(spec, "registry", str, where) is not None:
            raise _manifest_bad(f"names the registry of {where}by name: package it with cargo")
        index = _field(spec, "registry-index", str, where)
        if index is None:
            registry = default_registry
        elif own_index is not None and index.rstrip("/") == own_index.rstrip("/"):
            registry = None
        else:
            registry = index
        package = _field(spec, "package", str, where)
        default_features = spec.get("default-features", spec.get("default_features", True))
        optional = spec.get("optional", False)
        if not isinstance(default_features, bool) or not isinstance(optional, bool):
            raise _manifest_bad(f"has a {where}flag that is not a boolean")
        found.append(
            PublishDep(
                name=package if package is not None else key,
                version_req=_requirement(version or ""),
                features=_strings(spec.get("features"), f"{where}features"),
                optional=optional,
                default_features=default_features,
                target=target,
                kind=kind,
                registry=registry,
                explicit_name_in_toml=key if package is not None else None,
            )
        )
    return found


def from_manifest(
    data: bytes, *, own_index: str | None = None, default_registry: str | None = None
) -> PublishMeta:
    """The publish JSON ``cargo publish`` sends for a packaged crate's ``Cargo.toml``.

    A packaged crate holds cargo's normalised manifest: every dependency a table
    with ``version`` and, when it comes from a registry other than the default
    one, that registry's ``registry-index``. A dependency naming ``own_index``
    (this registry's index URL, as cargo writes it) is listed as coming from this
    registry, as cargo lists it; one without ``registry-index`` comes from
    ``default_registry`` (None: this registry). Dev-dependencies without a version
    are left out, as cargo leaves them out. Anything else malformed raises
    ``InvalidInput`` (subject "crate"); :func:`to_version` checks the rest.
    """
    try:
        manifest = tomllib.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8, not TOML, or an integer past 4300 digits
        raise _manifest_bad("is not valid TOML") from None
    package = manifest.get("package")
    if not isinstance(package, dict):
        raise _manifest_bad("has no [package] table")
    name, vers = package.get("name"), package.get("version")
    if not isinstance(name, str) or not isinstance(vers, str):
        raise _manifest_bad("names no package name and version")
    options = {"own_index": own_index, "default_registry": default_registry}
    deps: list[PublishDep] = []
    for section, kind in _KINDS:
        if section in manifest:
            deps += _manifest_deps(manifest[section], kind, None, **options)
    targets = manifest.get("target", {})
    if not isinstance(targets, dict):
        raise _manifest_bad("has a [target] that is not a table")
    for target, tables in targets.items():
        if not isinstance(tables, dict):
            raise _manifest_bad(f"has a target {str(target)[:64]!r} that is not a table")
        for section, kind in _KINDS:
            if section in tables:
                deps += _manifest_deps(tables[section], kind, target, **options)
    features = manifest.get("features", {})
    if not isinstance(features, dict):
        raise _manifest_bad("has [features] that are not a table")
    text = {
        key: _field(package, key, str, "")
        for key in ("description", "documentation", "homepage", "license", "license-file")
    }
    return PublishMeta(
        name=name,
        vers=vers,
        deps=deps,
        features={str(k): _strings(v, f"feature {str(k)[:64]!r}") for k, v in features.items()},
        authors=_strings(package.get("authors"), "package.authors"),
        description=text["description"],
        documentation=text["documentation"],
        homepage=text["homepage"],
        keywords=_strings(package.get("keywords"), "package.keywords"),
        categories=_strings(package.get("categories"), "package.categories"),
        license=text["license"],
        license_file=text["license-file"],
        repository=_field(package, "repository", str, ""),
        links=_field(package, "links", str, ""),
        rust_version=_field(package, "rust-version", str, ""),
    )
