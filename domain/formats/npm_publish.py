"""Parsing what npm clients PUT: publish bodies and edited package documents.

``npm publish`` sends the package document with one new version and its
tarball base64-encoded in ``_attachments``; ``npm deprecate`` and ``npm
unpublish`` send the document back edited and without attachments. Every
parser here returns a value or raises :class:`InvalidInput` (or
:class:`DigestMismatch` when a tarball does not match its declared
integrity); nothing is stored before all of that passed.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final

import msgspec

from domain.digests import Digest, hash_bytes
from domain.errors import DigestMismatch, InvalidInput
from domain.formats.npm_grammar import NpmName, parse_name, parse_tag, parse_version

__all__ = [
    "Attachment",
    "NpmDocument",
    "PreparedPublish",
    "integrity_digests",
    "parse_document",
    "prepare_publish",
    "tarball_filename",
]

_SRI: Final = re.compile(r"(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})")
_STRIPPED_KEYS: Final = ("dist", "readme", "deprecated", "_attachments")


class Attachment(msgspec.Struct, kw_only=True):
    """One ``_attachments`` entry as npm sends it."""

    data: str
    content_type: str = ""
    length: int | None = None


class NpmDocument(msgspec.Struct, kw_only=True):
    """The package document a client PUTs (publish, deprecate, unpublish)."""

    name: str | None = None
    id: str | None = msgspec.field(default=None, name="_id")
    rev: str | None = msgspec.field(default=None, name="_rev")
    versions: dict[str, dict[str, Any]] = {}
    dist_tags: dict[str, str] = msgspec.field(default_factory=dict, name="dist-tags")
    attachments: dict[str, Attachment] = msgspec.field(default_factory=dict, name="_attachments")
    readme: str | None = None
    readme_filename: str | None = msgspec.field(default=None, name="readmeFilename")
    description: str | None = None


class PreparedPublish(msgspec.Struct, frozen=True, kw_only=True):
    """A verified publish, ready to store: the tarball and everything about it."""

    name: NpmName
    version: str
    filename: str
    tarball: bytes
    sha512: Digest
    manifest: bytes
    """The version manifest as JSON, without dist (NORA renders dist) and readme."""
    tags: dict[str, str]
    description: str
    keywords: list[str]
    readme: str
    readme_filename: str


_document_decoder = msgspec.json.Decoder(NpmDocument)


def parse_document(raw: bytes) -> NpmDocument:
    """Decode a PUT body; anything but a well-formed package document is ``InvalidInput``."""
    try:
        return _document_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidInput(f"invalid package document: {str(exc)[:200]}", subject="body") from None


def tarball_filename(name: NpmName, version: str) -> str:
    """The stored file name of a version's tarball: ``<bare name>-<version>.tgz``."""
    return f"{name.bare}-{version}.tgz"


def integrity_digests(integrity: str | None, shasum: str | None) -> list[Digest]:
    """The digests a version's ``dist`` declares (SRI ``integrity`` and hex ``shasum``).

    Algorithms NORA cannot compute (sha384) are skipped; malformed values raise.
    """
    digests: list[Digest] = []
    for token in (integrity or "").split():
        match = _SRI.fullmatch(token.split("?", 1)[0])
        if match is None:
            raise InvalidInput("dist.integrity is not a valid SRI string", subject="digest")
        algorithm, value = match.groups()
        if algorithm == "sha384":
            continue
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise InvalidInput("dist.integrity is not valid base64", subject="digest") from None
        digests.append(Digest.of(algorithm, raw.hex()))
    if shasum:
        digests.append(Digest.of("sha1", shasum.lower()))
    return digests


def prepare_publish(url_name: NpmName, doc: NpmDocument) -> PreparedPublish:
    """Check a publish body against npm's rules and its tarball against its integrity.

    Exactly one version with exactly one attachment, both named after the
    package in the URL; the version is semver; the tarball is valid base64,
    of the declared length, and hashes to every declared digest.
    """
    for given in (doc.name, doc.id):
        if given is not None and given != url_name.full:
            raise InvalidInput(
                f"package name in the body ({given[:100]!r}) does not match the URL",
                subject="name",
            )
    name = parse_name(url_name.full, new=True)
    if len(doc.versions) != 1 or len(doc.attachments) != 1:
        raise InvalidInput(
            "a publish must carry exactly one version and one tarball", subject="body"
        )
    [(version, manifest)] = doc.versions.items()
    version = parse_version(version)
    if manifest.get("version", version) != version or manifest.get("name", name.full) != name.full:
        raise InvalidInput("the version manifest names another package or version", subject="body")
    [(attachment_name, attachment)] = doc.attachments.items()
    filename = tarball_filename(name, version)
    if attachment_name.rsplit("/", 1)[-1] != filename:
        raise InvalidInput(
            f"attachment {attachment_name[:100]!r} is not the tarball of {name.full}@{version}",
            subject="body",
        )
    try:
        tarball = base64.b64decode(attachment.data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("the attachment is not valid base64", subject="body") from None
    if attachment.length is not None and attachment.length != len(tarball):
        raise InvalidInput(
            f"the attachment is {len(tarball)} bytes, not the declared {attachment.length}",
            subject="body",
        )
    if not tarball:
        raise InvalidInput("the attachment is empty", subject="body")
    dist = manifest.get("dist")
    if not isinstance(dist, dict):
        raise InvalidInput("the version has no dist object", subject="body")
    integrity, shasum = dist.get("integrity"), dist.get("shasum")
    if not isinstance(integrity, str | None) or not isinstance(shasum, str | None):
        raise InvalidInput("dist.integrity and dist.shasum must be strings", subject="digest")
    declared = integrity_digests(integrity, shasum)
    if not declared:
        raise InvalidInput("the version declares no integrity or shasum", subject="digest")
    for digest in declared:
        actual = hash_bytes(tarball, digest.algorithm)
        if actual != digest:
            raise DigestMismatch(
                f"the tarball's {digest.algorithm} does not match the declared integrity",
                subject="digest",
            )
    tags = {parse_tag(tag): target for tag, target in doc.dist_tags.items()}
    if not tags:
        tags = {"latest": version}
    kept = {k: v for k, v in manifest.items() if k not in _STRIPPED_KEYS}
    kept["dist"] = {k: v for k, v in dist.items() if k in ("fileCount", "unpackedSize")}
    readme = doc.readme if doc.readme is not None else manifest.get("readme")
    keywords = manifest.get("keywords")
    description = manifest.get("description", doc.description)
    return PreparedPublish(
        name=name,
        version=version,
        filename=filename,
        tarball=tarball,
        sha512=hash_bytes(tarball, "sha512"),
        manifest=msgspec.json.encode(kept),
        tags=tags,
        description=description if isinstance(description, str) else "",
        keywords=[k for k in keywords if isinstance(k, str)] if isinstance(keywords, list) else [],
        readme=readme if isinstance(readme, str) else "",
        readme_filename=doc.readme_filename or "",
    )
