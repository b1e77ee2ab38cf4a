"""The one definition of every figure: SQL conditions and aggregates, buckets and statistics,
and the same definitions in plain words (``HOW_COUNTED``)."""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from constituent.extensions import db
from constituent.models import (
    Case,
    CaseInterval,
    CaseStatus,
    Referral,
    ReferralStatus,
)
from constituent.models.base import UTCDateTime
from constituent.services.summaries.periods import Period

# Referrals still waiting on the agency (the referral service's definition of "can be overdue").
WAITING_REFERRAL_STATUSES = (ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED)


# SQL building blocks: the definitions -------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _rows(statement: sa.Executable) -> Sequence[sa.Row[*tuple[Any, ...]]]:
    """Every row of a Core statement, run on the session's connection (the same transaction)
    without the ORM's per-row processing, which the summaries' plain tuples do not need."""
    return db.session.connection().execute(statement).all()


def _instant(value: datetime) -> ColumnElement[datetime]:
    return sa.literal(value, UTCDateTime())


def _days_between(later: Any, earlier: Any) -> ColumnElement[float]:
    """Elapsed days between two timestamps, fractional (24 hours = 1 day)."""
    if _dialect() == "sqlite":
        return sa.func.julianday(later) - sa.func.julianday(earlier)
    seconds = sa.cast(sa.extract("epoch", later - earlier), sa.Float)
    return sa.type_coerce(seconds / 86400.0, sa.Float)


def in_districts(district_ids: Iterable[int], *, by_index: bool = True) -> ColumnElement[bool]:
    """Cases handled by one of the districts.

    ``by_index=False`` writes the same condition as ``district_id + 0``, which no index on the
    district serves: a query that should start from another table's index (the intervals
    open at an instant, the referrals of a range of months) then checks the district of the
    cases it reaches, instead of reading every case of the district, years of them."""
    ids = list(district_ids)
    if not ids:
        return sa.false()
    return (Case.district_id if by_index else Case.district_id + 0).in_(ids)


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


def _bucket_condition(column: ColumnElement[Any], bucket: Bucket) -> ColumnElement[bool]:
    terms = []
    if bucket.above is not None:
        terms.append(column > bucket.above)
    if bucket.up_to is not None:
        terms.append(column <= bucket.up_to)
    return sa.and_(*terms) if terms else sa.true()


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
