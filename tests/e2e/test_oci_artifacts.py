"""OCI artifacts with real clients: oras-py push/pull, an artifact with a subject found
through the referrers API, and Helm charts with the real Helm SDK (media types and
annotations unchanged)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import NoraProcess

pytestmark = pytest.mark.e2e

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"


@contextmanager
def inside(path: Path) -> Iterator[None]:
    """oras-py wants the files it pushes under the working directory."""
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def oras_client(nora: NoraProcess):  # type: ignore[no-untyped-def]
    import oras.client

    return oras.client.OrasClient(hostname=f"127.0.0.1:{nora.port}", insecure=True)


@pytest.mark.parametrize("chunked", [False, True])
def test_oras_push_pull_keeps_media_types_and_annotations(
    nora: NoraProcess, tmp_path: Path, chunked: bool
) -> None:
    client = oras_client(nora)
    chart = os.urandom(3 * 1024 * 1024 if chunked else 4096)
    (tmp_path / "mychart-0.2.0.tgz").write_bytes(chart)
    (tmp_path / "config.json").write_text(
        json.dumps(
            {"apiVersion": "v2", "name": "mychart", "version": "0.2.0", "type": "application"}
        )
    )
    target = f"127.0.0.1:{nora.port}/charts/oras/{'chunked' if chunked else 'plain'}:0.2.0"
    with inside(tmp_path):
        response = client.push(
            target=target,
            files=[f"mychart-0.2.0.tgz:{HELM_CHART}"],
            manifest_config=f"config.json:{HELM_CONFIG}",
            manifest_annotations={"org.opencontainers.image.description": "a chart"},
            do_chunked=chunked,
            chunk_size=1024 * 1024,
        )
        assert response.status_code == 201
        manifest = client.get_manifest(target)
        assert manifest["config"]["mediaType"] == HELM_CONFIG
        assert manifest["layers"][0]["mediaType"] == HELM_CHART
        assert (
            manifest["layers"][0]["annotations"]["org.opencontainers.image.title"]
            == "mychart-0.2.0.tgz"
        )
        assert manifest["annotations"]["org.opencontainers.image.description"] == "a chart"
        assert client.get_tags(target.rsplit(":", 1)[0]) == ["0.2.0"]
        files = client.pull(target=target, outdir=str(tmp_path / "out"))
    assert [Path(f).read_bytes() for f in files] == [chart]
    if chunked:
        assert '"method":"PATCH"' in nora.log()


def test_artifact_with_subject_is_found_through_referrers(
    nora: NoraProcess, tmp_path: Path
) -> None:
    client = oras_client(nora)
    (tmp_path / "image.txt").write_text("the image")
    (tmp_path / "sbom.json").write_text('{"sbom": true}')
    base = f"127.0.0.1:{nora.port}/refs/app"
    with inside(tmp_path):
        client.push(target=f"{base}:v1", files=["image.txt:application/vnd.oci.image.layer.v1.tar"])
        subject_response = httpx.head(
            f"{nora.url}/v2/refs/app/manifests/v1",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        subject_digest = subject_response.headers["docker-content-digest"]
        from oras.oci import Subject

        subject = Subject(
            mediaType="application/vnd.oci.image.manifest.v1+json",
            digest=subject_digest,
            size=int(subject_response.headers["content-length"]),
        )
        pushed = client.push(
            target=f"{base}:sbom",
            files=["sbom.json:application/spdx+json"],
            subject=subject,
            manifest_annotations={"kind": "sbom"},
        )
    assert pushed.headers["oci-subject"] == subject_digest
    sbom_digest = pushed.headers["docker-content-digest"]
    listing = httpx.get(f"{nora.url}/v2/refs/app/referrers/{subject_digest}")
    assert listing.status_code == 200
    assert listing.headers["content-type"] == "application/vnd.oci.image.index.v1+json"
    entries = listing.json()["manifests"]
    assert [e["digest"] for e in entries] == [sbom_digest]
    assert entries[0]["annotations"] == {"kind": "sbom"}
    filtered = httpx.get(
        f"{nora.url}/v2/refs/app/referrers/{subject_digest}",
        params={"artifactType": "application/x.nothing"},
    )
    assert filtered.headers["oci-filters-applied"] == "artifactType"
    assert filtered.json()["manifests"] == []


def test_helm_sdk_push_tags_resolve_pull(nora: NoraProcess, tmp_path: Path) -> None:
    import helm_python as helm

    with inside(tmp_path):
        helm.Chart.create("mychart", ".").close()
        package = helm.package("./mychart", destination="dist")
        original = Path(package).read_bytes()
        (tmp_path / "out").mkdir()
        registry = f"oci://127.0.0.1:{nora.port}/helm/team/charts"
        with helm.RegistryClient(
            plain_http=True, credentials_file=str(tmp_path / "reg.json")
        ) as rc:
            rc.push(package, registry)
            assert rc.tags(f"{registry}/mychart") == ["0.1.0"]
            resolved = rc.resolve(f"{registry}/mychart:0.1.0")
            rc.pull(f"{registry}/mychart", version="0.1.0", destination="out", plain_http=True)
    assert resolved["media_type"] == "application/vnd.oci.image.manifest.v1+json"
    assert (tmp_path / "out" / "mychart-0.1.0.tgz").read_bytes() == original
    served = httpx.get(f"{nora.url}/v2/helm/team/charts/mychart/manifests/0.1.0")
    assert served.headers["docker-content-digest"] == resolved["digest"]
    manifest = served.json()
    assert manifest["config"]["mediaType"] == HELM_CONFIG
    assert manifest["layers"][0]["mediaType"] == HELM_CHART
    annotations = manifest["annotations"]
    assert annotations["org.opencontainers.image.title"] == "mychart"
    assert annotations["org.opencontainers.image.version"] == "0.1.0"
    config = httpx.get(
        f"{nora.url}/v2/helm/team/charts/mychart/blobs/{manifest['config']['digest']}"
    )
    assert config.json()["name"] == "mychart"
