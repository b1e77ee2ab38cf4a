"""District casework summaries: periods, and the one definition of every figure.

Each figure is defined once, here, as a SQL condition or aggregate with a docstring saying what
it counts. The summary page, the comparison of districts, the CSV downloads, the print view,
the drill-down lists and ``flask report district`` all call these functions.

Times: models store UTC instants. A period is a range of office-local dates; its bounds are the
local midnights at its start and after its end, converted to UTC, and every timestamp is
compared with those instants (half-open: ``start <= t < end``). So with the office in
America/New_York, a case opened at 11 pm on 31 March (03:00 UTC on 1 April) is a March case.

Summaries are aggregates over the whole district, confidential cases included (the legislator
must see the true workload); lists of cases behind a number go through
``permissions.visible_cases``.
"""

from __future__ import annotations

import bisect
import calendar
import enum
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from constituent.extensions import db
from constituent.models import (
    Agency,
    Case,
    CaseInterval,
    CaseStatus,
    Category,
    Channel,
    Constituent,
    District,
    Outcome,
    Priority,
    Referral,
    ReferralStatus,
    User,
)
from constituent.models.base import UTCDateTime
from constituent.services import disclosure, permissions
from constituent.services import districts as district_service
from constituent.services.disclosure import NOTHING, Withheld, over_months
from constituent.services.errors import DomainError, Forbidden, NotFound
from constituent.services.permissions import Capability

# Breakdown cells below this are withheld from audiences that see no names (the default of
# the CONSTITUENT_SUMMARY_MIN_CELL setting).
SMALL_COUNT = 5
MAX_PERIOD_YEARS = 10
# Referrals still waiting on the agency (the referral service's definition of "can be overdue").
WAITING_REFERRAL_STATUSES = (ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED)


# Periods -------------------------------------------------------------------------------------


class PeriodKind(enum.StrEnum):
    LAST_12_MONTHS = "last12"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    CUSTOM = "custom"


_MONTHS_IN = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (or earlier), clamped to the end of a shorter month."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _fmt_day(day: date, with_year: bool = True) -> str:
    return f"{day:%b} {day.day}, {day.year}" if with_year else f"{day:%b} {day.day}"


def date_range_text(start: date, end: date) -> str:
    """'Mar 1 – 31, 2026', 'Nov 24, 2025 – Nov 23, 2026' (en dashes, office dates)."""
    if start == end:
        return _fmt_day(start)
    if start.year == end.year:
        if start.month == end.month:
            return f"{start:%b} {start.day}–{end.day}, {end.year}"
        return f"{_fmt_day(start, False)} – {_fmt_day(end)}"
    return f"{_fmt_day(start)} – {_fmt_day(end)}"


@dataclass(frozen=True)
class Period:
    """A range of office-local dates, ``start`` to ``end`` inclusive."""

    kind: PeriodKind
    start: date
    end: date
    name: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def dates(self) -> str:
        return date_range_text(self.start, self.end)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """UTC instants of local midnight at the start and local midnight after the end."""
        return local_midnight(self.start, tz), local_midnight(self.end + timedelta(days=1), tz)

    def previous(self) -> Period:
        """The previous period of the same length, ending the day before this one starts.

        Calendar periods step back one unit (March → February, Q2 → Q1, 2026 → 2025), keeping
        the same days when this one is cut short at today (Nov 1–23 → Oct 1–23). The last 12
        months compare with the 12 months before; custom dates with as many days before.
        """
        if self.kind in _MONTHS_IN:
            n = _MONTHS_IN[self.kind]
            start = add_months(self.start, -n)
            natural_end = add_months(start, n) - timedelta(days=1)
            full = self.end == add_months(self.start, n) - timedelta(days=1)
            end = natural_end if full else min(add_months(self.end, -n), natural_end)
            return _calendar_period(self.kind, start, end)
        if self.kind == PeriodKind.LAST_12_MONTHS:
            end = self.start - timedelta(days=1)
            start = add_months(end, -12) + timedelta(days=1)
            return Period(PeriodKind.CUSTOM, start, end, date_range_text(start, end))
        start = self.start - timedelta(days=self.days)
        end = self.start - timedelta(days=1)
        return Period(PeriodKind.CUSTOM, start, end, date_range_text(start, end))

    def complete(self, today: date) -> bool:
        """Over: its last day is before today, so its figures no longer change day by day."""
        return self.end < today

    def months(self) -> list[tuple[date, date]]:
        """Calendar-month slices of the period (the first and last may be partial)."""
        slices = []
        cursor = self.start
        while cursor <= self.end:
            month_end = date(
                cursor.year, cursor.month, calendar.monthrange(cursor.year, cursor.month)[1]
            )
            slices.append((cursor, min(month_end, self.end)))
            cursor = month_end + timedelta(days=1)
        return slices

    @property
    def token(self) -> str:
        """The value of the period menu that selects this period."""
        if self.kind == PeriodKind.MONTH:
            return f"m{self.start:%Y-%m}"
        if self.kind == PeriodKind.QUARTER:
            return f"q{self.start.year}-{(self.start.month - 1) // 3 + 1}"
        if self.kind == PeriodKind.YEAR:
            return f"y{self.start.year}"
        return self.kind.value

    def query_args(self) -> dict[str, str]:
        """URL query arguments that select this period again."""
        if self.kind == PeriodKind.CUSTOM:
            return self.date_args()
        return {"period": self.token}

    def date_args(self) -> dict[str, str]:
        """URL query arguments naming these exact dates (used by drill-down links)."""
        return {"period": "custom", "start": self.start.isoformat(), "end": self.end.isoformat()}


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant of midnight at the start of ``day`` in the office's time zone."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _calendar_period(kind: PeriodKind, start: date, end: date) -> Period:
    natural_end = add_months(start, _MONTHS_IN[kind]) - timedelta(days=1)
    if kind == PeriodKind.MONTH:
        name = f"{start:%B %Y}"
    elif kind == PeriodKind.QUARTER:
        name = f"Q{(start.month - 1) // 3 + 1} {start.year}"
    else:
        name = str(start.year)
    if end < natural_end:
        name += f" ({date_range_text(start, end)})"
    return Period(kind, start, end, name)


def last_12_months(today: date) -> Period:
    """The default period: the 12 months up to and including today."""
    start = add_months(today, -12) + timedelta(days=1)
    return Period(PeriodKind.LAST_12_MONTHS, start, today, "Last 12 months")


def last_12_complete_months(today: date) -> Period:
    """The 12 whole calendar months before this one (December to November on 1 December):
    the rolling period of audiences that see no names, so it is always a union of whole
    months and never changes from one day to the next."""
    end = today.replace(day=1) - timedelta(days=1)
    start = add_months(end.replace(day=1), -11)
    return Period(PeriodKind.LAST_12_MONTHS, start, end, "Last 12 complete months")


