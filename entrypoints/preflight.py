"""What ``nora serve`` checks before it starts a server, so a mistake reads as one sentence.

A storage path that cannot be written, a port in use, a database or bucket that
does not answer, a missing htpasswd file: each would otherwise surface as a
traceback inside a worker's log line, and the supervisor would exit as if all
went well. Each check here raises :class:`StartupProblem` with one line naming
the setting and what to do; ``nora serve`` prints it and exits with status 2.
The checks touch what the server would touch and nothing more: the backends of
a scale-out deployment are reached only when configured.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import uuid
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import anyio

from entrypoints.config import Settings

__all__ = ["StartupProblem", "check_before_start"]

_BACKEND_TIMEOUT: Final = 10.0


class StartupProblem(Exception):
    """One sentence: what is wrong, which setting, what to do."""


def check_before_start(settings: Settings, *, port: bool = True) -> None:
    """Raise :class:`StartupProblem` for the first thing that would stop the server
    (``port=False`` leaves out the port, which a running server holds)."""
    if port:
        _check_port(settings.host, settings.port)
    if settings.storage_mode == "filesystem":
        _check_directory(Path(settings.storage_path), "storage path", "NORA_STORAGE_PATH")
    url = urlsplit(settings.resolved_metadata_url)
    if url.scheme == "sqlite":
        database = Path(unquote(url.netloc + url.path))
        _check_directory(database.parent, "metadata database folder", "NORA_METADATA_URL")
    if settings.auth_enabled:
        _check_htpasswd(settings.auth_htpasswd_file)
    anyio.run(_check_backends, settings)


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            where = f"{host}:{port} (NORA_HOST, NORA_PORT)"
            if exc.errno == errno.EADDRINUSE:
                raise StartupProblem(
                    f"port {port} is already in use on {where}: stop the other server "
                    "or choose another port with NORA_PORT or --port"
                ) from None
            if exc.errno == errno.EACCES:
                raise StartupProblem(
                    f"not permitted to listen on {where}: use a port above 1023, or give "
                    "the process the right to bind low ports"
                ) from None
            if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(
                exc, socket.gaierror
            ):
                raise StartupProblem(
                    f"cannot listen on {where}: {host} is not an address of this machine"
                ) from None
            raise StartupProblem(f"cannot listen on {where}: {exc.strerror or exc}") from None


def _check_directory(path: Path, what: str, setting: str) -> None:
    """Create ``path`` if needed and prove a file can be written, synced and removed there."""
    probe = path / f".nora-write-test-{uuid.uuid4().hex}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with probe.open("wb") as file:
            file.write(b"ok")
            file.flush()
            os.fsync(file.fileno())
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StartupProblem(
            f"cannot write the {what} {path} ({setting}): {reason}; choose a directory "
            "this user may create and write"
        ) from None


def _check_htpasswd(path_text: str) -> None:
    setting = "NORA_AUTH_HTPASSWD_FILE"
    if not path_text:
        raise StartupProblem(
            f"access control is on but no htpasswd file is set ({setting}): create one with "
            "`nora user add NAME` or set the path"
        )
    path = Path(path_text)
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        raise StartupProblem(
            f"the htpasswd file {path} ({setting}) does not exist: create it with "
            "`nora user add NAME`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise StartupProblem(
            f"cannot read the htpasswd file {path} ({setting}): {reason}"
        ) from None
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        user, sep, hashed = text.partition(":")
        if not sep or not user or not hashed.startswith(("$2y$", "$2b$", "$2a$")):
            raise StartupProblem(
                f"line {number} of the htpasswd file {path} ({setting}) is not `user:bcrypt "
                "hash`: write it with `nora user add` or `htpasswd -B`"
            )


async def _check_backends(settings: Settings) -> None:
    """Reach the scale-out backends that are configured, each within a bounded time."""
    from domain.errors import NoraError

    checks: list[tuple[str, str, Any]] = []
    url = urlsplit(settings.resolved_metadata_url)
    if url.scheme in ("postgresql", "postgres"):
        from adapters.metadata.postgres import PostgresMetadataStore

        where = f"PostgreSQL at {url.hostname or 'localhost'}:{url.port or 5432}"
        store: Any = PostgresMetadataStore(settings.resolved_metadata_url, pool_size=1)
        checks.append((where, "NORA_METADATA_URL", store))
    if settings.storage_mode == "s3":
        from adapters.blobstore.s3 import S3BlobStore

        bucket = S3BlobStore(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint=settings.s3_endpoint or None,
            region=settings.s3_region or None,
            access_key=settings.s3_access_key or None,
            secret_key=settings.s3_secret_key or None,
            path_style=settings.s3_path_style,
        )
        where = (
            f"S3 bucket {settings.s3_bucket!r} at {settings.s3_endpoint or 'the default endpoint'}"
        )
        checks.append((where, "NORA_S3_*", bucket))
    limits = urlsplit(settings.auth_rate_limit_storage)
    if settings.auth_enabled and limits.scheme not in ("", "memory"):
        from adapters.auth.ratelimit import LimitsRateLimiter

        limiter = LimitsRateLimiter({}, settings.auth_rate_limit_storage)
        where = f"{limits.scheme} at {limits.hostname or 'localhost'}:{limits.port or ''}".rstrip(
            ":"
        )
        checks.append((where, "NORA_AUTH_RATE_LIMIT_STORAGE", limiter))
    for where, setting, adapter in checks:
        try:
            with anyio.fail_after(_BACKEND_TIMEOUT):
                await adapter.check()
        except (NoraError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
            if isinstance(exc, TimeoutError):
                reason = f"no answer within {_BACKEND_TIMEOUT:.0f} s"
            raise StartupProblem(
                f"cannot reach {where} ({setting}): {reason}; check the address, credentials "
                "and that the service runs"
            ) from None
        finally:
            close = getattr(adapter, "close", None)
            if close is not None:
                # closing a probe that may have failed anyway: nothing to report
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await close()
