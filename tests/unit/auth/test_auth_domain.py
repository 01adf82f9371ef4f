"""Access-control domain: scopes, tokens, session tokens, the decision, the trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.auth.activity import ActivityEvent, ActivityLog
from domain.auth.authenticator import Authenticator
from domain.auth.model import ANONYMOUS, Principal, Role, Scope
from domain.auth.policy import AccessPolicy
from domain.auth.sessions import Grant, SessionTokens
from domain.auth.tokens import TokenService
from domain.errors import Forbidden, InvalidInput, NotFound, Unauthenticated

pytestmark = pytest.mark.anyio


class Users:
    """A fake directory: alice/wonderland, bob/builder."""

    passwords = {"alice": "wonderland", "bob": "builder"}

    async def check_password(self, username: str, password: str) -> bool:
        return self.passwords.get(username) == password

    def __contains__(self, username: object) -> bool:
        return username in self.passwords

    def generation(self) -> int:
        return 0

    def password_stamp(self, username: str) -> str | None:
        password = self.passwords.get(username)
        return None if password is None else f"stamp-{len(password)}-{password[:1]}"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def meta() -> MemoryMetadataStore:
    return MemoryMetadataStore()


@pytest.fixture
def tokens(meta, clock) -> TokenService:  # type: ignore[no-untyped-def]
    return TokenService(meta, clock)


@pytest.fixture
def auth(meta, clock, tokens) -> Authenticator:  # type: ignore[no-untyped-def]
    return Authenticator(Users(), tokens, SessionTokens(meta, clock), admins=["alice"])


@given(st.text(max_size=80))
def test_scope_parse_returns_scope_or_invalid_input(text: str) -> None:
    try:
        scope = Scope.parse(text)
    except InvalidInput as exc:
        assert exc.subject == "scope"
    else:
        assert str(scope) == text.strip()


def test_scope_matching() -> None:
    scope = Scope.parse("npm:@acme/*")
    assert scope.matches("npm", "@acme/util")
    assert not scope.matches("npm", "@other/util")
    assert not scope.matches("pypi", "@acme/util")
    assert scope.matches("npm", None)
    assert Scope.parse("*:internal-*").matches("pypi", "internal-tools")
    assert Scope.parse("docker:team/*").matches("docker", "team/sub/app")


@given(st.text(max_size=20))
def test_role_parse(text: str) -> None:
    try:
        role = Role.parse(text)
    except InvalidInput:
        assert text.strip().lower() not in ("read", "write", "admin")
    else:
        assert str(role) == text.strip().lower()


async def test_token_lifecycle(tokens, clock, meta) -> None:  # type: ignore[no-untyped-def]
    secret, record = await tokens.create(
        "alice", Role.READ, scopes=[Scope.parse("npm:@acme/*")], expires_in=timedelta(days=1)
    )
    assert secret.startswith("nora_")
    stored = (await meta.get(f"auth/tokens/{record.id}")).value
    assert secret.split("_", 2)[2].encode() not in stored  # the secret part may hold "_"
    verified = await tokens.verify(secret)
    assert (verified.owner, verified.role, verified.last_used) == ("alice", Role.READ, clock.now())
    assert [t.id for t in await tokens.list("alice")] == [record.id]
    assert await tokens.list("bob") == []
    clock.advance(timedelta(days=1))
    with pytest.raises(Unauthenticated, match="expired"):
        await tokens.verify(secret)
    other, other_record = await tokens.create("bob", Role.WRITE)
    await tokens.revoke(other_record.id)
    with pytest.raises(Unauthenticated, match="revoked"):
        await tokens.verify(other)
    with pytest.raises(NotFound):
        await tokens.revoke("0123456789abcdef")


async def test_last_used_is_not_written_on_every_request(tokens, clock, meta) -> None:  # type: ignore[no-untyped-def]
    secret, record = await tokens.create("alice", Role.WRITE)
    await tokens.verify(secret)
    version = (await meta.get(f"auth/tokens/{record.id}")).version
    clock.advance(timedelta(minutes=1))
    for _ in range(20):
        await tokens.verify(secret)
    assert (await meta.get(f"auth/tokens/{record.id}")).version == version
    clock.advance(timedelta(minutes=5))
    await tokens.verify(secret)
    assert (await meta.get(f"auth/tokens/{record.id}")).version == version + 1


@given(st.text(max_size=120))
async def test_verify_rejects_anything_that_is_not_a_token(text: str) -> None:
    service = TokenService(MemoryMetadataStore(), FixedClock())
    with pytest.raises(Unauthenticated):
        await service.verify(text)


async def test_tampered_token_is_refused(tokens) -> None:  # type: ignore[no-untyped-def]
    secret, _ = await tokens.create("alice", Role.WRITE)
    tampered = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    with pytest.raises(Unauthenticated):
        await tokens.verify(tampered)


async def test_authenticator_passwords_and_tokens(auth, tokens) -> None:  # type: ignore[no-untyped-def]
    alice = await auth.password("alice", "wonderland")
    assert (alice.name, alice.role, alice.via) == ("alice", Role.ADMIN, "password")
    bob = await auth.password("bob", "builder")
    assert bob.role == Role.WRITE
    for user, password in (("bob", "wrong"), ("mallory", "x"), ("", "")):
        with pytest.raises(Unauthenticated):
            await auth.password(user, password)
    secret, _ = await tokens.create("bob", Role.ADMIN)  # more than bob may have
    via_token = await auth.password("__token__", secret)
    assert (via_token.name, via_token.role, via_token.via) == ("bob", Role.WRITE, "token")
    assert (await auth.token(secret)).token_id is not None


async def test_session_tokens(meta, clock) -> None:  # type: ignore[no-untyped-def]
    sessions = SessionTokens(meta, clock)
    token = await sessions.issue(
        "bob", Role.WRITE, (Grant("team/app", ("pull", "push")), Grant("base", ("pull",)))
    )
    principal = await sessions.verify(token)
    policy = AccessPolicy(enabled=True)
    policy.check(principal, Role.WRITE, "docker", "team/app")
    policy.check(principal, Role.READ, "docker", "base")
    with pytest.raises(Forbidden):
        policy.check(principal, Role.WRITE, "docker", "base")
    with pytest.raises(Forbidden):
        policy.check(principal, Role.READ, "docker", "elsewhere")
    # a second replica over the same metadata verifies it too
    assert (await SessionTokens(meta, clock).verify(token)).name == "bob"
    forged = token.rsplit(".", 1)[0] + ".AAAA"
    with pytest.raises(Unauthenticated):
        await sessions.verify(forged)
    clock.advance(sessions.lifetime)
    with pytest.raises(Unauthenticated):
        await sessions.verify(token)


async def test_empty_grant_allows_nothing(meta, clock) -> None:  # type: ignore[no-untyped-def]
    sessions = SessionTokens(meta, clock)
    principal = await sessions.verify(await sessions.issue("bob", Role.WRITE, ()))
    with pytest.raises(Forbidden):
        AccessPolicy(enabled=True).check(principal, Role.READ, "docker", "any")


def test_policy_decisions() -> None:
    off = AccessPolicy(enabled=False)
    off.check(ANONYMOUS, Role.ADMIN, "npm", "x")
    on = AccessPolicy(enabled=True)
    on.check(ANONYMOUS, None, "ops", None)  # public route
    with pytest.raises(Unauthenticated):
        on.check(ANONYMOUS, Role.READ, "npm", "x")
    anon_read = AccessPolicy(enabled=True, anonymous_read=True)
    anon_read.check(ANONYMOUS, Role.READ, "npm", "x")
    with pytest.raises(Unauthenticated):
        anon_read.check(ANONYMOUS, Role.WRITE, "npm", "x")
    docker_only = AccessPolicy(enabled=True, docker_anon_pull=True)
    docker_only.check(ANONYMOUS, Role.READ, "docker", "img")
    with pytest.raises(Unauthenticated):
        docker_only.check(ANONYMOUS, Role.READ, "npm", "x")
    reader = Principal(name="r", role=Role.READ, via="token")
    with pytest.raises(Forbidden):
        on.check(reader, Role.WRITE, "pypi", "p")
    scoped = Principal(name="s", role=Role.WRITE, scopes=(Scope.parse("pypi:internal-*"),))
    on.check(scoped, Role.WRITE, "pypi", "internal-tools")
    with pytest.raises(Forbidden):
        on.check(scoped, Role.WRITE, "pypi", "public-tools")
    with pytest.raises(Forbidden):
        on.check(scoped, Role.READ, "npm", "internal-x")


async def test_activity_newest_first_with_filters_and_cursor(meta, clock) -> None:  # type: ignore[no-untyped-def]
    log = ActivityLog(meta, clock)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(12):
        await log.record(
            ActivityEvent(
                at=start + timedelta(seconds=i),
                actor="alice" if i % 2 else "bob",
                action="denied" if i % 3 == 0 else "write",
                format="npm" if i < 6 else "docker",
                target=f"t{i}",
            )
        )
    everything = await log.query(limit=100)
    assert [e.target for e in everything.items] == [f"t{i}" for i in reversed(range(12))]
    alice_writes = await log.query(actor="alice", actions=["write"])
    assert [e.target for e in alice_writes.items] == ["t11", "t7", "t5", "t1"]
    first = await log.query(fmt="docker", limit=4)
    assert [e.target for e in first.items] == ["t11", "t10", "t9", "t8"]
    assert first.next_cursor is not None
    rest = await log.query(fmt="docker", limit=4, cursor=first.next_cursor)
    assert [e.target for e in rest.items] == ["t7", "t6"]
    window = await log.query(since=start + timedelta(seconds=3), until=start + timedelta(seconds=5))
    assert [e.target for e in window.items] == ["t5", "t4", "t3"]
    with pytest.raises(InvalidInput):
        await log.query(limit=0)
    with pytest.raises(InvalidInput):
        await log.query(cursor="../x")


async def test_activity_paging_goes_on_past_the_scan_budget(meta, clock) -> None:  # type: ignore[no-untyped-def]
    """A rare filter: each page reads at most ``max_scanned`` events and still hands on a cursor."""
    log = ActivityLog(meta, clock)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(500):
        await log.record(
            ActivityEvent(
                at=start + timedelta(seconds=i),
                actor="rare" if i % 100 == 7 else "common",
                action="write",
                target=f"t{i}",
            )
        )
    expected = [f"t{i}" for i in reversed(range(500)) if i % 100 == 7]
    assert len(expected) == 5
    first = await log.query(actor="rare", max_scanned=50)
    assert first.items == []  # t407, the newest match, lies beyond the first 50 read
    assert first.next_cursor is not None
    found: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await log.query(actor="rare", limit=4, cursor=cursor, max_scanned=50)
        found += [event.target for event in page.items]
        pages += 1
        assert len(page.items) <= 4
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert found == expected  # every match, once, newest first
    assert pages == 10  # 500 events, 50 read a page: the budget ends every page
    # the budget never hides the end of the trail: the last page has no cursor
    last = await log.query(limit=1000, max_scanned=1000)
    assert len(last.items) == 500
    assert last.next_cursor is None
    # a page filled before the budget runs out keeps the plain cursor of its last item
    full = await log.query(actor="common", limit=3, max_scanned=50)
    assert [event.target for event in full.items] == ["t499", "t498", "t497"]
    again = await log.query(actor="common", limit=1, cursor=full.next_cursor)
    assert [event.target for event in again.items] == ["t496"]
    # the since window still ends paging without a cursor, budget or not
    window = await log.query(actor="rare", since=start + timedelta(seconds=400), max_scanned=50)
    assert window.items == []
    assert window.next_cursor is not None
    rest = await log.query(
        actor="rare", since=start + timedelta(seconds=400), cursor=window.next_cursor
    )
    assert [event.target for event in rest.items] == ["t407"]
    assert rest.next_cursor is None
    with pytest.raises(InvalidInput):
        await log.query(max_scanned=0)
