"""Settings: an optional TOML file (``NORA_CONFIG_PATH``) overridden by ``NORA_*`` variables.

Every field of :class:`Settings` is settable as ``NORA_<FIELD>`` (upper case)
or as a top-level key of the TOML file. A bad value raises :class:`ConfigError`
naming the setting, which the CLI prints as one line before exiting with 2.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import msgspec

__all__ = ["ConfigError", "Settings", "load_settings"]

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Positive = Annotated[int, msgspec.Meta(ge=1)]


class ConfigError(Exception):
    """A setting has a bad value; the message names it and says why."""


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Everything an operator can set. Defaults give a zero-config laptop start."""

    host: str = "127.0.0.1"
    """Address to bind."""
    port: Port = 4000
    """Port to bind."""
    storage_path: str = "data"
    """Directory for blobs and, by default, the SQLite metadata file."""
    storage_mode: Literal["filesystem", "memory"] = "filesystem"
    """BlobStore adapter."""
    metadata_url: str = ""
    """``sqlite:///path/to/file.db`` or ``memory://``; default: nora.db in storage_path."""
    public_url: str = ""
    """External base URL used in links handed to clients; default: the request's own host."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level of application and access logs."""
    access_log: bool = True
    """Write one structured line per request."""
    body_limit_mb: Positive = 10240
    """Largest request body accepted, in MiB."""
    body_timeout: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    """Seconds a request body may pause between chunks before the request is dropped (408)."""
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    """Server worker processes sharing the same data."""
    server: Literal["uvicorn", "granian"] = "uvicorn"
    """ASGI server that runs the app."""
    upload_ttl_hours: Annotated[float, msgspec.Meta(gt=0)] = 24.0
    """An upload untouched for this long is discarded."""
    shutdown_timeout: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    """Seconds in-flight requests get to finish after SIGTERM."""

    # --- connections (both servers; a slow or hostile client must not pin sockets) ---
    header_timeout: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    """Seconds a connection gets to send a request head (a silent one too); then it is closed."""
    keepalive_timeout: Annotated[int, msgspec.Meta(ge=0, le=300)] = 5
    """Seconds an idle keep-alive connection stays open (0: close after each response)."""
    max_header_kb: Annotated[int, msgspec.Meta(ge=8, le=1024)] = 64
    """Largest request head (request line and headers) in KiB; a larger one gets 431 or 414."""
    max_connections: Annotated[int, msgspec.Meta(ge=16, le=1_000_000)] = 2048
    """Connections one worker holds at once; the open-file limit is raised to fit them."""

    # --- access control ---
    auth_enabled: bool = False
    """Require credentials (off by default for a zero-config loopback start)."""
    auth_htpasswd_file: str = ""
    """Users, as bcrypt entries written by ``htpasswd -B``; re-read when it changes."""
    auth_admin_users: str = ""
    """Comma-separated users with the admin role (others get write)."""
    auth_anonymous_read: bool = False
    """Let unauthenticated clients read every format (never write)."""
    auth_docker_anon_pull: bool = False
    """Let unauthenticated clients pull container images."""
    auth_trusted_proxies: str = ""
    """Comma-separated addresses or CIDR ranges whose X-Forwarded-For is believed."""
    auth_rate_limit_storage: str = "memory://"
    """Rate-limit counters: ``memory://`` or a ``redis://host:port`` URL shared by replicas."""
    auth_login_rate: str = "10/minute"
    """Failed logins allowed per client address."""
    auth_read_rate: str = "6000/minute"
    """Reads allowed per token, user or (anonymous) address."""
    auth_write_rate: str = "600/minute"
    """Writes allowed per token, user or (anonymous) address."""
    auth_session_minutes: Annotated[float, msgspec.Meta(gt=0)] = 15.0
    """Lifetime of the bearer tokens handed out by the OCI token endpoint."""

    # --- Docker / OCI ---
    docker_proxies: str = ""
    """Upstream registries for the pull-through cache, comma-separated, tried in order."""
    docker_metadata_ttl: Annotated[float, msgspec.Meta(ge=0)] = 300.0
    """Seconds a manifest fetched by tag is served before it is revalidated."""
    docker_delete_enabled: bool = True
    """Allow deleting manifests, tags and blobs (405 UNSUPPORTED when off)."""

    # --- npm ---
    npm_proxy: str = ""
    """Upstream npm registry URL for the pull-through cache (no default)."""
    npm_metadata_ttl: Annotated[float, msgspec.Meta(ge=0)] = 300.0
    """Seconds a proxied packument is served before it is revalidated."""

    # --- PyPI ---
    pypi_proxy: str = ""
    """Upstream simple-index URLs, comma-separated, tried in order (no default)."""
    pypi_metadata_ttl: Annotated[float, msgspec.Meta(ge=0)] = 600.0
    """Seconds a proxied project page is served before it is revalidated."""

    @staticmethod
    def url_list(value: str) -> list[str]:
        """Split a comma-separated list of URLs, dropping blanks and trailing slashes."""
        return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]

    @property
    def resolved_metadata_url(self) -> str:
        """The metadata URL, defaulting to ``nora.db`` in the storage directory."""
        if self.metadata_url:
            return self.metadata_url
        return f"sqlite:///{Path(self.storage_path).resolve() / 'nora.db'}"


