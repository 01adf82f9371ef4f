"""``nora serve`` that cannot start says why in one line and exits 2, as a real process.

Each case starts the console script with one thing wrong and checks the exit
status, that stderr is a single ``nora: …`` line naming the setting (or path),
and that no traceback leaked. Backends that do not answer are ports nothing
listens on, on 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.auth_support import write_htpasswd
from tests.e2e.server import free_port, nora_executable

pytestmark = pytest.mark.e2e


def _serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    settings = {
        "NORA_HOST": "127.0.0.1",
        "NORA_PORT": str(free_port()),
        "NORA_STORAGE_PATH": str(tmp_path / "data"),
        **env,
    }
    return subprocess.run(
        [*nora_executable(), "serve"],
        env={**base, **settings},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line(done: subprocess.CompletedProcess[str], *names: str) -> str:
    """The single ``nora:`` line of a refused start; every name in ``names`` is in it."""
    assert done.returncode == 2, (done.returncode, done.stdout[-500:], done.stderr[-2000:])
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("nora: "), lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


@pytest.fixture
def listening() -> Iterator[int]:
    """A port another program is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


def test_a_storage_path_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    line = _one_line(
        _serve(tmp_path, NORA_STORAGE_PATH=str(blocker / "data")),
        "NORA_STORAGE_PATH",
        str(blocker / "data"),
    )
    assert "Not a directory" in line


def test_a_port_in_use(tmp_path: Path, listening: int) -> None:
    line = _one_line(_serve(tmp_path, NORA_PORT=str(listening)), "NORA_PORT", str(listening))
    assert "in use" in line


def test_an_address_that_is_not_this_machine(tmp_path: Path) -> None:
    _one_line(_serve(tmp_path, NORA_HOST="192.0.2.1"), "NORA_HOST", "192.0.2.1")


def test_an_unreachable_postgresql(tmp_path: Path) -> None:
    url = f"postgresql://nora:secret@127.0.0.1:{free_port()}/nora"
    line = _one_line(_serve(tmp_path, NORA_METADATA_URL=url), "NORA_METADATA_URL", "PostgreSQL")
    assert "secret" not in line, "the password never shows"


def test_an_unreachable_s3(tmp_path: Path) -> None:
    line = _one_line(
        _serve(
            tmp_path,
            NORA_STORAGE_MODE="s3",
            NORA_S3_ENDPOINT=f"http://127.0.0.1:{free_port()}",
            NORA_S3_BUCKET="nora",
            NORA_S3_ACCESS_KEY="key",
            NORA_S3_SECRET_KEY="very-secret",
        ),
        "NORA_S3",
        "'nora'",
    )
    assert "very-secret" not in line


def test_an_unreachable_redis(tmp_path: Path) -> None:
    htpasswd = write_htpasswd(tmp_path / "htpasswd")
    _one_line(
        _serve(
            tmp_path,
            NORA_AUTH_ENABLED="true",
            NORA_AUTH_HTPASSWD_FILE=str(htpasswd),
            NORA_AUTH_RATE_LIMIT_STORAGE=f"redis://127.0.0.1:{free_port()}",
        ),
        "NORA_AUTH_RATE_LIMIT_STORAGE",
    )


def test_a_missing_htpasswd_file(tmp_path: Path) -> None:
    missing = tmp_path / "nobody.htpasswd"
    line = _one_line(
        _serve(tmp_path, NORA_AUTH_ENABLED="true", NORA_AUTH_HTPASSWD_FILE=str(missing)),
        "NORA_AUTH_HTPASSWD_FILE",
        str(missing),
    )
    assert "nora user add" in line


def test_a_malformed_htpasswd_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.htpasswd"
    broken.write_text("# users\nalice:{SHA}not-bcrypt\n")
    line = _one_line(
        _serve(tmp_path, NORA_AUTH_ENABLED="true", NORA_AUTH_HTPASSWD_FILE=str(broken)),
        "NORA_AUTH_HTPASSWD_FILE",
        "line 2",
    )
    assert "not-bcrypt" not in line, "no hash material in the message"


@pytest.mark.parametrize(
    ("toml", "named"),
    [("bogus = 1\n", "bogus"), ('keepalive_timeout = "long"\n', "keepalive_timeout")],
)
def test_a_config_file_with_an_unknown_key_or_a_wrong_type(
    tmp_path: Path, toml: str, named: str
) -> None:
    config = tmp_path / "nora.toml"
    config.write_text(toml)
    _one_line(_serve(tmp_path, NORA_CONFIG_PATH=str(config)), named, str(config))


def test_nothing_was_written_by_a_refused_start(tmp_path: Path, listening: int) -> None:
    _one_line(_serve(tmp_path, NORA_PORT=str(listening)), "NORA_PORT")
    assert not list((tmp_path / "data").glob("**/*.nora-write-test-*")), "the probe is gone"
