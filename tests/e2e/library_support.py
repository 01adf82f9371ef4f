"""The library beside a running server: open the server's own data directory in the test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import anyio

from nora import Nora, Settings, open_registry

__all__ = ["with_library"]

T = TypeVar("T")


def with_library(data_dir: Path, work: Callable[[Nora], Awaitable[T]]) -> T:
    """Run ``work`` on a registry opened in this process over ``data_dir`` (a running
    server's, so what one writes the other serves), bounded to a minute."""

    async def main() -> T:
        with anyio.fail_after(60):
            async with open_registry(Settings(storage_path=str(data_dir))) as nora:
                return await work(nora)

    return anyio.run(main)
