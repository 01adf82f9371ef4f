"""Slow, silent and oversized clients against the real server, under uvicorn and granian.

Hundreds of connections that send nothing, half a request head or half a body must not
stop /health from answering; the server closes the silent and half-head ones within the
header timeout, refuses oversized heads with 431/414 or by closing, holds no more than
its connection cap, raises a low open-file limit at start, and never lets a loopback
client choose its own address with X-Forwarded-For.
"""

from __future__ import annotations

import contextlib
import resource
import selectors
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from entrypoints.server import connection_cap
from tests.e2e.auth_support import auth_env, basic
from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e

SERVERS = ["uvicorn", "granian"]
HEADER_TIMEOUT = 6.0
"""Long enough that five health checks fit inside it on a loaded two-core machine."""
KEEPALIVE_TIMEOUT = 1
SLACK = 4.0
"""Scheduling slack on top of a timeout: generous, the test asserts behaviour, not speed."""
LOW_SOFT_LIMIT = 256
"""The soft open-file limit the server is started with; it must raise it itself."""
HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
HALF_BODY = (
    b"POST /v2/slow/app/blobs/uploads/?digest=sha256:" + b"0" * 64 + b" HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Length: 1048576\r\n\r\n" + b"x" * 100
)


def limits_env(kind: str, **extra: str) -> dict[str, str]:
    return {
        "NORA_SERVER": kind,
        "NORA_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "NORA_KEEPALIVE_TIMEOUT": str(KEEPALIVE_TIMEOUT),
        "NORA_LOG_LEVEL": "warning",
        **extra,
    }


@contextlib.contextmanager
def soft_open_files(limit: int) -> Iterator[None]:
    """Lower this process's soft limit for a moment, so a child started now inherits it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(limit, soft), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def room_for(connections: int) -> int:
    """Raise this process's soft limit to hold ``connections`` sockets; how many fit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = connections + 128
    if soft != resource.RLIM_INFINITY and soft < want:
        soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return connections if soft == resource.RLIM_INFINITY else min(connections, soft - 128)


def soft_limit_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            value = line.split()[3]
            return resource.RLIM_INFINITY if value == "unlimited" else int(value)
    raise AssertionError("no open-file limit in /proc")


def open_files(pid: int) -> int:
    """Descriptors held by the server and its workers."""
    root = psutil.Process(pid)
    return sum(proc.num_fds() for proc in [root, *root.children(recursive=True)])


