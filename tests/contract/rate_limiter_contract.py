"""The RateLimiter contract: budget ``tiny`` allows 3 hits a minute per key, ``large`` 1000."""

from __future__ import annotations

import pytest

from domain.ports import RateLimiter


class RateLimiterContract:
    @pytest.fixture
    def limiter(self) -> RateLimiter:
        raise NotImplementedError

    @pytest.mark.anyio
    async def test_budget_per_key(self, limiter: RateLimiter) -> None:
        assert [await limiter.hit("tiny", "k1") for _ in range(3)] == [None, None, None]
        retry = await limiter.hit("tiny", "k1")
        assert retry is not None
        assert 1 <= retry <= 60
        assert await limiter.hit("tiny", "k2") is None

    @pytest.mark.anyio
    async def test_peek_counts_nothing(self, limiter: RateLimiter) -> None:
        for _ in range(10):
            assert await limiter.peek("tiny", "p") is None
        for _ in range(3):
            await limiter.hit("tiny", "p")
        retry = await limiter.peek("tiny", "p")
        assert retry is not None
        assert retry >= 1
        assert await limiter.peek("unlisted", "p") is None

    @pytest.mark.anyio
    async def test_unknown_budget_is_unlimited(self, limiter: RateLimiter) -> None:
        assert all([await limiter.hit("unlisted", "k") is None for _ in range(50)])

    @pytest.mark.anyio
    async def test_large_budget_is_enforced_within_a_batch(self, limiter: RateLimiter) -> None:
        answers = [await limiter.hit("large", "k") for _ in range(1100)]
        allowed = sum(1 for answer in answers if answer is None)
        assert 1000 - 16 <= allowed <= 1000 + 16
        assert answers[-1] is not None

    @pytest.mark.anyio
    async def test_check_passes_while_the_storage_answers(self, limiter: RateLimiter) -> None:
        await limiter.check()
