"""Storage keys: the one check every key passes, and every key builder of the layout.

One tree for blobs (BlobStore) and documents (MetadataStore); every key is
built here, each segment checked, so a client-supplied name can never address
another namespace::

    blobs/<alg>/<2 hex>/<hex>                      content-addressed bytes, shared by every format
    uploads/<id>                                   upload session documents

    pkg/<fmt>/<normalised name>                    PackageIndex: a package's head (CAS commit point)
    pkgv/<fmt>/<normalised name>/<16 hex>          one immutable document per version
    pkg-generation/<fmt>                           moves with every change of a format's packages

    oci/catalog/<name>                             one per repository
    oci/repo/<name>/~tags/<tag>                    -> TagDoc
    oci/repo/<name>/~manifests/<alg>:<hex>         -> ManifestDoc
    oci/repo/<name>/~blobs/<alg>:<hex>             -> BlobLinkDoc (a repository's access boundary)
    oci/repo/<name>/~referrers/<subject>/<digest>  -> Descriptor
    oci/uploads/<upload id>                        -> the repository an upload was started in

    proxy/<namespace>/docs/<key>                   PullThrough: cached upstream documents
    proxy/<namespace>/files/<key>                  PullThrough: cached upstream files, e.g.
      proxy/npm/docs/{full,abbreviated}/<name>     packuments
      proxy/npm/files/tarballs/<name>/<file>       tarballs
      proxy/pypi/docs/simple/<name>                project pages
      proxy/oci/docs/<name>/{manifests/<ref>,tags/list}, proxy/oci/files/<name>/blobs/<digest>

    pypi-retired/<name>/<file>                     a deleted PyPI file name, never accepted again

    auth/tokens/<id>                               API tokens (hashes only)
    auth/session-secret                            the HMAC key of registry session tokens
    activity/<inverted time>-<random>              the activity trail, newest first

``~`` cannot occur in an OCI repository name, so it marks a repository's
sub-keys unambiguously whatever the name's depth. Formats add their own
documents through these builders or :func:`join`; nothing else spells a key.
"""

from __future__ import annotations

import re
from typing import Final

from domain.digests import Digest
from domain.errors import InvalidKey

__all__ = [
    "ACTIVITY_PREFIX",
    "MAX_KEY_LENGTH",
    "OCI_CATALOG_PREFIX",
    "SESSION_SECRET_KEY",
    "blob_key",
    "check_key",
    "generation_key",
    "join",
    "oci_blob_link_key",
    "oci_catalog_key",
    "oci_manifest_key",
    "oci_manifests_prefix",
    "oci_referrer_key",
    "oci_referrers_prefix",
    "oci_repo_prefix",
    "oci_tag_key",
    "oci_tags_prefix",
    "oci_upload_owner_key",
    "package_head_prefix",
    "package_version_key",
    "package_version_prefix",
    "proxy_doc_key",
    "proxy_file_key",
    "pypi_retired_key",
    "token_key",
    "upload_key",
]

MAX_KEY_LENGTH: Final = 1024

_FORBIDDEN_CHARS: Final = re.compile(r"[\x00-\x1f\x7f\\]")
"""Control characters and backslashes; searched in C, since every key of every request passes."""


def check_key(key: str, *, allow_empty: bool = False) -> str:
    """Return ``key`` unchanged if it is a safe relative key, else raise ``InvalidKey``.

    Safe means: a ``str`` of at most :data:`MAX_KEY_LENGTH` UTF-8 bytes, no
    control characters or backslashes, not absolute, and no empty, ``.`` or
    ``..`` segments. ``allow_empty`` admits the empty string (a listing prefix)
    and a trailing slash (a directory-like prefix).
    """
    if not isinstance(key, str):
        raise InvalidKey("key must be a string")
    if key == "":
        if allow_empty:
            return key
        raise InvalidKey("key must not be empty")
    try:
        encoded_length = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidKey("key is not valid UTF-8") from None
    if encoded_length > MAX_KEY_LENGTH:
        raise InvalidKey("key is too long")
    if _FORBIDDEN_CHARS.search(key) is not None:
        raise InvalidKey("key contains a control character or backslash")
    if key.startswith("/"):
        raise InvalidKey("key must be relative")
    segments = key.split("/")
    if allow_empty and segments[-1] == "":
        segments.pop()
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidKey("key has an empty, '.' or '..' segment")
    return key


