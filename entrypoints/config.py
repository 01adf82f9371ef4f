"""Settings: an optional TOML file (``NORA_CONFIG_PATH``) overridden by ``NORA_*`` variables.

Every field of :class:`Settings` is settable as ``NORA_<FIELD>`` (upper case)
or as a top-level key of the TOML file. A bad value raises :class:`ConfigError`
naming the setting, which the CLI prints as one line before exiting with 2.

A format's own settings are a :class:`FormatSettings` declared in its package
(and named by its descriptor): field ``proxy`` of the ``npm`` section is
``NORA_NPM_PROXY``, ``npm_proxy`` at the top of the TOML file or ``proxy`` in
its ``[npm]`` table. This module names no format; :func:`load_settings` reads
the sections of every registered format.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal, TypeVar
from urllib.parse import urlsplit

import msgspec

from domain.durations import parse_duration
from domain.errors import InvalidInput

__all__ = [
    "JOB_TABLES",
    "ConfigError",
    "FormatSettings",
    "Settings",
    "env_names",
    "flat_fields",
    "load_settings",
    "load_settings_with_sources",
    "registered_sections",
]

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
Positive = Annotated[int, msgspec.Meta(ge=1)]


class ConfigError(Exception):
    """A setting has a bad value; the message names it and says why."""


class FormatSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One format's settings, declared in its own package.

    Subclasses set ``section`` (the format word) and list in ``url_fields``
    the fields holding comma-separated upstream URLs, checked at load.
    """

    section: ClassVar[str] = ""
    url_fields: ClassVar[tuple[str, ...]] = ()


_S = TypeVar("_S", bound=FormatSettings)