FIELD_ALIASES: dict[str, str] = {}
"""Old or alternative environment names, mapped to the field they set."""

_PATH = re.compile(r"\$\.(\w+)")
_RATE = re.compile(r"(\d+\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day)s?)?")


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return f"NORA_{field.upper()}"


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Build Settings from the TOML file, then the environment, then ``overrides``."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    config_path = env.get("NORA_CONFIG_PATH")
    if config_path:
        try:
            data = msgspec.toml.decode(Path(config_path).read_bytes())
        except OSError as exc:
            raise ConfigError(
                f"NORA_CONFIG_PATH: cannot read {config_path}: {exc.strerror}"
            ) from exc
        except msgspec.DecodeError as exc:
            raise ConfigError(f"NORA_CONFIG_PATH: {config_path} is not valid TOML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"NORA_CONFIG_PATH: {config_path} must hold a TOML table")
        for key, value in data.items():
            values[key] = value
            source[key] = f"{key} in {config_path}"
    fields = set(Settings.__struct_fields__)
    for field in fields:
        name = env_name(field)
        if name in env:
            values[field] = env[name]
            source[field] = name
    for field, value in (overrides or {}).items():
        if value is not None:
            values[field] = value
            source[field] = f"--{field.replace('_', '-')}"
    try:
        settings = msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), source, values)) from None
    return _checked(settings, source)


def _checked(settings: Settings, source: Mapping[str, str]) -> Settings:
    """Rules msgspec constraints cannot express."""
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            where = source.get("public_url", env_name("public_url"))
            raise ConfigError(f"{where}: must be an absolute http(s) URL")
        settings.public_url = settings.public_url.rstrip("/")
    if settings.metadata_url:
        parts = urlsplit(settings.metadata_url)
        if parts.scheme not in ("sqlite", "memory") or (
            parts.scheme == "sqlite" and not parts.path
        ):
            where = source.get("metadata_url", env_name("metadata_url"))
            raise ConfigError(f"{where}: must be sqlite:///<file> or memory://")
    for field in ("docker_proxies", "npm_proxy", "pypi_proxy"):
        for url in Settings.url_list(getattr(settings, field)):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                where = source.get(field, env_name(field))
                raise ConfigError(f"{where}: {url[:60]!r} is not an absolute http(s) URL")
    for field in ("auth_login_rate", "auth_read_rate", "auth_write_rate"):
        if not _RATE.fullmatch(getattr(settings, field)):
            where = source.get(field, env_name(field))
            raise ConfigError(f"{where}: must look like 10/minute (or be empty for no limit)")
    for network in Settings.url_list(settings.auth_trusted_proxies):
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            where = source.get("auth_trusted_proxies", env_name("auth_trusted_proxies"))
            raise ConfigError(f"{where}: {network[:60]!r} is not an address or CIDR") from None
    if urlsplit(settings.auth_rate_limit_storage).scheme not in ("memory", "redis", "rediss"):
        where = source.get("auth_rate_limit_storage", env_name("auth_rate_limit_storage"))
        raise ConfigError(f"{where}: must be memory:// or redis://host:port")
    if not settings.host or any(ch.isspace() for ch in settings.host):
        raise ConfigError(f"{source.get('host', env_name('host'))}: must be a host name or address")
    return settings


def _explain(message: str, source: Mapping[str, str], values: Mapping[str, Any]) -> str:
    match = _PATH.search(message)
    if match is None:
        unknown = re.search(r"unknown field `(\w+)`", message)
        if unknown:
            return f"{source.get(unknown.group(1), unknown.group(1))}: unknown setting"
        return f"invalid configuration: {message}"
    field = match.group(1)
    where = source.get(field, env_name(field))
    reason = message.split(" - at ")[0].replace("`", "")
    given = repr(values.get(field))[:60]
    return f"{where}: {reason[0].lower() + reason[1:]} (given {given})"
