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

    lease/<purpose>/<key>                          the one process doing a job (an upstream fetch)
      lease/gc/collector                           the one replica running ``nora gc`` on a schedule
    report/<job>                                   the figures of an operator job (gc, retention)
    pypi-retired/<name>/<file>                     a deleted PyPI file name, never accepted again

    path/<fmt>/<repository>/<path>                 PathIndex: one document per stored path
    path-generation/<fmt>/<repository>             moves with every change of a repository

    auth/tokens/<id>                               API tokens (hashes only)
    auth/session-secret                            the HMAC key of registry session tokens
    auth/revocations                               its version moves with every revocation
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
    "BLOB_PREFIX",
    "LEASE_PREFIX",
    "LOGIN_PREFIX",
    "MAX_KEY_LENGTH",
    "OCI_CATALOG_PREFIX",
    "OCI_REPO_PREFIX",
    "PROXY_PREFIX",
    "REPORT_PREFIX",
    "REVOCATIONS_KEY",
    "SESSION_SECRET_KEY",
    "blob_key",
    "check_key",
    "gc_lease_key",
    "generation_key",
    "join",
    "lease_key",
    "login_key",
    "maven_missing_key",
    "maven_proxy_checksum_key",
    "maven_proxy_file_key",
    "maven_proxy_metadata_key",
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
    "package_versions_prefix",
    "path_format_prefix",
    "path_generation_key",
    "path_journal_key",
    "path_key",
    "path_prefix",
    "proxy_doc_key",
    "proxy_file_key",
    "pypi_retired_key",
    "report_key",
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


BLOB_PREFIX: Final = "blobs/"
"""Every content-addressed blob's key starts with this (what ``nora gc`` sweeps)."""


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


def package_versions_prefix(fmt: str) -> str:
    """The key prefix of every version document of ``fmt`` (with trailing slash)."""
    return join("pkgv", fmt) + "/"


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
OCI_REPO_PREFIX: Final = "oci/repo/"
"""Every repository's tags, manifests, blob links and referrers."""


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


PROXY_PREFIX: Final = "proxy/"
"""Every PullThrough namespace's cached documents and files."""


def proxy_doc_key(namespace: str, key: str) -> str:
    """A cached upstream document of one PullThrough namespace."""
    return join("proxy", namespace, "docs", key)


def proxy_file_key(namespace: str, key: str) -> str:
    """A cached upstream file of one PullThrough namespace."""
    return join("proxy", namespace, "files", key)


def lease_key(purpose: str, key: str) -> str:
    """The lease of one job that only one process of all replicas should run at a time."""
    return join("lease", purpose, key)


LEASE_PREFIX: Final = "lease/"


def gc_lease_key() -> str:
    """The lease of the replica collecting garbage on a schedule (one at a time)."""
    return lease_key("gc", "collector")


REPORT_PREFIX: Final = "report/"


def report_key(job: str) -> str:
    """The figures one operator job (``gc``, ``retention``) publishes for /metrics."""
    return join("report", job)


# --- access control ------------------------------------------------------------------

SESSION_SECRET_KEY: Final = "auth/session-secret"
REVOCATIONS_KEY: Final = "auth/revocations"
ACTIVITY_PREFIX: Final = "activity/"
LOGIN_PREFIX: Final = "auth/logins/"


def login_key(secret_hash: str) -> str:
    """One dashboard session, under the hash of the secret its browser holds."""
    return LOGIN_PREFIX + secret_hash


def token_key(token_id: str) -> str:
    """The record of one API token."""
    return join("auth", "tokens", token_id)


# --- PyPI ----------------------------------------------------------------------------


def pypi_retired_key(normalised: str, filename: str) -> str:
    """A file name PyPI deleted: it always meant the same bytes, so it is never reused."""
    return join("pypi-retired", normalised, filename)


# --- path index (path-addressed formats: Maven, raw) ---------------------------------
#   path/<fmt>/<repository>/<path>                 -> PathEntry (domain.paths)
#   path-generation/<fmt>/<repository>             moves with every change of a repository


