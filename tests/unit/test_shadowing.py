"""domain.shadowing.shadowed, the rule every pull-through format shares (OCI, npm, PyPI)."""

from __future__ import annotations

import pytest

from domain.errors import NotFound
from domain.shadowing import hosted_unless, shadowed

pytestmark = pytest.mark.anyio


class Calls:
    def __init__(self) -> None:
        self.log: list[str] = []

    def hosted(self, answer: str | NotFound):  # type: ignore[no-untyped-def]
        async def run() -> str:
            self.log.append("hosted")
            if isinstance(answer, NotFound):
                raise answer
            return answer

        return run

    def upstream(self, answer: str = "upstream"):  # type: ignore[no-untyped-def]
        async def run() -> str:
            self.log.append("upstream")
            return answer

        return run


async def test_a_hit_never_asks_the_upstream() -> None:
    calls = Calls()
    got = await shadowed(calls.hosted("here"), calls.upstream(), hosted_here=hosted_unless("name"))
    assert got == "here"
    assert calls.log == ["hosted"]


async def test_a_miss_inside_a_hosted_name_stands() -> None:
    calls = Calls()
    miss = NotFound("no such tag", subject="manifest")
    with pytest.raises(NotFound) as caught:
        await shadowed(calls.hosted(miss), calls.upstream(), hosted_here=hosted_unless("name"))
    assert caught.value is miss
    assert calls.log == ["hosted"]


async def test_a_name_never_hosted_goes_upstream() -> None:
    calls = Calls()
    miss = NotFound("unknown", subject="package")
    got = await shadowed(calls.hosted(miss), calls.upstream(), hosted_here=hosted_unless("package"))
    assert got == "upstream"
    assert calls.log == ["hosted", "upstream"]


async def test_without_an_upstream_the_miss_stands_and_nothing_else_is_asked() -> None:
    calls = Calls()
    asked: list[NotFound] = []

    async def hosted_here(miss: NotFound) -> bool:
        asked.append(miss)
        return False

    miss = NotFound("unknown", subject="name")
    with pytest.raises(NotFound) as caught:
        await shadowed(calls.hosted(miss), None, hosted_here=hosted_here)
    assert caught.value is miss
    assert asked == []  # no upstream: not even the hosted check runs


async def test_the_hosted_check_decides_and_sees_the_miss() -> None:
    calls = Calls()
    seen: list[str] = []

    async def exists(miss: NotFound) -> bool:
        seen.append(miss.subject)
        return True

    with pytest.raises(NotFound):
        await shadowed(calls.hosted(NotFound(subject="blob")), calls.upstream(), hosted_here=exists)
    assert seen == ["blob"]
    assert calls.log == ["hosted"]
