"""The cases (or referrals) behind a number on the summary: parsing, SQL and rows."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from constituent.extensions import db
from constituent.models import (
    Agency,
    Case,
    CaseStatus,
    Category,
    Channel,
    Constituent,
    District,
    Outcome,
    Priority,
    Referral,
    User,
)
from constituent.services.errors import DomainError
from constituent.services.summaries.definitions import (
    AGE_BUCKETS,
    CLOSE_BUCKETS,
    Bucket,
    _bucket_condition,
    age_at,
    closed_in,
    days_to_close,
    open_at,
    opened_in,
    referral_overdue,
    referral_responded_in,
    referral_sent_in,
)
from constituent.services.summaries.figures import _names
from constituent.services.summaries.periods import Period, add_months, local_midnight

# Drill-down: the cases behind a number -------------------------------------------------------


class Figure(enum.StrEnum):
    OPENED = "opened"
    CLOSED = "closed"
    OPEN = "open"
    REFERRALS_SENT = "referrals_sent"
    REFERRALS_RESPONDED = "referrals_responded"
    REFERRALS_OVERDUE = "referrals_overdue"

    @property
    def label(self) -> str:
        return {
            "opened": "Cases opened",
            "closed": "Cases closed",
            "open": "Open at period end",
            "referrals_sent": "Referrals sent",
            "referrals_responded": "Referrals answered",
            "referrals_overdue": "Referrals overdue now",
        }[self.value]

    @property
    def is_referral(self) -> bool:
        return self.value.startswith("referrals_")


DRILL_FILTERS = (
    "category",
    "channel",
    "outcome",
    "priority",
    "staff",
    "zip",
    "town",
    "month",
    "age",
    "close_time",
    "within",
    "agency",
)


@dataclass(frozen=True)
class Drill:
    """Which cases (or referrals) are behind a number: a figure plus optional filters."""

    figure: Figure
    filters: dict[str, str] = field(default_factory=dict)

    def args(self) -> dict[str, str]:
        return {"figure": self.figure.value, **self.filters}


def parse_drill(args: dict[str, str]) -> Drill:
    """Read a drill-down from query arguments; unknown figures or filters are refused."""
    try:
        figure = Figure(args.get("figure", ""))
    except ValueError as exc:
        raise DomainError("Choose a number on the summary to see the cases behind it.") from exc
    filters = {k: str(args[k])[:80] for k in DRILL_FILTERS if args.get(k) not in (None, "")}
    return Drill(figure, filters)


def _id(text: str) -> int:
    """A whole number from a drill-down link that the database can hold (else ValueError)."""
    number = int(text)
    if not 0 <= number < 2**31:
        raise ValueError(text)
    return number


@dataclass(frozen=True)
class _Where:
    """What a drill-down filter needs to know besides its value."""

    figure: Figure
    period: Period
    tz: ZoneInfo
    today: date

    @property
    def end(self) -> datetime:
        return self.period.bounds(self.tz)[1]


def _bucket(buckets: Sequence[Bucket], key: str) -> Bucket:
    return next(b for b in buckets if b.key == key)


def _outcome_term(value: str, _: _Where) -> ColumnElement[bool]:
    return Case.outcome.is_(None) if value == "none" else Case.outcome == Outcome(value)


def _staff_term(value: str, _: _Where) -> ColumnElement[bool]:
    return Case.assignee_id.is_(None) if value == "none" else Case.assignee_id == _id(value)


def _month_term(value: str, where: _Where) -> ColumnElement[bool]:
    """Opened (closed, for the closed figure) in that month's part of the period."""
    first = date.fromisoformat(value + "-01")
    period = where.period
    lo = local_midnight(max(first, period.start), where.tz)
    last = min(add_months(first, 1) - timedelta(days=1), period.end)
    hi = local_midnight(last + timedelta(days=1), where.tz)
    column = Case.closed_at if where.figure == Figure.CLOSED else Case.opened_at
    return sa.and_(column >= lo, column < hi)


