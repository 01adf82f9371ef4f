"""``nora config show`` and ``nora config check``: the effective settings, and whether they work.

``show`` prints every setting with its value (secrets masked) and where it came
from: the default, the TOML file, the environment. ``check`` loads the settings
and runs the checks ``nora serve`` runs before it starts (storage path, htpasswd,
configured backends), except the port, which a running NORA holds; it prints one
line and exits 0 when all is well, 2 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from entrypoints.commands import CliCommand, Subparsers

if TYPE_CHECKING:
    from entrypoints.config import Settings

__all__ = ["COMMAND", "config_rows"]

_EPILOG = """\
examples:
  nora config show                 every setting, its value and where it came from
  nora config show --json          the same as JSON (secrets masked too)
  NORA_CONFIG_PATH=nora.toml nora config check
                                   validate a configuration without starting the server
Exit codes: 0 fine, 2 a setting or what it points at is wrong.
"""


def _add(commands: Subparsers) -> None:
    config = commands.add_parser(
        "config",
        help="show the effective settings, or check a configuration",
        description="Show every setting and where it came from, or check a configuration "
        "without starting the server.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = config.add_subparsers(dest="config_action", metavar="{show,check}")
    show = actions.add_parser("show", help="every setting, its value and its source")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    actions.add_parser("check", help="validate the settings and what they point at")


def config_rows(settings: Settings, sources: dict[str, str]) -> list[tuple[str, str, str]]:
    """(environment variable, masked value, source) for every setting, in declaration order."""
    from entrypoints.banner import mask
    from entrypoints.config import env_names, flat_fields, registered_sections

    kinds = registered_sections()
    values = env_names(settings, kinds)
    rows = []
    for field in flat_fields(kinds):
        name = "NORA_" + field.upper()
        rows.append((name, mask(field, values[name]), sources.get(field, "default")))
    return rows


def _run(args: argparse.Namespace, _: Settings | None) -> int:
    from entrypoints.config import ConfigError, load_settings_with_sources

    action = getattr(args, "config_action", None)
    if action is None:
        print("nora config: say show or check (nora config --help)", file=sys.stderr)
        return 2
    try:
        settings, sources = load_settings_with_sources()
    except ConfigError as exc:
        print(f"nora: invalid setting {exc}", file=sys.stderr)
        return 2
    if action == "show":
        rows = config_rows(settings, sources)
        if args.json:
            payload = {name: {"value": value, "source": source} for name, value, source in rows}
            print(json.dumps(payload, indent=2))
            return 0
        width = max(len(name) for name, _, _ in rows)
        value_width = min(48, max(len(value) for _, value, _ in rows))
        table = "".join(
            f"{name:<{width}}  {value:<{value_width}}  {source}\n" for name, value, source in rows
        )
        try:
            sys.stdout.write(table)
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    from entrypoints.preflight import StartupProblem, check_before_start

    try:
        check_before_start(settings, port=False)
    except StartupProblem as problem:
        print(f"nora: {problem}", file=sys.stderr)
        return 2
    print("nora: the configuration is usable")
    return 0


COMMAND = CliCommand(names=("config",), add_parsers=_add, run=_run, needs_settings=False)
