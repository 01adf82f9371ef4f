"""The Upstream contract against the HTTP adapter, plus its timeout."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.upstream.http import HttpUpstream
from domain.errors import Transient
from domain.ports import Upstream
from tests.contract.upstream_contract import UpstreamContract, origin  # noqa: F401


class TestHttpUpstream(UpstreamContract):
    @pytest.fixture
    async def upstream(self) -> AsyncIterator[Upstream]:
        adapter = HttpUpstream()
        yield adapter
        await adapter.close()

    @pytest.mark.anyio
    async def test_read_timeout_is_transient(self, origin: str) -> None:  # noqa: F811
        adapter = HttpUpstream(read_timeout=0.5)
        with pytest.raises(Transient):
            async with adapter.fetch(origin + "/slow"):
                pass
        await adapter.close()
