"""Every figure of one or more periods for a set of districts, from grouped queries."""

from __future__ import annotations

import calendar
import enum
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from constituent.models import (
    Agency,
    Case,
    CaseInterval,
    Category,
    Channel,
    Constituent,
    Outcome,
    Priority,
    Referral,
    User,
)
from constituent.services.summaries.definitions import (
    AGE_BUCKETS,
    WAITING_REFERRAL_STATUSES,
    DurationStats,
    _bucket_condition,
    _days_between,
    _dialect,
    _instant,
    _rows,
    closed_in,
    covering,
    days_to_close,
    in_districts,
    median,
    opened_in,
    referral_overdue,
    referral_responded_in,
    referral_sent_in,
)
from constituent.services.summaries.periods import Period, date_range_text, local_midnight

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
    open_every_case: int = 0  # open at period end, confidential cases included


def _sum_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _raw(column: Any) -> ColumnElement[str]:
    """An enum column read as its stored text (no per-row conversion in Python)."""
    return sa.type_coerce(column, sa.String)


def _value(member: object) -> str:
    return member.value if isinstance(member, enum.Enum) else str(member)


def _names(model: Any, ids: set[int], attr: str = "name") -> dict[int, str]:
    if not ids:
        return {}
    column = getattr(model, attr)
    return dict(_rows(sa.select(model.id, column).where(model.id.in_(ids))))


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
    for t, g, v in _rows(sa.select(values.c.t, values.c.g, values.c.v)):
        if v is None:
            continue
        value = max(float(v), 0.0)
        for i, (lo, hi) in indexed:
            if lo <= t and (t <= hi if last_included else t < hi):
                out[(i, g)].append(value)
    return out


def _period_values(values: dict[tuple[int, Any], list[float]], period_index: int) -> list[float]:
    return [v for (p, _), vs in values.items() if p == period_index for v in vs]


def _open_rows(
    scope: ColumnElement[bool], instant: datetime, *group: ColumnElement[Any], ages: bool = True
) -> list[sa.Row[*tuple[Any, ...]]]:
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
    return list(_rows(sa.select(*keys, sa.func.count(), *buckets).group_by(*keys)))


@dataclass
class _CaseCounts:
    """Opened and closed counts of each period by category, channel, outcome and staffer, and
    the monthly trend of the first period."""

    opened_by_category: list[dict[int, int]]
    closed_by_category: list[dict[int, int]]
    by_channel: list[dict[str, int]]
    by_outcome: list[dict[str, int]]
    closed_by_staff: list[dict[int | None, int]]
    opened_by_month: list[int]
    closed_by_month: list[int]

    @classmethod
    def empty(cls, k: int, months: int) -> _CaseCounts:
        return cls(
            [defaultdict(int) for _ in range(k)],
            [defaultdict(int) for _ in range(k)],
            [dict.fromkeys((c.value for c in Channel), 0) for _ in range(k)],
            [dict.fromkeys([o.value for o in Outcome] + [""], 0) for _ in range(k)],
            [defaultdict(int) for _ in range(k)],
            [0] * months,
            [0] * months,
        )


@dataclass(frozen=True)
class _Slots:
    """The periods and months cut into slots: between each two consecutive edges (the bounds
    of every period and month, in order), so that a row's slot, computed once in SQL, places
    it in every period and month at once (the periods may overlap or leave gaps)."""

    edges: list[datetime]
    periods_of: list[tuple[int, ...]]  # slot → the periods holding it
    month_of: list[int | None]  # slot → the month of ``spans`` holding it

    @classmethod
    def of(
        cls,
        bounds: Sequence[tuple[datetime, datetime]],
        spans: Sequence[tuple[datetime, datetime]] = (),
    ) -> _Slots:
        edges = sorted({t for span in [*bounds, *spans] for t in span})
        slots = list(zip(edges, edges[1:], strict=False))

        def holding(ranges: Sequence[tuple[datetime, datetime]], lo: datetime) -> list[int]:
            return [i for i, (s, e) in enumerate(ranges) if s <= lo < e]

        return cls(
            edges,
            [tuple(holding(bounds, lo)) for lo, _ in slots],
            [next(iter(holding(spans, lo)), None) for lo, _ in slots],
        )

    def slot(self, column: Any) -> ColumnElement[int]:
        """The slot of an instant inside the edges: a binary search written as nested CASEs,
        so each row costs a handful of comparisons however many periods and months."""
        edges = self.edges

        def node(lo: int, hi: int) -> ColumnElement[int]:
            if hi - lo == 1:
                return sa.literal(lo, sa.Integer)
            mid = (lo + hi) // 2
            return sa.case((column < edges[mid], node(lo, mid)), else_=node(mid, hi))

        return node(0, len(edges) - 1)

    @property
    def span(self) -> tuple[datetime, datetime]:
        """From the first edge to the last: one range, which an index on (district, instant)
        reads."""
        return self.edges[0], self.edges[-1]


