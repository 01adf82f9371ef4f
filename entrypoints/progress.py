"""How long CLI work shows its progress: a rich bar on a terminal, plain lines otherwise.

Implements ``domain.backup.Progress``. On a terminal: counts, bytes, rate and
ETA, redrawn in place. Piped (a CI log, a file): one line at most every
``interval`` seconds and one when a phase ends, so logs stay short.
``--json`` callers take :class:`Silent`, keeping stdout for the summary.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

__all__ = ["PlainProgress", "Silent", "TerminalProgress", "human_bytes", "make_progress"]


def human_bytes(size: float) -> str:
    """``1.5 MiB`` style."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


class Silent:
    """Shows nothing."""

    def start(self, phase: str, items: int | None = None, nbytes: int | None = None) -> None:
        pass

    def advance(self, items: int = 0, nbytes: int = 0) -> None:
        pass

    def finish(self) -> None:
        pass


class PlainProgress:
    """Periodic plain lines: ``blobs: 12/40, 3.0 MiB/9.1 MiB, 1.2 MiB/s, ETA 5s``."""

    def __init__(self, stream: TextIO, interval: float = 5.0) -> None:
        self.stream = stream
        self.interval = interval
        self._phase = ""
        self._active = False

    def start(self, phase: str, items: int | None = None, nbytes: int | None = None) -> None:
        self._phase, self._items, self._bytes = phase, items, nbytes
        self._done_items = self._done_bytes = 0
        self._started = self._last = time.monotonic()
        self._active = True

    def advance(self, items: int = 0, nbytes: int = 0) -> None:
        self._done_items += items
        self._done_bytes += nbytes
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._line(now)

    def finish(self) -> None:
        if self._active:
            self._active = False
            self._line(time.monotonic(), final=True)

    def _line(self, now: float, *, final: bool = False) -> None:
        elapsed = max(now - self._started, 1e-6)
        rate = self._done_bytes / elapsed
        count = f"{self._done_items}" + (f"/{self._items}" if self._items is not None else "")
        size = human_bytes(self._done_bytes) + (
            f"/{human_bytes(self._bytes)}" if self._bytes is not None else ""
        )
        text = f"{self._phase}: {count}, {size}, {human_bytes(rate)}/s"
        if final:
            text += f", done in {elapsed:.1f}s"
        elif self._bytes and rate > 0:
            text += f", ETA {max(self._bytes - self._done_bytes, 0) / rate:.0f}s"
        print(text, file=self.stream, flush=True)


class TerminalProgress:
    """A rich progress bar per phase (imported only when a terminal asks for it)."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console

        self.console = Console(file=stream)
        self._bar: Any = None
        self._task: Any = None
        self._items: int | None = None
        self._done = 0

    def start(self, phase: str, items: int | None = None, nbytes: int | None = None) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.finish()
        self._items, self._done = items, 0
        self._bar = Progress(
            TextColumn("{task.description}"),
            TextColumn("{task.fields[count]}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            refresh_per_second=4,
        )
        self._bar.start()
        self._task = self._bar.add_task(phase, total=nbytes, count=self._count())

    def _count(self) -> str:
        return f"{self._done}" + (f"/{self._items}" if self._items is not None else "")

    def advance(self, items: int = 0, nbytes: int = 0) -> None:
        if self._bar is None:
            return
        self._done += items
        self._bar.update(self._task, advance=nbytes, count=self._count())

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def make_progress(
    *, json: bool, stream: TextIO | None = None
) -> Silent | PlainProgress | TerminalProgress:
    """The display that suits where stdout goes."""
    out = stream or sys.stdout
    if json:
        return Silent()
    if out.isatty():
        return TerminalProgress(out)
    return PlainProgress(out)
