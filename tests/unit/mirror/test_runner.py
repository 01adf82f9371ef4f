"""The runner: at most --jobs at once, each failure its own, the summary's counts and order."""

from __future__ import annotations

import anyio
import httpx
import pytest

from domain.errors import InvalidInput
from entrypoints.mirror.client import MirrorClient
from entrypoints.mirror.core import Failed, MirrorSource, Outcome, Want, cached, fetched
from entrypoints.mirror.runner import run_mirror, unique

pytestmark = pytest.mark.anyio


class _Recorder:
    def __init__(self) -> None:
        self.started: list[tuple[str, int | None]] = []
        self.items = 0
        self.finished = 0

    def start(self, phase: str, items: int | None = None, nbytes: int | None = None) -> None:
        self.started.append((phase, items))

    def advance(self, items: int = 0, nbytes: int = 0) -> None:
        self.items += items

    def finish(self) -> None:
        self.finished += 1


def _plan(data: bytes) -> list[Want[str]]:
    return [Want(word, word) for word in data.decode().split()]


def _client() -> MirrorClient:
    return MirrorClient(
        httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(200)))
    )


async def test_at_most_jobs_run_at_once_and_every_want_ends_once() -> None:
    running = [0]
    peak = [0]
    done: list[str] = []

    async def fetch(client: MirrorClient, want: Want[str]) -> Outcome:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await anyio.sleep(0.001)
        running[0] -= 1
        done.append(want.item)
        return fetched(want, files=1, nbytes=10)

    source = MirrorSource("t", "words", "nora mirror t words.txt", _plan, fetch)
    wants = _plan(" ".join(f"w{i}" for i in range(40)).encode())
    progress = _Recorder()
    summary = await run_mirror(source, _client(), wants, jobs=3, progress=progress)
    assert peak[0] == 3
    assert sorted(done) == sorted(w.item for w in wants)
    assert summary.fetched == 40
    assert summary.cached == 0
    assert summary.failed == 0
    assert summary.files == 40
    assert summary.bytes == 400
    assert [item["label"] for item in summary.items] == [w.label for w in wants]
    assert progress.started == [("t mirror", 40)]
    assert progress.items == 40
    assert progress.finished == 1
    assert summary.ok


async def test_failures_are_recorded_and_the_rest_goes_on() -> None:
    async def fetch(client: MirrorClient, want: Want[str]) -> Outcome:
        if want.item == "missing":
            raise Failed("/t/missing: not found (404)")
        if want.item == "broken":
            raise InvalidInput("a document was not valid")
        if want.item == "gone":
            raise httpx.ReadError("connection reset")
        if want.item == "old":
            return cached(want, files=2)
        return fetched(want, files=1)

    source = MirrorSource("t", "words", "nora mirror t words.txt", _plan, fetch)
    wants = _plan(b"a missing old broken b gone a")
    summary = await run_mirror(source, _client(), wants, jobs=2, progress=_Recorder())
    assert (summary.fetched, summary.cached, summary.failed) == (2, 1, 3)
    assert not summary.ok
    reasons = {failure.label: failure.reason for failure in summary.failures}
    assert reasons == {
        "missing": "/t/missing: not found (404)",
        "broken": "a document was not valid",
        "gone": "ReadError: connection reset",
    }
    assert [item["state"] for item in summary.items] == [
        "fetched",
        "failed",
        "cached",
        "failed",
        "fetched",
        "failed",
    ]


async def test_an_empty_plan_is_an_empty_summary() -> None:
    async def fetch(client: MirrorClient, want: Want[str]) -> Outcome:
        raise AssertionError("nothing to fetch")

    source = MirrorSource("t", "words", "nora mirror t words.txt", _plan, fetch)
    summary = await run_mirror(source, _client(), [], jobs=4, progress=_Recorder())
    assert (summary.fetched, summary.cached, summary.failed, summary.items) == (0, 0, 0, [])


def test_repeated_labels_are_fetched_once() -> None:
    wants = [Want("a", 1), Want("b", 2), Want("a", 3)]
    assert [(w.label, w.item) for w in unique(wants)] == [("a", 1), ("b", 2)]
