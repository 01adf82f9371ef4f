"""The one rule between hosted content and an upstream: a hosted name shadows it entirely.

A name published here is answered from what is hosted here only: a miss
inside it (an unknown tag, version or file) is a miss, never a reason to ask
the upstream. Otherwise a registry publishing ``internal-lib`` could be made
to serve a stranger's ``internal-lib`` from the upstream (dependency
confusion), and a hosted name would show a mix of two owners' content. Only
a name never hosted here is asked of the upstream, and only when one is
configured; without one, the hosted miss stands.

Every pull-through format uses :func:`shadowed`: OCI manifests, tags and
blobs (:class:`domain.oci.registry.OciRegistry`), and the npm and PyPI
registries (``domain/npm/registry.py``, ``domain/pypi/registry.py``), whose
hosted side is a :class:`~domain.packages.PackageIndex` that says
``NotFound(subject="package")`` for a name it does not hold::

    return await shadowed(
        lambda: self._hosted_project(normal, media_type),  # index.get, then render
        None if self._proxy is None else lambda: self._proxied_page(normal, media_type),
        hosted_here=hosted_unless("package"),
    )
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from domain.errors import NotFound

__all__ = ["HostedHere", "hosted_unless", "shadowed"]

_T = TypeVar("_T")

HostedHere = Callable[[NotFound], Awaitable[bool]]
"""Given the hosted side's miss: whether the name itself is hosted here (the miss is inside it)."""


async def shadowed(
    hosted: Callable[[], Awaitable[_T]],
    upstream: Callable[[], Awaitable[_T]] | None,
    *,
    hosted_here: HostedHere,
) -> _T:
    """The hosted answer; for a name never hosted here, the upstream's; else the hosted miss.

    ``hosted`` runs first, so a hit costs nothing extra. On its ``NotFound``,
    ``upstream`` (None: no upstream configured) is asked only if
    ``hosted_here(miss)`` says the name is not hosted; otherwise the miss is
    raised unchanged. The upstream runs outside the miss, so its own errors
    carry no hosted context.
    """
    try:
        return await hosted()
    except NotFound as miss:
        if upstream is None or await hosted_here(miss):
            raise
        ask = upstream
    return await ask()


def hosted_unless(subject: str) -> HostedHere:
    """A :data:`HostedHere` for a hosted side whose miss on the name itself has ``subject``
    (``"name"`` for OCI, ``"package"`` for a PackageIndex): every other miss lies inside a
    hosted name. No extra read: the hosted side already looked."""

    async def hosted_here(miss: NotFound) -> bool:
        return miss.subject != subject

    return hosted_here
