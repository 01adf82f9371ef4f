"""``nora mirror FORMAT FILE``: fill the pull-through cache ahead of time.

For air-gapped sites and CI warm-up: every package, module or image the input
file names is fetched through NORA's own URLs, so NORA's pull-through cache
stores (and verifies) it exactly as for a client. Through a running NORA
(``--url``, the default) or the app in this process on the data the NORA_*
settings select (``--local``): one code path. The formats are found, not
listed (:mod:`entrypoints.mirror.sources`).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import msgspec

from entrypoints.commands import CliCommand, Subparsers

if TYPE_CHECKING:
    from entrypoints.config import Settings
    from entrypoints.mirror.runner import Summary

__all__ = ["COMMAND", "add_mirror_parser", "mirror_command"]

_DEFAULT_URL: Final = "http://127.0.0.1:4000"
_INPUT_LIMIT: Final = 64 * 1024 * 1024

_EPILOG = """\
input files:
{inputs}

examples:
{examples}
  nora mirror FORMAT FILE --url https://nora.internal --token "$NORA_TOKEN" --jobs 16
  nora mirror FORMAT FILE --local     no server: NORA's app in this process, on the data
                                      directory and upstreams the NORA_* settings name
  nora mirror FORMAT - --json < FILE  the input on stdin, a JSON summary on stdout

