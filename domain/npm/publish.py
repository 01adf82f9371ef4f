"""Parsing what npm clients PUT: publish bodies and edited package documents.

``npm publish`` sends the package document with one new version and its
tarball base64-encoded in ``_attachments``; ``npm deprecate``, ``npm
unpublish`` and ``npm owner`` send the document back edited and without
attachments. :func:`read_publish` parses a body as it streams, handing the
tarball's decoded bytes to the caller's store while keeping only the small
document in memory; :func:`plan_publish` and :func:`check_tarball` then
check it. Every parser here returns a value or raises :class:`InvalidInput`
(or :class:`DigestMismatch` when a tarball does not match its declared
integrity, ``TooLarge`` past the document limit).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import msgspec

from domain.codecs.json import check_depth
from domain.codecs.json_stream import Path, parse_streamed
from domain.digests import Digest, hash_bytes
from domain.errors import DigestMismatch, InvalidInput
from domain.npm.grammar import NpmName, parse_name, parse_tag, parse_version

__all__ = [
    "DOCUMENT_LIMIT",
    "Attachment",
    "Maintainer",
    "NpmDocument",
    "PreparedPublish",
    "PublishPlan",
    "check_tarball",
    "integrity_digests",
    "parse_document",
    "plan_publish",
    "plan_version",
    "prepare_publish",
    "read_publish",
    "tarball_filename",
]

DOCUMENT_LIMIT: Final = 16 * 1024 * 1024
"""The largest package document accepted, attachments' data not counted."""

_SRI: Final = re.compile(r"(sha1|sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})")
_STRIPPED_KEYS: Final = ("dist", "readme", "deprecated", "_attachments")
T = TypeVar("T")


class Attachment(msgspec.Struct, kw_only=True):
    """One ``_attachments`` entry as npm sends it."""

    data: str
    content_type: str = ""
    length: int | None = None


class Maintainer(msgspec.Struct, kw_only=True):
    """One ``maintainers`` entry (``npm owner add`` sends no email)."""

    name: str
    email: str | None = None


class NpmDocument(msgspec.Struct, kw_only=True):
    """The package document a client PUTs (publish, deprecate, unpublish)."""

    name: str | None = None
    id: str | None = msgspec.field(default=None, name="_id")
    rev: str | None = msgspec.field(default=None, name="_rev")
    versions: dict[str, dict[str, Any]] | None = None
    """None when the body has no ``versions`` (``npm owner`` sends only maintainers)."""
    maintainers: list[Maintainer] | None = None
    dist_tags: dict[str, str] = msgspec.field(default_factory=dict, name="dist-tags")
    attachments: dict[str, Attachment] = msgspec.field(default_factory=dict, name="_attachments")
    readme: str | None = None
    readme_filename: str | None = msgspec.field(default=None, name="readmeFilename")
    description: str | None = None


_document_decoder = msgspec.json.Decoder(NpmDocument)


def parse_document(raw: bytes) -> NpmDocument:
    """Decode a PUT body; anything but a well-formed package document is ``InvalidInput``."""
    check_depth(raw)
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


class PublishPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a publish body says about its tarball, checked; the bytes come separately."""

    name: NpmName
    version: str
    filename: str
    attachment: str
    """The attachment's key in ``_attachments``."""
    length: int | None
    declared: list[Digest]
    """Every digest the version's ``dist`` declares (at least one)."""
    manifest: bytes
    """The version manifest as JSON, without dist (NORA renders dist) and readme."""
    tags: dict[str, str]
    description: str
    keywords: list[str]
    readme: str
    readme_filename: str


class PreparedPublish(msgspec.Struct, frozen=True, kw_only=True):
    """A publish verified in memory: the plan and its tarball's bytes."""

    plan: PublishPlan
    tarball: bytes
    sha512: Digest


def plan_publish(url_name: NpmName, doc: NpmDocument) -> PublishPlan:
    """Check a publish body against npm's rules, all but the tarball's bytes.

    Exactly one version with exactly one attachment, both named after the
    package in the URL; the version is semver; the version declares at least
    one digest its tarball will be checked against (:func:`check_tarball`).
    """
    for given in (doc.name, doc.id):
        if given is not None and given != url_name.full:
            raise InvalidInput(
                f"package name in the body ({given[:100]!r}) does not match the URL",
                subject="name",
            )
    name = parse_name(url_name.full, new=True)
    versions = doc.versions or {}
    if len(versions) != 1 or len(doc.attachments) != 1:
        raise InvalidInput(
            "a publish must carry exactly one version and one tarball", subject="body"
        )
    [(version, manifest)] = versions.items()
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
    dist = manifest.get("dist")
    if not isinstance(dist, dict):
        raise InvalidInput("the version has no dist object", subject="body")
    integrity, shasum = dist.get("integrity"), dist.get("shasum")
    if not isinstance(integrity, str | None) or not isinstance(shasum, str | None):
        raise InvalidInput("dist.integrity and dist.shasum must be strings", subject="digest")
    declared = integrity_digests(integrity, shasum)
    if not declared:
        raise InvalidInput("the version declares no integrity or shasum", subject="digest")
    return plan_version(
        name,
        version,
        manifest,
        declared=declared,
        tags=doc.dist_tags,
        readme=doc.readme,
        readme_filename=doc.readme_filename or "",
        description=doc.description,
        attachment=attachment_name,
        length=attachment.length,
    )