def _usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return usable or os.cpu_count() or 1


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Everything an operator can set. Defaults give a zero-config laptop start."""

    host: str = "127.0.0.1"
    """Address to bind."""
    port: Port = 4000
    """Port to bind."""
    storage_path: str = "data"
    """Directory for blobs and, by default, the SQLite metadata file."""
    storage_mode: Literal["filesystem", "memory", "s3"] = "filesystem"
    """BlobStore adapter: local files, process memory, or an S3-compatible bucket."""
    metadata_url: str = ""
    """``sqlite:///path/to/file.db``, ``postgresql://user@host/db`` or ``memory://``;
    default: nora.db in storage_path."""
    metadata_pool_size: Annotated[int, msgspec.Meta(ge=1, le=200)] = 10
    """Connections each worker keeps to PostgreSQL."""

    # --- S3 blob storage (storage_mode = "s3") ---
    s3_endpoint: str = ""
    """S3 endpoint URL (MinIO, moto, ...); empty: AWS's own for the region."""
    s3_bucket: str = ""
    """Bucket holding every blob; it must exist."""
    s3_region: str = ""
    """Region of the bucket; empty: the AWS environment/profile's, else us-east-1."""
    s3_prefix: str = ""
    """Key prefix inside the bucket, so several registries can share one."""
    s3_access_key: str = ""
    """Access key; empty: the usual AWS environment variables, profile or instance role."""
    s3_secret_key: str = ""
    """Secret key paired with s3_access_key."""
    s3_path_style: bool = False
    """Address the bucket in the path (``endpoint/bucket/key``), as MinIO and moto expect."""
    s3_redirect: bool = False
    """Answer blob and file downloads with 307 to a short-lived presigned URL."""
    s3_redirect_seconds: Annotated[int, msgspec.Meta(ge=10, le=86400)] = 300
    """Lifetime of a presigned download URL."""
    public_url: str = ""
    """External base URL used in links handed to clients; default: the request's own host."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level of application and access logs."""
    log_format: Literal["auto", "json", "text"] = "auto"
    """Log lines as JSON or as text for people; auto: text when stderr is a terminal."""
    access_log: bool = True
    """Write one structured line per request."""
    body_limit_mb: Positive = 10240
    """Largest request body accepted, in MiB."""
    body_timeout: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    """Seconds a request body may pause between chunks before the request is dropped (408)."""
    workers: Annotated[int, msgspec.Meta(ge=0, le=64)] = 1
    """Server worker processes sharing the same data; ``auto`` (0) means one per core."""
    server: Literal["uvicorn", "granian"] = "uvicorn"
    """ASGI server that runs the app: uvicorn (one process, files by sendfile) or granian."""
    server_threads: Annotated[int, msgspec.Meta(ge=0, le=16)] = 0
    """Threads of granian's I/O runtime in each worker, which read files and write sockets
    beside the Python thread; 0 (auto): two on a machine with two or more cores."""
    upload_ttl_hours: Annotated[float, msgspec.Meta(gt=0)] = 24.0
    """An upload untouched for this long is discarded."""
    shutdown_timeout: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    """Seconds in-flight requests get to finish after SIGTERM."""
    gc_interval: str = ""
    """Run garbage collection inside ``nora serve`` this often (``24h``); empty or 0: never."""
    gc_grace: str = "24h"
    """A blob nothing references is deleted only once it is older than this."""

    # --- connections (both servers; a slow or hostile client must not pin sockets) ---
    header_timeout: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    """Seconds a connection gets to send a request head (a silent one too); then it is closed."""
    keepalive_timeout: Annotated[int, msgspec.Meta(ge=0, le=300)] = 75
    """Seconds an idle keep-alive connection stays open (0: close after each response).
    Longer than the idle expiry of clients' connection pools (5 s in httpx, 15 s and more
    elsewhere): a server that closes first races a client reusing the connection, and the
    client sees "server disconnected" on a request that never arrived."""
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
    ui_session_hours: Annotated[float, msgspec.Meta(gt=0, le=24 * 90)] = 12.0
    """How long a dashboard login lasts before the browser must sign in again."""

    sections: dict[str, FormatSettings] = {}
    """Each format's own settings by format word (:meth:`section` reads one)."""

    def section(self, kind: type[_S]) -> _S:
        """The settings of one format; its defaults when none were loaded."""
        found = self.sections.get(kind.section)
        return found if isinstance(found, kind) else kind()

    @staticmethod
    def url_list(value: str) -> list[str]:
        """Split a comma-separated list of URLs, dropping blanks and trailing slashes."""
        return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]

    @property
    def worker_count(self) -> int:
        """The worker processes to run: ``workers``, or one per usable core for ``auto``."""
        if self.workers:
            return self.workers
        return max(1, min(_usable_cores(), 64))

    @property
    def runtime_threads(self) -> int:
        """granian's I/O threads per worker: ``server_threads``, or two when cores allow."""
        if self.server_threads:
            return self.server_threads
        return 2 if _usable_cores() >= 2 else 1

    @property
    def resolved_metadata_url(self) -> str:
        """The metadata URL, defaulting to ``nora.db`` in the storage directory."""
        if self.metadata_url:
            return self.metadata_url
        return f"sqlite:///{Path(self.storage_path).resolve() / 'nora.db'}"


_PATH = re.compile(r"\$\.(\w+)")
_RATE = re.compile(r"(\d+\s*(/|per)\s*(\d+\s*)?(second|minute|hour|day)s?)?")


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return f"NORA_{field.upper()}"


JOB_TABLES: Final = frozenset({"retention"})
"""Top-level TOML keys that are not settings: the jobs that use them read them
(``[[retention]]`` policies, read by ``nora retention``)."""


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    sections: Iterable[type[FormatSettings]] | None = None,
) -> Settings:
    """Build Settings from the TOML file, then the environment, then ``overrides``.

    ``sections`` are the formats' own settings (default: every registered format's).
    """
    return load_settings_with_sources(environ, overrides, sections)[0]