def calendar_period(kind: PeriodKind, start: date, today: date) -> Period:
    """A calendar month, quarter or year starting on ``start``, cut short at today."""
    if start > today:
        raise DomainError("That period has not started yet. Choose an earlier one.", field="period")
    if start.year < 1900:  # as for custom dates: the previous period must be a real date too
        raise DomainError("Choose a period from the list.", field="period")
    natural_end = add_months(start, _MONTHS_IN[kind]) - timedelta(days=1)
    return _calendar_period(kind, start, min(natural_end, today))


def custom_period(start: date | None, end: date | None, today: date) -> Period:
    """Custom dates: both given, end not before start, at most 10 years, not after today.

    Dates that are exactly a calendar month, quarter or year are treated as that period, so
    they compare with the previous month, quarter or year. An end after today stops at today.
    """
    if start is None:
        raise DomainError("Enter the first day of the period.", field="start")
    if end is None:
        raise DomainError("Enter the last day of the period.", field="end")
    if end < start:
        raise DomainError("The end date is before the start date.", field="end")
    if start > today:
        raise DomainError(
            "The period starts after today: there is nothing to count yet.", field="start"
        )
    if start.year < 1900:  # the previous period of the same length must be a real date too
        raise DomainError("Choose a start date in 1900 or later.", field="start")
    if end >= add_months(start, 12 * MAX_PERIOD_YEARS):
        raise DomainError(
            f"A custom period can be at most {MAX_PERIOD_YEARS} years long.", field="end"
        )
    if start.day == 1:  # exactly a calendar year, quarter or month: compare like one
        for kind in (PeriodKind.YEAR, PeriodKind.QUARTER, PeriodKind.MONTH):
            aligned = kind != PeriodKind.QUARTER or start.month % 3 == 1
            if kind == PeriodKind.YEAR:
                aligned = start.month == 1
            if aligned and end == add_months(start, _MONTHS_IN[kind]) - timedelta(days=1):
                return calendar_period(kind, start, today)
    end = min(end, today)
    return Period(PeriodKind.CUSTOM, start, end, date_range_text(start, end))


CALENDAR_ONLY_MESSAGE = (
    "Summaries without names cover whole calendar months, quarters and years, or the last "
    "12 complete months. Custom dates are not available: a short period could single out "
    "one resident. Choose a period from the list."
)


def parse_period(
    choice: str | None,
    start: date | None,
    end: date | None,
    today: date,
    audience: Audience | None = None,
) -> Period:
    """The period named by the menu value (``last12``, ``m2026-03``, ``q2026-1``, ``y2026``,
    ``custom`` with dates). No value: custom when dates are given, else the last 12 months.

    Audiences that see no names get calendar periods only: custom dates are refused (400)
    and the last 12 months are the last 12 complete months."""
    calendar_only = audience is not None and audience.calendar_only
    token = (choice or "").strip().lower() or ("custom" if (start or end) else "last12")
    if token == PeriodKind.LAST_12_MONTHS.value:
        return last_12_complete_months(today) if calendar_only else last_12_months(today)
    if token == PeriodKind.CUSTOM.value:
        if calendar_only:
            raise DomainError(CALENDAR_ONLY_MESSAGE, field="period", code="calendar_only")
        return custom_period(start, end, today)
    try:
        if token.startswith("m") and len(token) == 8 and token[5] == "-":
            return calendar_period(
                PeriodKind.MONTH, date(int(token[1:5]), int(token[6:8]), 1), today
            )
        if token.startswith("q") and len(token) == 7 and token[5] == "-":
            quarter = int(token[6])
            if 1 <= quarter <= 4:
                return calendar_period(
                    PeriodKind.QUARTER, date(int(token[1:5]), 3 * quarter - 2, 1), today
                )
        if token.startswith("y") and len(token) == 5:
            return calendar_period(PeriodKind.YEAR, date(int(token[1:5]), 1, 1), today)
    except ValueError:
        pass
    raise DomainError("Choose a period from the list.", field="period")


def period_choices(
    today: date, audience: Audience | None = None
) -> dict[str, list[tuple[str, str]]]:
    """The period menu, in groups: the last 12 months, the last 36 months, 12 quarters,
    10 years, and custom dates (not offered to audiences that see no names)."""
    calendar_only = audience is not None and audience.calendar_only
    first_of_month = today.replace(day=1)
    months = [add_months(first_of_month, -i) for i in range(36)]
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    quarters = [add_months(quarter_start, -3 * i) for i in range(12)]
    groups = {
        "Rolling": [("last12", "Last 12 complete months" if calendar_only else "Last 12 months")],
        "Months": [(f"m{m:%Y-%m}", f"{m:%B %Y}") for m in months],
        "Quarters": [
            (f"q{q.year}-{(q.month - 1) // 3 + 1}", f"Q{(q.month - 1) // 3 + 1} {q.year}")
            for q in quarters
        ],
        "Years": [(f"y{today.year - i}", str(today.year - i)) for i in range(MAX_PERIOD_YEARS)],
    }
    if not calendar_only:
        groups["Other"] = [("custom", "Custom dates")]
    return groups


# Who may see which district ------------------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Who reads a summary: staff who see names (and so may see every figure, the staff table
    and the cases behind a number), or an audience that sees no names (the legislator), for
    whom the summary must not single out a resident: calendar periods only, breakdowns only
    for complete periods, cells below ``threshold`` withheld with their complements, and
    confidential cases in the headline totals only."""

    sees_names: bool
    threshold: int = SMALL_COUNT

    @property
    def staff_table(self) -> bool:
        """Caseload and closures by staffer."""
        return self.sees_names

    @property
    def drill_down(self) -> bool:
        """Links from numbers to the cases behind them."""
        return self.sees_names

    @property
    def calendar_only(self) -> bool:
        """Calendar months, quarters, years and the last 12 complete months; no custom dates."""
        return not self.sees_names

    @property
    def suppress_small_counts(self) -> bool:
        """Breakdown cells below the threshold withheld (with complementary suppression)."""
        return not self.sees_names


LEGISLATOR_VIEW = Audience(sees_names=False)
FULL_VIEW = Audience(sees_names=True)


def audience_for(user: User, threshold: int = SMALL_COUNT) -> Audience:
    """Supervisors and admins see everything; legislators counts and durations that cannot
    single out a resident, with cells below ``threshold`` withheld."""
    return Audience(permissions.may(user, Capability.SUMMARY_DETAILS), threshold)


def summary_districts(user: User) -> list[District]:
    """The districts whose summaries the user may open (their own districts), by code."""
    if not permissions.may(user, Capability.READ_SUMMARIES):
        return []
    return district_service.districts_for(user)


def district_for(user: User, code: str) -> District:
    """The district named in a summary address: 404 when unknown, 403 when not the user's."""
    district = district_service.get_by_code(code[:16])
    if district is None:
        raise NotFound(
            f"There is no district with the code {code[:16]!r}. "
            "Check the address, or choose a district from the summaries page."
        )
    if not permissions.may(user, Capability.READ_SUMMARIES) or district.id not in user.district_ids:
        raise Forbidden(
            f"You do not have access to the summaries of {district.code}. "
            "An administrator can add the district to your account."
        )
    return district


