"""RateLimiter over the ``limits`` package: in memory by default, Redis when configured.

Generous budgets (thousands of reads a minute) would otherwise cost a storage
round trip on every request, so hits are counted locally and charged to the
shared storage in batches of up to 16 (never more than 2 % of the budget):
the budget is then enforced to within one batch per process. They use the
sliding-window counter (two counters per key); an exact moving window keeps a
timestamp per hit, which for a budget of thousands is thousands of entries
shifted on every charge. Small budgets (failed logins) are charged one by
one, exactly, in a moving window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from domain.errors import Transient

__all__ = ["LimitsRateLimiter"]

_MAX_BATCH = 16
_MAX_KEYS = 100_000


class LimitsRateLimiter:
    """Moving-window budgets such as ``{"login": "10/minute", "write": "600/minute"}``."""

    def __init__(self, budgets: Mapping[str, str], storage_url: str = "memory://") -> None:
        self._items: dict[str, RateLimitItem] = {
            name: parse(text) for name, text in budgets.items() if text
        }
        self._batch = {
            name: max(1, min(_MAX_BATCH, item.amount // 50)) for name, item in self._items.items()
        }
        self._pending: dict[tuple[str, str], int] = {}
        self._blocked: dict[tuple[str, str], float] = {}
        options = {"implementation": "redispy"} if "redis" in storage_url.split(":", 1)[0] else {}
        storage = storage_from_string(_async_url(storage_url), **options)
        self._storage = storage
        self._exact = MovingWindowRateLimiter(storage)
        self._approximate = SlidingWindowCounterRateLimiter(storage)

    async def hit(self, budget: str, key: str) -> int | None:
        item = self._items.get(budget)
        if item is None:
            return None
        slot = (budget, key)
        blocked_until = self._blocked.get(slot)
        if blocked_until is not None:
            if blocked_until > time.time():
                return max(1, math.ceil(blocked_until - time.time()))
            del self._blocked[slot]
        count = self._pending.get(slot, 0) + 1
        if count < self._batch[budget]:
            if len(self._pending) >= _MAX_KEYS:
                self._pending.clear()
            self._pending[slot] = count
            return None
        self._pending.pop(slot, None)
        limiter = self._limiter(budget)
        try:
            if await limiter.hit(item, budget, key, cost=count):
                return None
            stats = await limiter.get_window_stats(item, budget, key)
        except Exception as exc:  # the storage library raises its own driver errors
            raise Transient(f"rate-limit storage failed: {type(exc).__name__}") from exc
        if self._batch[budget] > 1:
            self._blocked[slot] = stats.reset_time
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def peek(self, budget: str, key: str) -> int | None:
        item = self._items.get(budget)
        if item is None:
            return None
        limiter = self._limiter(budget)
        try:
            if await limiter.test(item, budget, key):
                return None
            stats = await limiter.get_window_stats(item, budget, key)
        except Exception as exc:  # the storage library raises its own driver errors
            raise Transient(f"rate-limit storage failed: {type(exc).__name__}") from exc
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def check(self) -> None:
        try:
            alive = await self._storage.check()  # type: ignore[misc]  # async storages
        except Exception as exc:  # the storage library raises its own driver errors
            raise Transient(f"rate-limit storage failed: {type(exc).__name__}") from exc
        if not alive:
            raise Transient("rate-limit storage does not answer")

    def _limiter(self, budget: str) -> MovingWindowRateLimiter | SlidingWindowCounterRateLimiter:
        return self._exact if self._batch[budget] == 1 else self._approximate


def _async_url(url: str) -> str:
    """limits names its asyncio storages ``async+<scheme>://``."""
    return url if url.startswith("async+") else "async+" + url