def _closed_cases(scope: ColumnElement[bool], slots: _Slots, *group: Any) -> sa.Select[Any]:
    """(slot, *group, days to close) of each case closed in a slot (see ``closed_in``).

    On PostgreSQL ``days_to_close`` is written as an outer join and a sum per case, so that
    the intervals are hashed once instead of searched per case (the same sum of the same
    interval lengths, None without a closed interval); SQLite, which would sort to group,
    searches its index per case."""
    where = (scope, closed_in(*slots.span))
    slot = slots.slot(Case.closed_at)
    if _dialect() == "sqlite":
        return sa.select(slot, *group, days_to_close()).where(*where)
    interval = aliased(CaseInterval)
    return (
        sa.select(slot, *group, sa.func.sum(_days_between(interval.closed_at, interval.opened_at)))
        .select_from(Case)
        .outerjoin(interval, sa.and_(interval.case_id == Case.id, interval.closed_at.is_not(None)))
        .where(*where)
        .group_by(Case.id)
    )


def _opened_counts(
    scope: ColumnElement[bool], slots: _Slots, *group: ColumnElement[Any]
) -> list[sa.Row[*tuple[Any, ...]]]:
    """(slot, *group, cases) of the cases opened in each slot: one grouped query."""
    cases = (
        sa.select(slots.slot(Case.opened_at).label("slot"), *group)
        .where(scope, opened_in(*slots.span))
        .subquery()
    )
    keys = [cases.c.slot, *(cases.c[g.name] for g in group)]
    return list(_rows(sa.select(*keys, sa.func.count()).group_by(*keys)))


def _case_counts(
    scope: ColumnElement[bool], slots: _Slots, k: int, months: int
) -> tuple[_CaseCounts, dict[tuple[int, int], list[float]]]:
    """Opened and closed counts per period (and per month), with the days to close by
    (period, category): one grouped query of the cases opened, and one query of the cases
    closed, whose days to close the medians need one by one (so their counts are taken from
    the same rows instead of a second pass)."""
    counts = _CaseCounts.empty(k, months)
    for slot, category_id, channel, n in _opened_counts(
        scope, slots, Case.category_id.label("category_id"), _raw(Case.channel).label("channel")
    ):
        for i in slots.periods_of[slot]:
            counts.opened_by_category[i][category_id] += n
            counts.by_channel[i][channel] += n
        m = slots.month_of[slot]
        if m is not None:
            counts.opened_by_month[m] += n
    closed = _rows(
        _closed_cases(scope, slots, Case.category_id, _raw(Case.outcome), Case.assignee_id)
    )
    groups = Counter(row[:4] for row in closed)
    for (slot, category_id, outcome, assignee_id), n in groups.items():
        for i in slots.periods_of[slot]:
            counts.closed_by_category[i][category_id] += n
            counts.by_outcome[i][outcome or ""] += n
            counts.closed_by_staff[i][assignee_id] += n
        m = slots.month_of[slot]
        if m is not None:
            counts.closed_by_month[m] += n
    return counts, _days_by(closed, slots)


def _days_by(rows: Sequence[Sequence[Any]], slots: _Slots) -> dict[tuple[int, Any], list[float]]:
    """The days to close (the last value of each row) by (period, group: the second value);
    a case without intervals has no duration and is left out."""
    by_slot: dict[tuple[int, Any], list[float]] = defaultdict(list)
    for row in rows:
        if row[-1] is not None:
            by_slot[(row[0], row[1])].append(max(float(row[-1]), 0.0))
    out: dict[tuple[int, Any], list[float]] = defaultdict(list)
    for (slot, g), values in by_slot.items():
        for i in slots.periods_of[slot]:
            out[(i, g)].extend(values)
    return out


@dataclass
class _Snapshots:
    """Cases open at the end of each period, by priority, by age bucket and by staffer, and
    the number open of every case, confidential ones included."""

    by_priority: list[dict[str, int]]
    aging: list[dict[str, int]]
    caseload: list[dict[int | None, int]]
    every_case: list[int]


