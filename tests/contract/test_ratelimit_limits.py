"""The RateLimiter contract against the limits adapter: memory storage and a real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from adapters.auth.ratelimit import LimitsRateLimiter
from domain.errors import Transient
from domain.ports import RateLimiter
from tests.contract.rate_limiter_contract import RateLimiterContract
from tests.redis_server import redis_server

BUDGETS = {"tiny": "3/minute", "large": "1000/minute"}


class TestLimitsMemory(RateLimiterContract):
    @pytest.fixture
    def limiter(self) -> RateLimiter:
        return LimitsRateLimiter(BUDGETS, "memory://")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


class TestLimitsRedis(RateLimiterContract):
    @pytest.fixture
    def limiter(self, redis_url: str) -> RateLimiter:
        # a fresh key space per test: budgets are keyed by name, so rename them
        self.prefix = uuid.uuid4().hex[:8]
        return _Prefixed(LimitsRateLimiter(BUDGETS, redis_url), self.prefix)

    @pytest.mark.anyio
    async def test_two_replicas_share_one_budget(self, redis_url: str) -> None:
        key = uuid.uuid4().hex
        first = LimitsRateLimiter(BUDGETS, redis_url)
        second = LimitsRateLimiter(BUDGETS, redis_url)
        assert await first.hit("tiny", key) is None
        assert await second.hit("tiny", key) is None
        assert await first.hit("tiny", key) is None
        assert await second.hit("tiny", key) is not None
        assert await first.peek("tiny", key) is not None


class _Prefixed:
    """Keeps each test's keys apart on the shared Redis."""

    def __init__(self, inner: LimitsRateLimiter, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix

    async def hit(self, budget: str, key: str) -> int | None:
        return await self.inner.hit(budget, f"{self.prefix}-{key}")

    async def peek(self, budget: str, key: str) -> int | None:
        return await self.inner.peek(budget, f"{self.prefix}-{key}")

    async def check(self) -> None:
        await self.inner.check()


@pytest.mark.anyio
async def test_an_unreachable_redis_fails_its_check() -> None:
    from tests.e2e.server import free_port

    limiter = LimitsRateLimiter(BUDGETS, f"redis://127.0.0.1:{free_port()}")
    with pytest.raises(Transient):
        await limiter.check()
