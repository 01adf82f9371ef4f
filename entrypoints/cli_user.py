"""``nora user add|passwd|remove|list``: the htpasswd file of NORA_AUTH_HTPASSWD_FILE.

Passwords are read with getpass (twice) on a terminal, or as one line from
piped stdin, never from the command line, where ``ps`` and shell history
would show them. The file is rewritten atomically (temp + fsync + rename,
permissions kept, 0600 when new) under a lock, so a running server, which
re-reads it within a second, never sees half a file, and two commands never
lose each other's change.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from entrypoints.commands import CliCommand, Subparsers
from entrypoints.config import Settings

__all__ = ["add_user_parser", "check_user_name", "user_command"]

_NAME: Final = re.compile(r"[^\x00-\x20\x7f:#]{1,64}")
_MAX_PASSWORD: Final = 72  # bcrypt uses at most 72 bytes; refuse rather than truncate

_EPILOG = """\
examples:
  nora user add alice                     prompts for the password twice
  printf '%s\\n' "$PASSWORD" | nora user add ci-bot    reads one line from stdin
  nora user passwd alice
  nora user remove alice
  nora user list --file /etc/nora/htpasswd

The file is NORA_AUTH_HTPASSWD_FILE unless --file names another; a running
server picks up changes within a second. Passwords are never arguments.
"""


def add_user_parser(commands: Subparsers) -> None:
    """Add ``nora user`` to the ``nora`` parser."""
    user = commands.add_parser(
        "user",
        help="add, change, remove or list htpasswd users",
        description="Manage the users of the htpasswd file (bcrypt hashes).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = user.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (
        ("add", "add a user (refuses an existing one)"),
        ("passwd", "change a user's password"),
        ("remove", "remove a user"),
        ("list", "print the user names"),
    ):
        action = actions.add_parser(
            name,
            help=text,
            description=text,
            epilog=_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name != "list":
            action.add_argument("name", help="the user name")
        action.add_argument("--file", type=Path, help="htpasswd file (NORA_AUTH_HTPASSWD_FILE)")
        action.add_argument("--json", action="store_true", help="print a JSON summary instead")


def check_user_name(name: str) -> str:
    """A name htpasswd can hold: 1-64 characters, no ':', '#', space or control character."""
    from domain.errors import InvalidInput

    if _NAME.fullmatch(name) is None:
        raise InvalidInput(
            "a user name has 1-64 characters and no ':', '#', spaces or control characters",
            subject="user",
        )
    return name


def _read_password() -> str:
    from domain.errors import InvalidInput

    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise InvalidInput("the passwords differ", subject="password")
        password = first
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        raise InvalidInput("the password is empty", subject="password")
    if len(password.encode("utf-8")) > _MAX_PASSWORD:
        raise InvalidInput(
            f"bcrypt takes at most {_MAX_PASSWORD} bytes of password", subject="password"
        )
    return password


def _user_of(line: str) -> str | None:
    text = line.strip()
    if not text or text.startswith("#") or ":" not in text:
        return None
    return text.partition(":")[0]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One writer at a time, through a lock file beside the htpasswd file, removed after.

    The holder unlinks the lock file before it lets go, so a writer that was
    waiting may hold a lock on a file nobody else can find any more: it checks
    that the path still names the file it locked, and tries again if not.
    """
    import fcntl

    lock = path.with_name(path.name + ".lock")
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


def _write(path: Path, lines: list[str]) -> None:
    """Replace the file atomically, keeping its mode (0600 when new)."""
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o600
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write("".join(line if line.endswith("\n") else line + "\n" for line in lines))
            out.flush()
            os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        return []


def _change(path: Path, action: str, name: str) -> str:
    """Apply one change; the password is asked for and hashed before the file is locked.

    A prompt can wait on a person for minutes: holding the lock meanwhile would
    stall every other writer. So the name is checked once to fail fast, the new
    hash is made, and the check is repeated under the lock, where it counts.
    """
    from adapters.auth.htpasswd import hash_password

    _check_presence(_read_lines(path), path, action, name)
    entry = "" if action == "remove" else f"{name}:{hash_password(_read_password())}"
    with _locked(path):
        lines = _read_lines(path)
        _check_presence(lines, path, action, name)
        if action == "remove":
            _write(path, [line for line in lines if _user_of(line) != name])
            return f"removed {name}"
        if action == "add":
            _write(path, [*lines, entry])
            return f"added {name}"
        _write(path, [entry if _user_of(line) == name else line for line in lines])
        return f"changed the password of {name}"


def _check_presence(lines: list[str], path: Path, action: str, name: str) -> None:
    from domain.errors import Conflict, NotFound

    present = any(_user_of(line) == name for line in lines)
    if action == "add" and present:
        raise Conflict(f"user {name!r} exists already (use passwd)", subject="user")
    if action != "add" and not present:
        raise NotFound(f"no user {name!r} in {path}", subject="user")


def user_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``nora user``; exit 0, 1 on a failed write, 2 on a refused request."""
    from domain.errors import NoraError

    path = args.file or (Path(settings.auth_htpasswd_file) if settings.auth_htpasswd_file else None)
    if path is None:
        print(
            "nora: name the htpasswd file with --file or NORA_AUTH_HTPASSWD_FILE", file=sys.stderr
        )
        return 2
    try:
        if args.action == "list":
            lines = _read_lines(path)
            names = [user for user in map(_user_of, lines) if user is not None]
            if args.json:
                print(json.dumps(names))
            for name in [] if args.json else names:
                print(name)
            return 0
        done = _change(path, args.action, check_user_name(args.name))
        if args.json:
            print(json.dumps({"ok": True, "action": args.action, "user": args.name}))
        else:
            print(done)
        return 0
    except NoraError as exc:
        print(f"nora: {exc.detail}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"nora: {exc.strerror or exc}: {exc.filename or path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, settings: Settings | None) -> int:
    assert settings is not None
    return user_command(args, settings)


COMMAND = CliCommand(names=("user",), add_parsers=add_user_parser, run=_run)
