"""The real ``nora serve`` process: health, readiness, metrics, OpenAPI, signals, config."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.server import NoraProcess, free_port, nora_executable

pytestmark = pytest.mark.e2e


def test_health_reports_version_and_storage(nora: NoraProcess) -> None:
    response = httpx.get(nora.url + "/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["storage"] == "filesystem"
    assert body["metadata"] == "sqlite"
    version = subprocess.run(
        [*nora_executable(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert version.strip() == f"nora {body['version']}"


def test_ready_checks_storage_and_metadata(nora: NoraProcess) -> None:
    response = httpx.get(nora.url + "/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"storage": "ok", "metadata": "ok", "rate_limits": "ok"},
    }
    assert (nora.data_dir / "nora.db").exists()


def test_ready_is_503_when_storage_is_not_writable(start_nora, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server: NoraProcess = start_nora()
    (server.data_dir / "tmp").rename(server.data_dir / "tmp-gone")
    (server.data_dir / "tmp").write_text("a file where the temp folder was")
    response = httpx.get(server.url + "/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"].startswith("failed")
    assert response.json()["checks"]["metadata"] == "ok"
    assert httpx.get(server.url + "/health").status_code == 200


def test_ready_is_503_while_the_shared_rate_limit_store_is_down(start_nora) -> None:  # type: ignore[no-untyped-def]
    server: NoraProcess = start_nora(
        {"NORA_AUTH_RATE_LIMIT_STORAGE": f"redis://127.0.0.1:{free_port()}"}
    )
    response = httpx.get(server.url + "/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["rate_limits"].startswith("failed")
    assert response.json()["checks"]["storage"] == "ok"


def test_metrics_text_format(nora: NoraProcess) -> None:
    for _ in range(3):
        httpx.get(nora.url + "/health")
    httpx.get(nora.url + "/no/such/route")
    response = httpx.get(nora.url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    requests = {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for s in families["nora_http_requests"].samples
        if s.name == "nora_http_requests_total"
    }
    assert requests[("/health", "GET", "200")] >= 3
    assert requests[("<unmatched>", "GET", "404")] >= 1
    assert any(
        s.labels.get("route") == "/health"
        for s in families["nora_http_request_duration_seconds"].samples
    )
    sent = {s.labels["route"]: s.value for s in families["nora_http_sent_bytes"].samples}
    assert sent["/health"] > 0
    build = families["nora_build_info"].samples[0]
    assert build.labels["version"] == httpx.get(nora.url + "/health").json()["version"]
    assert build.value == 1


def test_metrics_time_every_backend_and_count_its_failures(start_nora) -> None:  # type: ignore[no-untyped-def]
    server: NoraProcess = start_nora()
    assert httpx.get(server.url + "/ready").status_code == 200
    assert httpx.put(server.url + "/raw/metrics/probe.txt", content=b"probe").status_code == 201
    assert httpx.get(server.url + "/raw/metrics/probe.txt").content == b"probe"
    text = httpx.get(server.url + "/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    timed = {
        (s.labels["backend"], s.labels["adapter"], s.labels["operation"])
        for s in families["nora_backend_duration_seconds"].samples
        if s.name == "nora_backend_duration_seconds_count" and s.value > 0
    }
    assert ("metadata", "sqlite", "get") in timed
    assert ("metadata", "sqlite", "check") in timed
    assert ("blobs", "filesystem", "check") in timed
    assert ("rate_limits", "memory", "check") in timed
    assert any(backend == "blobs" and op in ("put", "commit") for backend, _, op in timed)
    errors = [s for s in families["nora_backend_errors"].samples if s.value > 0]
    assert errors == [], "nothing failed, whatever answers were NotFound or Conflict"


def test_access_log_has_one_json_line_per_request(nora: NoraProcess) -> None:
    marker = "/access-log-marker"
    httpx.get(nora.url + marker)
    lines = [json.loads(line) for line in nora.log().splitlines() if marker in line]
    assert len(lines) == 1
    entry = lines[0]
    assert entry["logger"] == "nora.access"
    assert entry["method"] == "GET"
    assert entry["status"] == 404
    assert entry["path"] == marker
    assert entry["duration_ms"] >= 0


def test_openapi_schema_and_swagger_ui(nora: NoraProcess) -> None:
    schema = httpx.get(nora.url + "/schema/openapi.json")
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/health" in document["paths"]
    assert "/ready" in document["paths"]
    ui = httpx.get(nora.url + "/schema/swagger")
    assert ui.status_code == 200
    assert "swagger-ui" in ui.text


def test_sigterm_exits_zero(start_nora) -> None:  # type: ignore[no-untyped-def]
    server: NoraProcess = start_nora()
    assert httpx.get(server.url + "/health").status_code == 200
    server.terminate()
    assert server.wait(timeout=30) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/health", timeout=2)
    assert '"msg":"stopped"' in server.log()


@pytest.mark.parametrize(
    ("env", "args", "setting"),
    [
        ({"NORA_PORT": "not-a-port"}, (), "NORA_PORT"),
        ({"NORA_PORT": "70000"}, (), "NORA_PORT"),
        ({"NORA_STORAGE_MODE": "tape"}, (), "NORA_STORAGE_MODE"),
        ({"NORA_PUBLIC_URL": "ftp://example"}, (), "NORA_PUBLIC_URL"),
        ({"NORA_LOG_LEVEL": "loud"}, (), "NORA_LOG_LEVEL"),
        ({"NORA_BODY_LIMIT_MB": "-1"}, (), "NORA_BODY_LIMIT_MB"),
        ({"NORA_METADATA_URL": "mysql://db"}, (), "NORA_METADATA_URL"),
        ({}, ("--port", "abc"), "--port"),
    ],
)
def test_bad_configuration_exits_2_naming_the_setting(
    tmp_path: Path, env: dict[str, str], args: tuple[str, ...], setting: str
) -> None:
    server = NoraProcess(tmp_path / "data", env=env, args=args)
    result = subprocess.run(
        [*nora_executable(), "serve", *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert setting in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_config_file_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "nora.toml"
    config.write_text('port = "high"\n')
    server = NoraProcess(tmp_path / "data", env={"NORA_CONFIG_PATH": str(config)})
    server.env.pop("NORA_PORT")
    result = subprocess.run(
        [*nora_executable(), "serve"], env=server.env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "port in " in result.stderr
    assert "Traceback" not in result.stderr


def test_config_file_with_env_and_flag_overrides(tmp_path: Path) -> None:
    config = tmp_path / "nora.toml"
    config.write_text('storage_mode = "memory"\nlog_level = "warning"\nport = 1\n')
    server = NoraProcess(tmp_path / "data", env={"NORA_CONFIG_PATH": str(config)})
    server.args = ("--log-level", "info")
    with server:
        health = httpx.get(server.url + "/health").json()
        assert health["storage"] == "memory"  # from the file
        # port came from NORA_PORT over the file's 1, log level from the flag over the file
        assert '"logger":"nora.access"' in (httpx.get(server.url + "/x") and server.log())


@pytest.mark.parametrize("server_kind", ["uvicorn", "granian"])
def test_two_workers_share_data_and_sum_metrics(start_nora, server_kind: str) -> None:  # type: ignore[no-untyped-def]
    server: NoraProcess = start_nora(args=("--workers", "2"), env={"NORA_SERVER": server_kind})
    with httpx.Client(base_url=server.url) as client:
        for _ in range(12):
            assert client.get("/ready").status_code == 200
    # fresh connections spread over both workers; the exposition sums every worker
    for _ in range(8):
        httpx.get(server.url + "/ready")
    text = httpx.get(server.url + "/metrics").text
    samples = {
        s.labels["route"]: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "nora_http_requests_total" and s.labels["status"] == "200"
    }
    assert samples["/ready"] == 20
    started = {line for line in server.log().splitlines() if '"msg":"started"' in line}
    assert len({json.loads(line)["pid"] for line in started}) == 2
    server.terminate()
    assert server.wait(timeout=30) == 0


@pytest.mark.parametrize("server_kind", ["uvicorn", "granian"])
def test_sigterm_drains_an_in_flight_upload(start_nora, server_kind: str) -> None:  # type: ignore[no-untyped-def]
    import socket
    import time

    server: NoraProcess = start_nora(env={"NORA_SERVER": server_kind})
    started = httpx.post(server.url + "/v2/drain/app/blobs/uploads/")
    assert started.status_code == 202
    location = started.headers["location"]
    path = location.split(str(server.port), 1)[-1] if location.startswith("http") else location
    half = b"x" * (1024 * 1024)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/octet-stream\r\n"
            f"Content-Length: {2 * len(half)}\r\n\r\n".encode()
        )
        sock.sendall(half)
        time.sleep(0.3)
        server.terminate()  # the request is in flight: headers read, body half sent
        time.sleep(0.5)
        assert server.process is not None
        assert server.process.poll() is None, "exited mid-request"
        sock.sendall(half)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 202"), answer[:200]
    assert b"range: 0-2097151" in answer.lower()
    assert server.wait(timeout=30) == 0