# The filters on the case itself, each a condition from the link's value.
_CASE_FILTERS: dict[str, Callable[[str, _Where], ColumnElement[bool]]] = {
    "category": lambda v, _: Case.category_id == _id(v),
    "channel": lambda v, _: Case.channel == Channel(v),
    "priority": lambda v, _: Case.priority == Priority(v),
    "outcome": _outcome_term,
    "staff": _staff_term,
    "month": _month_term,
    "age": lambda v, w: _bucket_condition(age_at(w.end), _bucket(AGE_BUCKETS, v)),
    "close_time": lambda v, _: _bucket_condition(days_to_close(), _bucket(CLOSE_BUCKETS, v)),
    "within": lambda v, _: days_to_close() <= _id(v),
}


def _figure_term(where: _Where) -> ColumnElement[bool]:
    """The cases the number counts (referral figures: those with a referral, see below)."""
    start, end = where.period.bounds(where.tz)
    if where.figure == Figure.OPENED:
        return opened_in(start, end)
    if where.figure == Figure.CLOSED:
        return closed_in(start, end)
    if where.figure == Figure.OPEN:
        return open_at(end)
    return sa.true()


def _place_term(filters: dict[str, str]) -> ColumnElement[bool] | None:
    """The resident's ZIP and town (as recorded now), "unknown" for none."""
    place = []
    if "zip" in filters:
        zip5 = filters["zip"] if filters["zip"] != "unknown" else ""
        place.append(sa.func.coalesce(Constituent.zip5, "") == zip5)
    if "town" in filters:
        town = filters["town"] if filters["town"] != "unknown" else ""
        place.append(sa.func.lower(sa.func.trim(sa.func.coalesce(Constituent.city, ""))) == town)
    if not place:
        return None
    return Case.constituent_id.in_(sa.select(Constituent.id).where(*place))


def _referral_term(where: _Where, filters: dict[str, str]) -> ColumnElement[bool]:
    """A referral of the case that the referral figure counts (of the agency, if named)."""
    terms = [Referral.case_id == Case.id]
    if "agency" in filters:
        terms.append(Referral.agency_id == _id(filters["agency"]))
    terms.append(
        {
            Figure.REFERRALS_SENT: lambda: referral_sent_in(where.period),
            Figure.REFERRALS_RESPONDED: lambda: referral_responded_in(where.period),
            Figure.REFERRALS_OVERDUE: lambda: referral_overdue(where.today),
        }[where.figure]()
    )
    return sa.and_(*terms)


@dataclass(frozen=True)
class DrillTarget:
    """A number on one district's summary, as a drill-down names it: the figure and its
    filters, the district and the period, in the office's time zone as of ``today``."""

    drill: Drill
    district: District
    period: Period
    tz: ZoneInfo
    today: date


def _drill_condition(target: DrillTarget) -> ColumnElement[bool]:
    drill = target.drill
    where = _Where(drill.figure, target.period, target.tz, target.today)
    f = drill.filters
    terms: list[ColumnElement[bool]] = [
        Case.district_id == target.district.id,
        _figure_term(where),
    ]
    try:
        terms += [term(f[key], where) for key, term in _CASE_FILTERS.items() if key in f]
        place = _place_term(f)
        if place is not None:
            terms.append(place)
        if drill.figure.is_referral:
            terms.append(_referral_term(where, f))
    except (ValueError, StopIteration) as exc:
        raise DomainError("That link does not name a number on the summary.") from exc
    return sa.and_(*terms)


def drill_select(select: sa.Select[Any], target: DrillTarget) -> sa.Select[Any]:
    """Narrow a SELECT of cases (from ``permissions.visible_cases``) to those behind a number.

    Referral figures list one row per referral, so the list has as many rows as the number.
    """
    if target.drill.figure.is_referral:
        select = select.join(Referral, Referral.case_id == Case.id)
    return select.where(_drill_condition(target))


def count_behind(target: DrillTarget) -> int:
    """How many cases (or referrals) the number stands for, whoever is asking: the summary's
    count. Compared with the visible list to say how many are not listed for the user."""
    select = sa.select(sa.func.count()).select_from(Case)
    return int(db.session.scalar(drill_select(select, target)) or 0)


