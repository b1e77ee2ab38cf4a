"""Shared view helpers: role gates, navigation, template filters, the request commit."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, stream_with_context, url_for
from flask_login import current_user
from markupsafe import Markup

from constituent.models import Role
from constituent.services.clock import office_today, office_tz

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Allow only users of the given roles; everyone else gets the 403 page."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated or current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def local_today() -> date:
    """Today's date in the office's time zone (views' name for clock.office_today)."""
    return office_today()


def format_datetime(value: datetime | None, fmt: str = "%b %-d, %Y %-I:%M %p") -> str:
    if value is None:
        return ""
    return value.astimezone(office_tz()).strftime(fmt)


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(office_tz()).date()
    return value.strftime("%b %-d, %Y")


def case_number(number: int) -> str:
    return f"{current_app.config['CASE_PREFIX']}{number}"


# Navigation per role: (endpoint, label). Only endpoints that exist are shown, so an area
# appears in the menu as soon as its page is built.
NAVIGATION: dict[Role, list[tuple[str, str]]] = {
    Role.INTAKE: [
        ("intake.log_call", "Log a call"),
        ("cases.case_list", "My cases"),
        ("constituents.constituent_list", "Constituents"),
    ],
    Role.CASEWORKER: [
        ("main.my_work", "My work"),
        ("intake.log_call", "Log a call"),
        ("cases.case_list", "Cases"),
        ("referrals.overdue", "Overdue"),
        ("constituents.constituent_list", "Constituents"),
        ("mail.inbox", "Incoming mail"),
        ("agencies.agency_list", "Agencies"),
    ],
    Role.SUPERVISOR: [
        ("main.my_work", "My work"),
        ("intake.log_call", "Log a call"),
        ("cases.case_list", "Cases"),
        ("referrals.overdue", "Overdue"),
        ("constituents.constituent_list", "Constituents"),
        ("mail.inbox", "Incoming mail"),
        ("agencies.agency_list", "Agencies"),
        ("summaries.overview", "Summaries"),
    ],
    Role.LEGISLATOR: [("summaries.overview", "District summaries")],
    Role.ADMIN: [
        ("admin.users", "Users"),
        ("admin.districts", "Districts"),
        ("agencies.agency_list", "Agencies"),
        ("summaries.overview", "Summaries"),
        ("referrals.response_times", "Response times"),
        ("admin.audit", "Audit log"),
    ],
}


def navigation() -> list[tuple[str, str, str]]:
    """(endpoint, label, url) of the current user's navigation items."""
    if not current_user.is_authenticated:
        return []
    items = []
    for endpoint, label in NAVIGATION.get(current_user.role, []):
        if endpoint in current_app.view_functions:
            items.append((endpoint, label, url_for(endpoint)))
    return items


def csv_download(
    filename: str,
    header: list[str],
    rows: Any,
    *,
    record_type: str,
    record_id: str | None,
    what: str,
) -> Response:
    """Audit an export (committed before streaming starts), then stream it as CSV."""
    from constituent.extensions import db
    from constituent.services import audit, exports

    audit.record("export", record_type, record_id, detail=what[:1000])
    db.session.commit()
    response = Response(
        stream_with_context(exports.csv_chunks(header, rows, bom=True)), mimetype="text/csv"
    )
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def nl2br(text: str | None) -> Markup:
    """Escape text and keep its line breaks."""
    escaped = Markup.escape(text or "")
    # Safe: every piece was escaped above; only the <br> separators are markup.
    return Markup("<br>").join(escaped.split("\n"))


def register(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["case_number"] = case_number
    app.jinja_env.filters["nl2br"] = nl2br
    app.jinja_env.globals["navigation"] = navigation
    app.jinja_env.globals["Role"] = Role
    app.jinja_env.globals["has_endpoint"] = lambda name: name in app.view_functions
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def office() -> dict[str, Any]:
        return {"office_name": app.config["OFFICE_NAME"]}
