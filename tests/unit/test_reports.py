"""Operator jobs' shared reports: gauges replace, counters add, /metrics text is valid."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.errors import InvalidInput
from domain.reports import Reports, Sample, read_reports, render_reports


def _gauge(fmt: str, value: float) -> Sample:
    return Sample(
        name="nora_storage_bytes",
        help="Bytes stored.",
        kind="gauge",
        value=value,
        labels={"format": fmt},
    )


def _counter(value: float) -> Sample:
    return Sample(name="nora_gc_reclaimed_bytes_total", help="Freed.", kind="counter", value=value)


def test_gauges_replace_and_counters_accumulate() -> None:
    async def run() -> None:
        meta = MemoryMetadataStore()
        reports = Reports(meta, FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
        await reports.publish("gc", [_gauge("npm", 10), _gauge("pypi", 5), _counter(100)])
        await reports.publish("gc", [_gauge("npm", 7), _counter(50)])
        [report] = await read_reports(meta)
        values = {(s.name, s.labels.get("format")): s.value for s in report.samples}
        # a fresh storage measurement replaces every earlier one: pypi is gone, not stale
        assert values == {
            ("nora_storage_bytes", "npm"): 7,
            ("nora_gc_reclaimed_bytes_total", None): 150,
        }

    anyio.run(run)


def test_rendered_text_parses_as_prometheus_exposition() -> None:
    async def run() -> bytes:
        meta = MemoryMetadataStore()
        reports = Reports(meta, FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
        await reports.publish("gc", [_gauge('a"b\\c', 3), _counter(2)])
        await reports.publish("retention", [_counter(0)])

        return render_reports(await read_reports(meta))

    text = anyio.run(run).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["nora_storage_bytes"].samples[0].labels == {"format": 'a"b\\c'}
    # both jobs' samples of one name render under one HELP/TYPE
    assert [s.value for s in families["nora_gc_reclaimed_bytes"].samples] == [2.0, 0.0]
    assert text.count("# TYPE nora_gc_reclaimed_bytes_total") == 1


@pytest.mark.parametrize(
    "sample",
    [
        Sample(name="process_cpu", help="", kind="gauge", value=1),
        Sample(name="nora_x", help="", kind="gauge", value=1, labels={"Bad-Label": "v"}),
        Sample(name="nora_x_total", help="", kind="counter", value=-1),
        Sample(name="nora_x_total", help="", kind="counter", value=float("nan")),
        Sample(name="nora_x", help="", kind="gauge", value=float("-inf")),
        Sample(name="nora_x", help="", kind="gauge", value=float("nan")),
    ],
)
def test_a_sample_nora_would_not_publish_is_refused(sample: Sample) -> None:
    async def run() -> None:
        meta = MemoryMetadataStore()
        with pytest.raises(InvalidInput):
            await Reports(meta, FixedClock(datetime(2026, 1, 1, tzinfo=UTC))).publish(
                "gc", [sample]
            )
        assert await read_reports(meta) == []

    anyio.run(run)
