"""Hostile Authorization headers and bearer tokens: a principal or a domain error, nothing else."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.auth.model import Principal
from domain.auth.sessions import SessionTokens
from domain.errors import Unauthenticated
from entrypoints.config import Settings
from entrypoints.container import build_container
from entrypoints.http.access import _credentials

pytestmark = pytest.mark.anyio

_AUTHENTICATOR = build_container(
    Settings(storage_mode="memory", metadata_url="memory://", auth_enabled=True)
).auth.authenticator()

_schemes = st.sampled_from(["Basic", "basic", "Bearer", "bearer", "Digest", "", "Token"])
_basic_payloads = st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode())
_values = st.one_of(st.text(max_size=300), _basic_payloads, st.just("nora_" + "a" * 60))


@settings(max_examples=300, deadline=None)
@given(_schemes, _values)
async def test_any_header_gives_a_principal_or_unauthenticated(scheme: str, value: str) -> None:
    header = f"{scheme} {value}" if scheme else value
    try:
        principal = await _credentials(header, _AUTHENTICATOR)
    except Unauthenticated:
        return
    assert isinstance(principal, Principal)  # only reachable with real credentials
    raise AssertionError(f"random credentials were accepted: {header!r}")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
async def test_session_tokens_refuse_anything_forged(text: str) -> None:
    sessions = SessionTokens(MemoryMetadataStore(), FixedClock())
    for candidate in (text, "nts." + text, f"nts.{text}.{text}"):
        with pytest.raises(Unauthenticated):
            await sessions.verify(candidate)
