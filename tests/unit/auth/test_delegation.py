"""A credential never hands out more than it holds: role, scopes, expiry, lineage, owner."""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.clock import FixedClock
from adapters.metadata.memory import MemoryMetadataStore
from domain.auth import delegation
from domain.auth.authenticator import Authenticator
from domain.auth.model import ApiToken, Principal, Role, Scope
from domain.auth.sessions import Grant, SessionTokens
from domain.auth.tokens import TokenService
from domain.errors import Forbidden, Unauthenticated

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _principal(
    role: Role = Role.WRITE,
    scopes: tuple[Scope, ...] = (),
    expires: datetime | None = None,
    via: str = "token",
    name: str = "bob",
) -> Principal:
    return Principal(
        name=name, role=role, scopes=scopes, token_id="a" * 16, via=via, expires=expires
    )


def test_read_credentials_and_session_tokens_manage_nothing() -> None:
    with pytest.raises(Forbidden):
        delegation.issue(_principal(Role.READ), role=Role.READ, now=NOW)
    with pytest.raises(Forbidden):
        delegation.issue(_principal(Role.ADMIN, via="docker-token"), role=Role.READ, now=NOW)


def test_role_never_grows() -> None:
    with pytest.raises(Forbidden):
        delegation.issue(_principal(Role.WRITE), role=Role.ADMIN, now=NOW)
    assert delegation.issue(_principal(Role.WRITE), role=Role.READ, now=NOW).role == Role.READ


def test_scoped_issuer_passes_its_scopes_on() -> None:
    team = (Scope.parse("npm:@team/*"),)
    inherited = delegation.issue(_principal(scopes=team), role=Role.WRITE, now=NOW)
    assert inherited.scopes == team
    narrower = delegation.issue(
        _principal(scopes=team), role=Role.WRITE, scopes=[Scope.parse("npm:@team/app")], now=NOW
    )
    assert narrower.scopes == (Scope.parse("npm:@team/app"),)
    for wider in ("npm:*", "*:@team/*", "npm:@team*", "docker:@team/app", "npm:@other/x"):
        with pytest.raises(Forbidden):
            delegation.issue(
                _principal(scopes=team), role=Role.WRITE, scopes=[Scope.parse(wider)], now=NOW
            )


def test_expiry_never_grows_and_defaults_to_the_issuers() -> None:
    ends = NOW + timedelta(days=1)
    issuer = _principal(expires=ends)
    assert delegation.issue(issuer, role=Role.READ, now=NOW).expires == ends
    shorter = delegation.issue(issuer, role=Role.READ, expires_in=timedelta(hours=1), now=NOW)
    assert shorter.expires == NOW + timedelta(hours=1)
    with pytest.raises(Forbidden):
        delegation.issue(issuer, role=Role.READ, expires_in=timedelta(days=2), now=NOW)


def test_only_admins_name_another_owner_and_the_owner_caps_the_role() -> None:
    with pytest.raises(Forbidden):
        delegation.issue(_principal(Role.WRITE), role=Role.READ, owner="carol", now=NOW)
    admin = _principal(Role.ADMIN, name="alice")
    with pytest.raises(Forbidden):
        delegation.issue(admin, role=Role.ADMIN, owner="carol", owner_role=Role.WRITE, now=NOW)
    made = delegation.issue(admin, role=Role.WRITE, owner="carol", owner_role=Role.WRITE, now=NOW)
    assert (made.owner, made.parent) == ("carol", "a" * 16)


def test_anonymous_mints_only_anonymous_tokens() -> None:
    made = delegation.issue(
        Principal(name="anonymous", role=None), role=Role.ADMIN, owner="alice", now=NOW
    )
    assert made.owner == delegation.ANONYMOUS_OWNER


def _record(**fields: object) -> ApiToken:
    base: dict[str, object] = {"id": "b" * 16, "owner": "bob", "role": Role.READ, "created": NOW}
    return ApiToken(**{**base, **fields})  # type: ignore[arg-type]


def test_covers_itself_and_what_it_could_have_made() -> None:
    reader = _principal(Role.READ)
    assert delegation.covers(reader, _record(id="a" * 16, role=Role.READ))
    assert not delegation.covers(reader, _record(role=Role.READ))
    writer = _principal(Role.WRITE, scopes=(Scope.parse("npm:@team/*"),))
    assert delegation.covers(writer, _record(scopes=(Scope.parse("npm:@team/x"),)))
    assert not delegation.covers(writer, _record())  # unscoped: more than the issuer
    assert not delegation.covers(writer, _record(role=Role.ADMIN))
    assert not delegation.covers(writer, _record(owner="carol", scopes=writer.scopes))
    expiring = _principal(Role.WRITE, expires=NOW + timedelta(days=1))
    assert not delegation.covers(expiring, _record())
    assert delegation.covers(expiring, _record(expires=NOW + timedelta(hours=1)))


_patterns = st.one_of(
    st.just("*"),
    st.text(alphabet="ab/-", min_size=1, max_size=5),
    st.text(alphabet="ab/-", max_size=4).map(lambda p: p + "*"),
    st.text(alphabet="ab/-*?", min_size=1, max_size=6),
)