# SQL building blocks: the definitions -------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _instant(value: datetime) -> ColumnElement[datetime]:
    return sa.literal(value, UTCDateTime())


def _days_between(later: ColumnElement, earlier: ColumnElement) -> ColumnElement[float]:
    """Elapsed days between two timestamps, fractional (24 hours = 1 day)."""
    if _dialect() == "sqlite":
        return sa.func.julianday(later) - sa.func.julianday(earlier)
    return sa.cast(sa.extract("epoch", later - earlier), sa.Float) / 86400.0


def in_districts(district_ids: Iterable[int]) -> ColumnElement[bool]:
    """Cases handled by one of the districts."""
    ids = list(district_ids)
    return Case.district_id.in_(ids) if ids else sa.false()


def opened_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Opened in the period: the case was first opened at or after ``start`` and before
    ``end``. Reopening a case does not count as opening it again."""
    return sa.and_(Case.opened_at >= start, Case.opened_at < end)


def closed_in(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Closed in the period: the case is closed now and its final close (the end of its last
    open interval, ``Case.closed_at``) is at or after ``start`` and before ``end``. A case
    reopened later leaves the period it was closed in, and counts where it is closed for good."""
    return sa.and_(Case.status == CaseStatus.CLOSED, Case.closed_at >= start, Case.closed_at < end)


def covering(interval: type[CaseInterval] | Any, instant: datetime) -> ColumnElement[bool]:
    """An open interval covering the instant: it started before it and had not ended by it."""
    return sa.and_(
        interval.opened_at < instant,
        sa.or_(interval.closed_at.is_(None), interval.closed_at >= instant),
    )


def open_at(instant: datetime) -> ColumnElement[bool]:
    """Open at the instant: one of the case's open intervals covers it (whatever its status:
    open, waiting, or resolved but not closed). Every case has its intervals: opening a case
    creates the first, and the workflow service and the demo seeding keep them."""
    interval = aliased(CaseInterval)
    return Case.id.in_(sa.select(interval.case_id).where(covering(interval, instant)))


def days_to_close() -> ColumnElement[float]:
    """Days to close a closed case: the sum of the lengths of all its open intervals, so a
    case reopened twice counts its three open spells and not the time it spent closed. Days
    are elapsed time, 24 hours to a day (fractional)."""
    interval = aliased(CaseInterval)
    return (
        sa.select(sa.func.sum(_days_between(interval.closed_at, interval.opened_at)))
        .where(interval.case_id == Case.id, interval.closed_at.is_not(None))
        .correlate(Case)
        .scalar_subquery()
    )


def age_at(instant: datetime) -> ColumnElement[float]:
    """Age of a case at an instant: the days it had been open by then, adding up its open
    intervals (time while closed does not count)."""
    interval = aliased(CaseInterval)
    at = _instant(instant)
    end = sa.case(
        (sa.or_(interval.closed_at.is_(None), interval.closed_at > at), at),
        else_=interval.closed_at,
    )
    return (
        sa.select(sa.func.sum(_days_between(end, interval.opened_at)))
        .where(interval.case_id == Case.id, interval.opened_at < at)
        .correlate(Case)
        .scalar_subquery()
    )


def referral_sent_in(period: Period) -> ColumnElement[bool]:
    """Referrals sent in the period: the sent date falls in it."""
    return sa.and_(Referral.sent_on >= period.start, Referral.sent_on <= period.end)


def referral_responded_in(period: Period) -> ColumnElement[bool]:
    """Referrals answered in the period: the agency's response date falls in it."""
    return sa.and_(Referral.responded_on >= period.start, Referral.responded_on <= period.end)


def referral_overdue(today: date) -> ColumnElement[bool]:
    """Overdue now (whatever the period): still waiting on the agency (sent or acknowledged),
    due before today, on a case that is not closed."""
    return sa.and_(
        Referral.status.in_(WAITING_REFERRAL_STATUSES),
        Referral.due_on < today,
        Case.status != CaseStatus.CLOSED,
    )


# Buckets and statistics ----------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    above: float | None  # more than this many days (None: from zero)
    up_to: float | None  # up to and including this many days (None: no limit)

    def holds(self, days: float) -> bool:
        return (self.above is None or days > self.above) and (
            self.up_to is None or days <= self.up_to
        )


CLOSE_BUCKETS = (
    Bucket("le30", "30 days or less", None, 30),
    Bucket("31-90", "31–90 days", 30, 90),
    Bucket("91-180", "91–180 days", 90, 180),
    Bucket("over180", "Over 180 days", 180, None),
)
AGE_BUCKETS = (
    Bucket("0-30", "0–30 days", None, 30),
    Bucket("31-60", "31–60 days", 30, 60),
    Bucket("61-90", "61–90 days", 60, 90),
    Bucket("over90", "Over 90 days", 90, None),
)
WITHIN_DAYS = (30, 60, 90)


def bucket_of(days: float, buckets: Sequence[Bucket]) -> str:
    for bucket in buckets:
        if bucket.holds(days):
            return bucket.key
    return buckets[-1].key


def median(values: Sequence[float]) -> float | None:
    """The middle value (the mean of the two middle values for an even count); None if empty."""
    return float(statistics.median(values)) if values else None


def percentile_90(values: Sequence[float]) -> float | None:
    """90th percentile, interpolated between order statistics (inclusive method, as Excel's
    PERCENTILE.INC and the referral service's response times); None if empty."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=10, method="inclusive")[8])


@dataclass(frozen=True)
class DurationStats:
    """Days to close of the cases closed in a period."""

    count: int
    median_days: float | None
    p90_days: float | None
    within: dict[int, float | None]  # share (0–1) closed within 30/60/90 days
    buckets: dict[str, int]  # CLOSE_BUCKETS key → cases

    @classmethod
    def of(cls, days: Sequence[float]) -> DurationStats:
        """Median, 90th percentile, shares within 30/60/90 days and buckets of the days."""
        values = sorted(days)
        n = len(values)

        def at_most(limit: float | None) -> int:
            return n if limit is None else bisect.bisect_right(values, limit)

        buckets = {
            b.key: at_most(b.up_to) - (0 if b.above is None else at_most(b.above))
            for b in CLOSE_BUCKETS
        }
        within = {w: (at_most(w) / n if n else None) for w in WITHIN_DAYS}
        return cls(n, median(values), percentile_90(values), within, buckets)


# Figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The headline figures of one district (or several together) in one period."""

    opened: int
    closed: int
    open_at_end: int
    time_to_close: DurationStats


@dataclass(frozen=True)
class CategoryRow:
    category_id: int
    name: str
    opened: int
    closed: int
    median_days: float | None