def connect(server: NoraProcess, first: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    if first:
        sock.sendall(first)
    return sock


def health(server: NoraProcess) -> int:
    """/health on a fresh connection."""
    with httpx.Client(timeout=5) as client:
        return client.get(server.url + "/health").status_code


def wait_closed(socks: list[socket.socket], timeout: float) -> list[socket.socket]:
    """Wait until the server closed each socket (EOF or reset); those still open."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    pending = set(socks)
    deadline = time.monotonic() + timeout
    while pending and (left := deadline - time.monotonic()) > 0:
        for key, _ in selector.select(timeout=left):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:  # a response (e.g. the keep-alive one's) is read and ignored
                selector.unregister(sock)
                pending.discard(sock)
    selector.close()
    return list(pending)


def read_reply(sock: socket.socket) -> bytes:
    """What the server sent before closing, b"" when it only closed or reset."""
    sock.settimeout(HEADER_TIMEOUT + SLACK)
    got = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            got += chunk
    return got


def read_some(sock: socket.socket) -> bytes:
    sock.settimeout(5)
    return sock.recv(65536)


def send_head(server: NoraProcess, head: bytes) -> bytes:
    """Send a whole head (the server may close mid-way) and return its reply."""
    with connect(server) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(head)
        return read_reply(sock)


@pytest.mark.parametrize("kind", SERVERS)
def test_slow_clients_are_closed_and_health_keeps_answering(
    start_nora: Callable[..., NoraProcess], kind: str
) -> None:
    with soft_open_files(LOW_SOFT_LIMIT):
        server = start_nora(env=limits_env(kind))
    assert server.process is not None
    server_soft = soft_limit_of(server.process.pid)
    assert server_soft > LOW_SOFT_LIMIT
    # with the inherited limit it could hold 16 connections; now far more
    capacity = min(connection_cap(2048, server_soft), room_for(400))
    per_kind = min(150, (capacity - 20) // 2)
    assert per_kind >= 50

    silent = [connect(server) for _ in range(per_kind)]
    half_head = [connect(server, HEAD + b"X-Slow: trick") for _ in range(per_kind)]
    half_body = [connect(server, HALF_BODY) for _ in range(5)]
    kept_alive = connect(server, HEAD + b"\r\n")
    assert read_some(kept_alive).startswith(b"HTTP/1.1 200")
    second_half = connect(server, HEAD + b"\r\n")
    assert read_some(second_half).startswith(b"HTTP/1.1 200")
    second_half.sendall(HEAD[:20])  # the next request on a kept-alive connection stalls
    held_since = time.monotonic()

    statuses = [health(server) for _ in range(5)]
    assert statuses == [200] * 5
    # the connections were still held while health answered
    assert time.monotonic() - held_since < HEADER_TIMEOUT, "health was slow to answer"

    watched = [*silent, *half_head, kept_alive, second_half]
    still_open = wait_closed(watched, HEADER_TIMEOUT + SLACK)
    assert not still_open, f"{len(still_open)} of {len(watched)} connections were left open"
    assert health(server) == 200
    for sock in [*watched, *half_body]:
        sock.close()
    assert health(server) == 200


@pytest.mark.parametrize("kind", SERVERS)
def test_oversized_heads_are_refused(start_nora: Callable[..., NoraProcess], kind: str) -> None:
    server = start_nora(env=limits_env(kind, NORA_MAX_HEADER_KB="64"))

    big_header = HEAD + b"X-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
    reply = send_head(server, big_header)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 431"), reply[:80]

    many_headers = HEAD + b"".join(b"X-N%d: v\r\n" % i for i in range(150)) + b"\r\n"
    assert send_head(server, many_headers).startswith(b"HTTP/1.1 431")

    long_line = b"GET /health?" + b"q" * (100 * 1024) + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    reply = send_head(server, long_line)
    assert reply == b"" or reply.split(b" ")[1] in (b"414", b"431"), reply[:80]

    # a head just under the limit is served
    near_limit = HEAD + b"X-Fat: " + b"a" * (60 * 1024) + b"\r\nConnection: close\r\n\r\n"
    assert send_head(server, near_limit).startswith(b"HTTP/1.1 200")
    assert health(server) == 200


@pytest.mark.parametrize("kind", SERVERS)
def test_connection_cap_bounds_open_files(
    start_nora: Callable[..., NoraProcess], kind: str
) -> None:
    server = start_nora(env=limits_env(kind, NORA_MAX_CONNECTIONS="16"))
    assert server.process is not None
    room_for(100)
    before = open_files(server.process.pid)
    # two caps' worth: uvicorn answers 503 and closes past the cap at once, granian
    # leaves the excess in the listen backlog; neither holds a descriptor for them
    held = [connect(server, HEAD + b"X-Slow: trick") for _ in range(32)]
    time.sleep(0.5)
    assert open_files(server.process.pid) < before + 16 + 8
    still_open = wait_closed(held, 2 * HEADER_TIMEOUT + SLACK)
    assert not still_open, f"{len(still_open)} of {len(held)} connections were left open"
    for sock in held:
        sock.close()
    assert health(server) == 200


@pytest.mark.parametrize("kind", SERVERS)
def test_forwarded_for_from_loopback_is_not_believed(
    start_nora: Callable[..., NoraProcess], tmp_path: Path, kind: str
) -> None:
    env = auth_env(tmp_path, NORA_AUTH_LOGIN_RATE="3/minute", NORA_AUTH_TRUSTED_PROXIES="")
    server = start_nora(env={**env, "NORA_SERVER": kind})
    bad = basic("bob", "guess")
    statuses = [
        httpx.get(
            server.url + "/npm/x", headers={**bad, "X-Forwarded-For": f"203.0.113.{i}"}
        ).status_code
        for i in range(1, 5)
    ]
    assert statuses == [401, 401, 401, 429]


def _response_head(sock: socket.socket) -> bytes:
    """The head of the next response; its body (by Content-Length) is read and dropped."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.lower().split(b"\r\n")
            if line.startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n"


@pytest.mark.parametrize("kind", SERVERS)
def test_a_body_refused_before_it_is_read(
    start_nora: Callable[..., NoraProcess], kind: str
) -> None:
    """A 413 on the Content-Length alone: uvicorn reads and drops the rest of the body and
    keeps the connection; granian drops the connection, so its answer says so."""
    server = start_nora(env=limits_env(kind))
    url = httpx.URL(server.url)
    size = 8 * 1024 * 1024
    put = (
        b"PUT /maven2/com/acme/big/1.0/big-1.0.jar.sha1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Length: %d\r\n\r\n" % size
    )
    with socket.create_connection((url.host, url.port), timeout=30) as sock:
        if kind == "uvicorn":
            sock.sendall(put + b"a" * size)  # every byte is accepted: no reset
        else:
            sock.sendall(put + b"a" * 65536)
        head = _response_head(sock).lower()
        assert head.startswith(b"http/1.1 413"), head[:80]
        if kind == "uvicorn":
            assert b"connection: close" not in head
            sock.sendall(HEAD + b"\r\n")
            assert _response_head(sock).startswith(b"HTTP/1.1 200")
        else:
            assert b"connection: close" in head
    assert health(server) == 200
