"""What a person sees: the start-up banner and text logs on a terminal, JSON lines in a pipe,
and ``nora config show`` / ``check``, all from the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pexpect
import pytest

from tests.e2e.server import free_port, nora_executable

pytestmark = pytest.mark.e2e


def _env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NORA_")}
    return {
        **base,
        "NORA_HOST": "127.0.0.1",
        "NORA_PORT": str(port),
        "NORA_STORAGE_PATH": str(tmp_path / "data"),
        **extra,
    }


def _wait_healthy(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError("nora did not become healthy")


def test_a_terminal_gets_the_banner_and_text_logs(tmp_path: Path) -> None:
    port = free_port()
    command = nora_executable()
    child = pexpect.spawn(
        command[0],
        [*command[1:], "serve"],
        env=_env(tmp_path, port),
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 220),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        child.expect(r"info +nora: started")
        banner = (child.before or "").replace("\r\n", "\n")
        for line in (
            f"serving at {base}",
            "storage    filesystem at",
            "access     off",
            f"dashboard  {base}/ui/",
            "Point your clients at it:",
            f"docker login 127.0.0.1:{port}",
            f"npm config set registry {base}/npm/",
            f"pip config set global.index-url {base}/simple/",
            f'index = "sparse+{base}/cargo/index/"',
            f"go env -w GOPROXY={base}/go",
            f"<url>{base}/maven2/</url>",
            f"curl -fT FILE {base}/raw/PATH/FILE",
            f"helm repo add nora {base}/helm",
        ):
            assert line in banner, (line, banner)
        assert banner.index("serving at") < banner.index("Point your clients")
        _wait_healthy(port)
        assert httpx.get(f"{base}/v2/").status_code == 200
        child.expect(r"nora\.access: request .*path=/v2 ")
        text = child.before or ""
        assert not text.lstrip().startswith("{"), "text, not JSON, on a terminal"
    finally:
        child.kill(15)
        child.expect(pexpect.EOF, timeout=30)
        child.close()


def test_a_pipe_gets_json_lines(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*nora_executable(), "serve"],
        env=_env(tmp_path, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy(port)
        httpx.get(f"http://127.0.0.1:{port}/v2/")
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]  # every line is JSON
    assert any(r.get("msg") == "started" for r in records)
    access = [r for r in records if r.get("logger") == "nora.access"]
    assert any(r.get("path") in ("/v2", "/v2/") for r in access)
    assert "Point your clients" not in out + err, "no banner for machines"


def test_config_show_names_each_source_and_masks_secrets(tmp_path: Path) -> None:
    config = tmp_path / "nora.toml"
    config.write_text('public_url = "https://nora.example.test"\n')
    env = _env(
        tmp_path,
        free_port(),
        NORA_CONFIG_PATH=str(config),
        NORA_S3_SECRET_KEY="do-not-print-me",
        NORA_METADATA_URL="postgresql://nora:hunter2@127.0.0.1:5/nora",
    )
    shown = subprocess.run(
        [*nora_executable(), "config", "show", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    table = json.loads(shown.stdout)
    assert table["NORA_PORT"]["source"] == "NORA_PORT"
    assert table["NORA_PUBLIC_URL"] == {
        "value": "https://nora.example.test",
        "source": f"public_url in {config}",
    }
    assert table["NORA_LOG_LEVEL"] == {"value": "info", "source": "default"}
    assert table["NORA_S3_SECRET_KEY"]["value"] == "****"
    assert table["NORA_METADATA_URL"]["value"] == "postgresql://nora:****@127.0.0.1:5/nora"
    assert "do-not-print-me" not in shown.stdout
    assert "hunter2" not in shown.stdout
    assert "NORA_NPM_PROXY" in table, "the formats' own settings too"


def test_config_check_validates_without_starting(tmp_path: Path) -> None:
    def check(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*nora_executable(), "config", "check"],
            env=_env(tmp_path, free_port(), **extra),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    fine = check()
    assert fine.returncode == 0, fine.stderr
    assert "usable" in fine.stdout
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    bad = check(NORA_STORAGE_PATH=str(blocker / "data"))
    assert bad.returncode == 2
    assert "NORA_STORAGE_PATH" in bad.stderr
    assert "Traceback" not in bad.stderr
    wrong = check(NORA_WORKERS="many")
    assert wrong.returncode == 2
    assert "NORA_WORKERS" in wrong.stderr
