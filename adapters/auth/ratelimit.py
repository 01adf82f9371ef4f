"""RateLimiter over the ``limits`` package: in memory by default, Redis when configured."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from domain.errors import Transient

__all__ = ["LimitsRateLimiter"]


class LimitsRateLimiter:
    """Moving-window budgets such as ``{"login": "10/minute", "write": "600/minute"}``."""

    def __init__(self, budgets: Mapping[str, str], storage_url: str = "memory://") -> None:
        self._items: dict[str, RateLimitItem] = {
            name: parse(text) for name, text in budgets.items() if text
        }
        self._limiter = MovingWindowRateLimiter(storage_from_string(_async_url(storage_url)))

    async def hit(self, budget: str, key: str) -> int | None:
        item = self._items.get(budget)
        if item is None:
            return None
        try:
            if await self._limiter.hit(item, budget, key):
                return None
            stats = await self._limiter.get_window_stats(item, budget, key)
        except Exception as exc:  # the storage library raises its own driver errors
            raise Transient(f"rate-limit storage failed: {type(exc).__name__}") from exc
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def peek(self, budget: str, key: str) -> int | None:
        item = self._items.get(budget)
        if item is None:
            return None
        try:
            if await self._limiter.test(item, budget, key):
                return None
            stats = await self._limiter.get_window_stats(item, budget, key)
        except Exception as exc:  # the storage library raises its own driver errors
            raise Transient(f"rate-limit storage failed: {type(exc).__name__}") from exc
        return max(1, math.ceil(stats.reset_time - time.time()))


def _async_url(url: str) -> str:
    """limits names its asyncio storages ``async+<scheme>://``."""
    return url if url.startswith("async+") else "async+" + url