def describe_drill(drill: Drill, period: Period) -> str:
    """The drill-down in words, e.g. 'Cases closed, category Housing, March 2026'."""
    f = drill.filters
    parts = [drill.figure.label]
    labels: dict[str, Callable[[str], str]] = {
        "category": lambda v: "category " + _names(Category, {_id(v)}).get(_id(v), "unknown"),
        "agency": lambda v: "agency " + _names(Agency, {_id(v)}).get(_id(v), "unknown"),
        "staff": lambda v: (
            "unassigned"
            if v == "none"
            else "assigned to " + _names(User, {_id(v)}, attr="full_name").get(_id(v), "unknown")
        ),
        "channel": lambda v: "channel " + Channel(v).label,
        "priority": lambda v: "priority " + Priority(v).label.lower(),
        "outcome": lambda v: (
            "no outcome recorded" if v == "none" else "outcome " + Outcome(v).label.lower()
        ),
        "zip": lambda v: "unknown ZIP" if v == "unknown" else "ZIP " + v,
        "town": lambda v: "unknown town" if v == "unknown" else "town " + v.title(),
        "month": lambda v: date.fromisoformat(v + "-01").strftime("%B %Y"),
        "age": lambda v: "open " + next(b.label for b in AGE_BUCKETS if b.key == v),
        "close_time": lambda v: (
            "closed in " + next(b.label for b in CLOSE_BUCKETS if b.key == v).lower()
        ),
        "within": lambda v: f"closed within {_id(v)} days",
    }
    try:
        parts += [labels[k](v) for k, v in f.items() if k in labels]
    except (ValueError, StopIteration) as exc:
        raise DomainError("That link does not name a number on the summary.") from exc
    return ", ".join(parts) + f" ({period.dates})"


@dataclass(frozen=True)
class DrillRow:
    """One line of a drill-down list (a case, or a referral of a case)."""

    case_id: int
    number: int
    constituent: str
    zip5: str
    town: str
    subject: str
    category: str
    status: CaseStatus
    priority: Priority
    channel: Channel
    outcome: Outcome | None
    confidential: bool
    assignee: str
    opened_at: datetime
    closed_at: datetime | None
    days_open: float
    agency: str = ""
    sent_on: date | None = None
    due_on: date | None = None
    responded_on: date | None = None


def drill_rows_select(visible: sa.Select[Any], target: DrillTarget) -> sa.Select[Any]:
    """The columns of a drill-down list over ``permissions.visible_cases(user)``, by number."""
    drill = target.drill
    _, end = target.period.bounds(target.tz)
    assignee = aliased(User)
    select = drill_select(visible, target)
    columns = [
        Case.id,
        Case.number,
        sa.func.trim(Constituent.first_name + " " + Constituent.last_name),
        sa.func.coalesce(Constituent.zip5, ""),
        sa.func.coalesce(Constituent.city, ""),
        Case.subject,
        Category.name,
        Case.status,
        Case.priority,
        Case.channel,
        Case.outcome,
        Case.confidential,
        sa.func.coalesce(assignee.full_name, ""),
        Case.opened_at,
        Case.closed_at,
        age_at(end),
    ]
    if drill.figure.is_referral:
        columns += [
            sa.func.coalesce(Agency.acronym, Agency.name),
            Referral.sent_on,
            Referral.due_on,
            Referral.responded_on,
        ]
    select = (
        select.with_only_columns(*columns, maintain_column_froms=True)
        .join(Constituent, Constituent.id == Case.constituent_id)
        .join(Category, Category.id == Case.category_id)
        .outerjoin(assignee, assignee.id == Case.assignee_id)
    )
    if drill.figure.is_referral:
        select = select.join(Agency, Agency.id == Referral.agency_id).order_by(
            Case.number, Referral.sent_on, Referral.id
        )
    else:
        select = select.order_by(Case.number)
    return select


def drill_row(row: Sequence[object]) -> DrillRow:
    """A result row of ``drill_rows_select`` as a DrillRow."""
    values = list(row)
    values[15] = max(float(values[15] or 0.0), 0.0)  # type: ignore[arg-type]
    return DrillRow(*values)  # type: ignore[arg-type]


def count_rows(listed: sa.Select[Any]) -> int:
    """How many rows ``drill_rows_select`` lists."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(listed.subquery())) or 0


def drill_page(listed: sa.Select[Any], page: int, per_page: int) -> list[DrillRow]:
    """One page (numbered from 1) of the rows ``drill_rows_select`` lists."""
    window = listed.limit(per_page).offset((page - 1) * per_page)
    return [drill_row(row) for row in db.session.execute(window)]
