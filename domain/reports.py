"""Figures that operator jobs publish where every replica's /metrics can read them.

A job such as ``nora gc`` may run in a one-off CLI process or in any replica,
so its figures cannot live in one process's Prometheus registry. Each job keeps
one document, ``report/<job>``: gauges (what the last run saw, e.g. bytes
stored per format) replace the previous values, counters (bytes reclaimed)
add to the totals so far, by compare-and-swap so two writers never lose one.
``/metrics`` renders every report document after the process's own metrics.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final, Literal

import msgspec

from domain.errors import Conflict, InvalidInput, NotFound
from domain.keys import REPORT_PREFIX, report_key
from domain.ports import MUST_NOT_EXIST, Clock, MetadataStore

__all__ = ["Report", "Reports", "Sample", "read_reports", "render_reports"]

_NAME: Final = re.compile(r"nora_[a-z0-9_]{1,100}")
_LABEL: Final = re.compile(r"[a-z_][a-z0-9_]{0,40}")
_ATTEMPTS: Final = 20


class Sample(msgspec.Struct, frozen=True, kw_only=True):
    """One metric sample: a ``nora_`` name, its help text, labels and value."""

    name: str
    help: str
    kind: Literal["counter", "gauge"]
    value: float
    labels: dict[str, str] = msgspec.field(default_factory=dict)

    def identity(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.name, tuple(sorted(self.labels.items()))


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """The document one job keeps: when it last published, and its samples."""

    job: str
    at: datetime
    samples: tuple[Sample, ...] = ()


_decoder: Final = msgspec.json.Decoder(Report)
_encoder: Final = msgspec.json.Encoder()


def _checked(samples: Iterable[Sample]) -> list[Sample]:
    out = []
    for sample in samples:
        if not _NAME.fullmatch(sample.name) or not all(map(_LABEL.fullmatch, sample.labels)):
            raise InvalidInput(
                f"{sample.name!r} is not a metric name NORA publishes", subject="report"
            )
        if not math.isfinite(sample.value):  # JSON has no NaN: the report would not read back
            raise InvalidInput(f"{sample.name}: {sample.value} is not a figure", subject="report")
        if sample.kind == "counter" and sample.value < 0:
            raise InvalidInput(f"{sample.name}: a counter only grows", subject="report")
        out.append(sample)
    return out


class Reports:
    """Publish and read the report documents."""

    def __init__(self, meta: MetadataStore, clock: Clock) -> None:
        self._meta = meta
        self._clock = clock

    async def publish(self, job: str, samples: Sequence[Sample]) -> Report:
        """Replace ``job``'s gauges given here and add its counters to their totals.

        A gauge not named again keeps its last value only if this call gives no
        sample of the same name: a run that measured ``nora_storage_bytes`` for
        three formats replaces every earlier ``nora_storage_bytes`` sample.
        """
        fresh = _checked(samples)
        key = report_key(job)
        for _ in range(_ATTEMPTS):
            previous: tuple[Sample, ...] = ()
            expected: int | None = MUST_NOT_EXIST
            try:
                current = await self._meta.get(key)
            except NotFound:
                pass
            else:
                previous, expected = _decoder.decode(current.value).samples, current.version
            report = Report(job=job, at=self._clock.now(), samples=_merge(previous, fresh))
            try:
                await self._meta.put(key, _encoder.encode(report), expected=expected)
            except Conflict:
                continue
            return report
        raise Conflict(f"the {job} report kept changing", subject="report")


async def read_reports(meta: MetadataStore) -> list[Report]:
    """Every job's report, in job order (a handful of documents)."""
    reports: list[Report] = []
    after: str | None = None
    while True:
        page = await meta.scan(REPORT_PREFIX, after=after, limit=100)
        for doc in page.items:
            try:
                reports.append(_decoder.decode(doc.value))
            except msgspec.DecodeError:
                continue  # written by a newer version: not ours to render
        if page.next_after is None:
            return reports
        after = page.next_after


def _merge(previous: Iterable[Sample], fresh: Sequence[Sample]) -> tuple[Sample, ...]:
    renewed_gauges = {s.name for s in fresh if s.kind == "gauge"}
    merged = {s.identity(): s for s in previous if s.name not in renewed_gauges}
    for sample in fresh:
        old = merged.get(sample.identity())
        if sample.kind == "counter" and old is not None and old.kind == "counter":
            sample = msgspec.structs.replace(sample, value=old.value + sample.value)
        merged[sample.identity()] = sample
    return tuple(sorted(merged.values(), key=Sample.identity))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render_reports(reports: Iterable[Report]) -> bytes:
    """Prometheus text exposition (0.0.4) of every sample, one HELP/TYPE per name."""
    by_name: dict[str, list[Sample]] = {}
    for report in reports:
        for sample in report.samples:
            by_name.setdefault(sample.name, []).append(sample)
    lines: list[str] = []
    for name in sorted(by_name):
        first = by_name[name][0]
        lines.append(f"# HELP {name} {_escape(first.help)}")
        lines.append(f"# TYPE {name} {first.kind}")
        for sample in by_name[name]:
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(sample.labels.items()))
            selector = f"{name}{{{labels}}}" if labels else name
            lines.append(f"{selector} {float(sample.value)!r}")
    return ("\n".join(lines) + "\n").encode() if lines else b""
