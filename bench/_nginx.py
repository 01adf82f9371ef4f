"""nginx as the static-file peer of the benchmarks: one foreground process on a free port.

Import it from a script in this directory (``from _nginx import Nginx``). It serves
``root`` with sendfile on and no access log; ``root/health`` is written so start-up
can be awaited. ``server_extra`` and ``http_extra`` add configuration lines (the
Maven benchmark adds a WebDAV location). Run by hand, never in tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from _common import HOST, free_port, http_status

__all__ = ["Nginx"]


class Nginx:
    """nginx serving ``root`` on 127.0.0.1; use as a context manager."""

    def __init__(
        self, work: Path, root: Path, *, http_extra: str = "", server_extra: str = ""
    ) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "health").write_text("ok\n")
        temp = "\n".join(
            f"  {name}_temp_path {work / name};"
            for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the root
        config = work / "nginx.conf"
        config.write_text(
            f"daemon off;\n{user}worker_processes auto;\n"
            f"pid {work / 'nginx.pid'};\nerror_log {work / 'error.log'};\n"
            "events { worker_connections 1024; }\n"
            "http {\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 100000;\n"
            "  default_type application/octet-stream;\n  access_log off;\n"
            f"{http_extra}{temp}\n  server {{\n    listen {HOST}:{self.port};\n"
            f"    root {root};\n{server_extra}  }}\n}}\n"
        )
        self.argv = [binary, "-e", str(work / "error.log"), "-c", str(config)]
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Nginx:
        self.process = subprocess.Popen(
            self.argv,
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while http_status(self.port, "/health") != 200:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.__exit__()
                raise RuntimeError("nginx did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
