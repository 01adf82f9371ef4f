"""A throwaway moto S3 server on a free loopback port (moto comes with the test extras)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.server import free_port

ACCESS_KEY = "test"
SECRET_KEY = "test"
REGION = "us-east-1"


@contextmanager
def moto_server() -> Iterator[str]:
    """Run ``moto_server`` in its own process; yields its endpoint URL."""
    binary = shutil.which("moto_server", path=str(Path(sys.executable).parent))
    assert binary is not None, "moto_server is missing: run make install-test"
    port = free_port()
    process = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(endpoint + "/moto-api/", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                assert process.poll() is None, "moto_server exited"
                assert time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=20)


def create_bucket(endpoint: str, bucket: str) -> None:
    """Create ``bucket`` on the moto server at ``endpoint`` (path-style, test credentials)."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(s3={"addressing_style": "path"}),
    )
    client.create_bucket(Bucket=bucket)
