"""Classic Helm chart repositories at /helm/: index.yaml, chart files, the ChartMuseum API."""

from domain.helm.chart import ChartMeta, ChartReader, load_yaml, parse_chart_yaml, prov_target
from domain.helm.grammar import (
    ChartFile,
    parse_chart_file,
    parse_name,
    parse_version,
    scope_name,
    version_key,
)
from domain.helm.registry import HelmRegistry, IndexDocument, StagedChart, new_helm_index

__all__ = [
    "ChartFile",
    "ChartMeta",
    "ChartReader",
    "HelmRegistry",
    "IndexDocument",
    "StagedChart",
    "load_yaml",
    "new_helm_index",
    "parse_chart_file",
    "parse_chart_yaml",
    "parse_name",
    "parse_version",
    "prov_target",
    "scope_name",
    "version_key",
]
