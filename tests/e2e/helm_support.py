"""Helpers for the classic Helm repository tests: charts made and packaged by the real
Helm SDK (helm-python-sdk, ``.ci/clients/helm.sh``) and uploads through the ChartMuseum API."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.archives import tgz

__all__ = ["create_chart", "make_chart", "tgz", "upload"]


def create_chart(root: Path, name: str, version: str, *, extra: str = "") -> Path:
    """``helm create`` of a chart at ``version`` (``extra`` appended to its Chart.yaml)."""
    import helm_python as helm

    work = (root / f"src-{name}-{version}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    cwd = Path.cwd()
    os.chdir(work)
    try:
        helm.Chart.create(name, ".").close()
    finally:
        os.chdir(cwd)
    chart_yaml = work / name / "Chart.yaml"
    text = chart_yaml.read_text().replace("version: 0.1.0", f"version: {version}")
    chart_yaml.write_text(text + extra)
    return work / name


def make_chart(root: Path, name: str, version: str, *, extra: str = "") -> Path:
    """``helm create`` + ``helm package`` of a chart at ``version``; returns the .tgz path."""
    import helm_python as helm

    source = create_chart(root, name, version, extra=extra)
    out = (root / "dist").resolve()
    out.mkdir(parents=True, exist_ok=True)
    packaged = Path(helm.package(str(source), destination=str(out)))
    path = packaged if packaged.is_absolute() else Path.cwd() / packaged
    assert path.exists(), packaged
    return path


def upload(base: str, data: bytes, *, form: bool = False, **kwargs: object) -> httpx.Response:
    """POST a chart to ``base``/api/charts as the body or as a ``chart`` form field."""
    url = base + "/api/charts"
    if form:
        return httpx.post(url, files={"chart": ("chart.tgz", data)}, timeout=30, **kwargs)  # type: ignore[arg-type]
    return httpx.post(url, content=data, timeout=30, **kwargs)  # type: ignore[arg-type]