@dataclass(frozen=True)
class AgencyRow:
    agency_id: int
    name: str
    sent: int
    responded: int
    median_days_to_respond: float | None
    overdue_now: int


@dataclass(frozen=True)
class PlaceRow:
    key: str  # ZIP, or the lower-cased town name; "" for unknown
    label: str
    opened: int


@dataclass(frozen=True)
class MonthRow:
    start: date
    end: date
    opened: int
    closed: int

    @property
    def label(self) -> str:
        text = f"{self.start:%b %Y}"
        full = (
            self.start.day == 1
            and self.end.day == calendar.monthrange(self.end.year, self.end.month)[1]
        )
        return text if full else f"{text} ({date_range_text(self.start, self.end)})"


@dataclass(frozen=True)
class StaffRow:
    user_id: int | None  # None: unassigned
    name: str
    caseload: int  # open at period end, assigned to them
    closed: int  # closed in the period, assigned to them


@dataclass
class Figures:
    """Every figure of one period for the given districts."""

    period: Period
    headline: Headline
    by_priority: dict[str, int]  # open at period end by priority
    aging: dict[str, int]  # open at period end by age bucket
    by_category: list[CategoryRow]
    by_outcome: dict[str, int]  # closed by outcome ("" = none recorded)
    by_channel: dict[str, int]  # opened by intake channel
    by_agency: list[AgencyRow]
    by_zip: list[PlaceRow]
    by_town: list[PlaceRow]
    trend: list[MonthRow]
    by_staff: list[StaffRow] | None = None


def _sum_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _raw(column: Any) -> ColumnElement[str]:
    """An enum column read as its stored text (no per-row conversion in Python)."""
    return sa.type_coerce(column, sa.String)


def _value(member: object) -> str:
    return member.value if isinstance(member, enum.Enum) else str(member)


def _bucket_condition(column: ColumnElement, bucket: Bucket) -> ColumnElement[bool]:
    terms = []
    if bucket.above is not None:
        terms.append(column > bucket.above)
    if bucket.up_to is not None:
        terms.append(column <= bucket.up_to)
    return sa.and_(*terms) if terms else sa.true()


def _names(model: type, ids: set[int], attr: str = "name") -> dict[int, str]:
    if not ids:
        return {}
    column = getattr(model, attr)
    return dict(db.session.execute(sa.select(model.id, column).where(model.id.in_(ids))).all())


def _values(
    values: sa.Subquery, spans: Sequence[tuple[Any, Any]], *, last_included: bool = False
) -> dict[tuple[int, Any], list[float]]:
    """The values ``v`` of each (period index, group ``g``) of a subquery whose rows carry the
    instant (or date) ``t`` that places them in periods, read as plain numbers in one pass;
    statistics are then taken with ``median``, ``percentile_90`` and ``DurationStats.of``.
    A row goes to every period whose span holds ``t`` (``lo <= t < hi``, or ``<= hi`` with
    ``last_included``), so the periods may overlap. A case without intervals has no duration
    and is left out."""
    out: dict[tuple[int, Any], list[float]] = defaultdict(list)
    indexed = list(enumerate(spans))
    for t, g, v in db.session.execute(sa.select(values.c.t, values.c.g, values.c.v)):
        if v is None:
            continue
        value = max(float(v), 0.0)
        for i, (lo, hi) in indexed:
            if lo <= t and (t <= hi if last_included else t < hi):
                out[(i, g)].append(value)
    return out


def _period_values(values: dict[tuple[int, Any], list[float]], period_index: int) -> list[float]:
    return [v for (p, _), vs in values.items() if p == period_index for v in vs]


def _closed_values(
    scope: ColumnElement[bool], bounds: Sequence[tuple[datetime, datetime]], group: ColumnElement
) -> sa.Subquery:
    """(t, g, v): the final close, group and days to close of each case closed in a period.

    On PostgreSQL ``days_to_close`` is written as a join and a sum per case, so that the
    intervals are hashed once instead of searched per case (the same sum of the same interval
    lengths); SQLite, which would sort to group, searches its index per case.
    """
    closed_any = sa.or_(*[closed_in(s, e) for s, e in bounds])
    if _dialect() == "sqlite":
        return (
            sa.select(Case.closed_at.label("t"), group.label("g"), days_to_close().label("v"))
            .where(scope, closed_any)
            .subquery()
        )
    interval = aliased(CaseInterval)
    return (
        sa.select(
            Case.closed_at.label("t"),
            group.label("g"),
            sa.func.sum(_days_between(interval.closed_at, interval.opened_at)).label("v"),
        )
        .select_from(Case)
        .join(interval, interval.case_id == Case.id)
        .where(scope, closed_any, interval.closed_at.is_not(None))
        .group_by(Case.id, Case.closed_at, group)
        .subquery()
    )


def _open_rows(
    scope: ColumnElement[bool], instant: datetime, *group: ColumnElement, ages: bool = True
) -> list[sa.Row]:
    """Cases open at the instant, counted by ``group`` (and by age bucket), driven from the
    intervals covering the instant: one per open case. The age is ``age_at`` as a join and a
    sum per case (the same sum of the same interval spans up to the instant)."""
    cover = aliased(CaseInterval)
    if ages:
        spell = aliased(CaseInterval)
        at = _instant(instant)
        end = sa.case(
            (sa.or_(spell.closed_at.is_(None), spell.closed_at > at), at), else_=spell.closed_at
        )
        cases = (
            sa.select(*group, sa.func.sum(_days_between(end, spell.opened_at)).label("age"))
            .select_from(cover)
            .join(Case, Case.id == cover.case_id)
            .join(spell, sa.and_(spell.case_id == Case.id, spell.opened_at < at))
            .where(scope, covering(cover, instant))
            .group_by(Case.id, *group)
            .subquery()
        )
    else:
        cases = (
            sa.select(*group)
            .select_from(cover)
            .join(Case, Case.id == cover.case_id)
            .where(scope, covering(cover, instant))
            .subquery()
        )
    keys = [cases.c[g.name] for g in group]
    buckets = [_sum_if(_bucket_condition(cases.c.age, b)) for b in AGE_BUCKETS] if ages else []
    return db.session.execute(sa.select(*keys, sa.func.count(), *buckets).group_by(*keys)).all()


