"""Maven benchmark: NORA against nginx WebDAV (the peer in REAL_CLIENTS.md §6).

Run by hand (not a test): ``.venv/bin/python bench/maven.py [--seconds 5] [--artifacts 100]
[--server uvicorn|granian] [--workers 1]``.

Figures, per server:
- GET requests/s of a 1 MiB jar and of a ``maven-metadata.xml`` (wrk, 2 threads,
  16 connections). NORA serves the metadata it generated; nginx the copy mvn uploaded.
- wall time of one ``mvn deploy`` of a reactor of ``--artifacts`` small jar modules
  (every pom, jar, checksum and metadata PUT, plus metadata GETs), run against each
  server in turn into an empty repository.

mvn runs with Debian's plugins (.ci/clients/maven.sh) and a settings.xml whose only
repository is the server under test. Everything binds 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _common import MIB, REPO, NoraServer, print_table, run_wrk
from _nginx import Nginx

sys.path.insert(0, str(REPO))
from tests.e2e.maven_support import library, mvn, write_settings

JAR = "com/bench/big/big/1.0/big-1.0.jar"
METADATA = "com/bench/big/big/maven-metadata.xml"
_WEBDAV = (
    "    location /maven2/ {\n      dav_methods PUT DELETE MKCOL;\n"
    "      create_full_put_path on;\n      dav_access user:rw group:r all:r;\n"
    "      autoindex on;\n    }\n"
)
"""nginx with WebDAV PUT under /maven2/ (as REAL_CLIENTS.md §6 configures it)."""


def seed(base: str) -> None:
    """A 1 MiB jar and an artifact with ten versions (so a real maven-metadata.xml)."""
    jar = os.urandom(MIB)
    with httpx.Client(timeout=60) as client:
        client.put(f"{base}/maven2/{JAR}", content=jar).raise_for_status()
        for minor in range(10):
            name = f"com/bench/big/big/1.{minor}/big-1.{minor}.pom"
            pom = (
                b'<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0'
                b"</modelVersion></project>"
            )
            client.put(f"{base}/maven2/{name}", content=pom).raise_for_status()


def copy_metadata(nora: str, dav: str) -> None:
    """nginx serves the document NORA generated (mvn would have uploaded its own)."""
    with httpx.Client(timeout=60) as client:
        body = client.get(f"{nora}/maven2/{METADATA}").content
        client.put(f"{dav}/maven2/{METADATA}", content=body).raise_for_status()


def reactor(root: Path, url: str, artifacts: int) -> Path:
    root.mkdir(parents=True)
    for index in range(artifacts):
        library(root / f"m{index:03d}", "com.bench.many", f"m{index:03d}", "1.0", url)
    modules = "".join(f"<module>m{index:03d}</module>" for index in range(artifacts))
    (root / "pom.xml").write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>com.bench</groupId><artifactId>all</artifactId><version>1.0</version>"
        f"<packaging>pom</packaging><modules>{modules}</modules>"
        f"<distributionManagement><repository><id>ours</id><url>{url}</url></repository>"
        "</distributionManagement></project>\n"
    )
    return root


def timed_deploy(work: Path, url: str, artifacts: int) -> float:
    work.mkdir(parents=True, exist_ok=True)
    settings = write_settings(work / "settings.xml", url, user="bench", password="bench")
    project = reactor(work / "project", url, artifacts)
    # build once first, so the timed run measures the deploy and not javac's warm-up
    first = mvn(project, settings, work / "m2", "package", "-Dmaven.test.skip=true", timeout=900)
    if not first.ok:
        raise RuntimeError(first.output[-3000:])
    started = time.perf_counter()
    run = mvn(project, settings, work / "m2", "deploy", "-Dmaven.test.skip=true", timeout=900)
    seconds = time.perf_counter() - started
    if not run.ok:
        raise RuntimeError(run.output[-3000:])
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--artifacts", type=int, default=100)
    parser.add_argument("--server", default="uvicorn", choices=("uvicorn", "granian"))
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    env = {
        "NORA_SERVER": args.server,
        "NORA_WORKERS": str(args.workers),
        "NORA_ACCESS_LOG": "false",
    }
    with tempfile.TemporaryDirectory(prefix="nora-bench-maven-") as scratch:
        work = Path(scratch)
        (work / "www" / "maven2").mkdir(parents=True)
        rows = []
        with (
            NoraServer(env=env) as nora,
            Nginx(
                work,
                work / "www",
                http_extra="  client_max_body_size 0;\n",
                server_extra=_WEBDAV,
            ) as dav,
        ):
            seed(nora.url)
            seed(dav.url)
            copy_metadata(nora.url, dav.url)
            for label, path in (
                ("GET 1 MiB jar req/s", JAR),
                ("GET maven-metadata.xml req/s", METADATA),
            ):
                figures = []
                for base in (nora.url, dav.url):
                    result = run_wrk(
                        f"{base}/maven2/{path}", threads=2, connections=16, duration=args.seconds
                    )
                    if result.non_2xx or result.socket_errors:
                        raise RuntimeError(f"errors against {base}: {result.output}")
                    figures.append(result.rps)
                print(label, figures, flush=True)
                rows.append(
                    (label, f"{figures[0]:,.0f}", f"{figures[1]:,.0f}",
                     f"{figures[0] / figures[1]:.2f}")
                )  # fmt: skip
            seconds = [
                timed_deploy(work / "nora", nora.url + "/maven2/", args.artifacts),
                timed_deploy(work / "nginx", dav.url + "/maven2/", args.artifacts),
            ]
            rows.append(
                (f"mvn deploy, {args.artifacts} artifacts (s)", f"{seconds[0]:.1f}",
                 f"{seconds[1]:.1f}", f"{seconds[0] / seconds[1]:.2f}")
            )  # fmt: skip
        print_table(
            f"Maven: NORA ({args.server}, {args.workers} worker(s)) vs nginx WebDAV",
            ("measure", "NORA", "nginx", "NORA/nginx"),
            rows,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