def plan_version(
    name: NpmName,
    version: str,
    manifest: Mapping[str, Any],
    *,
    declared: Sequence[Digest] = (),
    tags: Mapping[str, str] | None = None,
    readme: str | None = None,
    readme_filename: str = "",
    description: str | None = None,
    attachment: str = "",
    length: int | None = None,
) -> PublishPlan:
    """Plan the publish of one version manifest (a package.json as npm sends it).

    The manifest must name ``name`` and ``version`` (when it names them); its
    ``dist`` keeps only ``fileCount`` and ``unpackedSize`` (NORA renders the rest
    from the stored bytes); ``tags`` default to ``latest``. :func:`plan_publish`
    reduces a publish body to this, and so does a publish from a tarball.
    """
    version = parse_version(version)
    if manifest.get("version", version) != version or manifest.get("name", name.full) != name.full:
        raise InvalidInput("the version manifest names another package or version", subject="body")
    parsed_tags = {parse_tag(tag): target for tag, target in (tags or {}).items()}
    if not parsed_tags:
        parsed_tags = {"latest": version}
    dist = manifest.get("dist")
    kept = {k: v for k, v in manifest.items() if k not in _STRIPPED_KEYS}
    kept["dist"] = (
        {k: v for k, v in dist.items() if k in ("fileCount", "unpackedSize")}
        if isinstance(dist, dict)
        else {}
    )
    readme = readme if readme is not None else manifest.get("readme")
    keywords = manifest.get("keywords")
    description = manifest.get("description", description)
    filename = tarball_filename(name, version)
    return PublishPlan(
        name=name,
        version=version,
        filename=filename,
        attachment=attachment or filename,
        length=length,
        declared=list(declared),
        manifest=msgspec.json.encode(kept),
        tags=parsed_tags,
        description=description if isinstance(description, str) else "",
        keywords=[k for k in keywords if isinstance(k, str)] if isinstance(keywords, list) else [],
        readme=readme if isinstance(readme, str) else "",
        readme_filename=readme_filename,
    )


def check_tarball(plan: PublishPlan, size: int, digests: Mapping[str, Digest]) -> None:
    """The tarball's size and digests (as computed while it streamed) against the plan.

    ``DigestMismatch`` when a declared digest differs; ``InvalidInput`` when
    the size is not the declared length or the tarball is empty.
    """
    if plan.length is not None and plan.length != size:
        raise InvalidInput(
            f"the attachment is {size} bytes, not the declared {plan.length}", subject="body"
        )
    if not size:
        raise InvalidInput("the attachment is empty", subject="body")
    for digest in plan.declared:
        if digests.get(digest.algorithm) != digest:
            raise DigestMismatch(
                f"the tarball's {digest.algorithm} does not match the declared integrity",
                subject="digest",
            )


def prepare_publish(url_name: NpmName, doc: NpmDocument) -> PreparedPublish:
    """Check a publish body held whole in memory (base64 in ``data``): the reference
    semantics the streamed path (:func:`read_publish`, :func:`check_tarball`) must match."""
    plan = plan_publish(url_name, doc)
    try:
        tarball = base64.b64decode(doc.attachments[plan.attachment].data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("the attachment is not valid base64", subject="body") from None
    digests = {d.algorithm: hash_bytes(tarball, d.algorithm) for d in plan.declared}
    check_tarball(plan, len(tarball), digests)
    return PreparedPublish(plan=plan, tarball=tarball, sha512=hash_bytes(tarball, "sha512"))


def _is_attachment_data(path: Path) -> bool:
    return len(path) == 3 and path[0] == "_attachments" and path[2] == "data"


def _may_hold_attachment(path: Path) -> bool:
    return path == ("_attachments",) or (len(path) == 2 and path[0] == "_attachments")


async def read_publish(
    chunks: AsyncIterable[bytes],
    store: Callable[[str, AsyncIterator[bytes]], Awaitable[T]],
    *,
    limit: int = DOCUMENT_LIMIT,
) -> tuple[NpmDocument, dict[str, T]]:
    """Parse a PUT body as it streams: the document in memory, each attachment to ``store``.

    ``store`` receives each attachment's name and decoded bytes (the base64
    ``data`` never exists whole); its results come back by attachment name.
    The document (``data`` emptied) is limited to ``limit`` bytes.
    """

    stored: dict[str, T] = {}

    async def sink(path: Path, data: AsyncIterator[bytes]) -> object:
        stored[path[1]] = result = await store(path[1], data)
        return result

    streamed = await parse_streamed(
        chunks,
        is_payload=_is_attachment_data,
        may_contain_payload=_may_hold_attachment,
        sink=sink,
        limit=limit,
    )
    return parse_document(streamed.skeleton), stored
