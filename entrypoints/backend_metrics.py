"""Latency and failure counts of every call NORA makes to its backends, for /metrics.

Replicas over S3, PostgreSQL and Redis are only as fast as those services, so
an operator needs to see which one slows down or fails. The container wraps
each adapter it builds in :func:`measured`; the wrapper times every port call
and counts the failures that are the backend's fault (``Transient`` and
anything unexpected), not the ordinary answers (``NotFound``, ``Conflict``).
Optional capabilities of the adapter (local files, signed URLs) stay visible
through the wrapper, so ``isinstance(store, LocalFiles)`` still holds.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from time import perf_counter
from typing import Any, Final, TypeVar

from prometheus_client import Counter, Histogram

from domain.errors import NoraError, Transient

__all__ = ["BACKEND_ERRORS", "BACKEND_LATENCY", "measured"]

BACKEND_LATENCY: Final = Histogram(
    "nora_backend_duration_seconds",
    "Time of one call to a backend (blob storage, metadata, rate-limit counters).",
    ["backend", "adapter", "operation"],
    buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
BACKEND_ERRORS: Final = Counter(
    "nora_backend_errors_total",
    "Backend calls that failed for the backend's own reasons (unreachable, throttled, broken).",
    ["backend", "adapter", "operation"],
)

_OPERATIONS: Final = {
    "blobs": (
        "put", "open", "stat", "delete", "list", "begin_upload", "append", "upload_size",
        "open_upload", "commit", "abort", "list_uploads", "discard_abandoned_puts", "check",
    ),
    "metadata": ("get", "put", "delete", "scan", "check"),
    "rate_limits": ("hit", "peek", "check"),
}  # fmt: skip

_CAPABILITIES: Final = ("local_path", "presigned_url")
"""Methods of the ports' optional capabilities, passed through untimed."""

_P = TypeVar("_P")


class _Measured:
    """Forwards every attribute to the adapter; the port's calls are timed."""

    def __init__(self, inner: Any, backend: str, adapter: str) -> None:
        self._inner = inner
        for operation in _OPERATIONS[backend]:
            method = getattr(inner, operation)
            timer = BACKEND_LATENCY.labels(backend, adapter, operation)
            failures = BACKEND_ERRORS.labels(backend, adapter, operation)
            setattr(self, operation, _timed(method, timer, failures))
        for name in _CAPABILITIES:  # as instance attributes: protocol checks see them
            if hasattr(inner, name):
                setattr(self, name, getattr(inner, name))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return f"measured({self._inner!r})"


def _timed(
    method: Callable[..., Coroutine[Any, Any, Any]], timer: Any, failures: Any
) -> Callable[..., Coroutine[Any, Any, Any]]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        start = perf_counter()
        try:
            return await method(*args, **kwargs)
        except Transient:
            failures.inc()
            raise
        except NoraError:
            raise
        except Exception:
            failures.inc()
            raise
        finally:
            timer.observe(perf_counter() - start)

    return call


def measured(inner: _P, backend: str, adapter: str) -> _P:
    """``inner`` with its calls timed under ``backend`` (blobs, metadata, rate_limits)."""
    wrapper: Any = _Measured(inner, backend, adapter)
    return wrapper  # type: ignore[no-any-return]
