"""The dashboard's tokens page: list, create and revoke one's own API tokens.

It goes through :mod:`domain.auth.management`, the path /api/tokens takes, so a
token made here is never beyond the signed-in credential (role, scopes,
expiry), and a session begun with a token can only mint inside that token. A
new token's secret is shown once, on the answer to the form, never again.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Final

from litestar import Controller, Request, Response, post, route
from litestar.params import FromPath
from litestar.response import Redirect

from domain import errors as e
from domain.auth import delegation, management
from domain.auth.model import ApiToken, Principal, Role, Scope
from entrypoints.http.access import forget_credentials, principal_of
from entrypoints.http.deps import container_of
from entrypoints.http.ui.forms import CSRF_COOKIE, form_token, read_form, set_cookie
from entrypoints.http.ui.pages import page_root, show_page
from entrypoints.http.ui.render import READS

__all__ = ["TokensController", "parse_days", "parse_scopes"]

_FIELDS: Final = frozenset({"role", "scopes", "expires_in_days", "description"})
_MAX_SCOPES: Final = 50
_MAX_DESCRIPTION: Final = 200
_MAX_DAYS: Final = 36500


def parse_scopes(text: str) -> list[Scope]:
    """Scopes separated by spaces, commas or lines (``npm:@acme/*``); none means the caller's."""
    words = text.replace(",", " ").split()
    if len(words) > _MAX_SCOPES:
        raise e.InvalidInput(f"at most {_MAX_SCOPES} scopes", subject="scope")
    return [Scope.parse(word) for word in words]


def parse_days(text: str) -> timedelta | None:
    """Days until the token expires (decimals allowed); empty means never (or the caller's)."""
    text = text.strip()
    if not text:
        return None
    try:
        days = float(text) if len(text) <= 12 else float("nan")
    except ValueError:
        days = float("nan")
    if not 0 < days <= _MAX_DAYS:  # NaN fails too
        raise e.InvalidInput(
            f"expiry must be a number of days between 0 and {_MAX_DAYS}", subject="expiry"
        )
    return timedelta(days=days)


def _row(record: ApiToken) -> dict[str, Any]:
    def when(moment: datetime | None) -> str:
        return f"{moment:%Y-%m-%d %H:%M} UTC" if moment is not None else ""

    return {
        "id": record.id,
        "description": record.description,
        "role": str(record.role),
        "scopes": " ".join(str(s) for s in record.scopes) or "everything",
        "created": when(record.created),
        "expires": when(record.expires) or "never",
        "last_used": when(record.last_used) or "never",
        "revoked": when(record.revoked),
    }


def _may_create(caller: Principal) -> bool:
    try:
        delegation.can_manage(caller)
    except e.Forbidden:
        return False
    return not caller.anonymous


def _roles(caller: Principal) -> list[str]:
    top = caller.role or Role.READ
    return [str(role) for role in Role if role <= top]


async def _tokens_page(
    request: Request[Any, Any, Any],
    *,
    created: tuple[str, ApiToken] | None = None,
    error: str = "",
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response[str]:
    container = container_of(request.app)
    enabled = container.auth.policy().enabled
    caller = principal_of(request)
    records: list[ApiToken] = []
    if enabled and not caller.anonymous:
        records = await management.visible_tokens(
            container.auth.authenticator(), caller, caller.name
        )
    token, fresh = form_token(request)
    response = show_page(
        request,
        "tokens.html",
        title="Tokens",
        active="tokens",
        enabled=enabled,
        signed_in=not caller.anonymous,
        may_create=enabled and _may_create(caller),
        roles=_roles(caller),
        rows=[_row(r) for r in records],
        created=None if created is None else {"secret": created[0], **_row(created[1])},
        error=error,
        form=form or {},
        revoked=request.query_params.get("revoked") == "1",
        csrf=token,
        status=status,
    )
    if fresh is not None:
        set_cookie(response, request, page_root(request), CSRF_COOKIE, fresh)
    return response


class TokensController(Controller):
    """GET/POST /ui/tokens and POST /ui/tokens/<id>/revoke."""

    path = "/ui/tokens"
    include_in_schema = False

    @route("/", http_method=READS)
    async def tokens(self, request: Request[Any, Any, Any]) -> Response[str]:
        """GET /ui/tokens: the caller's tokens and, if it may make them, the form."""
        return await _tokens_page(request)

    @post("/", status_code=201)
    async def create(self, request: Request[Any, Any, Any]) -> Response[str]:
        """POST /ui/tokens: a new token, shown once."""
        container = container_of(request.app)
        form = await read_form(request, _FIELDS)
        if not container.auth.policy().enabled:
            return await _tokens_page(
                request, error="Access control is off: no token is needed.", status=400
            )
        description = form.get("description", "").strip()
        try:
            if len(description) > _MAX_DESCRIPTION:
                raise e.InvalidInput(
                    f"the description is limited to {_MAX_DESCRIPTION} characters",
                    subject="description",
                )
            created = await management.create_token(
                container.auth.authenticator(),
                principal_of(request),
                role=Role.parse(form.get("role", "read")),
                scopes=parse_scopes(form.get("scopes", "")),
                expires_in=parse_days(form.get("expires_in_days", "")),
                description=description,
                now=datetime.now(UTC),
            )
        except (e.InvalidInput, e.Forbidden) as exc:
            status = 403 if isinstance(exc, e.Forbidden) else 400
            return await _tokens_page(request, error=exc.detail, form=form, status=status)
        return await _tokens_page(request, created=created, status=201)

    @post("/{token_id:str}/revoke", status_code=303)
    async def revoke(
        self, request: Request[Any, Any, Any], token_id: FromPath[str]
    ) -> Response[Any]:
        """POST /ui/tokens/<id>/revoke: revoke one of the caller's tokens."""
        await read_form(request, frozenset())
        container = container_of(request.app)
        await management.revoke_token(
            container.auth.authenticator(), principal_of(request), token_id
        )
        forget_credentials()
        return Redirect(f"{page_root(request)}/ui/tokens?revoked=1", status_code=303)