def period_figures(
    district_ids: Sequence[int],
    periods: Sequence[Period],
    tz: ZoneInfo,
    today: date,
    *,
    staff: bool = False,
    trend: bool = True,
    snapshots: int | None = None,
    confidential: bool = True,
) -> list[Figures]:
    """Every figure of each period for the districts taken together (see each definition);
    the monthly trend for the first period only. Each query covers all the periods at once.

    ``snapshots``: only the first so many periods get the open-at-end figures (the others
    leave them at zero). ``confidential=False`` leaves confidential cases out."""
    k = len(periods)
    bounds = [p.bounds(tz) for p in periods]
    scope = in_districts(district_ids)
    if not confidential:
        scope = sa.and_(scope, Case.confidential.is_(False))
    months = periods[0].months() if trend else []
    edges = [local_midnight(m_start, tz) for m_start, _ in months] + [bounds[0][1]]
    spans = list(zip(edges, edges[1:], strict=False))

    # One pass over the cases: opened and closed counts by category, channel, outcome, staffer.
    opened_terms = [opened_in(s, e) for s, e in bounds]
    closed_terms = [closed_in(s, e) for s, e in bounds]
    counts = db.session.execute(
        sa.select(
            Case.category_id,
            _raw(Case.channel),
            _raw(Case.outcome),
            Case.assignee_id,
            *[_sum_if(t) for t in opened_terms + closed_terms],
            *[_sum_if(opened_in(lo, hi)) for lo, hi in spans],
            *[_sum_if(closed_in(lo, hi)) for lo, hi in spans],
        )
        .where(scope, sa.or_(*opened_terms, *closed_terms))
        .group_by(Case.category_id, Case.channel, Case.outcome, Case.assignee_id)
    ).all()
    opened_by_category: list[dict[int, int]] = [defaultdict(int) for _ in periods]
    closed_by_category: list[dict[int, int]] = [defaultdict(int) for _ in periods]
    by_channel = [dict.fromkeys((c.value for c in Channel), 0) for _ in periods]
    by_outcome = [dict.fromkeys([o.value for o in Outcome] + [""], 0) for _ in periods]
    closed_by_staff: list[dict[int | None, int]] = [defaultdict(int) for _ in periods]
    opened_by_month = [0] * len(spans)
    closed_by_month = [0] * len(spans)
    for row in counts:
        category_id, channel, outcome, assignee_id = row[:4]
        sums = [int(x or 0) for x in row[4:]]
        for i in range(k):
            opened, closed = sums[i], sums[k + i]
            opened_by_category[i][category_id] += opened
            by_channel[i][channel] += opened
            if closed:
                closed_by_category[i][category_id] += closed
                by_outcome[i][outcome or ""] += closed
                closed_by_staff[i][assignee_id] += closed
        for m in range(len(spans)):
            opened_by_month[m] += sums[2 * k + m]
            closed_by_month[m] += sums[2 * k + len(spans) + m]

    # Days to close of each case closed in a period, by period and category.
    days = _values(_closed_values(scope, bounds, Case.category_id), bounds)

    # Open at the end of each period.
    by_priority = [dict.fromkeys((p.value for p in Priority), 0) for _ in periods]
    aging = [dict.fromkeys((b.key for b in AGE_BUCKETS), 0) for _ in periods]
    caseload: list[dict[int | None, int]] = [defaultdict(int) for _ in periods]
    for i, (_, end) in enumerate(bounds[:snapshots]):
        for row in _open_rows(
            scope, end, _raw(Case.priority).label("priority"), Case.assignee_id.label("assignee_id")
        ):
            by_priority[i][row[0]] += row[2]
            caseload[i][row[1]] += row[2]
            for bucket, n in zip(AGE_BUCKETS, row[3:], strict=True):
                aging[i][bucket.key] += int(n or 0)

    zips, towns = _places(scope, bounds)
    agencies = _agencies(scope, periods, today)
    category_ids = set().union(*opened_by_category, *closed_by_category)
    category_names = _names(Category, category_ids)
    staff_ids = {u for d in [*caseload, *closed_by_staff] for u in d if u is not None}
    staff_names = _names(User, staff_ids, attr="full_name") if staff else {}

    result = []
    for i, period in enumerate(periods):
        ids = set(opened_by_category[i]) | set(closed_by_category[i])
        by_category = sorted(
            (
                CategoryRow(
                    cid,
                    category_names.get(cid, "Unknown category"),
                    opened_by_category[i].get(cid, 0),
                    closed_by_category[i].get(cid, 0),
                    median(days.get((i, cid), [])),
                )
                for cid in ids
                if opened_by_category[i].get(cid) or closed_by_category[i].get(cid)
            ),
            key=lambda r: (-r.opened, -r.closed, r.name.lower()),
        )
        outcomes = dict(by_outcome[i])
        if not outcomes[""]:
            del outcomes[""]
        people = None
        if staff:
            uids = {u for u, n in caseload[i].items() if n} | {
                u for u, n in closed_by_staff[i].items() if n
            }
            people = sorted(
                (
                    StaffRow(
                        u,
                        staff_names.get(u, "Unknown") if u is not None else "Unassigned",
                        caseload[i].get(u, 0),
                        closed_by_staff[i].get(u, 0),
                    )
                    for u in uids
                ),
                key=lambda r: (r.user_id is None, r.name.lower()),
            )
        result.append(
            Figures(
                period=period,
                headline=Headline(
                    sum(by_channel[i].values()),
                    sum(closed_by_category[i].values()),
                    sum(by_priority[i].values()),
                    DurationStats.of(_period_values(days, i)),
                ),
                by_priority=by_priority[i],
                aging=aging[i],
                by_category=by_category,
                by_outcome=outcomes,
                by_channel=by_channel[i],
                by_agency=agencies[i],
                by_zip=zips[i],
                by_town=towns[i],
                trend=[
                    MonthRow(s, e, opened_by_month[m], closed_by_month[m])
                    for m, (s, e) in enumerate(months)
                ]
                if i == 0
                else [],
                by_staff=people,
            )
        )
    return result


def figures(
    district_ids: Sequence[int], period: Period, tz: ZoneInfo, today: date, *, staff: bool = False
) -> Figures:
    """Every figure of one period for the districts taken together."""
    return period_figures(district_ids, [period], tz, today, staff=staff)[0]


def _places(
    scope: ColumnElement[bool], bounds: Sequence[tuple[datetime, datetime]]
) -> tuple[list[list[PlaceRow]], list[list[PlaceRow]]]:
    """Cases opened in each period by the constituent's ZIP and by town (as recorded now)."""
    town_key = sa.func.lower(sa.func.trim(sa.func.coalesce(Constituent.city, "")))
    zip_key = sa.func.coalesce(Constituent.zip5, "")
    terms = [opened_in(s, e) for s, e in bounds]
    rows = db.session.execute(
        sa.select(zip_key, town_key, sa.func.max(Constituent.city), *[_sum_if(t) for t in terms])
        .select_from(Case)
        .join(Constituent, Constituent.id == Case.constituent_id)
        .where(scope, sa.or_(*terms))
        .group_by(zip_key, town_key)
    ).all()
    zips: list[dict[str, int]] = [defaultdict(int) for _ in bounds]
    towns: list[dict[str, int]] = [defaultdict(int) for _ in bounds]
    labels: dict[str, str] = {}
    for zip5, key, label, *ns in rows:
        for i, n in enumerate(ns):
            if n:
                zips[i][zip5 or ""] += int(n)
                towns[i][key or ""] += int(n)
        if key:
            labels[key] = (label or "").strip()
    return (
        [[PlaceRow(z, z or "Unknown ZIP", n) for z, n in d.items()] for d in zips],
        [[PlaceRow(t, labels.get(t) or "Unknown town", n) for t, n in d.items()] for d in towns],
    )


