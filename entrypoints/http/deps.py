"""Explicit dependency markers for handler signatures (Litestar 3 drops inferred ones)."""

from __future__ import annotations

from typing import TypeAlias

from litestar.di import NamedDependency

from entrypoints.container import Services

__all__ = ["ServicesDep"]

ServicesDep: TypeAlias = NamedDependency[Services]
"""The ``services`` dependency every handler receives."""
