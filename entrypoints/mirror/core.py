"""What a format declares to be mirrored, and what one fetch of it comes to.

``nora mirror FORMAT FILE`` fills NORA's pull-through cache ahead of time. The
shared part (this package) names no format; each format adds one module,
``entrypoints/http/<package>/mirror.py``, defining ``MIRROR`` (a
:class:`MirrorSource`), and is found by :func:`entrypoints.mirror.sources.discover`.

A source has two halves:

- ``plan(data) -> list[Want]``: pure. It parses the input file (a lockfile, a
  requirements file, an image list, ...) into the things to fetch. Bad input
  raises ``domain.errors.InvalidInput`` with one sentence; nothing else.
  The parser itself belongs in the format's domain package.
- ``await fetch(client, want) -> Outcome``: does the GETs of one want through
  NORA's own URLs (documents first, then the files they name) with the
  :class:`~entrypoints.mirror.client.MirrorClient` it is given, whose
  :meth:`~entrypoints.mirror.client.MirrorClient.download` says whether NORA
  already held a file. It returns :func:`fetched` (something came from the
  upstream) or :func:`cached` (every file was already stored); a want that
  cannot be mirrored raises :class:`Failed` with the reason (any other error
  the client raises becomes a failure too, so a format need not catch).

Documents (a packument, an index page, a manifest by tag) are refreshed when
NORA's TTL says so and are not what decides "cached": files are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

if TYPE_CHECKING:
    from entrypoints.mirror.client import MirrorClient

__all__ = ["Failed", "MirrorSource", "Outcome", "State", "Want", "cached", "fetched"]

T = TypeVar("T")

State = Literal["fetched", "cached", "failed"]


@dataclass(frozen=True, slots=True)
class Want(Generic[T]):
    """One thing to mirror: a package version, an image, a module.

    Attributes:
        label: how the summary names it (``lodash@4.17.21``, ``library/alpine:3.19``).
        item: the format's own parsed entry, handed back to its ``fetch``.
    """

    label: str
    item: T


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one want ended.

    Attributes:
        label: the want's label.
        state: ``fetched`` (from the upstream now), ``cached`` (NORA had it) or ``failed``.
        reason: why it failed (empty otherwise).
        files: files read (fetched or found cached).
        nbytes: bytes read from NORA for it.
    """

    label: str
    state: State
    reason: str = ""
    files: int = 0
    nbytes: int = 0


def fetched(want: Want[Any], *, files: int = 0, nbytes: int = 0) -> Outcome:
    """At least one file of ``want`` came from the upstream on this run."""
    return Outcome(want.label, "fetched", files=files, nbytes=nbytes)


def cached(want: Want[Any], *, files: int = 0, nbytes: int = 0) -> Outcome:
    """Every file of ``want`` was already stored in NORA."""
    return Outcome(want.label, "cached", files=files, nbytes=nbytes)


class Failed(Exception):
    """A want that cannot be mirrored; ``reason`` is one sentence for the summary.

    ``transient`` marks a failure worth retrying (the client's own retries are
    already spent when it raises one, so the runner only reports it).
    """

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


@dataclass(frozen=True, slots=True)
class MirrorSource(Generic[T]):
    """What a format declares for ``nora mirror``.

    Attributes:
        word: the format word users type (``npm``, ``docker``, ``pypi``).
        input: one line for ``--help``: the input file it reads.
        example: an example command line for ``--help`` (``nora mirror npm package-lock.json``).
        plan: parses the input file into wants; raises ``InvalidInput`` on bad input.
        fetch: mirrors one want through NORA; returns its outcome or raises ``Failed``.
    """

    word: str
    input: str
    example: str
    plan: Callable[[bytes], list[Want[T]]]
    fetch: Callable[[MirrorClient, Want[T]], Awaitable[Outcome]]
