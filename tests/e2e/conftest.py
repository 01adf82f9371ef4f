"""End-to-end fixtures: one real NORA process per test module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.server import NoraProcess


@pytest.fixture(scope="module")
def nora(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NoraProcess]:
    """A running server with default settings, shared by the tests of one module."""
    with NoraProcess(tmp_path_factory.mktemp("nora") / "data") as server:
        yield server


@pytest.fixture
def start_nora(tmp_path: Path) -> Iterator[Callable[..., NoraProcess]]:
    """Start extra servers with their own settings; all are stopped afterwards."""
    started: list[NoraProcess] = []

    def start(env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> NoraProcess:
        server = NoraProcess(tmp_path / f"data{len(started)}", env=env, args=args)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
