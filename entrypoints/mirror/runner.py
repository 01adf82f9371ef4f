"""Runs a mirror plan: a bounded number of wants at once, progress, and the summary.

A want's failure is its own: it is recorded with its reason and the others go
on. Nothing is written by the mirror itself (NORA's pull-through cache stores
what it fetches, verified, or nothing), so a run stopped by Ctrl-C leaves
everything that finished cached and a re-run only fetches the rest.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol

import anyio
import httpx
import msgspec

from domain.errors import NoraError
from entrypoints.mirror.client import MirrorClient
from entrypoints.mirror.core import Failed, MirrorSource, Outcome, Want

__all__ = ["Progress", "Summary", "run_mirror", "unique"]


class Progress(Protocol):
    """What the runner reports to (``entrypoints.progress`` displays implement it)."""

    def start(self, phase: str, items: int | None = None, nbytes: int | None = None) -> None: ...

    def advance(self, items: int = 0, nbytes: int = 0) -> None: ...

    def finish(self) -> None: ...


class Failure(msgspec.Struct, frozen=True):
    """A want that failed and why."""

    label: str
    reason: str


class Summary(msgspec.Struct, kw_only=True):
    """The end of a run: counts by outcome, what failed, and every outcome in input order."""

    format: str
    fetched: int = 0
    cached: int = 0
    failed: int = 0
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    failures: list[Failure] = msgspec.field(default_factory=list)
    items: list[dict[str, str]] = msgspec.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return self.failed == 0


def unique(wants: Sequence[Want[Any]]) -> list[Want[Any]]:
    """``wants`` without repeats of a label, first kept (a lockfile names a version many times)."""
    seen: set[str] = set()
    out: list[Want[Any]] = []
    for want in wants:
        if want.label not in seen:
            seen.add(want.label)
            out.append(want)
    return out


async def run_mirror(
    source: MirrorSource[Any],
    client: MirrorClient,
    wants: Sequence[Want[Any]],
    *,
    jobs: int,
    progress: Progress,
) -> Summary:
    """Fetch every want with at most ``jobs`` at once; the summary of how each ended."""
    plan = unique(wants)
    outcomes: list[Outcome | None] = [None] * len(plan)
    pending = iter(enumerate(plan))
    started = time.monotonic()
    progress.start(f"{source.word} mirror", items=len(plan))

    async def worker() -> None:
        for index, want in pending:
            outcome = await _one(source, client, want)
            outcomes[index] = outcome
            progress.advance(items=1)

    try:
        async with anyio.create_task_group() as tasks:
            for _ in range(max(1, min(jobs, len(plan)))):
                tasks.start_soon(worker)
    finally:
        progress.finish()
    summary = Summary(format=source.word, seconds=round(time.monotonic() - started, 3))
    for outcome in outcomes:
        assert outcome is not None
        summary.items.append({"label": outcome.label, "state": outcome.state})
        summary.files += outcome.files
        summary.bytes += outcome.nbytes
        if outcome.state == "fetched":
            summary.fetched += 1
        elif outcome.state == "cached":
            summary.cached += 1
        else:
            summary.failed += 1
            summary.failures.append(Failure(outcome.label, outcome.reason))
    return summary


async def _one(source: MirrorSource[Any], client: MirrorClient, want: Want[Any]) -> Outcome:
    """One want's outcome; every error it raises becomes its failure, never the run's."""
    try:
        return await source.fetch(client, want)
    except Failed as exc:
        return Outcome(want.label, "failed", exc.reason)
    except NoraError as exc:
        return Outcome(want.label, "failed", exc.detail or type(exc).__name__)
    except httpx.HTTPError as exc:
        return Outcome(want.label, "failed", f"{type(exc).__name__}: {str(exc)[:160]}")
