"""Periods of a summary: calendar months, quarters, years, the last 12 months and custom
dates, as ranges of office-local dates, and the period menu."""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from constituent.services.errors import DomainError

if TYPE_CHECKING:
    from constituent.services.summaries.audience import Audience


MAX_PERIOD_YEARS = 10


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
