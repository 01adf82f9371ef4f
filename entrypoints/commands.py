"""The ``nora`` subcommands beside ``serve`` and ``token``, found rather than listed.

A subcommand is a module ``entrypoints/cli_<name>.py`` that defines ``COMMAND``
(a :class:`CliCommand`); adding the module registers it, so ``cli.py`` never
changes when an operator command arrives (backup, gc, mirror, retention, …).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import entrypoints

if TYPE_CHECKING:
    from entrypoints.config import Settings

__all__ = ["CliCommand", "Subparsers", "discover"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


@dataclass(frozen=True, slots=True)
class CliCommand:
    """What one ``cli_*`` module adds to ``nora``.

    Attributes:
        names: the subcommand words it adds (``backup`` and ``restore`` share a module).
        add_parsers: adds those subcommands to ``nora``'s subparsers.
        run: runs one of them (``args.command`` says which); returns the exit code.
            It gets the loaded settings, or ``None`` when ``needs_settings`` is false
            (a client-side command such as ``nora go publish`` needs none, and must
            not fail on a server setting it never reads).
    """

    names: tuple[str, ...]
    add_parsers: Callable[[Subparsers], None]
    run: Callable[[argparse.Namespace, Settings | None], int]
    needs_settings: bool = True


def discover() -> list[CliCommand]:
    """The ``COMMAND`` of every ``entrypoints/cli_*.py`` module, in module-name order."""
    found: list[CliCommand] = []
    for module in sorted(pkgutil.iter_modules(entrypoints.__path__), key=lambda m: m.name):
        if module.ispkg or not module.name.startswith("cli_"):
            continue
        command = getattr(
            importlib.import_module(f"{entrypoints.__name__}.{module.name}"), "COMMAND", None
        )
        if isinstance(command, CliCommand):
            found.append(command)
    return found
