"""One district's summary beside its previous period (with the legislator's withheld cells)
and the comparison of districts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from constituent.models import (
    Case,
    Constituent,
    District,
    Referral,
)
from constituent.services import disclosure
from constituent.services.disclosure import NOTHING, Withheld, over_months
from constituent.services.summaries.audience import FULL_VIEW, Audience
from constituent.services.summaries.definitions import (
    CLOSE_BUCKETS,
    DurationStats,
    _rows,
    bucket_of,
    closed_in,
    days_to_close,
    in_districts,
    opened_in,
)
from constituent.services.summaries.figures import (
    Figures,
    Headline,
    MonthRow,
    _raw,
    period_figures,
    period_headlines,
)
from constituent.services.summaries.periods import (
    Period,
    PeriodKind,
    _calendar_period,
    local_midnight,
)

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
    # Who reads it: what the tables show of it (see ``Audience``).
    audience: Audience = FULL_VIEW

    def hidden(self, key: str, previous: bool = False) -> Withheld:
        """The cells of a breakdown withheld from this reader (none for staff)."""
        if self.withheld is None:
            return NOTHING
        return self.withheld[1 if previous else 0].get(key, NOTHING)


def _beside_previous(
    district: District,
    periods: tuple[Period, Period],
    figures: tuple[Figures, Figures],
    tz: ZoneInfo,
    audience: Audience,
    **more: Any,
) -> DistrictSummary:
    """One district's figures for a period beside those of the period before, produced now."""
    (period, previous), (current, before) = periods, figures
    return DistrictSummary(
        district=district,
        period=period,
        previous_period=previous,
        current=current,
        previous=before,
        produced_at=datetime.now(UTC),
        tz=tz,
        audience=audience,
        **more,
    )


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
            return _summary_without_names(district, period, tz, today, audience)
    previous = period.previous()
    current, before = period_figures([district.id], [period, previous], tz, today, staff=staff)
    return _beside_previous(
        district,
        (period, previous),
        (current, before),
        tz,
        audience or FULL_VIEW,
        complete=period.complete(today),
    )


def _month_periods(period: Period) -> list[Period]:
    return [_calendar_period(PeriodKind.MONTH, s, e) for s, e in period.months()]


def _summary_without_names(
    district: District, period: Period, tz: ZoneInfo, today: date, audience: Audience
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

    def totals(p: Period, figs: Figures) -> Headline:
        """The headline of every case (``period_headlines``), from the months' totals and the
        open cases counted with the breakdowns."""
        parts = [by_month[m] for m in months[p]]
        return Headline(
            sum(b.opened for b in parts),
            sum(b.closed for b in parts),
            figs.open_every_case,
            DurationStats.of([v for b in parts for v in b.days_to_close]),
        )

    def withheld_of(figs: Figures, p: Period) -> dict[str, Withheld]:
        out = {
            key: over_months(
                disclosure.withheld(by_month[m].counts[key], audience.threshold) for m in months[p]
            )
            for key in SUM_TABLES
        }
        for key, counts in _snapshot_counts(figs).items():
            out[key] = disclosure.withheld(counts, audience.threshold)
        return out

    return _beside_previous(
        district,
        (period, previous),
        (current, before),
        tz,
        audience,
        complete=True,
        totals=(totals(period, current), totals(previous, before)),
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
    # The referrals are reached from their own indexes by date (see ``in_districts``).
    scope = sa.and_(in_districts(district_ids, by_index=False), Case.confidential.is_(False))
    out = [MonthBreakdown({key: defaultdict(int) for key in SUM_TABLES}) for _ in months]

    def month_of(column: Any) -> ColumnElement[int]:
        return sa.case(*[(column < edge, i) for i, edge in enumerate(edges[1:])])

    town_key = sa.func.lower(sa.func.trim(sa.func.coalesce(Constituent.city, "")))
    zip_key = sa.func.coalesce(Constituent.zip5, "")
    month = month_of(Case.opened_at)
    opened = opened_in(edges[0], edges[-1])
    # The cases opened, by category and channel (from the index alone), then by place: two
    # groupings of a few thousand rows rather than one of nearly a row per case.
    for i, secret, category_id, channel, n in _rows(
        sa.select(month, Case.confidential, Case.category_id, _raw(Case.channel), sa.func.count())
        .where(districts, opened)
        .group_by(month, Case.confidential, Case.category_id, Case.channel)
    ):
        out[int(i)].opened += n
        if secret:
            continue
        counts = out[int(i)].counts
        counts["by_category.opened"][category_id] += n
        counts["by_channel"][channel] += n
    for i, zip5, town, n in _rows(
        sa.select(month, zip_key, town_key, sa.func.count())
        .select_from(Case)
        .join(Constituent, Constituent.id == Case.constituent_id)
        .where(districts, opened, Case.confidential.is_(False))
        .group_by(month, zip_key, town_key)
    ):
        counts = out[int(i)].counts
        counts["by_zip"][zip5 or ""] += n
        counts["by_town"][town or ""] += n

    closed = sa.select(
        month_of(Case.closed_at),
        Case.confidential,
        Case.category_id,
        _raw(Case.outcome),
        days_to_close(),
    ).where(districts, closed_in(edges[0], edges[-1]))
    for i, secret, category_id, outcome, days in _rows(closed):
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

    first, last = months[0].start, months[-1].end
    for column, key in (
        (Referral.sent_on, "by_agency.sent"),
        (Referral.responded_on, "by_agency.responded"),
    ):
        # The month of a date of the months (referral dates are office dates).
        in_month = sa.case(
            *[(column < m.start, i - 1) for i, m in enumerate(months) if i], else_=len(months) - 1
        )
        for i, agency_id, n in _rows(
            sa.select(in_month, Referral.agency_id, sa.func.count())
            .join(Case, Case.id == Referral.case_id)
            .where(scope, column.between(first, last))
            .group_by(in_month, Referral.agency_id)
        ):
            out[int(i)].counts[key][agency_id] += n
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
