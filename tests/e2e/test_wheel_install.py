"""The wheel is the product: built from the checkout, installed into a fresh virtual
environment, ``nora serve`` runs from it with the dashboard's and Swagger UI's files inside,
and every library example of the docs and the README runs against it as a user's program."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment holding only the wheel and its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    source = work / "source"  # a copy: building leaves build/ and egg-info behind
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    for package in ("nora", "domain", "adapters", "entrypoints"):
        shutil.copytree(
            REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    pip = [sys.executable, "-m", "pip"]
    _run([*pip, "wheel", "--no-deps", "-q", "-w", str(dist), str(source)], work)
    [wheel] = dist.glob("nora-*.whl")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], work)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], work)
    return venv


def test_nora_serve_runs_from_the_wheel_with_every_asset(installed: Path, tmp_path: Path) -> None:
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NORA_", "PYTHON"))}
    env = {
        **base,
        "NORA_HOST": "127.0.0.1",
        "NORA_PORT": str(port),
        "NORA_STORAGE_PATH": str(tmp_path / "data"),
    }
    # run away from the checkout, so nothing can be imported from it
    process = subprocess.Popen(
        [str(installed / "bin" / "nora"), "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "no /health from the installed nora"
            time.sleep(0.1)
        ui = httpx.get(url + "/ui/", headers={"Accept": "text/html"})
        assert ui.status_code == 200
        assert "<h1>Overview</h1>" in ui.text
        for asset in ("/ui/static/ui.css", "/ui/static/copy.js"):
            assert httpx.get(url + asset).status_code == 200, asset
        swagger = httpx.get(url + "/swagger-ui/", follow_redirects=True)
        assert swagger.status_code == 200
        assert "/ui/swagger/swagger-ui-bundle.js" in swagger.text
        assert "cdn" not in swagger.text.lower()
        bundle = httpx.get(url + "/ui/swagger/swagger-ui-bundle.js")
        assert bundle.status_code == 200
        assert len(bundle.content) > 100_000
        where = subprocess.run(
            [
                str(installed / "bin" / "python"),
                "-c",
                "import entrypoints; print(entrypoints.__file__)",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert str(installed) in where, "the installed package, not the checkout"
    finally:
        process.terminate()
        process.wait(30)


def examples() -> list[tuple[str, str]]:
    """(where, code) of every Python block of the library guide and the README's embedding."""
    found = []
    for page in sorted((REPO / "docs" / "library").glob("*.md")):
        for number, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S)):
            found.append((f"{page.name}#{number + 1}", block))
    readme = (REPO / "README.md").read_text()
    match = re.search(r"<!-- example: embedding -->\s*```python\n(.*?)```", readme, re.S)
    assert match is not None
    found.append(("README.md#embedding", match.group(1)))
    return found


EXAMPLES = examples()


@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_the_example_runs_with_only_the_wheel_installed(
    installed: Path, tmp_path: Path, where: str, code: str
) -> None:
    script = tmp_path / "example.py"
    script.write_text(code)
    root = tmp_path / "root"
    root.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NORA_", "PYTHON"))}
    done = subprocess.run(
        [str(installed / "bin" / "python"), str(script), str(root)],
        cwd=tmp_path,  # away from the checkout: only the installed package is importable
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, (where, done.stdout[-2000:], done.stderr[-3000:])
    assert done.stdout.strip(), f"{where} printed nothing"


def test_the_examples_type_check_strictly_as_a_user_s_code(tmp_path: Path) -> None:
    for number, (_, code) in enumerate(EXAMPLES):
        (tmp_path / f"example_{number}.py").write_text(code)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(tmp_path)],
        cwd=REPO,
        env={**os.environ, "MYPYPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:]