def path_format_prefix(fmt: str) -> str:
    """The key prefix of every stored path of ``fmt``, all repositories (trailing slash)."""
    return join("path", fmt) + "/"


def path_prefix(fmt: str, repository: str) -> str:
    """The key prefix of every stored path of one repository (with trailing slash)."""
    return join("path", fmt, repository) + "/"


def path_key(fmt: str, repository: str, path: str) -> str:
    """The document of one stored path; ``path`` is checked like any key."""
    return check_key(path_prefix(fmt, repository) + check_key(path))


def path_generation_key(fmt: str, repository: str) -> str:
    """The generation counter of one repository (outside every path prefix)."""
    return join("path-generation", fmt, repository)


def path_journal_key(fmt: str, repository: str) -> str:
    """The paths the repository's last changes touched, by the count each change made."""
    return join("path-journal", fmt, repository)


# --- Cargo ---------------------------------------------------------------------------
#   hosted crates live in the PackageIndex (pkg/cargo/<name lowercased, '-' as '_'>);
#   the pull-through cache keys below are relative to proxy/cargo/{docs,files}/:
#   proxy/cargo/docs/config.json                   the upstream's config.json (its dl template)
#   proxy/cargo/docs/index/<lowercase name>        upstream sparse index files
#   proxy/cargo/files/crates/<lowercase name>/<v>  upstream .crate files, verified by cksum


def cargo_proxy_config_key() -> str:
    """The upstream's config.json in the Cargo pull-through cache."""
    return "config.json"


def cargo_proxy_index_key(name: str) -> str:
    """An upstream index file in the Cargo pull-through cache."""
    return join("index", name.lower())


def cargo_proxy_crate_key(name: str, version: str) -> str:
    """An upstream .crate in the Cargo pull-through cache."""
    return join("crates", name.lower(), version)


# --- Maven ---------------------------------------------------------------------------
#   hosted files live in the path index (path/maven/hosted/<path>), maven-metadata.xml
#   included (generated); the pull-through cache keys below are relative to
#   proxy/maven/{docs,files}/:
#   proxy/maven/docs/meta/<path>                   upstream maven-metadata.xml
#   proxy/maven/docs/sum/<path>.<alg>              an upstream's checksum of a file
#   proxy/maven/docs/missing/<path>                when no upstream had <path> (short-lived)
#   proxy/maven/files/<path>                       upstream files, verified by checksum


def maven_proxy_metadata_key(path: str) -> str:
    """An upstream maven-metadata.xml in the Maven pull-through cache."""
    return join("meta", path)


def maven_proxy_checksum_key(path: str, algorithm: str) -> str:
    """An upstream's checksum file of ``path`` in the Maven pull-through cache."""
    return join("sum", f"{path}.{algorithm}")


def maven_proxy_file_key(path: str) -> str:
    """An upstream file in the Maven pull-through cache."""
    return check_key(path)


def maven_missing_key(path: str) -> str:
    """The record that no upstream had ``path`` (a short negative cache)."""
    return proxy_doc_key("maven", join("missing", path))


# --- Raw files and classic Helm ------------------------------------------------------
#   raw files live in the PathIndex: path/raw/hosted/<path>, path-generation/raw/hosted
#   hosted charts live in the PackageIndex: pkg/helm/<name>, pkgv/helm/<name>/<id>
#   the Helm pull-through cache keys below are relative to proxy/helm/{docs,files}/:
#   proxy/helm/docs/index.yaml                     the upstream repository's index.yaml
#   proxy/helm/files/charts/<name>/<version>       upstream chart archives, verified by digest


def helm_proxy_index_key() -> str:
    """The upstream index.yaml in the Helm pull-through cache."""
    return "index.yaml"


def helm_proxy_chart_key(name: str, version: str) -> str:
    """An upstream chart archive in the Helm pull-through cache."""
    return join("charts", name, version)
