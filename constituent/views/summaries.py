"""District casework summaries: the comparison of districts, one district's summary, its
print view, CSV downloads of every table, and (supervisors, admins) the cases behind a number."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from constituent.forms import choices
from constituent.forms.summaries import PeriodForm
from constituent.models import District
from constituent.reports import tables as summary_tables
from constituent.services import exports, permissions, summaries
from constituent.services.clock import office_tz
from constituent.services.errors import DomainError
from constituent.services.permissions import Capability
from constituent.services.summaries import Period
from constituent.services.summaries import drill as drill_service
from constituent.views.boundary import current_staff
from constituent.views.errors import render_error
from constituent.views.helpers import capability_required, csv_download, local_today, paging

bp = Blueprint("summaries", __name__, url_prefix="/summaries")

PER_PAGE = 50


def _audience() -> summaries.Audience:
    return summaries.audience_for(current_staff(), int(current_app.config["SUMMARY_MIN_CELL"]))


def _period_form() -> tuple[PeriodForm, Period | None]:
    """The period chooser filled from the address, and the period it names (None if wrong).
    Audiences that see no names get no custom dates (the form leaves them out)."""
    today = local_today()
    audience = _audience()
    form = PeriodForm(formdata=request.args)
    if audience.calendar_only:
        del form.start, form.end
    form.period.choices = [
        choice
        for group, pairs in summaries.period_choices(today, audience).items()
        for choice in choices(pairs, optgroup=group)
    ]
    if not form.validate():
        return form, None
    start = form.start.data if "start" in form else None
    end = form.end.data if "end" in form else None
    if audience.calendar_only and (request.args.get("start") or request.args.get("end")):
        start = end = None
        if not form.period.data:  # dates alone ask for a custom period
            form.period.data = summaries.PeriodKind.CUSTOM.value
    try:
        period = summaries.parse_period(form.period.data, start, end, today, audience)
    except DomainError as exc:
        field = form[exc.field] if exc.field in form else form.period
        field.errors = [*field.errors, exc.message]
        form.refused = exc.code == "calendar_only"
        return form, None
    form.period.data = period.token
    if period.kind == summaries.PeriodKind.CUSTOM:
        form.start.data, form.end.data = period.start, period.end
    return form, period


def _summary(district: District, period: Period) -> summaries.DistrictSummary:
    return summaries.district_summary(district, period, office_tz(), local_today(), _audience())


def _drill_url(args: dict[str, str] | None) -> str | None:
    return url_for("summaries.cases", **args) if args else None


def _csv(filename: str, header: list[str], rows: Any, what: str, record_id: str) -> Response:
    """Audit the export (committed before streaming starts), then stream the CSV."""
    return csv_download(
        filename, header, rows, record_type="summary", record_id=record_id, what=what
    )


def _bad_period(form: PeriodForm, template: str, **context: Any) -> tuple[str, int]:
    """The page with the period's error beside the chooser: 400 for a period this reader may
    not ask for (custom dates without names), 422 for dates that do not make a period."""
    status = 400 if getattr(form, "refused", False) else 422
    return render_template(template, form=form, period=None, **context), status


@bp.get("/")
@capability_required(Capability.READ_SUMMARIES)
def overview() -> ResponseReturnValue:
    form, period = _period_form()
    if period is None:
        return _bad_period(form, "summaries/overview.html", table=None)
    sort = request.args.get("sort", "district")
    descending = request.args.get("order") == "desc"
    comparison = summaries.compare_districts(
        summaries.summary_districts(current_staff()), period, office_tz()
    )
    table = summary_tables.comparison_table(comparison, _audience(), sort, descending)
    args = period.query_args()

    def sort_url(key: str, desc: bool) -> str:
        return url_for("summaries.overview", sort=key, order="desc" if desc else "asc", **args)

    def row_url(code: str) -> str:
        return url_for("summaries.district", code=code, **args)

    names = {row.district.code: row.district.name for row in comparison.rows}
    return render_template(
        "summaries/overview.html",
        form=form,
        period=period,
        comparison=comparison,
        table=table,
        sort=sort,
        descending=descending,
        drill_url=_drill_url,
        sort_url=sort_url,
        row_url=row_url,
        row_note=names.get,
    )


@bp.get("/comparison.csv")
@capability_required(Capability.READ_SUMMARIES)
def overview_csv() -> ResponseReturnValue:
    form, period = _period_form()
    if period is None:
        return _bad_period(form, "summaries/overview.html", table=None)
    comparison = summaries.compare_districts(
        summaries.summary_districts(current_staff()), period, office_tz()
    )
    table = summary_tables.comparison_table(
        comparison,
        _audience(),
        request.args.get("sort", "district"),
        request.args.get("order") == "desc",
    )
    return _csv(
        f"districts-{period.start}-{period.end}.csv",
        table.csv_header(),
        table.csv_rows(),
        f"district comparison, {period.dates}",
        "comparison",
    )


def _district_page(
    code: str, answer: Callable[[dict[str, Any]], ResponseReturnValue]
) -> ResponseReturnValue:
    """One district's summary and its tables for the period asked, handed to ``answer`` (the
    page, its print view, a CSV) as the page's context; a period that is wrong re-shows the
    page with its error."""
    found = summaries.district_for(current_staff(), code)
    form, period = _period_form()
    if period is None:
        return _bad_period(form, "summaries/district.html", district=found, tables=None)
    summary = _summary(found, period)
    return answer(
        {
            "form": form,
            "period": period,
            "district": found,
            "summary": summary,
            "tables": summary_tables.summary_tables(summary, _audience()),
            "how_counted": summaries.HOW_COUNTED,
        }
    )


@bp.get("/<code>")
@capability_required(Capability.READ_SUMMARIES)
def district(code: str) -> ResponseReturnValue:
    return _district_page(
        code, lambda page: render_template("summaries/district.html", drill_url=_drill_url, **page)
    )


@bp.get("/<code>/print")
@capability_required(Capability.READ_SUMMARIES)
def print_view(code: str) -> ResponseReturnValue:
    return _district_page(
        code,
        lambda page: render_template(
            "summaries/print.html", brief=summary_tables.brief_lists(page["tables"]), **page
        ),
    )


@bp.get(
    "/<code>/<any(all, headline, trend, time_to_close, open_priority, aging, by_category, "
    "by_outcome, by_channel, by_agency, by_zip, by_town, by_staff):key>.csv"
)
@capability_required(Capability.READ_SUMMARIES)
def table_csv(code: str, key: str) -> ResponseReturnValue:
    def download(page: dict[str, Any]) -> ResponseReturnValue:
        found, period, tables = page["district"], page["period"], page["tables"]
        what = f"{found.code} summary, {key}, {period.dates}"
        filename = f"{found.code}-{key.replace('_', '-')}-{period.start}-{period.end}.csv"
        if key == "all":
            header, rows = summary_tables.LONG_HEADER, summary_tables.long_rows(tables)
            return _csv(filename, header, rows, what, found.code)
        table = next((t for t in tables if t.key == key), None)
        if table is None:  # the staff table, or a breakdown of a period in progress, withheld
            message = "There is no such table on this summary."
            if key != "by_staff" and not page["summary"].complete:
                message = summary_tables.IN_PROGRESS_NOTE
            return render_error(404, message)
        return _csv(filename, table.csv_header(), table.csv_rows(), what, found.code)

    return _district_page(code, download)


@dataclass(frozen=True)
class _Drilled:
    """The cases behind a number: the number (``target``), the period's form, and the select
    that lists them."""

    target: summaries.DrillTarget
    form: PeriodForm
    listed: sa.Select[Any]


def _drill_page(
    code: str, answer: Callable[[_Drilled], ResponseReturnValue]
) -> ResponseReturnValue:
    """The cases behind a number handed to ``answer`` (the list, its CSV); a period or a
    figure that is wrong re-shows the list with its error."""
    found = summaries.district_for(current_staff(), code)
    form, period = _period_form()
    drill = summaries.parse_drill(request.args.to_dict()) if period is not None else None
    if period is None or drill is None:
        extra = {k: v for k, v in request.args.items() if k in ("figure", *summaries.DRILL_FILTERS)}
        return _bad_period(form, "summaries/cases.html", district=found, rows=None, extra=extra)
    target = summaries.DrillTarget(drill, found, period, office_tz(), local_today())
    visible = permissions.visible_cases(current_staff())
    listed = summaries.drill_rows_select(visible, target)
    return answer(_Drilled(target, form, listed))


@bp.get("/<code>/cases")
@capability_required(Capability.SUMMARY_DETAILS)
def cases(code: str) -> ResponseReturnValue:
    def listing(d: _Drilled) -> ResponseReturnValue:
        t = d.target
        total = drill_service.count_rows(d.listed)
        page, pages, args = paging(total, PER_PAGE)
        return render_template(
            "summaries/cases.html",
            district=t.district,
            form=d.form,
            period=t.period,
            drill=t.drill,
            description=summaries.describe_drill(t.drill, t.period),
            rows=drill_service.drill_page(d.listed, page, PER_PAGE),
            total=total,
            behind=summaries.count_behind(t),
            page=page,
            pages=pages,
            args=args,
            tz=t.tz,
            summary_args=t.period.query_args(),
        )

    return _drill_page(code, listing)


@bp.get("/<code>/cases.csv")
@capability_required(Capability.SUMMARY_DETAILS)
def cases_csv(code: str) -> ResponseReturnValue:
    def download(d: _Drilled) -> ResponseReturnValue:
        t = d.target
        description = summaries.describe_drill(t.drill, t.period)
        referral = t.drill.figure.is_referral
        header = drill_csv_header(referral)
        prefix = str(current_app.config["CASE_PREFIX"])
        rows = drill_csv_rows(d.listed, referral, prefix, t.tz)
        code = t.district.code
        filename = f"{code}-{t.drill.figure.value.replace('_', '-')}-cases.csv"
        return _csv(filename, header, rows, f"{code} cases behind: {description}", code)

    return _drill_page(code, download)


DRILL_HEADER = [
    "Case",
    "Constituent",
    "ZIP",
    "Town",
    "Subject",
    "Category",
    "Status",
    "Priority",
    "Channel",
    "Outcome",
    "Confidential",
    "Assigned to",
    "Opened",
    "Closed",
    "Days open at period end",
]
REFERRAL_HEADER = ["Agency", "Sent", "Due", "Answered"]


def drill_csv_header(referral: bool) -> list[str]:
    """The columns of the cases-behind-a-number CSV (with the referral's, for a referral
    figure)."""
    return DRILL_HEADER + (REFERRAL_HEADER if referral else [])


def drill_csv_rows(
    listed: sa.Select[Any], referral: bool, prefix: str, tz: tzinfo
) -> Iterator[list[Any]]:
    """The cases behind a number as CSV lines, streamed (``bench/summary.py`` times these)."""
    for raw in exports.stream_rows(listed):
        r = summaries.drill_row(raw)
        line = [
            f"{prefix}{r.number}",
            r.constituent,
            r.zip5,
            r.town,
            r.subject,
            r.category,
            r.status.label,
            r.priority.label,
            r.channel.label,
            r.outcome.label if r.outcome else "",
            "yes" if r.confidential else "no",
            r.assignee,
            exports.local_text(r.opened_at, tz),
            exports.local_text(r.closed_at, tz),
            round(r.days_open, 1),
        ]
        if referral:
            line += [r.agency, r.sent_on, r.due_on, r.responded_on]
        yield line
