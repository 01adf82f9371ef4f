"""What ``nora serve`` tells a person at a terminal when it starts, and how settings are shown.

The banner names the address, the storage and metadata in use, whether access
control is on, and for every format the one line that points its client at
NORA (each format's ``HttpFormat.setup``). Anything that may hold a secret (a
password in a URL, a secret key) is masked wherever settings are shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from entrypoints import __version__
from entrypoints.config import Settings
from entrypoints.http.formats import HttpFormat

__all__ = ["banner", "base_url", "mask", "secret_field"]

_SECRET_WORDS: Final = ("secret", "password", "token")
_MASK: Final = "****"
_USERINFO: Final = re.compile(r"(://[^/?#@:]*:)[^/?#@]*@")
"""The password of a URL's userinfo; up to the @ the host follows (commas included)."""
_QUERY_SECRET: Final = re.compile(
    r"([?&](?:[a-z_]*password|[a-z_]*secret|[a-z_]*token|sslkey)=)[^&#]*", re.IGNORECASE
)


def secret_field(name: str) -> bool:
    """Whether a setting's whole value is a secret (``s3_secret_key``)."""
    return any(word in name for word in _SECRET_WORDS)


def mask(name: str, value: object) -> str:
    """``value`` as text with secrets hidden: the whole value of a secret setting, and in
    any setting every URL password (``user:****@``, a comma in it included) and every
    password-like query parameter (``?password=****``)."""
    text = str(value)
    if secret_field(name) and text:
        return _MASK
    text = _USERINFO.sub(lambda found: found.group(1) + _MASK + "@", text)
    return _QUERY_SECRET.sub(lambda found: found.group(1) + _MASK, text)


def base_url(settings: Settings) -> str:
    """Where clients reach NORA: NORA_PUBLIC_URL, else the bound address (any-address
    binds shown as loopback)."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = settings.host
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def banner(settings: Settings, formats: Iterable[HttpFormat]) -> str:
    """The start-up banner for people (plain text, no colour codes)."""
    base = base_url(settings)
    storage = (
        f"filesystem at {settings.storage_path}"
        if settings.storage_mode == "filesystem"
        else "S3 bucket " + repr(settings.s3_bucket)
        if settings.storage_mode == "s3"
        else "memory (nothing is kept after a restart)"
    )
    if not settings.auth_enabled:
        access = "off: anyone who can reach the port may read and write (NORA_AUTH_ENABLED)"
    else:
        reads = "anonymous reads allowed" if settings.auth_anonymous_read else "sign-in needed"
        access = f"on ({reads}; users in {settings.auth_htpasswd_file})"
    lines = [
        f"NORA {__version__} serving at {base}",
        f"  storage    {storage}",
        f"  metadata   {mask('metadata_url', settings.resolved_metadata_url)}",
        f"  access     {access}",
        f"  dashboard  {base}/ui/",
        "",
        "Point your clients at it:",
    ]
    shown = [(fmt.name, fmt.setup(base)) for fmt in formats if fmt.setup is not None]
    width = max((len(name) for name, _ in shown), default=0)
    lines += [f"  {name:<{width}}  {line}" for name, line in shown]
    return "\n".join(lines) + "\n"
