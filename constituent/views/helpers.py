"""Shared view helpers: capability gates, navigation, template filters, CSV downloads."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Generator
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from wtforms import Field

from constituent.forms.agencies import ConfirmForm
from constituent.models import Attachment, Case
from constituent.services import permissions, tags
from constituent.services.clock import office_today, office_tz
from constituent.services.errors import DomainError
from constituent.services.permissions import Action, Capability

F = TypeVar("F", bound=Callable[..., Any])


def capability_required(capability: Capability) -> Callable[[F], F]:
    """Allow only users who ``may`` do ``capability``; everyone else gets the 403 page."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not permissions.may(current_user, capability):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def required_version(field: Field) -> int:
    """The version of the record the form was loaded with: a post without one is refused
    (400), never let through unchecked."""
    raw = str(field.raw_data[0]).strip() if field.raw_data else ""
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise DomainError(
            "This form did not say which version of the record it was loaded with, so it "
            "could overwrite someone else's change. Nothing was saved: reload the page and "
            "make your change again.",
            code="version_missing",
        )
    return int(raw)


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


# The menu in order: (endpoint, label, the capability its page asks for). Each user sees the
# items they may open; the start page is the first item marked as one.
NAVIGATION: list[tuple[str, str, Capability]] = [
    ("main.my_work", "My work", Capability.WORK_CASES),
    ("intake.log_call", "Log a call", Capability.LOG_CALLS),
    ("online_requests.queue", "Online requests", Capability.REVIEW_ONLINE_REQUESTS),
    ("admin.users", "Users", Capability.ADMINISTER),
    ("admin.office", "Office", Capability.ADMINISTER),
    ("admin.districts", "Districts", Capability.ADMINISTER),
    ("reference.categories", "Categories", Capability.ADMINISTER),
    ("reference.import_caseload", "Import", Capability.ADMINISTER),
    ("cases.case_list", "Cases", Capability.READ_CASES),
    ("referrals.overdue", "Overdue", Capability.WORK_CASES),
    ("constituents.constituent_list", "Constituents", Capability.VIEW_CONSTITUENTS),
    ("mail.inbox", "Incoming mail", Capability.TRIAGE_MAIL),
    ("agencies.agency_list", "Agencies", Capability.VIEW_AGENCIES),
    ("summaries.overview", "Summaries", Capability.READ_SUMMARIES),
    ("referrals.response_times", "Response times", Capability.RESPONSE_TIMES),
    ("admin.audit", "Audit log", Capability.ADMINISTER),
]
START_PAGES = ("main.my_work", "intake.log_call", "admin.users", "summaries.overview")


def navigation() -> list[tuple[str, str, str]]:
    """(endpoint, label, url) of the current user's navigation items."""
    items = []
    for endpoint, label, capability in NAVIGATION:
        if permissions.may(current_user, capability):
            if endpoint == "cases.case_list" and permissions.sees_only_own_cases(current_user):
                label = "My cases"
            if endpoint == "online_requests.queue":
                label = _with_count(label)
            items.append((endpoint, label, url_for(endpoint)))
    return items


def _with_count(label: str) -> str:
    """The Online requests item with how many wait for review ("Online requests (3)")."""
    from constituent.services import online_review

    waiting = online_review.waiting_count(current_user)
    return f"{label} ({waiting})" if waiting else label


def start_page() -> str | None:
    """The address of the user's first page (the first start page they may open)."""
    for endpoint, _, capability in NAVIGATION:
        if endpoint in START_PAGES and permissions.may(current_user, capability):
            return url_for(endpoint)
    return None


def may(what: Capability | Action, case: Case | None = None) -> bool:
    """Templates' question: may the signed-in user do ``what`` (on ``case``)?"""
    return permissions.may(current_user, what, case)


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
    from constituent.services import exports
    from constituent.views.boundary import audit_read

    audit_read("export", record_type, record_id, what[:1000])
    response = Response(
        stream_with_context(exports.csv_chunks(header, rows, bom=True)), mimetype="text/csv"
    )
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def paging(total: int, per_page: int) -> tuple[int, int, dict[str, str]]:
    """The page a paged list was asked for (``?page=``, kept within its pages), how many pages
    it has, and its other query arguments (for the pager's links)."""
    pages = max(1, -(-total // per_page))
    asked = request.args.get("page", "1")
    page = int(asked) if asked.isdigit() and len(asked) < 7 else 1
    others = {k: v for k, v in request.args.items() if k != "page"}
    return min(max(page, 1), pages), pages, others


def confirm_post() -> None:
    """Refuse a button's post (a ``ConfirmForm``) without a valid CSRF token: 400."""
    if not ConfirmForm().validate_on_submit():
        abort(400)


def send_attachment(content: Path | Generator[bytes, None, None], stored: Attachment) -> Response:
    """A kept file, downloaded as itself: never sniffed, never cached (audit it first). A
    file on disk is sent as a file; one kept in the database streams chunk by chunk."""
    if isinstance(content, Path):
        response = send_file(
            content,
            mimetype=stored.content_type,
            as_attachment=True,
            download_name=stored.filename,
            max_age=0,
        )
    else:
        response = Response(stream_with_context(content), mimetype=stored.content_type)
        response.content_length = stored.size
        response.headers.set("Content-Disposition", "attachment", filename=stored.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def said(text: object) -> Markup:
    """Text someone wrote (a name, a subject, a note) set apart for its own direction
    (``dir="auto"``): a name in Arabic or Hebrew reads right to left without reordering the
    words around it, and a long word in it may wrap anywhere (``.app-user-text``)."""
    return Markup('<bdi dir="auto" class="app-user-text">{}</bdi>').format(
        "" if text is None else text
    )


def action_label(code: str) -> str:
    """An audit action as a person reads it: ``access_denied`` → "Access denied" (the CSV
    keeps the code)."""
    return code.replace("_", " ").capitalize()


def nl2br(text: str | None) -> Markup:
    """Escape text someone wrote, keep its line breaks, and set it apart as ``said`` does."""
    escaped = Markup.escape(text or "")
    # Safe: every piece was escaped above; only the <br> separators are markup.
    return said(Markup("<br>").join(escaped.split("\n")))


def address_lines(person: Any) -> list[str]:
    """A constituent's address block, USPS style (street, unit, 'Cullman AL 35055-1234')."""
    from constituent.services.addresses import address_lines as lines

    return lines(person.street, person.street2, person.city, person.state, person.zip5, person.zip4)


def register(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["case_number"] = case_number
    app.jinja_env.filters["case_tag"] = tags.case_tag
    app.jinja_env.filters["nl2br"] = nl2br
    app.jinja_env.filters["said"] = said
    app.jinja_env.filters["action_label"] = action_label
    app.jinja_env.filters["address_lines"] = address_lines
    app.jinja_env.globals["navigation"] = navigation
    app.jinja_env.globals["may"] = may
    app.jinja_env.globals["Capability"] = Capability
    app.jinja_env.globals["Action"] = Action
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def office() -> dict[str, Any]:
        from constituent.services.office import profile

        return {"office_name": profile().name}
