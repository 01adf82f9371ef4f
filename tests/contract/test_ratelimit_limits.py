"""The RateLimiter contract against the limits adapter with in-memory storage."""

from __future__ import annotations

import pytest

from adapters.auth.ratelimit import LimitsRateLimiter
from domain.ports import RateLimiter
from tests.contract.rate_limiter_contract import RateLimiterContract


class TestLimitsMemory(RateLimiterContract):
    @pytest.fixture
    def limiter(self) -> RateLimiter:
        return LimitsRateLimiter({"tiny": "3/minute", "large": "1000/minute"}, "memory://")