def _date_days(later: ColumnElement, earlier: ColumnElement) -> ColumnElement[float]:
    if _dialect() == "sqlite":
        return sa.func.julianday(later) - sa.func.julianday(earlier)
    return sa.cast(later - earlier, sa.Float)


def _agencies(
    scope: ColumnElement[bool], periods: Sequence[Period], today: date
) -> list[list[AgencyRow]]:
    """Per period and agency: referrals sent and answered in the period, the median days from
    sending to the answer (of those answered in the period), and referrals overdue now."""
    sent = [referral_sent_in(p) for p in periods]
    answered = [referral_responded_in(p) for p in periods]
    overdue = referral_overdue(today)
    counts = db.session.execute(
        sa.select(Referral.agency_id, *[_sum_if(t) for t in sent + answered], _sum_if(overdue))
        .join(Case, Case.id == Referral.case_id)
        .where(scope, sa.or_(*sent, *answered, overdue))
        .group_by(Referral.agency_id)
    ).all()
    if not counts:
        return [[] for _ in periods]
    answer_days = _values(
        sa.select(
            Referral.responded_on.label("t"),
            Referral.agency_id.label("g"),
            _date_days(Referral.responded_on, Referral.sent_on).label("v"),
        )
        .join(Case, Case.id == Referral.case_id)
        .where(scope, sa.or_(*answered))
        .subquery(),
        [(p.start, p.end) for p in periods],
        last_included=True,
    )
    ids = {r[0] for r in counts}
    names = _names(Agency, ids)
    short = dict(
        db.session.execute(sa.select(Agency.id, Agency.acronym).where(Agency.id.in_(ids))).all()
    )
    k = len(periods)
    result = []
    for i in range(k):
        rows = [
            AgencyRow(
                row[0],
                _agency_label(names.get(row[0], ""), short.get(row[0]) or ""),
                int(row[1 + i] or 0),
                int(row[1 + k + i] or 0),
                median(answer_days.get((i, row[0]), [])),
                int(row[1 + 2 * k] or 0),
            )
            for row in counts
        ]
        result.append(
            sorted(
                (r for r in rows if r.sent or r.responded or r.overdue_now),
                key=lambda r: (-r.sent, r.name.lower()),
            )
        )
    return result


def _agency_label(name: str, short: str) -> str:
    return f"{name} ({short})" if short and short != name else name


def period_headlines(
    district_ids: Sequence[int], periods: Sequence[Period], tz: ZoneInfo
) -> list[dict[int, Headline]]:
    """The headline figures of each district separately, for each period (the definitions
    of ``period_figures``, grouped by district)."""
    k = len(periods)
    bounds = [p.bounds(tz) for p in periods]
    scope = in_districts(district_ids)
    terms = [opened_in(s, e) for s, e in bounds] + [closed_in(s, e) for s, e in bounds]
    counts = {
        row[0]: [int(x or 0) for x in row[1:]]
        for row in db.session.execute(
            sa.select(Case.district_id, *[_sum_if(t) for t in terms])
            .where(scope, sa.or_(*terms))
            .group_by(Case.district_id)
        )
    }
    days = _values(_closed_values(scope, bounds, Case.district_id), bounds)
    open_at_end = [
        {
            row[0]: row[1]
            for row in _open_rows(scope, end, Case.district_id.label("district_id"), ages=False)
        }
        for _, end in bounds
    ]
    return [
        {
            did: Headline(
                counts.get(did, [0] * 2 * k)[i],
                counts.get(did, [0] * 2 * k)[k + i],
                open_at_end[i].get(did, 0),
                DurationStats.of(days.get((i, did), [])),
            )
            for did in district_ids
        }
        for i in range(k)
    ]


def headlines(district_ids: Sequence[int], period: Period, tz: ZoneInfo) -> dict[int, Headline]:
    """The headline figures of each district separately in one period."""
    return period_headlines(district_ids, [period], tz)[0]


# The summary and the comparison --------------------------------------------------------------


@dataclass
class DistrictSummary:
    """One district's figures for a period beside the previous period of the same length."""

    district: District
    period: Period
    previous_period: Period
    current: Figures
    previous: Figures
    produced_at: datetime
    tz: ZoneInfo
    complete: bool = True  # the period is over (breakdowns for audiences without names)
    # Audiences without names: the headline of every case (the figures above leave out the
    # confidential ones), and the cells withheld from each breakdown, this period and before.
    totals: tuple[Headline, Headline] | None = None
    withheld: tuple[dict[str, Withheld], dict[str, Withheld]] | None = None

    def hidden(self, key: str, previous: bool = False) -> Withheld:
        """The cells of a breakdown withheld from this reader (none for staff)."""
        if self.withheld is None:
            return NOTHING
        return self.withheld[1 if previous else 0].get(key, NOTHING)


def district_summary(
    district: District,
    period: Period,
    tz: ZoneInfo,
    today: date,
    audience: Audience | None = None,
    *,
    staff: bool = False,
) -> DistrictSummary:
    """The summary page's figures: this period and the previous one (no trend for that).
    With an audience, the staff figures follow what it may see."""
    if audience is not None:
        staff = audience.staff_table
        if not audience.sees_names and period.complete(today):
            return _summary_without_names(district, period, tz, today, audience.threshold)
    previous = period.previous()
    current, before = period_figures([district.id], [period, previous], tz, today, staff=staff)
    return DistrictSummary(
        district=district,
        period=period,
        previous_period=previous,
        current=current,
        previous=before,
        produced_at=datetime.now(UTC),
        tz=tz,
        complete=period.complete(today),
    )


def _month_periods(period: Period) -> list[Period]:
    return [_calendar_period(PeriodKind.MONTH, s, e) for s, e in period.months()]


def _summary_without_names(
    district: District, period: Period, tz: ZoneInfo, today: date, threshold: int
) -> DistrictSummary:
    """A complete period for a reader who sees no names: breakdowns of the cases that are not
    confidential, each with its small cells withheld (see ``services/disclosure``) month by
    month; headline totals and the monthly trend of every case."""
    previous = period.previous()
    months = {p: _month_periods(p) for p in (period, previous)}
    current, before = period_figures(
        [district.id], [period, previous], tz, today, trend=False, confidential=False
    )
    every_month = months[previous] + months[period]
    by_month = dict(zip(every_month, month_breakdowns([district.id], every_month, tz), strict=True))
    current.trend = [
        MonthRow(m.start, m.end, by_month[m].opened, by_month[m].closed) for m in months[period]
    ]
    scope = in_districts([district.id])

    def totals(p: Period) -> Headline:
        """The headline of every case (``period_headlines``), from the months' totals."""
        parts = [by_month[m] for m in months[p]]
        open_rows = _open_rows(scope, p.bounds(tz)[1], Case.district_id.label("d"), ages=False)
        return Headline(
            sum(b.opened for b in parts),
            sum(b.closed for b in parts),
            sum(int(row[1]) for row in open_rows),
            DurationStats.of([v for b in parts for v in b.days_to_close]),
        )

    def withheld_of(figs: Figures, p: Period) -> dict[str, Withheld]:
        out = {
            key: over_months(
                disclosure.withheld(by_month[m].counts[key], threshold) for m in months[p]
            )
            for key in SUM_TABLES
        }
        for key, counts in _snapshot_counts(figs).items():
            out[key] = disclosure.withheld(counts, threshold)
        return out

    return DistrictSummary(
        district=district,
        period=period,
        previous_period=previous,
        current=current,
        previous=before,
        produced_at=datetime.now(UTC),
        tz=tz,
        complete=True,
        totals=(totals(period), totals(previous)),
        withheld=(withheld_of(current, period), withheld_of(before, previous)),
    )