def _snapshots(
    scope: ColumnElement[bool],
    bounds: Sequence[tuple[datetime, datetime]],
    snapshots: int | None,
    confidential: bool = True,
) -> _Snapshots:
    """The open-at-end figures of the first ``snapshots`` periods (all when None). With
    ``confidential=False`` the breakdowns leave confidential cases out, and ``every_case``
    still counts them (from the same query, grouped by the flag)."""
    k = len(bounds)
    out = _Snapshots(
        [dict.fromkeys((p.value for p in Priority), 0) for _ in range(k)],
        [dict.fromkeys((b.key for b in AGE_BUCKETS), 0) for _ in range(k)],
        [defaultdict(int) for _ in range(k)],
        [0] * k,
    )
    group: list[ColumnElement[Any]] = [
        _raw(Case.priority).label("priority"),
        Case.assignee_id.label("assignee_id"),
    ]
    if not confidential:
        group.append(Case.confidential.label("confidential"))
    for i, (_, end) in enumerate(bounds[:snapshots]):
        for row in _open_rows(scope, end, *group):
            n = row[len(group)]
            out.every_case[i] += n
            if not confidential and row[2]:
                continue
            out.by_priority[i][row[0]] += n
            out.caseload[i][row[1]] += n
            for bucket, m in zip(AGE_BUCKETS, row[len(group) + 1 :], strict=True):
                out.aging[i][bucket.key] += int(m or 0)
    return out


def _category_rows(
    opened: dict[int, int],
    closed: dict[int, int],
    days: Callable[[int], list[float]],
    names: dict[int, str],
) -> list[CategoryRow]:
    """Categories with a case opened or closed, most opened first; ``days(cid)`` gives the
    days to close of the category's closed cases."""
    return sorted(
        (
            CategoryRow(
                cid,
                names.get(cid, "Unknown category"),
                opened.get(cid, 0),
                closed.get(cid, 0),
                median(days(cid)),
            )
            for cid in set(opened) | set(closed)
            if opened.get(cid) or closed.get(cid)
        ),
        key=lambda r: (-r.opened, -r.closed, r.name.lower()),
    )


def _staff_rows(
    caseload: dict[int | None, int], closed: dict[int | None, int], names: dict[int, str]
) -> list[StaffRow]:
    """Staffers (and "Unassigned") with an open caseload or a closure, by name."""
    uids = {u for u, n in caseload.items() if n} | {u for u, n in closed.items() if n}
    return sorted(
        (
            StaffRow(
                u,
                names.get(u, "Unknown") if u is not None else "Unassigned",
                caseload.get(u, 0),
                closed.get(u, 0),
            )
            for u in uids
        ),
        key=lambda r: (r.user_id is None, r.name.lower()),
    )


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
    bounds = [p.bounds(tz) for p in periods]
    districts = in_districts(district_ids)
    scope = districts if confidential else sa.and_(districts, Case.confidential.is_(False))
    # The open cases are reached from the intervals open at each instant (see ``in_districts``);
    # the referrals from the district's cases (measured: fewer rows than by date).
    reached = in_districts(district_ids, by_index=False)
    months = periods[0].months() if trend else []
    edges = [local_midnight(m_start, tz) for m_start, _ in months] + [bounds[0][1]]
    spans = list(zip(edges, edges[1:], strict=False))

    counts, days = _case_counts(scope, _Slots.of(bounds, spans), len(bounds), len(spans))
    open_now = _snapshots(reached, bounds, snapshots, confidential)
    zips, towns = _places(scope, bounds)
    agencies = _agencies(scope, periods, today)
    category_names = _names(
        Category, set().union(*counts.opened_by_category, *counts.closed_by_category)
    )
    staff_ids = {u for d in [*open_now.caseload, *counts.closed_by_staff] for u in d}
    staff_names = (
        _names(User, {u for u in staff_ids if u is not None}, attr="full_name") if staff else {}
    )

    def one(i: int, period: Period) -> Figures:
        outcomes = dict(counts.by_outcome[i])
        if not outcomes[""]:
            del outcomes[""]
        return Figures(
            period=period,
            headline=Headline(
                sum(counts.by_channel[i].values()),
                sum(counts.closed_by_category[i].values()),
                sum(open_now.by_priority[i].values()),
                DurationStats.of(_period_values(days, i)),
            ),
            by_priority=open_now.by_priority[i],
            aging=open_now.aging[i],
            by_category=_category_rows(
                counts.opened_by_category[i],
                counts.closed_by_category[i],
                lambda cid: days.get((i, cid), []),
                category_names,
            ),
            by_outcome=outcomes,
            by_channel=counts.by_channel[i],
            by_agency=agencies[i],
            by_zip=zips[i],
            by_town=towns[i],
            trend=[
                MonthRow(s, e, counts.opened_by_month[m], counts.closed_by_month[m])
                for m, (s, e) in enumerate(months)
            ]
            if i == 0
            else [],
            by_staff=_staff_rows(open_now.caseload[i], counts.closed_by_staff[i], staff_names)
            if staff
            else None,
            open_every_case=open_now.every_case[i],
        )

    return [one(i, period) for i, period in enumerate(periods)]