def load_settings_with_sources(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    sections: Iterable[type[FormatSettings]] | None = None,
) -> tuple[Settings, dict[str, str]]:
    """:func:`load_settings`, plus where each setting that is not a default came from
    (``port in nora.toml``, ``NORA_PORT``, ``--port``), by flat field name."""
    env = os.environ if environ is None else environ
    kinds = tuple(registered_sections() if sections is None else sections)
    values: dict[str, Any] = {}
    source: dict[str, str] = {}
    config_path = env.get("NORA_CONFIG_PATH")
    if config_path:
        for key, value in _read_toml(config_path).items():
            if key in JOB_TABLES:
                continue
            kind = next((k for k in kinds if k.section == key), None)
            if kind is not None and isinstance(value, dict):  # a [npm] table
                for field, inner in value.items():
                    values[f"{key}_{field}"] = inner
                    source[f"{key}_{field}"] = f"{key}.{field} in {config_path}"
            else:
                values[key] = value
                source[key] = f"{key} in {config_path}"
    for field in flat_fields(kinds):
        name = env_name(field)
        if name in env:
            values[field] = env[name]
            source[field] = name
    for field, value in (overrides or {}).items():
        if value is not None:
            values[field] = value
            source[field] = f"--{field.replace('_', '-')}"
    if str(values.get("workers", "")).strip().lower() == "auto":
        values["workers"] = 0
    core: dict[str, Any] = {}
    parts: dict[str, dict[str, Any]] = {kind.section: {} for kind in kinds}
    for key, value in values.items():
        kind, field = _route(key, kinds)
        (parts[kind.section] if kind is not None else core)[field] = value
    try:
        settings = msgspec.convert(core, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), source, values)) from None
    for kind in kinds:
        try:
            part = msgspec.convert(parts[kind.section], kind, strict=False)
        except msgspec.ValidationError as exc:
            raise ConfigError(_explain(str(exc), source, values, kind.section)) from None
        settings.sections[kind.section] = part
    return _checked(settings, source, kinds), source


def registered_sections() -> list[type[FormatSettings]]:
    """The settings of every format the HTTP edge registers."""
    from entrypoints.http.registry import FORMATS  # the formats import this module

    return [fmt.settings for fmt in FORMATS.formats if fmt.settings is not None]


def flat_fields(kinds: Iterable[type[FormatSettings]]) -> list[str]:
    """Every setting's flat name (``port``, ``npm_proxy``); NORA_ + upper case sets it."""
    names = list(Settings.__struct_fields__)
    names.remove("sections")
    for kind in kinds:
        names += [f"{kind.section}_{field}" for field in kind.__struct_fields__]
    return names


def env_names(settings: Settings, kinds: Iterable[type[FormatSettings]]) -> dict[str, str]:
    """The settings as the environment variables that would set them (workers read these)."""
    found: dict[str, str] = {}
    for field in flat_fields(kinds):
        kind, name = _route(field, tuple(kinds))
        value = getattr(settings.section(kind) if kind is not None else settings, name)
        found[env_name(field)] = str(value).lower() if isinstance(value, bool) else str(value)
    return found


def _route(key: str, kinds: tuple[type[FormatSettings], ...]) -> tuple[Any, str]:
    """(the section, or None for the core, and its field) a flat key sets."""
    if key in Settings.__struct_fields__:
        return None, key
    for kind in kinds:
        prefix = kind.section + "_"
        if key.startswith(prefix) and key[len(prefix) :] in kind.__struct_fields__:
            return kind, key[len(prefix) :]
    return None, key  # unknown: the core's conversion names it