@given(_patterns, _patterns, st.lists(st.text(alphabet="ab/-", max_size=6), max_size=20))
def test_scope_within_is_never_wrong_about_containment(
    inner: str, outer: str, names: list[str]
) -> None:
    """Whenever ``scope_within`` says yes, no name matches the inner scope but not the outer."""
    if delegation.scope_within(Scope("npm", inner), Scope("npm", outer)):
        for name in [*names, inner.replace("*", "").replace("?", "a")]:
            if fnmatch.fnmatchcase(name, inner):
                assert fnmatch.fnmatchcase(name, outer), (inner, outer, name)


class Users:
    def __init__(self, *names: str) -> None:
        self.names = set(names)

    async def check_password(self, username: str, password: str) -> bool:
        return username in self.names and password == "pw"

    def __contains__(self, username: object) -> bool:
        return username in self.names

    def generation(self) -> int:
        return 0


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def world(clock: FixedClock) -> tuple[TokenService, Authenticator, Users]:
    meta = MemoryMetadataStore()
    tokens = TokenService(meta, clock)
    users = Users("bob", "alice")
    auth = Authenticator(users, tokens, SessionTokens(meta, clock), admins=["alice"])
    return tokens, auth, users


async def test_revoking_a_token_ends_everything_minted_through_it(world) -> None:  # type: ignore[no-untyped-def]
    tokens, auth, _ = world
    parent_secret, parent = await tokens.create("bob", Role.WRITE)
    child_secret, child = await tokens.create("bob", Role.READ, parent=parent.id)
    grandchild_secret, _ = await tokens.create("bob", Role.READ, parent=child.id)
    assert (await auth.token(grandchild_secret)).role == Role.READ
    await tokens.revoke(parent.id)
    for secret in (parent_secret, child_secret, grandchild_secret):
        with pytest.raises(Unauthenticated):
            await auth.token(secret)


async def test_a_token_is_only_as_good_as_its_owner(world) -> None:  # type: ignore[no-untyped-def]
    tokens, auth, users = world
    secret, _ = await tokens.create("bob", Role.WRITE)
    assert (await auth.token(secret)).name == "bob"
    users.names.discard("bob")
    with pytest.raises(Unauthenticated):
        await auth.token(secret)
    anonymous_secret, _ = await tokens.create(delegation.ANONYMOUS_OWNER, Role.ADMIN)
    with pytest.raises(Unauthenticated):
        await auth.token(anonymous_secret)


async def test_expires_at_caps_the_requested_expiry(world, clock) -> None:  # type: ignore[no-untyped-def]
    tokens, _, _ = world
    now = clock.now()
    _, record = await tokens.create(
        "bob", Role.READ, expires_in=timedelta(days=30), expires_at=now + timedelta(days=1)
    )
    assert record.expires == now + timedelta(days=1)


async def test_sessions_follow_the_credential_they_were_issued_to(world, clock) -> None:  # type: ignore[no-untyped-def]
    tokens, auth, users = world
    _, record = await tokens.create("bob", Role.WRITE)
    ends = clock.now() + timedelta(minutes=1)
    grant = (Grant("team/app", ("pull",)),)
    session = await auth.sessions.issue(
        "bob", Role.WRITE, grant, not_after=ends, token_id=record.id
    )
    principal = await auth.token(session)
    assert principal.expires is not None
    assert principal.expires <= ends
    await tokens.revoke(record.id)
    with pytest.raises(Unauthenticated):
        await auth.token(session)
    # a session minted with access control off (admin, owned by nobody) grants nothing
    open_session = await auth.sessions.issue("anonymous", Role.ADMIN, grant)
    assert (await auth.token(open_session)).role is None
    users.names.discard("alice")
    alice_session = await auth.sessions.issue("alice", Role.ADMIN, grant)
    with pytest.raises(Unauthenticated):
        await auth.token(alice_session)


async def test_old_token_records_without_a_parent_still_decode(world) -> None:  # type: ignore[no-untyped-def]
    """Records written before ``parent`` existed keep working (stored data is a contract)."""
    tokens, auth, _ = world
    secret, record = await tokens.create("bob", Role.WRITE)
    raw = msgspec.json.decode(msgspec.json.encode(record))
    del raw["parent"]
    meta = tokens._meta  # the fixture's store
    await meta.put(f"auth/tokens/{record.id}", msgspec.json.encode(raw))
    assert (await auth.token(secret)).role == Role.WRITE


@pytest.mark.parametrize(
    ("spelling", "inside"),
    [("team-tool", True), ("Team_Tool", True), ("TEAM..tool", True), ("teamtool", False)],
)
def test_pypi_scopes_match_every_spelling_of_a_project(spelling: str, inside: bool) -> None:
    """A scope cannot be dodged (or widened) by spelling a project name another way."""
    assert Scope.parse("pypi:team-*").matches("pypi", spelling) is inside
    assert Scope.parse("pypi:Team_*").matches("pypi", spelling) is inside
