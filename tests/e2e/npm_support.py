"""Real npm-side clients for the end-to-end tests: npm, pnpm, yarn and a verdaccio peer.

Every client runs with its own userconfig and cache under the test's tmp dir,
so the machine's global npm configuration never leaks in. pnpm, yarn and
verdaccio come from ``.ci/clients/npm.sh`` (installed into .ci/clients/.npm-tools/).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.server import free_port

__all__ = ["TOOLS", "NpmClient", "Verdaccio", "make_package"]

TOOLS = (
    Path(__file__).resolve().parents[2] / ".ci" / "clients" / ".npm-tools" / "node_modules" / ".bin"
)
_TIMEOUT = 180


class NpmClient:
    """npm (and pnpm/yarn) pointed at one registry URL with an isolated config."""

    def __init__(self, registry: str, home: Path, token: str = "dummy-token") -> None:
        self.registry = registry.rstrip("/") + "/"
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        host_path = self.registry.split("://", 1)[1]
        self.npmrc = home / "npmrc"
        self.npmrc.write_text(
            f"registry={self.registry}\n"
            f"//{host_path}:_authToken={token}\n"
            "fund=false\nupdate-notifier=false\nloglevel=warn\n"
        )
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.lower().startswith(("npm_config_", "yarn_", "pnpm_"))
        }
        self.env.update(
            {
                "HOME": str(home),
                "NPM_CONFIG_USERCONFIG": str(self.npmrc),
                "NPM_CONFIG_GLOBALCONFIG": str(home / "globalnpmrc"),
                "NPM_CONFIG_CACHE": str(home / "npm-cache"),
                "NPM_CONFIG_AUDIT": "false",
                "YARN_CACHE_FOLDER": str(home / "yarn-cache"),
                "XDG_DATA_HOME": str(home / "xdg-data"),
                "XDG_CACHE_HOME": str(home / "xdg-cache"),
                "XDG_CONFIG_HOME": str(home / "xdg-config"),
                "XDG_STATE_HOME": str(home / "xdg-state"),
                "COREPACK_ENABLE_STRICT": "0",
                "CI": "true",
            }
        )

    def run(
        self, *args: str, cwd: Path | None = None, tool: str = "npm", check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``tool args...``; with ``check`` a failure shows the client's output."""
        executable = tool if tool == "npm" else str(TOOLS / tool)
        result = subprocess.run(
            [executable, *args],
            cwd=cwd or self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{tool} {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def json(self, *args: str, cwd: Path | None = None) -> Any:
        """Run an npm command with ``--json`` and decode its output."""
        return json.loads(self.run(*args, "--json", cwd=cwd).stdout)


def make_package(
    root: Path, name: str, version: str, *, body: str | None = None, **fields: Any
) -> Path:
    """A publishable package directory with package.json, index.js and a README."""
    folder = root / f"{name.replace('/', '__')}-{version}"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"name": name, "version": version, "main": "index.js", "license": "MIT", **fields}
    (folder / "package.json").write_text(json.dumps(manifest, indent=2))
    (folder / "index.js").write_text(
        body or f"module.exports = {json.dumps(name + '@' + version)};\n"
    )
    (folder / "README.md").write_text(f"# {name}\n")
    return folder


class Verdaccio:
    """A verdaccio on a free loopback port with anonymous publish, as a peer or upstream."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> Verdaccio:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yaml"
        config.write_text(
            f"storage: {self.root / 'storage'}\n"
            f"listen: 127.0.0.1:{self.port}\n"
            f"auth:\n  htpasswd:\n    file: {self.root / 'htpasswd'}\n"
            "uplinks: {}\n"
            "packages:\n  '**':\n    access: $all\n    publish: $all\n    unpublish: $all\n"
            "server:\n  keepAliveTimeout: 60\n"
            "log: { type: stdout, format: pretty, level: error }\n"
        )
        log = (self.root / "verdaccio.log").open("ab")
        self.process = subprocess.Popen(
            [str(TOOLS / "verdaccio"), "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.root,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"verdaccio exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + "/-/ping", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("verdaccio did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def __enter__(self) -> Verdaccio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
