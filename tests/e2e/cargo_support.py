"""The real cargo client for the end-to-end tests, with its own CARGO_HOME per client.

Every client writes ``$CARGO_HOME/config.toml`` naming the registry ``local``
(sparse, on 127.0.0.1), makes it the default and replaces the public source
with it, so cargo never reaches a public registry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["CARGO", "CargoClient", "write_crate"]

CARGO = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
_TIMEOUT = 240


class CargoClient:
    """cargo pointed at one NORA with an isolated CARGO_HOME (and a shared target dir)."""

    def __init__(
        self, home: Path, base_url: str, *, token: str | None = None, target: Path | None = None
    ) -> None:
        self.home = home
        self.index = f"{base_url.rstrip('/')}/cargo/index/"
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.toml").write_text(
            "[registries.local]\n"
            f'index = "sparse+{self.index}"\n'
            "[registry]\n"
            'default = "local"\n'
            'global-credential-providers = ["cargo:token"]\n'
            "[source.crates-io]\n"
            'replace-with = "local"\n'
            "[net]\n"
            "retry = 0\n"
            "[term]\n"
            'color = "never"\n'
            "[cargo-new]\n"
            'vcs = "none"\n'
        )
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CARGO_")}
        self.env["CARGO_HOME"] = str(home)
        self.env["RUSTUP_HOME"] = os.environ.get("RUSTUP_HOME", str(Path.home() / ".rustup"))
        self.env["CARGO_TARGET_DIR"] = str(target or home / "target")
        self.env["CARGO_INCREMENTAL"] = "0"
        if token is not None:
            self.env["CARGO_REGISTRIES_LOCAL_TOKEN"] = token

    def run(
        self, *args: str, cwd: Path | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``cargo <args>``; never raises on a failing exit status."""
        return subprocess.run(
            [CARGO, *args],
            cwd=cwd,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )

    def ok(self, *args: str, cwd: Path | None = None) -> str:
        """``cargo <args>`` that must succeed; its stdout + stderr."""
        done = self.run(*args, cwd=cwd)
        out = done.stdout + done.stderr
        assert done.returncode == 0, f"cargo {' '.join(args)} failed:\n{out}"
        return out

    def publish(self, crate: Path) -> str:
        return self.ok("publish", "--registry", "local", "--allow-dirty", "--no-verify", cwd=crate)


def write_crate(
    root: Path,
    name: str,
    version: str,
    *,
    body: str = "",
    lib: str | None = None,
    main: str | None = None,
    build: str | None = None,
) -> Path:
    """A crate directory ``root/<name>-<version>`` with ``Cargo.toml`` and its sources."""
    crate = root / f"{name}-{version}"
    (crate / "src").mkdir(parents=True, exist_ok=True)
    (crate / "Cargo.toml").write_text(
        "[package]\n"
        f'name = "{name}"\n'
        f'version = "{version}"\n'
        'edition = "2021"\n'
        'license = "MIT"\n'
        f'description = "the {name} crate"\n' + body
    )
    if main is not None:
        (crate / "src" / "main.rs").write_text(main)
    if lib is not None or main is None:
        (crate / "src" / "lib.rs").write_text(lib or "")
    if build is not None:
        (crate / "build.rs").write_text(build)
    return crate
