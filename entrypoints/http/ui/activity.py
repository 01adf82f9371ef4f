"""GET /ui/activity: the activity trail for administrators, filtered and paged.

The trail names things from every format, so the page is for an administrator
who may see everything: the access table asks for the admin role, and the
handler also refuses an admin credential narrowed by scopes (``is_admin``).
Filters are query parameters (a GET form: nothing changes, so no CSRF token);
each passes a parser of :mod:`entrypoints.http.ui.query`, so bad input is a 400
page. Pages are newest first, ``PAGE_SIZE`` events each; a page reads at most
``SCAN_BUDGET`` events, and when a rare filter exhausts that budget the page
shows what it found and still offers the next page (the trail's cursor).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from litestar import Controller, Request, Response, route

from domain import errors as e
from domain.auth.activity import ActivityEvent
from entrypoints.http.deps import container_of
from entrypoints.http.ui.pages import is_admin, show_page
from entrypoints.http.ui.query import (
    PAGE_SIZE,
    parse_activity_cursor,
    parse_actor,
    parse_choice,
    parse_moment,
)
from entrypoints.http.ui.render import READS
from entrypoints.http.ui.sections import discover

__all__ = ["ACTIONS", "SCAN_BUDGET", "ActivityController", "activity_formats"]

ACTIONS: Final = ("write", "delete", "denied", "rate_limited", "login", "logout")
"""The actions the filter offers (the trail's own words)."""
SCAN_BUDGET = 5000
"""Events one page reads at most before it hands on a cursor (bounds a page's time)."""
_SHOWN: Final = "%Y-%m-%dT%H:%M"


def activity_formats() -> tuple[str, ...]:
    """The format words the filter offers: every dashboard section's, then NORA's own."""
    words = [part.word for part in discover()]
    return tuple(dict.fromkeys([*words, "api", "ui"]))


def _when(event: ActivityEvent) -> str:
    moment = event.at if event.at.tzinfo is None else event.at.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def _shown(moment: datetime | None) -> str:
    """A time as a datetime-local control's value (minutes: the control's default step)."""
    return "" if moment is None else moment.strftime(_SHOWN)


class ActivityController(Controller):
    """GET /ui/activity: who did what, newest first (administrators only)."""

    path = "/ui/activity"
    include_in_schema = False

    @route("/", http_method=READS)
    async def activity(self, request: Request[Any, Any, Any]) -> Response[str]:
        """GET /ui/activity?actor=&action=&format=&since=&until=&cursor=: one page of the trail."""
        if not is_admin(request):
            raise e.Forbidden("the activity trail is for administrators of the whole registry")
        params = request.query_params
        formats = activity_formats()
        actor = parse_actor(params.get("actor"))
        action = parse_choice(params.get("action"), ACTIONS, "action")
        fmt = parse_choice(params.get("format"), formats, "format")
        since = parse_moment(params.get("since"), subject="since")
        until = parse_moment(params.get("until"), end=True, subject="until")
        cursor = parse_activity_cursor(params.get("cursor"))
        if since is not None and until is not None and since > until:
            raise e.InvalidInput("since must not be later than until", subject="since")
        trail = container_of(request.app).auth.activity()
        page = await trail.query(
            actor=actor,
            actions=[action] if action is not None else [],
            fmt=fmt,
            since=since,
            until=until,
            limit=PAGE_SIZE,
            cursor=cursor,
            max_scanned=SCAN_BUDGET,
        )
        # the filters as given, for the next page's link (only those in use)
        filters = {
            name: value
            for name, value in (
                ("actor", actor),
                ("action", action),
                ("format", fmt),
                ("since", params.get("since") if since is not None else None),
                ("until", params.get("until") if until is not None else None),
            )
            if value is not None
        }
        return show_page(
            request,
            "activity.html",
            title="Activity",
            active="activity",
            actions=ACTIONS,
            formats=formats,
            actor=actor or "",
            action=action or "",
            fmt=fmt or "",
            since=_shown(since),
            until=_shown(until),
            rows=[(_when(event), event) for event in page.items],
            filters=filters,
            cursor=cursor,
            next_cursor=page.next_cursor,
        )
