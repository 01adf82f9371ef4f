"""The generation of a format: one counter that moves with every change to any of its packages.

Listings built from every package of a format (the PyPI root page, npm search,
later Cargo search and Helm's ``index.yaml``) would otherwise scan every
package per request. With a generation they are rendered once per change and
cached in process under it; several worker processes share the store, so the
cache is always validated by the generation read from the store.

There are no transactions across documents, so a write announces itself: it
adds an intent to the format's generation document before it commits and, when
done, removes it and bumps the counter (CAS loops on that document). While any
intent is live the generation reads as None (render, do not cache), so a listing
rendered during a write is never cached under a number the write does not move.
An intent older than :data:`INTENT_TIMEOUT` belongs to a writer that died; the
next reader or writer drops it and bumps the counter, since whatever that writer
managed to commit is in the store by then.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Final

import anyio
import msgspec

from domain.errors import Conflict, NotFound, Transient
from domain.keys import generation_key
from domain.ports import MUST_NOT_EXIST, Clock, MetadataStore

__all__ = ["INTENT_TIMEOUT", "JOURNAL", "Generation"]

INTENT_TIMEOUT: Final = timedelta(seconds=60)
"""How long a write may take before its intent is presumed dead (writes take milliseconds)."""

_ATTEMPTS: Final = 256


JOURNAL: Final = 64
"""How many recent changes the generation document names (count, what changed)."""


class _State(msgspec.Struct, kw_only=True, omit_defaults=True):
    count: int = 0
    writing: dict[str, datetime] = {}
    recent: list[tuple[int, str]] = []
    """The last changes: (the count each one made, the key it changed). A reader whose
    cache is a few counts behind re-reads just those keys instead of every package."""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_State)


class Generation:
    """The generation counter of one format, shared by every process over one store."""

    def __init__(self, fmt: str, *, meta: MetadataStore, clock: Clock) -> None:
        self._key = generation_key(fmt)
        self._meta = meta
        self._clock = clock

    async def current(self) -> int | None:
        """The counter, or None while a write is in flight (derived renders must not be cached)."""
        state = await self._read()
        return None if state is None else state.count

    async def since(self, seen: int | None) -> tuple[int | None, tuple[str, ...] | None]:
        """The counter (as :meth:`current`) and the keys changed after count ``seen``, in
        order; None for the keys when the journal cannot tell (too far behind, a dead
        writer's unnamed change, no ``seen``): then everything must be read again."""
        state = await self._read()
        if state is None:
            return None, None
        if seen is None or seen > state.count:
            return state.count, None
        named = dict(state.recent)
        wanted = range(seen + 1, state.count + 1)
        if any(count not in named for count in wanted):
            return state.count, None
        return state.count, tuple(named[count] for count in wanted)

    async def _read(self) -> _State | None:
        try:
            doc = await self._meta.get(self._key)
        except NotFound:
            return _State()
        state = _decoder.decode(doc.value)
        if not state.writing:
            return state
        now = self._clock.now()
        if any(now - started < INTENT_TIMEOUT for started in state.writing.values()):
            return None
        # only dead writers' intents: drop them, counting what they may have done (unnamed)
        bumped = _State(count=state.count + 1, recent=state.recent)
        try:
            await self._meta.put(self._key, _encoder.encode(bumped), expected=doc.version)
        except Conflict:
            return None
        return bumped

    @asynccontextmanager
    async def writing(self, subject: str = "") -> AsyncIterator[Callable[[], None]]:
        """Hold an intent for the duration of a write; call the yielded function once it commits.

        The counter moves only for a committed change, so a refused publish
        does not invalidate anything, and the journal names ``subject`` (the key
        written) for readers that follow changes. Leaving runs shielded from
        cancellation: a client that hangs up must not leave the intent to time out.
        """
        token = secrets.token_hex(8)
        committed = False

        def commit() -> None:
            nonlocal committed
            committed = True

        await self._change(lambda state: _begin(state, token, self._clock.now()))
        try:
            yield commit
        finally:
            with anyio.CancelScope(shield=True):
                await self._change(lambda state: _end(state, token, committed, subject))

    async def _change(self, edit: Callable[[_State], _State]) -> None:
        for attempt in range(_ATTEMPTS):
            try:
                doc = await self._meta.get(self._key)
            except NotFound:
                state, expected = _State(), MUST_NOT_EXIST
            else:
                state, expected = _decoder.decode(doc.value), doc.version
            try:
                await self._meta.put(self._key, _encoder.encode(edit(state)), expected=expected)
            except Conflict:
                await anyio.sleep(random.uniform(0, 0.0005 * min(attempt, 20)))
                continue
            return
        raise Transient("too much contention on the package generation", subject="package")


def _begin(state: _State, token: str, now: datetime) -> _State:
    live = {t: at for t, at in state.writing.items() if now - at < INTENT_TIMEOUT}
    dead = len(live) != len(state.writing)
    return _State(count=state.count + dead, writing={**live, token: now}, recent=state.recent)


def _end(state: _State, token: str, committed: bool, subject: str) -> _State:
    writing = dict(state.writing)
    writing.pop(token, None)
    recent = state.recent
    if committed and subject:
        recent = [*recent, (state.count + 1, subject)][-JOURNAL:]
    return _State(count=state.count + committed, writing=writing, recent=recent)
