"""The access-control layer in front of every format.

- Each format declares the role its routes need (``HttpFormat.roles``, None:
  public), how names are read from its paths and how it renders a refusal;
  this module loops over the registered :class:`Formats` and names none. A
  route no format declares needs admin (fail closed), and a unit test walks
  the app's routes so none is forgotten.
- :func:`check_access` authenticates Basic or Bearer credentials, applies
  rate limits, checks role and scopes, and leaves the principal in the
  request state for handlers (``principal_of``).
- :class:`AccessDenied` becomes each format's own 401/403/429 answer, from the
  same renderer as its other errors, with the challenge its clients understand.
- :func:`access_middleware` runs the check for every routed request and
  records every write and every denial in the activity trail.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from litestar import Request, Response
from litestar.types import ASGIApp, Message, Receive, Send
from prometheus_client import Counter

from domain import errors as e
from domain.auth.activity import ActivityEvent
from domain.auth.authenticator import Authenticator
from domain.auth.logins import Login
from domain.auth.model import ANONYMOUS, Principal, Role
from entrypoints.config import Settings
from entrypoints.container import Container
from entrypoints.http.bodies import bound_body
from entrypoints.http.deps import container_of
from entrypoints.http.errors import domain_error_response
from entrypoints.http.formats import BASIC_CHALLENGE, Formats

__all__ = [
    "AccessDenied",
    "access_middleware",
    "check_access",
    "client_address",
    "client_of",
    "forget_credentials",
    "formats_of",
    "login_of",
    "principal_of",
    "prove_login",
    "readable",
    "render_denied",
    "require",
]

_log = logging.getLogger("nora.auth")

R = Role.READ

_AUTH_FAILURES = Counter(
    "nora_auth_failures_total",
    "Requests refused for credentials or permissions.",
    ["format", "reason"],
)
_RATE_LIMITED = Counter("nora_rate_limited_total", "Requests answered 429.", ["format", "budget"])

_MAX_AUTHORIZATION: Final = 8192
_STATE_KEY: Final = "nora_principal"
_LOGIN_KEY: Final = "nora_login"
_MAX_COOKIE: Final = 8192
_CLIENT_KEY: Final = "nora_client"


class AccessDenied(Exception):
    """A refused request; rendered in the format's own shape by :func:`render_denied`.

    Deliberately not a NoraError, so protocol modules' own error tables never
    catch it.
    """

    def __init__(self, error: e.NoraError, fmt: str, name: str | None, needed: Role | None):
        super().__init__(error.detail)
        self.error = error
        self.format = fmt
        self.name = name
        self.needed = needed


def formats_of(scope: Any) -> Formats:
    """The registered formats of the app serving this request."""
    table: Formats = scope["app"].state["formats"]
    return table


def client_address(scope: Any, trusted: list[Any]) -> str:
    """The client's address; X-Forwarded-For is believed only from trusted proxies."""
    client = scope.get("client")
    peer = client[0] if client else ""
    if not trusted or not _in(peer, trusted):
        return peer
    forwarded = ""
    for key, value in scope.get("headers", ()):
        if key == b"x-forwarded-for":
            forwarded = value.decode("latin-1")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):  # the rightmost address no trusted proxy vouches for
        if not _in(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _in(address: str, networks: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    """Who made this request (the anonymous principal when auth is off or absent)."""
    principal = request.scope.get("state", {}).get(_STATE_KEY)
    return principal if isinstance(principal, Principal) else ANONYMOUS


def login_of(request: Request[Any, Any, Any]) -> Login | None:
    """The dashboard session this request came with, if its cookie was accepted."""
    login = request.scope.get("state", {}).get(_LOGIN_KEY)
    return login if isinstance(login, Login) else None


def readable(request: Request[Any, Any, Any], fmt: str) -> Callable[[str], bool] | None:
    """A filter for listings and searches: None when the caller may read every name.

    Every listing of names (catalogs, searches, index pages) passes its
    results through this, so a scoped credential sees only what it may read.
    """
    policy = container_of(request.app).auth.policy()
    principal = principal_of(request)
    if principal.from_session:  # a listing is bounded by the credential, not the grants
        principal = msgspec.structs.replace(principal, scopes=principal.bounds, via="bounds")
    if not policy.enabled or (not principal.anonymous and not principal.scopes):
        return None
    return lambda name: policy.allows(principal, R, fmt, name)


def require(request: Request[Any, Any, Any], needed: Role, fmt: str, name: str) -> None:
    """Check a name the guard could not see (one inside a body): raise AccessDenied."""
    try:
        container_of(request.app).auth.policy().check(principal_of(request), needed, fmt, name)
    except (e.Unauthenticated, e.Forbidden) as exc:
        raise AccessDenied(exc, fmt, name, needed) from None


async def check_access(scope: Any, container: Container) -> None:
    """Authenticate, rate-limit and authorise one request (see the module docstring)."""
    auth = container.auth
    policy = auth.policy()
    method = str(scope.get("method", "GET"))
    path = scope["path"]
    template = scope.get("path_template", "")
    formats = formats_of(scope)
    needed = formats.role_for(template, method, path)
    fmt = formats.format_of(path)
    name = formats.name_of(path)
    client = client_of(scope, container.settings())
    try:
        principal = await _authenticate(scope, auth, client)
        scope.setdefault("state", {})[_STATE_KEY] = principal
        policy.check(principal, needed, fmt, name, scoped=template not in formats.unscoped)
        if needed is not None:
            budget = "read" if needed == R else "write"
            who = principal.token_id or (None if principal.anonymous else principal.name) or client
            retry = await auth.rate_limiter().hit(budget, who)
            if retry is not None:
                _RATE_LIMITED.labels(fmt, budget).inc()
                raise e.RateLimited("too many requests", retry_after=retry, subject=budget)
    except e.RateLimited as exc:
        raise AccessDenied(exc, fmt, name, needed) from None
    except (e.Unauthenticated, e.Forbidden) as exc:
        _AUTH_FAILURES.labels(fmt, type(exc).__name__.lower()).inc()
        raise AccessDenied(exc, fmt, name, needed) from None


def client_of(scope: Any, settings: Settings) -> str:
    """The request's client address, worked out once and kept in the request state."""
    state = scope.setdefault("state", {})
    client = state.get(_CLIENT_KEY)
    if client is None:
        client = state[_CLIENT_KEY] = client_address(scope, _trusted(settings.auth_trusted_proxies))
    return str(client)


_TRUSTED_CACHE: dict[str, list[Any]] = {}


def _trusted(text: str) -> list[Any]:
    cached = _TRUSTED_CACHE.get(text)
    if cached is None:
        cached = [
            ipaddress.ip_network(part.strip(), strict=False)
            for part in text.split(",")
            if part.strip()
        ]
        _TRUSTED_CACHE[text] = cached
    return cached


class _CredentialCache:
    """Principals recently proven by an Authorization header, for a few seconds.

    Clients send the same header with every request (some send Basic
    passwords each time); re-checking it every time would cost a bcrypt
    cache probe or a token lookup per request. Entries live ``ttl`` seconds,
    keyed by the header itself (it is in this process's memory for the
    request anyway). A revoked token stops working at once in the process that
    revoked it (which clears the cache), and within ``revocation_poll`` seconds
    in every other worker and replica: each compares the store's revocation
    mark at most that often and drops everything when it moved. A changed
    password or a removed user clears it as soon as the user directory sees the
    change (it re-reads its file within a second); each replica reads its own.
    """

    def __init__(self, ttl: float = 5.0, size: int = 10_000, revocation_poll: float = 1.0) -> None:
        self.ttl = ttl
        self.size = size
        self.revocation_poll = revocation_poll
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._mark: int | None = None
        self._users: int | None = None
        self._next_poll = 0.0

    async def follow_revocations(self, tokens: Any, users: Any) -> None:
        """Drop every entry when the users changed here, or a revocation happened anywhere
        since the last look."""
        generation = users.generation()
        if generation != self._users:
            self._entries.clear()
            self._users = generation
        now = time.monotonic()
        if now < self._next_poll:
            return
        self._next_poll = now + self.revocation_poll
        try:
            mark = await tokens.revocations()
        except e.Transient:
            mark = None  # cannot tell: trust nothing cached
        if mark != self._mark or mark is None:
            self._entries.clear()
        self._mark = mark

    def get(self, header: str) -> Principal | None:
        entry = self._entries.get(header)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, header: str, principal: Principal) -> None:
        lifetime = self.ttl
        if principal.expires is not None:  # never past the credential's own expiry
            left = (principal.expires - datetime.now(UTC)).total_seconds()
            lifetime = max(0.0, min(lifetime, left))
        self._entries[header] = (principal, time.monotonic() + lifetime)
        self._entries.move_to_end(header)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


_CREDENTIALS = _CredentialCache()


def forget_credentials() -> None:
    """Drop cached principals (after a token is revoked)."""
    _CREDENTIALS.clear()


def _authorization(scope: Any) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            return str(value.decode("latin-1"))
    return None


def _cookie(scope: Any, name: str) -> str | None:
    """One cookie's value from the request head (the last one of that name wins)."""
    found: str | None = None
    for key, value in scope.get("headers", ()):
        if key != b"cookie" or len(value) > _MAX_COOKIE:
            continue
        for part in value.decode("latin-1").split(";"):
            cookie, sep, content = part.strip().partition("=")
            if sep and cookie == name:
                found = content.strip().strip('"')
    return found


async def _authenticate(scope: Any, auth: Any, client: str) -> Principal:
    header = _authorization(scope)
    if header is None:
        return await _login(scope, auth)
    await _CREDENTIALS.follow_revocations(auth.tokens(), auth.users())
    cached = _CREDENTIALS.get(header)
    if cached is not None:
        return cached
    principal = await prove_login(
        scope, auth, client, lambda: _credentials(header, auth.authenticator())
    )
    _CREDENTIALS.put(header, principal)
    return principal


async def _login(scope: Any, auth: Any) -> Principal:
    """The dashboard session of a format that takes one; anonymous without a live one.

    An ended or expired session is simply no credential (the page then offers
    the login form), never more than anonymous.
    """
    fmt = formats_of(scope).of(scope["path"])
    if fmt is None or fmt.login_cookie is None:
        return ANONYMOUS
    secret = _cookie(scope, fmt.login_cookie)
    if not secret:
        return ANONYMOUS
    try:
        login = await auth.logins().find(secret)
        principal: Principal = await auth.authenticator().login(login)
    except e.Unauthenticated:
        return ANONYMOUS
    scope.setdefault("state", {})[_LOGIN_KEY] = login
    return principal


async def prove_login(
    scope: Any, auth: Any, client: str, proof: Callable[[], Awaitable[Principal]]
) -> Principal:
    """Run one proof of identity inside the failed-login budget of ``client``.

    Every uncached proof (a header, the dashboard's login form) checks the
    budget first: it may be shared with other replicas (Redis), where this
    client's failures happened; a failure spends from it.
    """
    limiter = auth.rate_limiter()
    retry = await limiter.peek("login", client)
    if retry is not None:
        _RATE_LIMITED.labels(formats_of(scope).format_of(scope["path"]), "login").inc()
        raise e.RateLimited("too many failed logins", retry_after=retry, subject="login")
    try:
        return await proof()
    except e.Unauthenticated:
        retry = await limiter.hit("login", client)
        if retry is not None:
            _RATE_LIMITED.labels(formats_of(scope).format_of(scope["path"]), "login").inc()
            raise e.RateLimited(
                "too many failed logins", retry_after=retry, subject="login"
            ) from None
        raise


async def _credentials(header: str, authenticator: Authenticator) -> Principal:
    if len(header) > _MAX_AUTHORIZATION:
        raise e.Unauthenticated("authorization header is too long", subject="header")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise e.Unauthenticated("malformed Basic credentials", subject="header") from None
        user, sep, password = decoded.partition(":")
        if not sep:
            raise e.Unauthenticated("malformed Basic credentials", subject="header")
        return await authenticator.password(user, password)
    if scheme.lower() == "bearer" and value:
        return await authenticator.token(value)
    if scheme and not value:  # some clients send the bare token, with no scheme
        return await authenticator.token(scheme)
    raise e.Unauthenticated("unsupported authorization scheme", subject="header")


# ---------------------------------------------------------------- rendering


def render_denied(request: Request[Any, Any, Any], exc: AccessDenied) -> Response[Any]:
    """A refusal, rendered by the format's own error renderer plus its challenge."""
    error = exc.error
    fmt = formats_of(request.scope).get(exc.format)
    response = fmt.render_error(request, error) if fmt is not None else domain_error_response(error)
    if isinstance(error, e.RateLimited) and "retry-after" not in {
        key.lower() for key in response.headers
    }:
        response.headers["Retry-After"] = str(error.retry_after)
    if response.status_code == 401:
        challenge = fmt.challenge if fmt is not None else None
        response.headers["WWW-Authenticate"] = (
            challenge(request, exc.name, exc.needed) if challenge is not None else BASIC_CHALLENGE
        )
    return response


# ---------------------------------------------------------------- audit trail

_WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def access_middleware(app: ASGIApp) -> ASGIApp:
    """Check access before the handler runs, bound the body, record writes and denials after.

    A Litestar middleware (it runs after routing, so the route template is
    known) rather than a guard: guards cost a copy of the handler per request.
    Only writes have their response status watched; a refusal is recorded as
    it is raised.
    """

    async def middleware(scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        container = container_of(scope["app"])
        if container.auth.policy().enabled:
            try:
                await check_access(scope, container)
            except AccessDenied as denied:
                status = _status_of(denied.error)
                await _record(scope, "rate_limited" if status == 429 else "denied", status)
                raise
        receive = bound_body(scope, receive, container.settings())
        method = scope.get("method", "")
        if method not in _WRITE_METHODS:
            await app(scope, receive, send)
            return
        status = 0

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await app(scope, receive, capture)
        if status in (401, 403, 429):
            await _record(scope, "rate_limited" if status == 429 else "denied", status)
        elif 200 <= status < 400 and not formats_of(scope).is_quiet_write(scope["path"]):
            await _record(scope, "delete" if method == "DELETE" else "write", status)

    return middleware


def _status_of(error: e.NoraError) -> int:
    if isinstance(error, e.RateLimited):
        return 429
    return 403 if isinstance(error, e.Forbidden) else 401


async def _record(scope: Any, action: str, status: int) -> None:
    app = scope.get("app")
    container: Container | None = app.state.get("container") if app is not None else None
    if container is None:
        return
    principal = scope.get("state", {}).get(_STATE_KEY, ANONYMOUS)
    path = scope["path"]
    formats = formats_of(scope)
    fmt = formats.format_of(path)
    activity = container.auth.activity()
    try:
        await activity.record(
            ActivityEvent(
                at=activity.now(),
                actor=principal.name,
                action=action,
                format=fmt,
                target=formats.name_of(path) or "",
                method=scope.get("method", ""),
                path=path[:512],
                status=status,
                client=client_of(scope, container.settings()),
            )
        )
    except e.NoraError as exc:
        _log.warning("activity not recorded", extra={"fields": {"error": exc.detail}})


def route_templates(app: Any) -> list[tuple[str, frozenset[str]]]:
    """Every (path template, methods) the app serves; used to check the declared roles."""
    found: list[tuple[str, frozenset[str]]] = []
    for route in app.routes:
        methods = getattr(route, "methods", None)
        if methods is None:
            continue
        found.append((route.path_format, frozenset(m for m in methods if m != "OPTIONS")))
    return found
