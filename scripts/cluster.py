"""A local NORA cluster: PostgreSQL, S3 (moto), Redis, N ``nora serve`` replicas, a balancer.

``make serve-cluster`` runs :func:`main`: everything on 127.0.0.1, the balancer on
port 4000 and the replicas on 4001, 4002, ...; Ctrl-C or SIGTERM stops it all.
The end-to-end tests use :class:`Cluster` the same way on free ports.

Two storage layouts:

- ``s3``: blobs in a moto bucket, metadata in PostgreSQL (the production layout).
- ``shared``: every replica on one data directory (filesystem blobs, SQLite in WAL
  mode), the layout several workers of one host already share.

``auto`` picks ``s3`` when the S3 and PostgreSQL adapters are there. Redis holds
the rate-limit counters in both. ``NORA_*`` variables in the caller's environment
reach every replica (``NORA_AUTH_ENABLED=true make serve-cluster``); the cluster
sets the ones that describe the layout.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Literal

from scripts.balancer import Balancer

__all__ = ["Cluster", "Replica", "main", "resolve_backend"]

Backend = Literal["s3", "shared"]
BUCKET = "nora-cluster"
_READY_SECONDS = 60.0


def resolve_backend(choice: str) -> Backend:
    """``s3`` or ``shared``; ``auto`` is ``s3`` when its adapters exist."""
    if choice in ("s3", "shared"):
        return choice  # type: ignore[return-value]
    if choice != "auto":
        raise ValueError(f"backend must be auto, s3 or shared, not {choice!r}")
    wanted = ("adapters.blobstore.s3", "adapters.metadata.postgres")
    return "s3" if all(_has(module) for module in wanted) else "shared"


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _free_port() -> int:
    from tests.e2e.server import free_port

    return free_port()


def _nora() -> list[str]:
    script = shutil.which("nora", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "entrypoints.cli"]


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class Replica:
    """One ``nora serve`` process on a fixed port; it can be killed and started again."""

    def __init__(self, name: str, port: int, env: Mapping[str, str], log_path: Path) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**env, "NORA_HOST": "127.0.0.1", "NORA_PORT": str(port)}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        """Start the process (not waiting for it: see :meth:`wait_ready`)."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*_nora(), "serve"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, deadline: float) -> None:
        """Wait until GET /ready answers 200; raise with the log's tail at ``deadline``."""
        while True:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise RuntimeError(f"replica {self.name} exited ({code}):\n{self.log_tail()}")
            try:
                if _get(self.url + "/ready", timeout=1.0) == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"replica {self.name} was not ready in time:\n{self.log_tail()}")
            time.sleep(0.05)

    def start(self, timeout: float = _READY_SECONDS) -> Replica:
        self.launch()
        self.wait_ready(time.monotonic() + timeout)
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, no cleanup, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the process group; SIGKILL what is left after ``timeout``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError):  # workers the parent left behind
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class Cluster:
    """Backing services, ``replicas`` NORA processes over them, and a balancer in front.

    ``port`` 0 puts the balancer and the replicas on free ports; otherwise the
    replicas take the ports after the balancer's. ``env`` is added to every
    replica's environment (access control, limits). Use it as a context manager.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        replicas: int = 2,
        port: int = 0,
        backend: str = "auto",
        env: Mapping[str, str] | None = None,
    ) -> None:
        if replicas < 1:
            raise ValueError("at least one replica is needed")
        self.workdir = workdir
        self.count = replicas
        self.port = port
        self.backend: Backend = resolve_backend(backend)
        self.extra_env = dict(env or {})
        self.replicas: list[Replica] = []
        self.balancer: Balancer | None = None
        self.services: dict[str, str] = {}
        self.started_in = 0.0
        self._stack = contextlib.ExitStack()

    @property
    def url(self) -> str:
        """The balancer's URL (every replica's NORA_PUBLIC_URL)."""
        assert self.balancer is not None, "the cluster is not running"
        return self.balancer.url

    def _services(self) -> dict[str, str]:
        """Start Redis (and S3 + PostgreSQL for ``s3``); returns the replicas' settings."""
        from tests.redis_server import redis_server

        redis_dir = self.workdir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        redis_url = self._stack.enter_context(redis_server(redis_dir))
        self.services["Redis"] = redis_url
        settings = {"NORA_AUTH_RATE_LIMIT_STORAGE": redis_url}
        if self.backend == "shared":
            data = self.workdir / "data"
            self.services["data directory"] = str(data)
            settings["NORA_STORAGE_PATH"] = str(data)
            return settings
        from tests.moto_server import ACCESS_KEY, REGION, SECRET_KEY, create_bucket, moto_server
        from tests.postgres_server import postgres_server

        database = self._stack.enter_context(postgres_server())
        self.services["PostgreSQL"] = database
        endpoint = self._stack.enter_context(moto_server())
        create_bucket(endpoint, BUCKET)
        self.services["S3 (moto)"] = f"{endpoint}  bucket {BUCKET}"
        settings.update(
            {
                "NORA_METADATA_URL": database,
                "NORA_STORAGE_MODE": "s3",
                "NORA_S3_ENDPOINT": endpoint,
                "NORA_S3_BUCKET": BUCKET,
                "NORA_S3_REGION": REGION,
                "NORA_S3_ACCESS_KEY": ACCESS_KEY,
                "NORA_S3_SECRET_KEY": SECRET_KEY,
                "NORA_S3_PATH_STYLE": "true",
            }
        )
        return settings

    def start(self, timeout: float = _READY_SECONDS) -> Cluster:
        began = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            layout = self._services()
            lb_port = self.port or _free_port()
            ports = (
                [lb_port + 1 + i for i in range(self.count)]
                if self.port
                else [_free_port() for _ in range(self.count)]
            )
            base = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
            caller = {k: v for k, v in os.environ.items() if k.startswith("NORA_")}
            for index, port in enumerate(ports):
                name = chr(ord("a") + index)
                storage = layout.get("NORA_STORAGE_PATH", str(self.workdir / f"data-{name}"))
                env = {
                    **base,
                    **caller,
                    **self.extra_env,
                    **layout,
                    "NORA_STORAGE_PATH": storage,
                    "NORA_PUBLIC_URL": f"http://127.0.0.1:{lb_port}",
                }
                self.replicas.append(Replica(name, port, env, self.workdir / f"replica-{name}.log"))
            self._stack.callback(self._stop_replicas)
            for replica in self.replicas:  # together: migrations run under a lock
                replica.launch()
            deadline = time.monotonic() + timeout
            for replica in self.replicas:
                replica.wait_ready(deadline)
            self.balancer = Balancer(
                [("127.0.0.1", r.port) for r in self.replicas], port=lb_port
            ).start_in_thread()
            self._stack.callback(self.balancer.stop)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def _stop_replicas(self) -> None:
        for replica in self.replicas:
            with contextlib.suppress(Exception):
                replica.stop()

    def stop(self) -> None:
        """Stop the balancer, the replicas and the services, in that order."""
        self._stack.close()

    def replica(self, name: str) -> Replica:
        return next(r for r in self.replicas if r.name == name)

    def describe(self) -> list[str]:
        """A few lines saying what runs where."""
        shared = self.backend == "shared"
        layout = "one shared data directory + Redis" if shared else "S3 + PostgreSQL + Redis"
        lines = [
            f"NORA cluster ready in {self.started_in:.1f} s ({layout})",
            f"  balancer       {self.url}   <- point clients here (NORA_PUBLIC_URL)",
        ]
        lines += [f"  replica {r.name}      {r.url}   log {r.log_path}" for r in self.replicas]
        lines += [f"  {name:<14} {where}" for name, where in self.services.items()]
        return lines

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so every ``finally`` runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.cluster",
        description="Run NORA replicas over PostgreSQL, S3 (moto) and Redis behind a balancer.",
    )
    parser.add_argument("--port", type=int, default=4000, help="balancer port (0: any free)")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--backend", default="auto", choices=("auto", "s3", "shared"))
    parser.add_argument("--workdir", help="logs and data (default: a temporary directory)")
    args = parser.parse_args(argv)
    temporary = args.workdir is None
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="nora-cluster-"))
    cluster = Cluster(workdir, replicas=args.replicas, port=args.port, backend=args.backend)
    with _terminate_as_interrupt():
        try:
            cluster.start()
            print("\n".join(cluster.describe()), flush=True)
            print("Ctrl-C stops everything.", flush=True)
            while True:
                time.sleep(1.0)
                for replica in cluster.replicas:
                    if replica.process is not None and replica.process.poll() is not None:
                        code = replica.process.returncode
                        print(f"replica {replica.name} exited ({code})", flush=True)
                        replica.process = None
        except KeyboardInterrupt:
            print("\nstopping ...", flush=True)
        except RuntimeError as exc:
            print(f"cluster failed to start: {exc}", file=sys.stderr, flush=True)
            return 1
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut
                signal.signal(signum, signal.SIG_IGN)  # the clean-up short
            cluster.stop()
            if temporary:
                shutil.rmtree(workdir, ignore_errors=True)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
