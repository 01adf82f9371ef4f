"""granian's I/O threads per worker: two by default where there are cores for them."""

from __future__ import annotations

import os

import pytest

from entrypoints.config import Settings


def test_an_explicit_number_wins() -> None:
    assert Settings(server_threads=3).runtime_threads == 3


def test_auto_is_two_on_two_cores_and_one_on_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert Settings().runtime_threads == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert Settings().runtime_threads == 1