def _read_toml(config_path: str) -> dict[str, Any]:
    try:
        data = msgspec.toml.decode(Path(config_path).read_bytes())
    except OSError as exc:
        raise ConfigError(f"NORA_CONFIG_PATH: cannot read {config_path}: {exc.strerror}") from exc
    except msgspec.DecodeError as exc:
        raise ConfigError(f"NORA_CONFIG_PATH: {config_path} is not valid TOML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"NORA_CONFIG_PATH: {config_path} must hold a TOML table")
    return data


def _checked(
    settings: Settings, source: Mapping[str, str], kinds: Iterable[type[FormatSettings]]
) -> Settings:
    """Rules msgspec constraints cannot express."""
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            where = source.get("public_url", env_name("public_url"))
            raise ConfigError(f"{where}: must be an absolute http(s) URL")
        settings.public_url = settings.public_url.rstrip("/")
    if settings.metadata_url:
        parts = urlsplit(settings.metadata_url)
        if parts.scheme not in ("sqlite", "memory", "postgresql", "postgres") or (
            parts.scheme == "sqlite" and not parts.path
        ):
            where = source.get("metadata_url", env_name("metadata_url"))
            raise ConfigError(
                f"{where}: must be sqlite:///<file>, postgresql://user@host/db or memory://"
            )
    if settings.storage_mode == "s3":
        if not settings.s3_bucket:
            where = source.get("s3_bucket", env_name("s3_bucket"))
            raise ConfigError(f"{where}: must name a bucket when storage_mode is s3")
        if settings.s3_endpoint:
            parts = urlsplit(settings.s3_endpoint)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                where = source.get("s3_endpoint", env_name("s3_endpoint"))
                raise ConfigError(f"{where}: must be an absolute http(s) URL")
        if bool(settings.s3_access_key) != bool(settings.s3_secret_key):
            where = source.get("s3_secret_key", env_name("s3_secret_key"))
            raise ConfigError(f"{where}: s3_access_key and s3_secret_key go together")
    for kind in kinds:
        for field in kind.url_fields:
            for url in Settings.url_list(getattr(settings.section(kind), field)):
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.netloc:
                    flat = f"{kind.section}_{field}"
                    where = source.get(flat, env_name(flat))
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
    for field in ("gc_interval", "gc_grace"):
        try:
            parse_duration(getattr(settings, field) or "0")
        except InvalidInput as exc:
            raise ConfigError(f"{source.get(field, env_name(field))}: {exc.detail}") from None
    _check_installed(settings, source)
    if not settings.host or any(ch.isspace() for ch in settings.host):
        raise ConfigError(f"{source.get('host', env_name('host'))}: must be a host name or address")
    return settings


def _check_installed(settings: Settings, source: Mapping[str, str]) -> None:
    """An optional backend's library is installed only with its extra: say which, in one line."""
    wanted = []
    if settings.storage_mode == "s3":
        wanted.append(("storage_mode", "aioboto3", "s3"))
    if urlsplit(settings.metadata_url).scheme in ("postgresql", "postgres"):
        wanted.append(("metadata_url", "asyncpg", "postgres"))
    if urlsplit(settings.auth_rate_limit_storage).scheme in ("redis", "rediss"):
        wanted.append(("auth_rate_limit_storage", "redis", "redis"))
    for field, module, extra in wanted:
        if importlib.util.find_spec(module) is None:
            where = source.get(field, env_name(field))
            raise ConfigError(
                f"{where}: needs the {module} package, which is not installed: "
                f"pip install 'nora[{extra}]'"
            )


def _explain(
    message: str, source: Mapping[str, str], values: Mapping[str, Any], section: str = ""
) -> str:
    prefix = f"{section}_" if section else ""
    match = _PATH.search(message)
    if match is None:
        unknown = re.search(r"unknown field `(\w+)`", message)
        if unknown:
            key = prefix + unknown.group(1)
            return f"{source.get(key, key)}: unknown setting"
        return f"invalid configuration: {message}"
    field = prefix + match.group(1)
    where = source.get(field, env_name(field))
    reason = message.split(" - at ")[0].replace("`", "")
    given = repr(values.get(field))[:60]
    return f"{where}: {reason[0].lower() + reason[1:]} (given {given})"
