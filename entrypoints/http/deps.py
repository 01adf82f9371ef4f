"""Handlers name the products they use; the dependencies behind those names come from the container.

A handler declares ``tokens: NamedDependency[TokenService]`` and receives the
container's ``auth.tokens`` singleton. The table is derived from the
container, never written out: every provider of the shared core and of
access control under its provider name, and each format's registry facade
under its format word (its descriptor's ``name``), so a format whose
container is composed into the root is injectable with no line here.

Code outside a handler (the access middleware, error renderers, the public
base URL) reads the same container from ``app.state["container"]``.

A handler on a hot path declares one dependency, its format's facade, which
carries what the handler needs besides (``blobs``): Litestar resolves two or
more dependencies concurrently in a task group, which costs more than a
small read's own work (bench/app_cost.py: a small metadata read took 270 µs
of app work with two, 107 µs with one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dependency_injector import providers
from litestar.di import Provide

from entrypoints.container import Container

__all__ = ["SHARED_PARTS", "container_of", "dependencies"]

SHARED_PARTS = ("core", "auth")
"""The root's sub-containers whose products are injected by their own names."""


def _getter(provider: Any) -> Callable[[], Any]:
    # Litestar reads the dependency's signature; a provider object has none it can parse.
    def get() -> Any:
        return provider()

    return get


def dependencies(container: Container) -> dict[str, Provide]:
    """Litestar dependencies for every shared product and every format facade."""
    found: dict[str, Any] = {"settings": container.settings}
    for part_name, part in container.providers.items():
        if not isinstance(part, providers.Container):
            continue
        sub = getattr(container, part_name)
        if part_name in SHARED_PARTS:
            for name, provider in sub.providers.items():
                if not isinstance(provider, providers.DependenciesContainer):
                    found.setdefault(name, provider)
        elif "registry" in sub.providers:
            if part_name in found:
                raise ValueError(f"format {part_name!r} collides with a shared product")
            found[part_name] = sub.registry
    return {
        name: Provide(_getter(provider), use_cache=True, sync_to_thread=False)
        for name, provider in found.items()
    }


def container_of(app: Any) -> Container:
    """The container behind ``app`` (for code that is not a handler)."""
    container: Container = app.state["container"]
    return container