def join(*segments: str) -> str:
    """Join segments into a key, checking each segment and the result."""
    for segment in segments:
        if not segment:
            raise InvalidKey("empty key segment")
    return check_key("/".join(segments))


def blob_key(digest: Digest) -> str:
    """Where the bytes with ``digest`` live: ``blobs/<alg>/<2 hex>/<hex>``."""
    return f"blobs/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"


def upload_key(upload_id: str) -> str:
    """The metadata document of an upload session."""
    return join("uploads", upload_id)


# --- PackageIndex --------------------------------------------------------------------


def package_head_prefix(fmt: str) -> str:
    """The key prefix of every package head of ``fmt`` (with trailing slash)."""
    return join("pkg", fmt) + "/"


def package_version_prefix(fmt: str, normalised: str) -> str:
    """The key prefix of the version documents of one package (with trailing slash)."""
    return join("pkgv", fmt, normalised) + "/"


def package_version_key(fmt: str, normalised: str, ident: int) -> str:
    """The key of one version document."""
    return f"{package_version_prefix(fmt, normalised)}{ident:016x}"


def generation_key(fmt: str) -> str:
    """Where the generation document of ``fmt`` lives (outside every package prefix)."""
    return join("pkg-generation", fmt)


# --- OCI -----------------------------------------------------------------------------

OCI_CATALOG_PREFIX: Final = "oci/catalog/"


def oci_repo_prefix(name: str) -> str:
    """Every key of one repository starts with this."""
    return f"oci/repo/{name}/~"


def oci_catalog_key(name: str) -> str:
    return OCI_CATALOG_PREFIX + name


def oci_tags_prefix(name: str) -> str:
    return f"oci/repo/{name}/~tags/"


def oci_tag_key(name: str, tag: str) -> str:
    return oci_tags_prefix(name) + tag


def oci_manifests_prefix(name: str) -> str:
    return f"oci/repo/{name}/~manifests/"


def oci_manifest_key(name: str, digest: Digest) -> str:
    return oci_manifests_prefix(name) + str(digest)


def oci_blob_link_key(name: str, digest: Digest) -> str:
    return f"oci/repo/{name}/~blobs/{digest}"


def oci_referrers_prefix(name: str, subject: Digest) -> str:
    return f"oci/repo/{name}/~referrers/{subject}/"


def oci_referrer_key(name: str, subject: Digest, digest: Digest) -> str:
    return oci_referrers_prefix(name, subject) + str(digest)


def oci_upload_owner_key(upload_id: str) -> str:
    """Which repository an upload session was started in."""
    return f"oci/uploads/{upload_id}"


# --- pull-through caches -------------------------------------------------------------


def proxy_doc_key(namespace: str, key: str) -> str:
    """A cached upstream document of one PullThrough namespace."""
    return join("proxy", namespace, "docs", key)


def proxy_file_key(namespace: str, key: str) -> str:
    """A cached upstream file of one PullThrough namespace."""
    return join("proxy", namespace, "files", key)


# --- access control ------------------------------------------------------------------

SESSION_SECRET_KEY: Final = "auth/session-secret"
ACTIVITY_PREFIX: Final = "activity/"


def token_key(token_id: str) -> str:
    """The record of one API token."""
    return join("auth", "tokens", token_id)


# --- PyPI ----------------------------------------------------------------------------


def pypi_retired_key(normalised: str, filename: str) -> str:
    """A file name PyPI deleted: it always meant the same bytes, so it is never reused."""
    return join("pypi-retired", normalised, filename)