def _places(
    scope: ColumnElement[bool], bounds: Sequence[tuple[datetime, datetime]]
) -> tuple[list[list[PlaceRow]], list[list[PlaceRow]]]:
    """Cases opened in each period by the constituent's ZIP and by town (as recorded now)."""
    town_key = sa.func.lower(sa.func.trim(sa.func.coalesce(Constituent.city, "")))
    zip_key = sa.func.coalesce(Constituent.zip5, "")
    terms = [opened_in(s, e) for s, e in bounds]
    rows = _rows(
        sa.select(zip_key, town_key, sa.func.max(Constituent.city), *[_sum_if(t) for t in terms])
        .select_from(Case)
        .join(Constituent, Constituent.id == Case.constituent_id)
        .where(scope, opened_in(*_Slots.of(bounds).span), sa.or_(*terms))
        .group_by(zip_key, town_key)
    )
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


def _date_days(later: Any, earlier: Any) -> ColumnElement[float]:
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
    # The rows that may count, as ranges of the referrals' own indexes (sent, answered, and
    # waiting past due): the sums then place each in its periods.
    first, last = min(p.start for p in periods), max(p.end for p in periods)
    reached = sa.or_(
        Referral.sent_on.between(first, last),
        Referral.responded_on.between(first, last),
        sa.and_(Referral.status.in_(WAITING_REFERRAL_STATUSES), Referral.due_on < today),
    )
    counts = _rows(
        sa.select(Referral.agency_id, *[_sum_if(t) for t in sent + answered], _sum_if(overdue))
        .join(Case, Case.id == Referral.case_id)
        .where(scope, reached)
        .group_by(Referral.agency_id)
    )
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
    labels = _agency_labels({r[0] for r in counts})
    return [_agency_rows(counts, labels, answer_days, i, len(periods)) for i in range(len(periods))]


def _agency_labels(ids: set[int]) -> dict[int, str]:
    return {
        agency_id: _agency_label(name, short or "")
        for agency_id, name, short in _rows(
            sa.select(Agency.id, Agency.name, Agency.acronym).where(Agency.id.in_(ids))
        )
    }


def _agency_rows(
    counts: Sequence[Any],
    labels: dict[int, str],
    answer_days: dict[tuple[int, Any], list[float]],
    i: int,
    k: int,
) -> list[AgencyRow]:
    """Period ``i`` of ``k``'s agency rows from the grouped counts (sent in each period, then
    answered in each, then overdue now), busiest first; agencies with nothing in it left out."""
    rows = [
        AgencyRow(
            row[0],
            labels.get(row[0], ""),
            int(row[1 + i] or 0),
            int(row[1 + k + i] or 0),
            median(answer_days.get((i, row[0]), [])),
            int(row[1 + 2 * k] or 0),
        )
        for row in counts
    ]
    return sorted(
        (r for r in rows if r.sent or r.responded or r.overdue_now),
        key=lambda r: (-r.sent, r.name.lower()),
    )


def _agency_label(name: str, short: str) -> str:
    return f"{name} ({short})" if short and short != name else name


def _open_by_district(
    scope: ColumnElement[bool], instants: Sequence[datetime]
) -> list[dict[int, int]]:
    """Cases open at each instant, by district, in one pass over the intervals covering any
    of them: an interval covers an instant for at most one of a case's intervals (they do not
    overlap), so counting the covering intervals counts the cases, as ``_open_rows`` does."""
    cover = aliased(CaseInterval)
    terms = [covering(cover, t) for t in instants]
    out: list[dict[int, int]] = [{} for _ in instants]
    for did, *ns in _rows(
        sa.select(Case.district_id, *[_sum_if(t) for t in terms])
        .select_from(cover)
        .join(Case, Case.id == cover.case_id)
        .where(scope, sa.or_(*terms))
        .group_by(Case.district_id)
    ):
        for i, n in enumerate(ns):
            if n:
                out[i][did] = int(n)
    return out


def period_headlines(
    district_ids: Sequence[int], periods: Sequence[Period], tz: ZoneInfo
) -> list[dict[int, Headline]]:
    """The headline figures of each district separately, for each period (the definitions
    of ``period_figures``, grouped by district)."""
    k = len(periods)
    bounds = [p.bounds(tz) for p in periods]
    scope = in_districts(district_ids)
    slots = _Slots.of(bounds)
    counts: dict[int, list[int]] = defaultdict(lambda: [0] * 2 * k)
    for slot, did, n in _opened_counts(scope, slots, Case.district_id.label("district_id")):
        for i in slots.periods_of[slot]:
            counts[did][i] += n
    closed = _rows(_closed_cases(scope, slots, Case.district_id))
    for (slot, did), n in Counter(row[:2] for row in closed).items():
        for i in slots.periods_of[slot]:
            counts[did][k + i] += n
    days = _days_by(closed, slots)
    open_at_end = _open_by_district(
        in_districts(district_ids, by_index=False), [end for _, end in bounds]
    )
    return [
        {
            did: Headline(
                counts[did][i],
                counts[did][k + i],
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