# The breakdowns that add up over months (withheld month by month), and the snapshots.
SUM_TABLES = (
    "by_category.opened",
    "by_category.closed",
    "by_outcome",
    "by_channel",
    "time_to_close",
    "by_zip",
    "by_town",
    "by_agency.sent",
    "by_agency.responded",
)


@dataclass
class MonthBreakdown:
    """One calendar month: every breakdown that adds up over months (``SUM_TABLES``, keyed as
    the tables' rows, confidential cases left out), and the totals of every case."""

    counts: dict[str, dict[Any, int]]
    opened: int = 0  # every case, confidential ones included
    closed: int = 0
    days_to_close: list[float] = field(default_factory=list)


def month_breakdowns(
    district_ids: Sequence[int], months: Sequence[Period], tz: ZoneInfo
) -> list[MonthBreakdown]:
    """For each of consecutive calendar months, the breakdowns and totals of
    ``MonthBreakdown`` by the definitions of ``period_figures``. Three queries in all, each
    grouped or placed by month, however many months."""
    edges = [local_midnight(m.start, tz) for m in months]
    edges.append(local_midnight(months[-1].end + timedelta(days=1), tz))
    districts = in_districts(district_ids)
    scope = sa.and_(districts, Case.confidential.is_(False))
    out = [MonthBreakdown({key: defaultdict(int) for key in SUM_TABLES}) for _ in months]

    def month_of(column: Any) -> ColumnElement[int]:
        return sa.case(*[(column < edge, i) for i, edge in enumerate(edges[1:])])

    town_key = sa.func.lower(sa.func.trim(sa.func.coalesce(Constituent.city, "")))
    zip_key = sa.func.coalesce(Constituent.zip5, "")
    month = month_of(Case.opened_at)
    for i, secret, category_id, channel, zip5, town, n in db.session.execute(
        sa.select(
            month,
            Case.confidential,
            Case.category_id,
            _raw(Case.channel),
            zip_key,
            town_key,
            sa.func.count(),
        )
        .select_from(Case)
        .join(Constituent, Constituent.id == Case.constituent_id)
        .where(districts, opened_in(edges[0], edges[-1]))
        .group_by(month, Case.confidential, Case.category_id, Case.channel, zip_key, town_key)
    ):
        out[int(i)].opened += n
        if secret:
            continue
        counts = out[int(i)].counts
        counts["by_category.opened"][category_id] += n
        counts["by_channel"][channel] += n
        counts["by_zip"][zip5 or ""] += n
        counts["by_town"][town or ""] += n

    closed = sa.select(
        month_of(Case.closed_at),
        Case.confidential,
        Case.category_id,
        _raw(Case.outcome),
        days_to_close(),
    ).where(districts, closed_in(edges[0], edges[-1]))
    for i, secret, category_id, outcome, days in db.session.execute(closed):
        out[int(i)].closed += 1
        if days is not None:
            out[int(i)].days_to_close.append(max(float(days), 0.0))
        if secret:
            continue
        counts = out[int(i)].counts
        counts["by_category.closed"][category_id] += 1
        counts["by_outcome"][outcome or ""] += 1
        if days is not None:
            counts["time_to_close"][bucket_of(max(float(days), 0.0), CLOSE_BUCKETS)] += 1

    starts = [m.start for m in months]
    first, last = months[0].start, months[-1].end
    for agency_id, sent_on, responded_on in db.session.execute(
        sa.select(Referral.agency_id, Referral.sent_on, Referral.responded_on)
        .join(Case, Case.id == Referral.case_id)
        .where(
            scope,
            sa.or_(
                Referral.sent_on.between(first, last), Referral.responded_on.between(first, last)
            ),
        )
    ):
        if sent_on is not None and first <= sent_on <= last:
            i = bisect.bisect_right(starts, sent_on) - 1
            out[i].counts["by_agency.sent"][agency_id] += 1
        if responded_on is not None and first <= responded_on <= last:
            i = bisect.bisect_right(starts, responded_on) - 1
            out[i].counts["by_agency.responded"][agency_id] += 1
    return out


def _snapshot_counts(f: Figures) -> dict[str, dict[Any, int]]:
    return {
        "open_priority": dict(f.by_priority),
        "aging": dict(f.aging),
        "by_agency.overdue": {r.agency_id: r.overdue_now for r in f.by_agency},
    }


@dataclass(frozen=True)
class ComparisonRow:
    district: District
    current: Headline
    previous: Headline


@dataclass
class Comparison:
    period: Period
    previous_period: Period
    rows: list[ComparisonRow] = field(default_factory=list)


def compare_districts(districts: Sequence[District], period: Period, tz: ZoneInfo) -> Comparison:
    """All the given districts side by side: headline figures, this period and previous."""
    previous = period.previous()
    ids = [d.id for d in districts]
    now, before = period_headlines(ids, [period, previous], tz)
    return Comparison(
        period, previous, [ComparisonRow(d, now[d.id], before[d.id]) for d in districts]
    )


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


