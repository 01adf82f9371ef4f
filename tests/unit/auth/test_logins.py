"""Dashboard logins: stored by hash, re-checked on use, ended by logout, bounded by tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.auth.authenticator import Authenticator
from domain.auth.logins import LOGIN_VIA, MAX_PER_USER, LoginSessions, csrf_token, csrf_valid
from domain.auth.model import ANONYMOUS, Role, Scope
from domain.auth.sessions import SessionTokens
from domain.auth.tokens import TokenService
from domain.errors import Unauthenticated
from domain.keys import LOGIN_PREFIX
from tests.unit.auth.test_auth_domain import Users

pytestmark = pytest.mark.anyio


@pytest.fixture
def world() -> tuple[LoginSessions, Authenticator, TokenService, FixedClock, MemoryMetadataStore]:
    clock, meta = FixedClock(), MemoryMetadataStore()
    tokens = TokenService(meta, clock)
    auth = Authenticator(Users(), tokens, SessionTokens(meta, clock), admins=["alice"])
    return LoginSessions(meta, clock, lifetime=timedelta(hours=12)), auth, tokens, clock, meta


async def test_a_password_login_lasts_its_lifetime_and_logout_ends_it(world) -> None:  # type: ignore[no-untyped-def]
    logins, auth, _, clock, meta = world
    secret, login = await logins.start(await auth.password("bob", "builder"))
    stored = (await meta.scan(LOGIN_PREFIX)).items
    assert len(stored) == 1
    assert secret not in stored[0].key, "only the secret's hash is stored"
    assert secret.encode() not in stored[0].value
    principal = await auth.login(await logins.find(secret))
    assert (principal.name, principal.role, principal.via) == ("bob", Role.WRITE, LOGIN_VIA)
    assert principal.expires is None, "a password does not expire, so neither do its tokens"
    assert login.expires == clock.now() + timedelta(hours=12)
    clock.advance(timedelta(hours=11))
    await logins.find(secret)
    await logins.end(secret)
    with pytest.raises(Unauthenticated):
        await logins.find(secret)
    secret, _ = await logins.start(await auth.password("bob", "builder"))
    clock.advance(timedelta(hours=12))
    with pytest.raises(Unauthenticated):
        await logins.find(secret)
    assert (await meta.scan(LOGIN_PREFIX)).items == [], "an expired session is dropped on sight"


async def test_a_token_login_is_bounded_by_the_token(world) -> None:  # type: ignore[no-untyped-def]
    logins, auth, tokens, clock, _ = world
    expires = clock.now() + timedelta(hours=2)
    token, record = await tokens.create(
        "alice", Role.WRITE, scopes=(Scope.parse("npm:@acme/*"),), expires_at=expires
    )
    secret, login = await logins.start(await auth.password("alice", token))
    assert login.expires == expires, "a session never outlives the token behind it"
    principal = await auth.login(await logins.find(secret))
    assert principal.role == Role.WRITE, "not alice's admin role: the token's"
    assert principal.scopes == (Scope.parse("npm:@acme/*"),)
    assert principal.token_id == record.id
    assert principal.expires == expires
    await tokens.revoke(record.id)
    with pytest.raises(Unauthenticated):
        await auth.login(await logins.find(secret))


async def test_a_removed_or_demoted_user_loses_the_session(world) -> None:  # type: ignore[no-untyped-def]
    logins, auth, _, _, _ = world
    secret, _ = await logins.start(await auth.password("alice", "wonderland"))
    assert (await auth.login(await logins.find(secret))).role == Role.ADMIN
    auth.admins = frozenset()
    assert (await auth.login(await logins.find(secret))).role == Role.WRITE
    auth.users.passwords = {"bob": "builder"}  # type: ignore[attr-defined]
    with pytest.raises(Unauthenticated):
        await auth.login(await logins.find(secret))


async def test_the_anonymous_caller_gets_no_session(world) -> None:  # type: ignore[no-untyped-def]
    logins = world[0]
    with pytest.raises(Unauthenticated):
        await logins.start(ANONYMOUS)


async def test_sweep_removes_only_expired_sessions(world) -> None:  # type: ignore[no-untyped-def]
    logins, auth, _, clock, meta = world
    await logins.start(await auth.password("bob", "builder"))
    clock.advance(timedelta(hours=6))
    kept, _ = await logins.start(await auth.password("bob", "builder"))
    clock.advance(timedelta(hours=7))
    assert await logins.sweep() == 1
    assert len((await meta.scan(LOGIN_PREFIX)).items) == 1
    await logins.find(kept)


@given(st.text(max_size=300))
async def test_any_cookie_value_is_a_session_or_unauthenticated(text: str) -> None:
    logins = LoginSessions(MemoryMetadataStore(), FixedClock())
    with pytest.raises(Unauthenticated):
        await logins.find(text)
    await logins.end(text)  # never raises


@given(st.text(max_size=40), st.text(max_size=200))
def test_csrf_tokens_are_bound_to_their_key(key: str, presented: str) -> None:
    assert csrf_valid(key, "form", csrf_token(key, "form"))
    assert not csrf_valid(key + "x", "form", csrf_token(key, "form"))
    assert not csrf_valid(key, "other", csrf_token(key, "form"))
    if presented != csrf_token(key, "form"):
        assert not csrf_valid(key, "form", presented)


async def test_a_new_password_ends_a_password_session(world) -> None:  # type: ignore[no-untyped-def]
    logins, auth, _, _, _ = world
    bob = await auth.password("bob", "builder")
    secret, _ = await logins.start(bob, password_stamp=auth.users.password_stamp("bob"))
    await auth.login(await logins.find(secret))
    auth.users.passwords = {**auth.users.passwords, "bob": "new password"}  # type: ignore[attr-defined]
    with pytest.raises(Unauthenticated, match="password has changed"):
        await auth.login(await logins.find(secret))


async def test_a_registry_session_token_cannot_start_a_session(world) -> None:  # type: ignore[no-untyped-def]
    logins, auth, _, _, _ = world
    nts = await auth.sessions.issue("bob", Role.WRITE, ())
    principal = await auth.password("__token__", nts)
    assert principal.from_session
    with pytest.raises(Unauthenticated):
        await logins.start(principal)


async def test_a_user_holds_at_most_so_many_sessions(world) -> None:  # type: ignore[no-untyped-def]
    logins, auth, _, clock, meta = world
    bob = await auth.password("bob", "builder")
    secrets = []
    for _ in range(MAX_PER_USER + 3):
        secrets.append((await logins.start(bob))[0])
        clock.advance(timedelta(seconds=1))
    await logins.start(await auth.password("alice", "wonderland"))
    assert len((await meta.scan(LOGIN_PREFIX)).items) == MAX_PER_USER + 1
    for old in secrets[:3]:
        with pytest.raises(Unauthenticated):
            await logins.find(old)
    for kept in secrets[3:]:
        await logins.find(kept)
