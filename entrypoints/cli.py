"""The ``nora`` command: serve and token here; every other subcommand is a ``cli_*`` module."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from entrypoints import __version__
from entrypoints.commands import CliCommand, discover
from entrypoints.config import (
    ConfigError,
    Settings,
    env_names,
    load_settings,
    registered_sections,
)

__all__ = ["main"]

_SERVE_FLAGS: tuple[tuple[str, str], ...] = (
    ("host", "address to bind (NORA_HOST)"),
    ("port", "port to bind (NORA_PORT)"),
    ("storage_path", "data directory (NORA_STORAGE_PATH)"),
    ("storage_mode", "filesystem, s3 or memory (NORA_STORAGE_MODE)"),
    ("metadata_url", "sqlite:///file, postgresql://… or memory:// (NORA_METADATA_URL)"),
    ("public_url", "external base URL for links (NORA_PUBLIC_URL)"),
    ("log_level", "debug, info, warning or error (NORA_LOG_LEVEL)"),
    ("workers", "worker processes (NORA_WORKERS)"),
    ("server", "uvicorn or granian (NORA_SERVER)"),
)


def _parser(extra: Sequence[CliCommand]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nora",
        description="NORA: one artifact registry for every package manager.",
    )
    parser.add_argument("--version", action="version", version=f"nora {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the registry",
        description="Run the registry. Flags override NORA_* variables, which override "
        "the TOML file named by NORA_CONFIG_PATH.",
    )
    for field, text in _SERVE_FLAGS:
        serve.add_argument(f"--{field.replace('_', '-')}", dest=field, help=text)
    token = commands.add_parser(
        "token",
        help="create, list or revoke API tokens",
        description="Manage API tokens in the data directory NORA_* settings point at "
        "(the server may be running).",
    )
    actions = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a token and print it once")
    create.add_argument("--user", required=True, help="owner of the token")
    create.add_argument("--role", default="read", help="read, write or admin (default read)")
    create.add_argument(
        "--scope",
        action="append",
        default=[],
        help="limit to <format>:<name glob>, e.g. npm:@acme/* (repeatable)",
    )
    create.add_argument("--expires-days", type=float, help="expiry in days (default never)")
    create.add_argument("--description", default="", help="a note to recognise it by")
    listing = actions.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--user", help="only this owner's tokens")
    revoke = actions.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("id", help="the token id shown by list or create")
    for command in extra:
        command.add_parsers(commands)
    return parser


def token_command(args: argparse.Namespace, settings: Settings) -> int:
    """``nora token create|list|revoke`` against the configured metadata store."""
    import anyio

    from domain.auth.activity import ActivityEvent
    from domain.auth.model import Role, Scope
    from domain.errors import InvalidInput, NoraError
    from entrypoints.container import build_container, close_container

    async def run() -> int:
        container = build_container(settings)
        tokens = container.auth.tokens()
        activity = container.auth.activity()

        async def remember(action: str, target: str, detail: str) -> None:
            await activity.record(
                ActivityEvent(
                    at=activity.now(),
                    actor=f"cli:{getpass.getuser()}",
                    action=action,
                    format="api",
                    target=target,
                    detail=detail,
                )
            )

        try:
            if args.action == "create":
                _check_owner(container, settings, args.user, Role.parse(args.role))
                days = args.expires_days
                if days is not None and not 0 < days <= 36500:
                    raise InvalidInput("--expires-days must be between 0 and 36500")
                expires = None if days is None else timedelta(days=days)
                secret, record = await tokens.create(
                    args.user,
                    Role.parse(args.role),
                    scopes=[Scope.parse(text) for text in args.scope],
                    expires_in=expires,
                    description=args.description,
                )
                print(secret)
                print(f"id {record.id} owner {record.owner} role {record.role}", file=sys.stderr)
                await remember("token.create", record.id, f"owner {record.owner}, {record.role}")
            elif args.action == "list":
                print("id\towner\trole\tscopes\texpires\trevoked\tlast_used\tdescription")
                for record in await tokens.list(args.user):
                    print(
                        "\t".join(
                            [
                                record.id,
                                record.owner,
                                str(record.role),
                                ",".join(str(s) for s in record.scopes) or "-",
                                record.expires.isoformat() if record.expires else "never",
                                record.revoked.isoformat() if record.revoked else "-",
                                record.last_used.isoformat() if record.last_used else "-",
                                record.description,
                            ]
                        )
                    )
            else:
                revoked = await tokens.revoke(args.id)
                print(f"revoked {revoked.id} ({revoked.owner})")
                await remember("token.revoke", revoked.id, f"owner {revoked.owner}")
        except NoraError as exc:
            print(f"nora: {exc.detail}", file=sys.stderr)
            return 2
        finally:
            await close_container(container)
        return 0

    return anyio.run(run)


def _check_owner(container: Any, settings: Settings, user: str, role: Any) -> None:
    """A token works only for a user who exists, and never above that user's own role.

    Raises ``InvalidInput`` rather than minting a token that would be refused
    (or silently demoted) the first time it is used.
    """
    from domain.auth.delegation import ANONYMOUS_OWNER
    from domain.errors import InvalidInput

    if user == ANONYMOUS_OWNER:
        raise InvalidInput(f"{ANONYMOUS_OWNER!r} cannot own tokens")
    if not settings.auth_htpasswd_file:
        print(
            "nora: warning: NORA_AUTH_HTPASSWD_FILE is not set; with access control on, "
            f"this token works only once {user!r} is a user there",
            file=sys.stderr,
        )
        return
    if user not in container.auth.users():
        raise InvalidInput(f"{user!r} is not a user in {settings.auth_htpasswd_file}")
    own = container.auth.authenticator().role_of(user)
    if role > own:
        raise InvalidInput(f"{user!r} has the {own} role; a {role} token would be demoted")


def _export(settings: Settings) -> None:
    """Put the final settings in the environment, where every worker reads them."""
    os.environ.update(env_names(settings, registered_sections()))


def serve(settings: Settings) -> int:
    """Run the chosen ASGI server until SIGTERM/SIGINT; in-flight requests drain first.

    What would stop the server (a storage path it cannot write, a port in use, a
    backend that does not answer) is found first and said in one line, exit 2.
    """
    from entrypoints.preflight import StartupProblem, check_before_start

    try:
        check_before_start(settings)
    except StartupProblem as problem:
        print(f"nora: {problem}", file=sys.stderr)
        return 2
    from entrypoints.http.observability import log_format

    if log_format(settings.log_format) == "text":  # a person at a terminal
        from entrypoints.banner import banner
        from entrypoints.http.registry import FORMATS

        print(banner(settings, FORMATS.formats), file=sys.stderr, flush=True)
    _export(settings)
    with contextlib.ExitStack() as cleanup:
        if settings.worker_count > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # workers write their samples here; /metrics in any worker sums them all
            metrics_dir = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="nora-metrics-"))
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        return _run_server(settings)


def _run_server(settings: Settings) -> int:
    """Hand over to the server module, which bounds connections in either server."""
    from entrypoints.server import run_server

    return run_server(settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    extra = discover()
    parser = _parser(extra)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    chosen = next((c for c in extra if args.command in c.names), None)
    if chosen is not None and not chosen.needs_settings:
        return chosen.run(args, None)
    overrides = {field: getattr(args, field, None) for field, _ in _SERVE_FLAGS}
    try:
        settings = load_settings(overrides=overrides)
    except ConfigError as exc:
        print(f"nora: invalid setting {exc}", file=sys.stderr)
        return 2
    if chosen is not None:
        return chosen.run(args, settings)
    if args.command == "token":
        return token_command(args, settings)
    from entrypoints.http.observability import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