def _drill_condition(
    drill: Drill, district: District, period: Period, tz: ZoneInfo, today: date
) -> ColumnElement[bool]:
    start, end = period.bounds(tz)
    f = drill.filters
    terms: list[ColumnElement[bool]] = [Case.district_id == district.id]
    if drill.figure == Figure.OPENED:
        terms.append(opened_in(start, end))
    elif drill.figure == Figure.CLOSED:
        terms.append(closed_in(start, end))
    elif drill.figure == Figure.OPEN:
        terms.append(open_at(end))
    try:
        if "category" in f:
            terms.append(Case.category_id == _id(f["category"]))
        if "channel" in f:
            terms.append(Case.channel == Channel(f["channel"]))
        if "priority" in f:
            terms.append(Case.priority == Priority(f["priority"]))
        if "outcome" in f:
            terms.append(
                Case.outcome.is_(None)
                if f["outcome"] == "none"
                else Case.outcome == Outcome(f["outcome"])
            )
        if "staff" in f:
            terms.append(
                Case.assignee_id.is_(None)
                if f["staff"] == "none"
                else Case.assignee_id == _id(f["staff"])
            )
        if "zip" in f or "town" in f:
            place = []
            if "zip" in f:
                zip5 = f["zip"] if f["zip"] != "unknown" else ""
                place.append(sa.func.coalesce(Constituent.zip5, "") == zip5)
            if "town" in f:
                town = f["town"] if f["town"] != "unknown" else ""
                place.append(
                    sa.func.lower(sa.func.trim(sa.func.coalesce(Constituent.city, ""))) == town
                )
            terms.append(Case.constituent_id.in_(sa.select(Constituent.id).where(*place)))
        if "month" in f:
            first = date.fromisoformat(f["month"] + "-01")
            lo = local_midnight(max(first, period.start), tz)
            hi = local_midnight(
                min(add_months(first, 1) - timedelta(days=1), period.end) + timedelta(days=1), tz
            )
            column = Case.closed_at if drill.figure == Figure.CLOSED else Case.opened_at
            terms.extend([column >= lo, column < hi])
        if "age" in f:
            bucket = next(b for b in AGE_BUCKETS if b.key == f["age"])
            terms.append(_bucket_condition(age_at(end), bucket))
        if "close_time" in f:
            bucket = next(b for b in CLOSE_BUCKETS if b.key == f["close_time"])
            terms.append(_bucket_condition(days_to_close(), bucket))
        if "within" in f:
            terms.append(days_to_close() <= _id(f["within"]))
        if drill.figure.is_referral:
            referral_terms = [Referral.case_id == Case.id]
            if "agency" in f:
                referral_terms.append(Referral.agency_id == _id(f["agency"]))
            referral_terms.append(
                {
                    Figure.REFERRALS_SENT: referral_sent_in(period),
                    Figure.REFERRALS_RESPONDED: referral_responded_in(period),
                    Figure.REFERRALS_OVERDUE: referral_overdue(today),
                }[drill.figure]
            )
            terms.append(sa.and_(*referral_terms))
    except (ValueError, StopIteration) as exc:
        raise DomainError("That link does not name a number on the summary.") from exc
    return sa.and_(*terms)


def drill_select(
    select: sa.Select, drill: Drill, district: District, period: Period, tz: ZoneInfo, today: date
) -> sa.Select:
    """Narrow a SELECT of cases (from ``permissions.visible_cases``) to those behind a number.

    Referral figures list one row per referral, so the list has as many rows as the number.
    """
    if drill.figure.is_referral:
        select = select.join(Referral, Referral.case_id == Case.id)
    return select.where(_drill_condition(drill, district, period, tz, today))


def count_behind(
    drill: Drill, district: District, period: Period, tz: ZoneInfo, today: date
) -> int:
    """How many cases (or referrals) the number stands for, whoever is asking: the summary's
    count. Compared with the visible list to say how many are not listed for the user."""
    select = sa.select(sa.func.count()).select_from(Case)
    return int(db.session.scalar(drill_select(select, drill, district, period, tz, today)) or 0)


def describe_drill(drill: Drill, period: Period) -> str:
    """The drill-down in words, e.g. 'Cases closed, category Housing, March 2026'."""
    f = drill.filters
    parts = [drill.figure.label]
    labels = {
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


def drill_rows_select(
    visible: sa.Select, drill: Drill, district: District, period: Period, tz: ZoneInfo, today: date
) -> sa.Select:
    """The columns of a drill-down list over ``permissions.visible_cases(user)``, by number."""
    _, end = period.bounds(tz)
    assignee = aliased(User)
    select = drill_select(visible, drill, district, period, tz, today)
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


# Plain-words definitions, shown on the page as "How these numbers are counted" --------------

HOW_COUNTED: list[tuple[str, str]] = [
    (
        "Dates",
        "Every date is the office's local date. A case opened at 11 pm on 31 March counts "
        "in March, even though it was already 1 April in UTC.",
    ),
    ("Opened", "Cases first opened in the period. Reopening a case does not count as a new case."),
    (
        "Closed",
        "Cases that are closed now and whose last close falls in the period. If a case "
        "is reopened, it drops out of the period it was closed in and counts again when "
        "it is closed for good, so a past period's figures can change.",
    ),
    (
        "Open at period end",
        "Cases that were open at midnight at the end of the period, whatever "
        "their status (open, waiting on the constituent or the agency, "
        "resolved but not closed).",
    ),
    (
        "Days to close",
        "For each closed case, the time it spent open, added up over every time "
        "it was open: a case reopened twice counts all three spells, not the "
        "time it spent closed. 24 hours is one day; 30 days and 2 hours is over "
        "30 days.",
    ),
    (
        "Median and 90th percentile",
        "Half of the cases closed faster than the median; 90% closed "
        "at or under the 90th percentile (interpolated between cases, "
        "as a spreadsheet's PERCENTILE.INC does).",
    ),
    (
        "Age of open cases",
        "Days each case open at the end of the period had been open by then, "
        "added up over every time it was open.",
    ),
    (
        "Categories, outcomes, channels, priorities, staff",
        "As recorded on the case now: opened "
        "figures by category and intake channel, closed figures by category, outcome and "
        "assigned staffer, open cases by priority and assigned staffer.",
    ),
    (
        "Agencies",
        "Referrals sent in the period, answered in the period, the median days from "
        "sending to the answer (for those answered in the period), and referrals "
        "overdue today: waiting on the agency past their due date, on open cases.",
    ),
    (
        "Where in the district",
        "Cases opened in the period by the resident's ZIP code and town as recorded now.",
    ),
    (
        "Confidential cases",
        "Every figure counts all cases of the district, confidential ones "
        "included, so the workload is complete. Lists of cases behind a "
        "number show only the cases your role may open. For the legislator's view, "
        "confidential cases are counted in the headline figures and the monthly trend only, "
        "never in a table by category, place, channel, outcome, time, priority or agency.",
    ),
    (
        "Periods for readers who see no names",
        "The legislator's view covers whole calendar months, quarters and years, and the "
        "last 12 complete months; custom dates are not available. A period that is not over "
        "yet shows its totals only: the tables by category, outcome, channel, agency, ZIP code "
        "and town appear once it is complete, so no two days' pages differ by one day's cases.",
    ),
    (
        "Small numbers",
        "For the legislator's view, a count from 1 to one less than the office's threshold "
        "(5 unless set otherwise) is shown as \u201cwithheld\u201d, and so are as many of "
        "the smallest other counts of the same table as it takes for the withheld ones to "
        "hold at least that many cases together, so none can be worked out from the table's "
        "total or from another table. A table with one small count and nothing to withhold "
        "with it is withheld whole. Quarters, years and 12 months withhold every count that "
        "is withheld in one of their months, so that a longer period minus its other months "
        "(or one 12-month window minus another) gives nothing away. The shares closed within "
        "30, 60 and 90 days are left out (the time-to-close table has the counts).",
    ),
]
