"""Helpers for driving the real ``mvn`` against NORA: settings.xml, projects, runs.

mvn runs with a throwaway local repository and a settings.xml that overrides
the id ``central`` (so nothing reaches a public repository) and takes plugins
from Debian's packages in /usr/share/maven-repo (``.ci/clients/maven.sh``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = ["PLUGINS", "MavenRun", "consumer_pom", "library", "mvn", "write_settings"]

PLUGINS = "file:///usr/share/maven-repo"
MVN_TIMEOUT = 240.0


def write_settings(
    path: Path,
    repo_url: str,
    *,
    user: str | None = None,
    password: str | None = None,
    read_user: str | None = None,
    read_password: str | None = None,
) -> Path:
    """A settings.xml: ``central`` reads from ``repo_url``, ``ours`` deploys to it."""
    servers = ""
    if user is not None:
        servers += (
            f"<server><id>ours</id><username>{escape(user)}</username>"
            f"<password>{escape(password or '')}</password></server>"
        )
    if read_user is not None:
        servers += (
            f"<server><id>central</id><username>{escape(read_user)}</username>"
            f"<password>{escape(read_password or '')}</password></server>"
        )
    path.write_text(
        f"""<settings>
  <servers>{servers}</servers>
  <profiles><profile><id>registry-under-test</id>
    <repositories><repository><id>central</id><url>{repo_url}</url>
      <releases><enabled>true</enabled><updatePolicy>always</updatePolicy></releases>
      <snapshots><enabled>true</enabled><updatePolicy>always</updatePolicy></snapshots>
    </repository></repositories>
    <pluginRepositories><pluginRepository><id>central</id><url>{PLUGINS}</url>
    </pluginRepository></pluginRepositories>
  </profile></profiles>
  <activeProfiles><activeProfile>registry-under-test</activeProfile></activeProfiles>
</settings>
"""
    )
    return path


def _pom(
    group: str,
    artifact: str,
    version: str,
    repo_url: str,
    *,
    dependencies: str = "",
    packaging: str = "jar",
) -> str:
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version>
  <packaging>{packaging}</packaging>
  <properties>
    <maven.compiler.source>17</maven.compiler.source>
    <maven.compiler.target>17</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>{dependencies}</dependencies>
  <distributionManagement>
    <repository><id>ours</id><url>{repo_url}</url></repository>
    <snapshotRepository><id>ours</id><url>{repo_url}</url></snapshotRepository>
  </distributionManagement>
</project>
"""


def library(
    root: Path, group: str, artifact: str, version: str, repo_url: str, *, marker: str = ""
) -> Path:
    """A one-class library project whose ``Lib.marker()`` returns ``marker``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pom.xml").write_text(_pom(group, artifact, version, repo_url))
    package = group.replace(".", "/")
    source = root / "src/main/java" / package
    source.mkdir(parents=True, exist_ok=True)
    (source / "Lib.java").write_text(
        f"package {group};\n"
        f'public class Lib {{ public static String marker() {{ return "{marker}"; }} }}\n'
    )
    return root


def consumer_pom(
    root: Path, repo_url: str, dependencies: list[tuple[str, str, str]], *, source: str = ""
) -> Path:
    """A consumer project depending on ``(group, artifact, version or range)``."""
    root.mkdir(parents=True, exist_ok=True)
    deps = "".join(
        f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>"
        f"<version>{v}</version></dependency>"
        for g, a, v in dependencies
    )
    (root / "pom.xml").write_text(
        _pom("com.example.consumer", "consumer", "0.1.0", repo_url, dependencies=deps)
    )
    if source:
        where = root / "src/main/java/com/example/consumer"
        where.mkdir(parents=True, exist_ok=True)
        (where / "Main.java").write_text(source)
    return root


class MavenRun:
    """One finished mvn invocation."""

    def __init__(self, result: subprocess.CompletedProcess[str]) -> None:
        self.returncode = result.returncode
        self.output = result.stdout + result.stderr

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def mvn(
    cwd: Path, settings: Path, local_repo: Path, *args: str, timeout: float = MVN_TIMEOUT
) -> MavenRun:
    """Run ``mvn -B -ntp -s settings -Dmaven.repo.local=... args`` in ``cwd``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAVEN_", "M2_"))}
    env["MAVEN_OPTS"] = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto"
    result = subprocess.run(
        [
            "mvn",
            "-B",
            "-ntp",
            "-s",
            str(settings),
            f"-Dmaven.repo.local={local_repo}",
            *args,
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return MavenRun(result)
