"""A small TCP load balancer: round-robin per connection, routing around dead backends.

Each accepted connection goes to the next backend in turn. A backend whose connect
fails (refused, or no answer within ``connect_timeout``) is skipped and rested for a
moment, so a killed replica is routed around and picked up again once it listens.
The balancer holds at most ``max_connections`` client connections; more are closed
at once. It binds 127.0.0.1 unless told otherwise.

In a program or a test::

    with Balancer([("127.0.0.1", 4001), ("127.0.0.1", 4002)]).running() as lb:
        httpx.get(lb.url + "/health")

From a shell::

    python -m scripts.balancer --listen 127.0.0.1:4000 127.0.0.1:4001 127.0.0.1:4002
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence

__all__ = ["Balancer", "main", "parse_address"]

_CHUNK = 64 * 1024
_REST_SECONDS = 1.0  # a backend that failed a connect is tried last for this long


def parse_address(text: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) as a pair; raises ValueError on anything else."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not host:port")
    return host.strip("[]"), int(port)


class Balancer:
    """Round-robin TCP proxy over ``backends``; start it in a thread or run it in asyncio."""

    def __init__(
        self,
        backends: Sequence[tuple[str, int]],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_connections: int = 512,
        connect_timeout: float = 2.0,
    ) -> None:
        if not backends:
            raise ValueError("at least one backend is needed")
        self.backends = list(backends)
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.active = 0
        self.served: dict[tuple[str, int], int] = {}
        """Connections handed to each backend so far (tests look at the spread)."""
        self._next = 0
        self._rested: dict[tuple[str, int], float] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- asyncio --------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and start accepting; ``port`` holds the bound port afterwards."""
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, reuse_address=True, backlog=256
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop accepting and drop every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def serve_forever(self) -> None:
        await self.start()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        finally:
            await self.close()

    def _order(self) -> list[tuple[str, int]]:
        """Backends starting at the next in turn; rested ones moved to the end."""
        start = self._next % len(self.backends)
        self._next += 1
        turn = self.backends[start:] + self.backends[:start]
        now = time.monotonic()
        fresh = [b for b in turn if self._rested.get(b, 0.0) <= now]
        return fresh + [b for b in turn if b not in fresh]

    async def _connect(
        self,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for backend in self._order():
            try:
                streams = await asyncio.wait_for(
                    asyncio.open_connection(*backend), timeout=self.connect_timeout
                )
            except (OSError, TimeoutError):
                self._rested[backend] = time.monotonic() + _REST_SECONDS
                continue
            self._rested.pop(backend, None)
            self.served[backend] = self.served.get(backend, 0) + 1
            return streams
        return None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if self.active >= self.max_connections or task is None:
            writer.close()
            return
        self.active += 1
        self._tasks.add(task)
        try:
            upstream = await self._connect()
            if upstream is None:  # every backend is down
                return
            up_reader, up_writer = upstream
            try:
                await self._pipe_both(reader, writer, up_reader, up_writer)
            finally:
                up_writer.close()
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()
            self.active -= 1
            self._tasks.discard(task)

    async def _pipe_both(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        """Copy both ways; an orderly end is passed on, a reset on either side ends both."""
        to_backend = asyncio.create_task(_copy(reader, up_writer))
        to_client = asyncio.create_task(_copy(up_reader, writer))
        pending: set[asyncio.Task[bool]] = {to_backend, to_client}
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if any(not t.result() for t in done) or to_client in done:
                    # a reset, or the backend finished answering: nothing more will flow
                    break
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    # --- a thread of its own ----------------------------------------------------------

    def start_in_thread(self, timeout: float = 10.0) -> Balancer:
        """Run the balancer on its own event loop in a daemon thread; returns once bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.close())
                loop.close()

        self._thread = threading.Thread(target=run, name="balancer", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the balancer did not start")
        if failure:
            raise failure[0]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop a balancer started with :meth:`start_in_thread`."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._thread = None

    @contextlib.contextmanager
    def running(self) -> Iterator[Balancer]:
        self.start_in_thread()
        try:
            yield self
        finally:
            self.stop()


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> bool:
    """Copy until end of stream (True, and half-close the sink) or a broken side (False)."""
    try:
        while True:
            data = await source.read(_CHUNK)
            if not data:
                if sink.can_write_eof():
                    sink.write_eof()
                return True
            sink.write(data)
            await sink.drain()
    except (OSError, RuntimeError):
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.balancer",
        description="Round-robin TCP balancer that routes around backends that refuse.",
    )
    parser.add_argument("--listen", default="127.0.0.1:4000", help="host:port to bind")
    parser.add_argument("--max-connections", type=int, default=512)
    parser.add_argument("--connect-timeout", type=float, default=2.0, help="seconds")
    parser.add_argument("backends", nargs="+", help="host:port of each backend")
    args = parser.parse_args(argv)
    try:
        host, port = parse_address(args.listen)
        backends = [parse_address(b) for b in args.backends]
    except ValueError as exc:
        parser.error(str(exc))
    balancer = Balancer(
        backends,
        host=host,
        port=port,
        max_connections=args.max_connections,
        connect_timeout=args.connect_timeout,
    )

    async def run() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, task.cancel)
        await balancer.start()
        print(f"balancing {balancer.url} over {', '.join(args.backends)}", flush=True)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        await balancer.close()

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