Files NORA already stores are reported "already cached" without being read
again, so a run stopped by Ctrl-C resumes when run again. Connection errors,
429 and 5xx answers are retried with backoff (--retries).
Exit codes: 0 everything mirrored, 1 something failed (each is named),
2 bad input or usage, 130 interrupted.
"""


def add_mirror_parser(commands: Subparsers) -> None:
    """Add ``nora mirror`` to the ``nora`` parser."""
    parser = commands.add_parser(
        "mirror",
        help="fill the pull-through cache from a lockfile or list",
        description="Fetch everything FILE names through NORA's pull-through cache, so\n"
        "clients can install it later with the upstream out of reach.",
    )
    parser.add_argument("format", metavar="FORMAT", help="the format word (see below)")
    parser.add_argument("file", metavar="FILE", help="the input file, or - for stdin")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--url",
        help=f"a running NORA (default NORA_URL, else {_DEFAULT_URL})",
    )
    where.add_argument(
        "--local",
        action="store_true",
        help="run NORA in this process on the NORA_* settings instead of a server",
    )
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--token", help="an API token (default NORA_TOKEN)")
    auth.add_argument("--user", help="a user name; the password from NORA_PASSWORD or a prompt")
    parser.add_argument("--jobs", type=_count(1, 64), default=8, help="at once (default 8)")
    parser.add_argument(
        "--retries", type=_count(0, 10), default=4, help="retries of a transient failure (4)"
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary instead")
    # last: argparse formats each argument as it is added, which would import every format
    parser.formatter_class = _help_with_formats(parser)


def _help_with_formats(parser: argparse.ArgumentParser) -> Any:
    """A formatter factory that fills the epilog from the formats, only when help is shown.

    Importing every format costs about a second, which ``nora``'s other commands
    (which build this parser too) must not pay.
    """

    def make(prog: str) -> argparse.HelpFormatter:
        if parser.epilog is None:
            from entrypoints.mirror.sources import discover

            found = discover().values()
            width = max((len(s.word) for s in found), default=0)
            parser.epilog = _EPILOG.format(
                inputs="\n".join(f"  {s.word:<{width}}  {s.input}" for s in found),
                examples="\n".join(f"  {s.example}" for s in found),
            )
        return argparse.RawDescriptionHelpFormatter(prog)

    return make


def _count(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"takes a number from {low} to {high}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"takes a number from {low} to {high}")
        return value

    return parse


def _fail(message: str, code: int, as_json: bool) -> int:
    if as_json:
        print(msgspec.json.encode({"ok": False, "error": message}).decode())
    print(f"nora: {message}", file=sys.stderr)
    return code


def _read_input(name: str) -> bytes:
    if name == "-":
        data = sys.stdin.buffer.read(_INPUT_LIMIT + 1)
    else:
        with Path(name).open("rb") as handle:
            data = handle.read(_INPUT_LIMIT + 1)
    if len(data) > _INPUT_LIMIT:
        from domain.errors import InvalidInput

        raise InvalidInput(f"{name} is larger than {_INPUT_LIMIT // (1024 * 1024)} MiB")
    return data


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    """Credentials and limits for the httpx client; the password is never an argument."""
    import httpx

    from entrypoints import __version__

    options: dict[str, Any] = {
        "headers": {"user-agent": f"nora-mirror/{__version__}", "accept-encoding": "identity"},
        "timeout": httpx.Timeout(120.0, connect=10.0),
        "follow_redirects": False,
    }
    token = args.token or (None if args.user else os.environ.get("NORA_TOKEN"))
    if token:
        options["headers"]["authorization"] = f"Bearer {token}"
    elif args.user:
        password = os.environ.get("NORA_PASSWORD")
        if password is None:
            password = getpass.getpass(f"password for {args.user}: ")
        options["auth"] = httpx.BasicAuth(args.user, password)
    return options


def mirror_command(args: argparse.Namespace, settings: Settings | None = None) -> int:
    """Run ``nora mirror``; exit 0, 1 when anything failed, 2 on bad input, 130 on Ctrl-C."""
    import anyio
    import httpx

    from domain.errors import InvalidInput
    from entrypoints.mirror.client import MirrorClient
    from entrypoints.mirror.inprocess import local_http
    from entrypoints.mirror.runner import run_mirror
    from entrypoints.mirror.sources import discover
    from entrypoints.progress import make_progress

    sources = discover()
    source = sources.get(args.format)
    if source is None:
        words = ", ".join(sources) or "none"
        return _fail(f"no mirror for {args.format[:40]!r}; formats: {words}", 2, args.json)
    try:
        wants = source.plan(_read_input(args.file))
    except InvalidInput as exc:
        return _fail(f"{args.file}: {exc.detail}", 2, args.json)
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {args.file}", 2, args.json)
    if args.local and settings is None:
        from entrypoints.config import ConfigError, load_settings

        try:
            settings = load_settings()
        except ConfigError as exc:
            return _fail(f"invalid setting {exc}", 2, args.json)
    url = args.url or os.environ.get("NORA_URL") or _DEFAULT_URL
    where = "this process (--local)" if args.local else url
    progress = make_progress(json=args.json)
    options = _client_options(args)

    async def run() -> Summary:
        connect: AbstractAsyncContextManager[httpx.AsyncClient]
        if args.local:
            assert settings is not None
            connect = local_http(settings, **options)
        else:
            connect = httpx.AsyncClient(base_url=url.rstrip("/"), **options)
        async with connect as http:
            client = MirrorClient(
                http,
                retries=args.retries,
                on_bytes=lambda n: progress.advance(nbytes=n),
                public_url=settings.public_url if args.local and settings else "",
            )
            return await run_mirror(source, client, wants, jobs=args.jobs, progress=progress)

    try:
        summary = anyio.run(run)
    except KeyboardInterrupt:
        progress.finish()
        print(
            "nora: interrupted; what finished stays cached: run the same mirror again "
            "to fetch the rest",
            file=sys.stderr,
        )
        return 130
    _report(summary, args, where)
    return 0 if summary.ok else 1


def _report(summary: Summary, args: argparse.Namespace, where: str) -> None:
    from entrypoints.progress import human_bytes

    if args.json:
        body = {"ok": summary.ok, "input": args.file, **msgspec.to_builtins(summary)}
        print(msgspec.json.encode(body).decode())
        return
    print(
        f"{summary.format} mirror of {args.file} through {where}: "
        f"{summary.fetched} fetched, {summary.cached} already cached, {summary.failed} failed "
        f"({summary.files} files, {human_bytes(summary.bytes)} read, {summary.seconds:.1f}s)"
    )
    for failure in summary.failures:
        print(f"  failed: {failure.label}: {failure.reason}")


def _run(args: argparse.Namespace, settings: Settings | None) -> int:
    return mirror_command(args, settings)


COMMAND = CliCommand(
    names=("mirror",), add_parsers=add_mirror_parser, run=_run, needs_settings=False
)
