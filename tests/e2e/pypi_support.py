"""Helpers for the PyPI end-to-end tests: distributions, client commands, pypiserver.

Wheels and sdists are written here per the wheel spec (PEP 427) and the sdist
spec, so each test gets exactly the file it needs (a corrupt one too) in
milliseconds; one test also builds with the real ``python -m build``.
Every client runs with its configuration isolated from the machine's.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import venv
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests import zipmember
from tests.e2e.server import free_port

__all__ = [
    "BIN",
    "ClientVenv",
    "client_env",
    "make_sdist",
    "make_wheel",
    "pypiserver",
    "run",
    "twine_upload",
    "wheel_name",
]

BIN = Path(sys.executable).parent
"""The project venv's bin directory, where .ci/clients/pypi.sh put twine, uv and pypi-server."""


def client_env(home: Path) -> dict[str, str]:
    """An environment that keeps pip, uv and twine away from the machine's configuration."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "TWINE_", "NORA_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(
        {
            "HOME": str(home),
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            "UV_NO_CONFIG": "1",
            "UV_CACHE_DIR": str(home / "uv-cache"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
        }
    )
    home.mkdir(parents=True, exist_ok=True)
    return env


def run(
    args: Sequence[str | Path],
    env: dict[str, str],
    *,
    cwd: Path | None = None,
    timeout: float = 180,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a client; returns the completed process (the caller asserts on it)."""
    return subprocess.run(
        [str(arg) for arg in args],
        env=env,
        cwd=cwd,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _escape(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name)


def wheel_name(name: str, version: str) -> str:
    """The file name of a pure-Python wheel of ``name`` at ``version``."""
    return f"{_escape(name)}-{version}-py3-none-any.whl"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(
    out: Path,
    name: str,
    version: str,
    *,
    requires_python: str | None = None,
    requires: Sequence[str] = (),
    metadata_name: str | None = None,
    metadata_version: str | None = None,
    padding: int = 0,
) -> Path:
    """Write a minimal, valid pure-Python wheel exposing module ``<name>_mod``.

    ``metadata_name``/``metadata_version`` put other values into METADATA than
    the file name carries (for refusal tests); ``padding`` adds an
    incompressible data file of that many bytes.
    """
    module = _escape(name).lower() + "_mod"
    dist_info = f"{_escape(name)}-{version}.dist-info"
    metadata = [
        "Metadata-Version: 2.1",
        f"Name: {metadata_name or name}",
        f"Version: {metadata_version or version}",
        f"Summary: test package {name}",
    ]
    if requires_python:
        metadata.append(f"Requires-Python: {requires_python}")
    metadata.extend(f"Requires-Dist: {req}" for req in requires)
    files: dict[str, bytes] = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist_info}/METADATA": ("\n".join(metadata) + "\n\n").encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: nora-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    if padding:
        files[f"{module}/data.bin"] = os.urandom(padding)
    record = [_record_line(path, data) for path, data in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    path = out / wheel_name(name, version)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(zipmember.member(member), data)
    return path


def make_sdist(out: Path, name: str, version: str) -> Path:
    """Write a minimal sdist (PKG-INFO + pyproject.toml) named per PEP 625."""
    base = f"{_escape(name).lower()}-{version}"
    files = {
        f"{base}/PKG-INFO": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode()
        ),
        f"{base}/pyproject.toml": (
            b'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        ),
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def twine_upload(
    files: Sequence[Path], url: str, env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    """``twine upload`` to ``url`` (the /pypi/ endpoint) with throwaway credentials."""
    return run(
        [
            BIN / "twine",
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            url,
            "-u",
            "ci",
            "-p",
            "secret",
            *extra,
            *files,
        ],
        env,
    )


class ClientVenv:
    """A fresh virtual environment for installing from NORA (pip comes with it)."""

    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path = path
        self.env = env
        if not (path / "bin" / "python").exists():
            venv.EnvBuilder(with_pip=True, symlinks=True).create(path)
        self.python = path / "bin" / "python"

    def pip(self, *args: str | Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """``pip <args> --isolated --no-cache-dir`` inside this venv."""
        command, *rest = args
        return run(
            [self.python, "-m", "pip", "--isolated", command, "--no-cache-dir", *rest],
            self.env,
            timeout=timeout,
        )

    def uv_pip(
        self, *args: str | Path, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``uv pip <args>`` against this venv."""
        env = {**self.env, "VIRTUAL_ENV": str(self.path)}
        return run([BIN / "uv", "pip", *args], env, input_text=input_text)

    def has(self, module: str) -> bool:
        done = run([self.python, "-c", f"import {module}"], self.env)
        return done.returncode == 0

    def module_version(self, module: str) -> str:
        done = run([self.python, "-c", f"import {module}; print({module}.VERSION)"], self.env)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()


@contextmanager
def pypiserver(packages: Path) -> Iterator[str]:
    """A pypiserver on a free loopback port serving ``packages``; yields its /simple URL."""
    port = free_port()
    packages.mkdir(parents=True, exist_ok=True)
    log = (packages.parent / f"pypiserver-{port}.log").open("wb")
    process = subprocess.Popen(
        [
            str(BIN / "pypi-server"),
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-a",
            ".",
            "-P",
            ".",
            "--disable-fallback",
            str(packages),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pypiserver exited with {process.returncode}")
            try:
                if httpx.get(url + "/simple/", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("pypiserver did not start")
            time.sleep(0.1)
        yield url + "/simple"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()


def copy_into(files: Sequence[Path], directory: Path) -> None:
    """Put ``files`` where a pypiserver serves them."""
    directory.mkdir(parents=True, exist_ok=True)
    for file in files:
        shutil.copy2(file, directory / file.name)
