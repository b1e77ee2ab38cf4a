"""The summary's figures laid out as tables: one layout for the page, the CSV and the CLI.

Each table cell carries the value written to CSV/JSON, the text shown on the page (the same
number, formatted), and for supervisors and admins the drill-down to the cases behind it.
What a reader may see (withheld cells, which rows are listed and in what order, the shares,
the staff table, drill-downs) is decided by the summary's ``Audience``
(``services/summaries/audience.py``); this module only lays it out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from constituent.models import Channel, Outcome, Priority
from constituent.reports import charts
from constituent.services import audit, exports, summaries
from constituent.services import districts as district_service
from constituent.services.disclosure import Withheld
from constituent.services.errors import DomainError, NotFound
from constituent.services.summaries import (
    AGE_BUCKETS,
    CLOSE_BUCKETS,
    SMALL_COUNT,
    WITHIN_DAYS,
    Audience,
    Comparison,
    DistrictSummary,
    Figure,
    Figures,
    Headline,
    Period,
    PlaceRow,
)

DASH = "—"
MINUS = "\u2212"
IN_PROGRESS_NOTE = (
    "This period is not over yet, so only its totals are shown. The tables by category, "
    "outcome, channel, agency, ZIP code and town appear once the period is complete."
)


@dataclass(frozen=True)
class Cell:
    """One table cell: ``value`` for CSV/JSON, ``text`` for the page, optional drill-down."""

    value: int | float | str | None
    text: str
    drill: dict[str, str] | None = None


@dataclass(frozen=True)
class Column:
    label: str
    group: str | None = None
    sort_key: str | None = None  # comparison table: the ?sort= value
    numeric: bool = True

    @property
    def csv_name(self) -> str:
        return f"{self.group}: {self.label}" if self.group else self.label


@dataclass
class Table:
    """A titled table; the first column holds the row headers."""

    key: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]]
    note: str = ""
    chart: Markup | None = None

    @property
    def grouped(self) -> bool:
        return any(c.group for c in self.columns)

    @property
    def wide(self) -> bool:
        """Too wide to sit beside its chart."""
        return len(self.columns) > 4

    def header_groups(self) -> list[tuple[str | None, int, Column]]:
        """(group label or None, span, first column) for the top header row of a grouped
        table; an ungrouped column spans both header rows."""
        groups: list[tuple[str | None, int, Column]] = []
        for column in self.columns:
            if groups and column.group and groups[-1][0] == column.group:
                group, span, first = groups[-1]
                groups[-1] = (group, span + 1, first)
            else:
                groups.append((column.group, 1, column))
        return groups

    def csv_header(self) -> list[str]:
        return [c.csv_name for c in self.columns]

    def csv_rows(self) -> Iterator[list[Any]]:
        for row in self.rows:
            yield [cell.value for cell in row]


# Cell formatting ---------------------------------------------------------------------------


def count(n: int, drill: dict[str, str] | None = None) -> Cell:
    return Cell(int(n), f"{int(n):,}", drill)


def days(value: float | None, drill: dict[str, str] | None = None) -> Cell:
    if value is None:
        return Cell(None, DASH)
    v = round(value, 1)
    return Cell(v, f"{v:,.1f}", drill)


def share(value: float | None, drill: dict[str, str] | None = None) -> Cell:
    if value is None:
        return Cell(None, DASH)
    v = round(100 * value, 1)
    return Cell(v, f"{v:.1f}%", drill)


def _signed(v: float, fmt: str) -> str:
    if v > 0:
        return "+" + format(v, fmt)
    if v < 0:
        return MINUS + format(-v, fmt)
    return format(0, fmt)


def count_change(now: int, before: int) -> Cell:
    d = int(now) - int(before)
    return Cell(d, _signed(d, ","))


def days_change(now: float | None, before: float | None) -> Cell:
    if now is None or before is None:
        return Cell(None, DASH)
    d = round(round(now, 1) - round(before, 1), 1)
    return Cell(d, _signed(d, ",.1f"))


def share_change(now: float | None, before: float | None) -> Cell:
    if now is None or before is None:
        return Cell(None, DASH)
    d = round(round(100 * now, 1) - round(100 * before, 1), 1)
    return Cell(d, _signed(d, ".1f") + " pts")


def label(text: str) -> Cell:
    return Cell(text, text)


WITHHELD = "withheld"


def withheld_note(threshold: int) -> str:
    """What a withheld cell means, under every table that has one."""
    return (
        f"\u201c{WITHHELD}\u201d: fewer than {threshold} cases, or a count withheld with them "
        "so that they cannot be worked out from the other figures. Confidential cases are "
        "counted in the headline figures only."
    )


def maybe_count(n: int, hidden: bool, drill: dict[str, str] | None = None) -> Cell:
    """A count, or the word "withheld" in its place (in the CSV too)."""
    return Cell(WITHHELD, WITHHELD) if hidden else count(n, drill)


# The summary's tables ----------------------------------------------------------------------


@dataclass
class _Drills:
    """Builds drill-down query arguments, or nothing for readers without drill-down."""

    enabled: bool
    code: str
    current: Period
    previous: Period
    extra: dict[str, str] = field(default_factory=dict)
    # Each period's date arguments, made once for the thousands of cells that link to them.
    _dates: tuple[dict[str, str], dict[str, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._dates = (self.current.date_args(), self.previous.date_args())

    def __call__(
        self, figure: Figure, previous: bool = False, **filters: object
    ) -> dict[str, str] | None:
        return self.args(figure, previous, filters)

    def args(
        self, figure: Figure, previous: bool, filters: dict[str, object]
    ) -> dict[str, str] | None:
        if not self.enabled:
            return None
        args = {"code": self.code, **self._dates[previous], "figure": figure.value}
        args.update({k: str(v) for k, v in filters.items() if v is not None})
        return args


def _three(now: int, before: int, figure: Figure, drill: _Drills, **filters: object) -> list[Cell]:
    return [
        count(now, drill.args(figure, False, filters)),
        count(before, drill.args(figure, True, filters)),
        count_change(now, before),
    ]


def _this_prev_change(group: str | None = None) -> list[Column]:
    previous = "Previous" if group else "Previous period"  # grouped tables are wide
    return [Column("This period", group), Column(previous, group), Column("Change", group)]


def summary_tables(summary: DistrictSummary, audience: Audience) -> list[Table]:
    """Every table of the summary page, in page order, for this reader."""
    cur, prev = summary.current, summary.previous
    drill = _Drills(
        audience.drill_down, summary.district.code, summary.period, summary.previous_period
    )
    head_now, head_before = summary.totals or (cur.headline, prev.headline)
    tables = [
        headline_table(head_now, head_before, drill, shares=audience.shows_shares),
        trend_table(cur, drill),
    ]
    if not audience.shows_breakdowns(summary.complete):
        tables[0].note = IN_PROGRESS_NOTE
        _attach_charts(tables, summary)
        return tables
    tables += [
        _bucket_table(
            "time_to_close",
            "Time to close",
            "Days to close",
            [(b.key, b.label) for b in CLOSE_BUCKETS],
            cur.headline.time_to_close.buckets,
            prev.headline.time_to_close.buckets,
            Figure.CLOSED,
            "close_time",
            drill,
            summary,
        ),
        _bucket_table(
            "open_priority",
            "Open cases at period end by priority",
            "Priority",
            [(p.value, p.label) for p in sorted(Priority, key=lambda p: p.rank)],
            cur.by_priority,
            prev.by_priority,
            Figure.OPEN,
            "priority",
            drill,
            summary,
        ),
        _bucket_table(
            "aging",
            "Age of cases open at period end",
            "Age",
            [(b.key, b.label) for b in AGE_BUCKETS],
            cur.aging,
            prev.aging,
            Figure.OPEN,
            "age",
            drill,
            summary,
        ),
        category_table(summary, drill),
        _bucket_table(
            "by_outcome",
            "Cases closed by outcome",
            "Outcome",
            [(o.value, o.label) for o in Outcome]
            + (
                [("", "No outcome recorded")]
                if "" in cur.by_outcome or "" in prev.by_outcome
                else []
            ),
            cur.by_outcome,
            prev.by_outcome,
            Figure.CLOSED,
            "outcome",
            drill,
            summary,
        ),
        _bucket_table(
            "by_channel",
            "Cases opened by intake channel",
            "Channel",
            [(c.value, c.label) for c in Channel],
            cur.by_channel,
            prev.by_channel,
            Figure.OPENED,
            "channel",
            drill,
            summary,
        ),
        agency_table(summary, drill),
        place_table(
            "by_zip",
            "Cases opened by ZIP code",
            "ZIP code",
            cur.by_zip,
            prev.by_zip,
            "zip",
            summary,
            drill,
        ),
        place_table(
            "by_town",
            "Cases opened by town",
            "Town",
            cur.by_town,
            prev.by_town,
            "town",
            summary,
            drill,
        ),
    ]
    if summary.withheld is not None:
        note = withheld_note(audience.threshold)
        for table in tables[2:]:
            table.note = f"{table.note} {note}".strip()
    if audience.staff_table and cur.by_staff is not None and prev.by_staff is not None:
        tables.append(staff_table(cur, prev, drill))
    _attach_charts(tables, summary)
    return tables


@dataclass(frozen=True)
class BriefList:
    """A few rows of one table for the printed brief: (row name, this period's count)."""

    key: str
    title: str
    heading: str
    count_label: str
    rows: list[tuple[str, str]]
    more: int  # rows of the full table not in the brief


# The lists of the one-page brief a legislator reads first: (table, title, the count shown,
# rank by that count?). The counts are the tables' cells, already masked for the reader.
BRIEF_LISTS: tuple[tuple[str, str, str, bool], ...] = (
    ("by_category", "What residents needed", "Cases opened", True),
    ("by_agency", "Agencies the office asked", "Referrals sent", True),
    ("time_to_close", "How fast cases closed", "Cases closed", False),
    ("by_outcome", "How cases ended", "Cases closed", True),
)
BRIEF_ROWS = 5


def brief_lists(tables: Sequence[Table], top: int = BRIEF_ROWS) -> list[BriefList]:
    """The printed brief: for each of ``BRIEF_LISTS`` the table has, its first ``top`` rows
    with a count the reader may see above zero (the largest first where ranked); rows whose
    count is withheld from this reader, or nothing, stay in the full table."""
    found = {t.key: t for t in tables}
    lists = []
    for key, title, count_label, ranked in BRIEF_LISTS:
        table = found.get(key)
        if table is None or not table.rows:
            continue
        rows = [r for r in table.rows if isinstance(r[1].value, int) and r[1].value > 0]
        if ranked:
            rows.sort(key=lambda r: -int(r[1].value or 0))
        shown = [(r[0].text, r[1].text) for r in rows[:top]]
        lists.append(
            BriefList(
                key, title, table.columns[0].label, count_label, shown, len(table.rows) - len(shown)
            )
        )
    return lists


def headline_table(cur: Headline, prev: Headline, drill: _Drills, shares: bool = True) -> Table:
    """Opened, closed, open at end, days to close and (for staff) shares within 30/60/90 days.

    The shares are left out for readers who see no names: with the count closed they give
    how many closed within 30 days, which the time-to-close table may withhold."""
    ct, pt = cur.time_to_close, prev.time_to_close
    rows = [
        [label("Cases opened"), *_three(cur.opened, prev.opened, Figure.OPENED, drill)],
        [label("Cases closed"), *_three(cur.closed, prev.closed, Figure.CLOSED, drill)],
        [
            label("Open at period end"),
            *_three(cur.open_at_end, prev.open_at_end, Figure.OPEN, drill),
        ],
        [
            label("Median days to close"),
            days(ct.median_days, drill(Figure.CLOSED)),
            days(pt.median_days, drill(Figure.CLOSED, True)),
            days_change(ct.median_days, pt.median_days),
        ],
        [
            label("90th percentile days to close"),
            days(ct.p90_days, drill(Figure.CLOSED)),
            days(pt.p90_days, drill(Figure.CLOSED, True)),
            days_change(ct.p90_days, pt.p90_days),
        ],
    ]
    for w in WITHIN_DAYS if shares else ():
        rows.append(
            [
                label(f"Closed within {w} days"),
                share(ct.within[w], drill(Figure.CLOSED, within=w)),
                share(pt.within[w], drill(Figure.CLOSED, True, within=w)),
                share_change(ct.within[w], pt.within[w]),
            ]
        )
    return Table("headline", "Headline figures", [Column("Figure"), *_this_prev_change()], rows)


def trend_table(cur: Figures, drill: _Drills) -> Table:
    rows = [
        [
            label(m.label),
            count(m.opened, drill(Figure.OPENED, month=f"{m.start:%Y-%m}")),
            count(m.closed, drill(Figure.CLOSED, month=f"{m.start:%Y-%m}")),
        ]
        for m in cur.trend
    ]
    return Table(
        "trend",
        "Cases opened and closed by month",
        [Column("Month"), Column("Opened"), Column("Closed")],
        rows,
        note="This period only; the months add up to the period's totals.",
    )


def _bucket_table(
    key: str,
    title: str,
    first: str,
    labels: Sequence[tuple[str, str]],
    now: dict[str, int],
    before: dict[str, int],
    figure: Figure,
    filter_name: str,
    drill: _Drills,
    summary: DistrictSummary,
) -> Table:
    hide_now, hide_before = summary.hidden(key), summary.hidden(key, previous=True)
    rows = []
    for value, text in labels:
        filters = {filter_name: value if value else "none"}
        n, b = now.get(value, 0), before.get(value, 0)
        rows.append(
            [
                label(text),
                *_three_withheld(
                    n, b, hide_now.hides(value), hide_before.hides(value), figure, drill, **filters
                ),
            ]
        )
    return Table(key, title, [Column(first), *_this_prev_change()], rows)


def _three_withheld(
    now: int,
    before: int,
    hide_now: bool,
    hide_before: bool,
    figure: Figure,
    drill: _Drills,
    **filters: object,
) -> list[Cell]:
    """This period, previous, change; a withheld count hides the change too."""
    if not (hide_now or hide_before):
        return _three(now, before, figure, drill, **filters)
    return [
        maybe_count(now, hide_now, drill.args(figure, False, filters)),
        maybe_count(before, hide_before, drill.args(figure, True, filters)),
        Cell(None, DASH),
    ]


def _published_order(
    summary: DistrictSummary,
    ids: list[Any],
    cells: Callable[[Any], list[tuple[int, Withheld]]],
    order: Callable[[Any], Any],
) -> list[Any]:
    """The rows of a table with withheld cells: those the audience lists (``cells`` gives a
    row's counts and their columns' withheld cells), in its order (``order``); other tables
    keep their rows as they come."""
    if summary.withheld is None:
        return ids
    return sorted((i for i in ids if summary.audience.lists_row(*cells(i))), key=order)


def _median_cell(hidden: bool, value: float | None, drill: dict[str, str] | None) -> Cell:
    """A median of days, or the word "withheld" when its count is withheld."""
    return Cell(WITHHELD, WITHHELD) if hidden else days(value, drill)


@dataclass(frozen=True)
class _Beside:
    """A count shown after the medians of a paired table (the agencies' overdue referrals)."""

    attribute: str
    hidden: Withheld
    figure: Figure


@dataclass(frozen=True)
class _Paired:
    """A breakdown (by category, by agency) with two counted figures, each this period, the
    previous one and the change, then the median days behind the second figure."""

    key: str  # the table, the Figures attribute and the withheld cells' prefix: "by_category"
    id_name: str  # the row's id attribute: "category_id"
    filter_name: str  # the drill-down filter: "category"
    first: tuple[str, Figure]  # the row's attribute and the figure it drills into
    second: tuple[str, Figure]
    median: str  # the row's attribute of median days behind ``second``
    headings: tuple[str, str, str, str]  # the rows', the two figures' and the medians'


def _figure_of(row: Any, attribute: str) -> int:
    return int(getattr(row, attribute)) if row else 0


def _paired_rows(
    summary: DistrictSummary, drill: _Drills, spec: _Paired, beside: _Beside | None = None
) -> list[list[Cell]]:
    """The rows of a paired table, in the order and with the cells the audience may see:
    the breakdown's rows of this period, then those only in the previous one."""
    (first, first_figure), (second, second_figure) = spec.first, spec.second
    this_rows, prev_rows = getattr(summary.current, spec.key), getattr(summary.previous, spec.key)
    now = {getattr(r, spec.id_name): r for r in this_rows}
    before = {getattr(r, spec.id_name): r for r in prev_rows}
    hide = {
        (figure, previous): summary.hidden(f"{spec.key}.{figure}", previous)
        for figure in (first, second)
        for previous in (False, True)
    }
    ids = [getattr(r, spec.id_name) for r in this_rows] + [
        getattr(r, spec.id_name) for r in prev_rows if getattr(r, spec.id_name) not in now
    ]

    def order(key: Any) -> tuple[tuple[int, int], str]:
        c = now.get(key)
        shown = summary.audience.row_order(_figure_of(c, first), hide[(first, False)].hides(key))
        return (shown, (c or before[key]).name)

    def cells(key: Any) -> list[tuple[int, Withheld]]:
        c, p = now.get(key), before.get(key)
        out = [
            (_figure_of(c, first), hide[(first, False)]),
            (_figure_of(c, second), hide[(second, False)]),
            (_figure_of(p, first), hide[(first, True)]),
            (_figure_of(p, second), hide[(second, True)]),
        ]
        if beside is not None:
            out.append((getattr(c or before[key], beside.attribute), beside.hidden))
        return out

    rows = []
    for key in _published_order(summary, ids, cells, order):
        c, p = now.get(key), before.get(key)
        filters: dict[str, Any] = {spec.filter_name: key}
        second_now = hide[(second, False)].hides(key)
        second_before = hide[(second, True)].hides(key)
        row = [
            label((c or before[key]).name),
            *_three_withheld(
                _figure_of(c, first),
                _figure_of(p, first),
                hide[(first, False)].hides(key),
                hide[(first, True)].hides(key),
                first_figure,
                drill,
                **filters,
            ),
            *_three_withheld(
                _figure_of(c, second),
                _figure_of(p, second),
                second_now,
                second_before,
                second_figure,
                drill,
                **filters,
            ),
            _median_cell(
                second_now, getattr(c, spec.median) if c else None, drill(second_figure, **filters)
            ),
            _median_cell(
                second_before,
                getattr(p, spec.median) if p else None,
                drill(second_figure, True, **filters),
            ),
        ]
        if beside is not None:
            row.append(
                maybe_count(
                    getattr(c or p, beside.attribute),
                    beside.hidden.hides(key),
                    drill(beside.figure, **filters),
                )
            )
        rows.append(row)
    return rows


def _paired_columns(spec: _Paired) -> list[Column]:
    heading, first, second, median = spec.headings
    return [
        Column(heading),
        *_this_prev_change(first),
        *_this_prev_change(second),
        Column("This period", median),
        Column("Previous", median),
    ]


_BY_CATEGORY = _Paired(
    key="by_category",
    id_name="category_id",
    filter_name="category",
    first=("opened", Figure.OPENED),
    second=("closed", Figure.CLOSED),
    median="median_days",
    headings=("Category", "Opened", "Closed", "Median days to close"),
)
_BY_AGENCY = _Paired(
    key="by_agency",
    id_name="agency_id",
    filter_name="agency",
    first=("sent", Figure.REFERRALS_SENT),
    second=("responded", Figure.REFERRALS_RESPONDED),
    median="median_days_to_respond",
    headings=("Agency", "Referrals sent", "Referrals answered", "Median days to answer"),
)


def category_table(summary: DistrictSummary, drill: _Drills) -> Table:
    rows = _paired_rows(summary, drill, _BY_CATEGORY)
    return Table("by_category", "Cases by category", _paired_columns(_BY_CATEGORY), rows)


def agency_table(summary: DistrictSummary, drill: _Drills) -> Table:
    overdue = _Beside("overdue_now", summary.hidden("by_agency.overdue"), Figure.REFERRALS_OVERDUE)
    return Table(
        "by_agency",
        "Referrals by agency",
        [*_paired_columns(_BY_AGENCY), Column("Overdue now")],
        _paired_rows(summary, drill, _BY_AGENCY, overdue),
        note="Overdue now counts today's referrals past due, whatever the period.",
    )


def place_table(
    key: str,
    title: str,
    first: str,
    now_rows: list[PlaceRow],
    before_rows: list[PlaceRow],
    filter_name: str,
    summary: DistrictSummary,
    drill: _Drills,
) -> Table:
    now = {r.key: r for r in now_rows}
    before = {r.key: r for r in before_rows}
    hide_now, hide_before = summary.hidden(key), summary.hidden(key, previous=True)

    def n_of(rows: dict[str, PlaceRow], k: str) -> int:
        return rows[k].opened if k in rows else 0

    keys = [
        k
        for k in set(now) | set(before)
        if summary.audience.lists_row((n_of(now, k), hide_now), (n_of(before, k), hide_before))
    ]

    def order(k: str) -> tuple[tuple[int, int], bool, str]:
        shown = summary.audience.row_order(n_of(now, k), hide_now.hides(k))
        return (shown, k == "", (now.get(k) or before[k]).label.lower())

    rows = []
    for k in sorted(keys, key=order):
        rows.append(
            [
                label((now.get(k) or before[k]).label),
                *_three_withheld(
                    n_of(now, k),
                    n_of(before, k),
                    hide_now.hides(k),
                    hide_before.hides(k),
                    Figure.OPENED,
                    drill,
                    **{filter_name: k or "unknown"},
                ),
            ]
        )
    return Table(key, title, [Column(first), *_this_prev_change()], rows)


def staff_table(cur: Figures, prev: Figures, drill: _Drills) -> Table:
    now = {r.user_id: r for r in cur.by_staff or []}
    before = {r.user_id: r for r in prev.by_staff or []}
    ids = sorted(
        set(now) | set(before), key=lambda u: (u is None, (now.get(u) or before[u]).name.lower())
    )
    rows = []
    for uid in ids:
        c, p = now.get(uid), before.get(uid)
        staff = "none" if uid is None else uid
        rows.append(
            [
                label((c or p).name),  # type: ignore[union-attr]
                count(c.caseload if c else 0, drill(Figure.OPEN, staff=staff)),
                count(p.caseload if p else 0, drill(Figure.OPEN, True, staff=staff)),
                *_three(
                    c.closed if c else 0, p.closed if p else 0, Figure.CLOSED, drill, staff=staff
                ),
            ]
        )
    columns = [
        Column("Staffer"),
        Column("This period", "Open caseload at period end"),
        Column("Previous", "Open caseload at period end"),
        *_this_prev_change("Cases closed"),
    ]
    return Table(
        "by_staff",
        "Caseload and closures by staffer",
        columns,
        rows,
        note="By the staffer the case is assigned to now.",
    )


# Charts ------------------------------------------------------------------------------------


def _attach_charts(tables: list[Table], summary: DistrictSummary) -> None:
    """A chart beside the trend and the breakdowns, drawn from the same (withheld) counts."""
    by_key = {t.key: t for t in tables}
    by_key["trend"].chart = _trend_chart(summary)
    if "time_to_close" not in by_key:  # totals only (a period in progress, no names)
        return
    by_key["time_to_close"].chart = _time_to_close_chart(summary)
    by_key["aging"].chart = _aging_chart(summary)
    by_key["by_category"].chart = _category_chart(summary)
    for key in _BY_KIND_CHARTS:
        by_key[key].chart = _by_kind_chart(summary, key)


NOW, BEFORE = "This period", "Previous period"


def _headline_now(summary: DistrictSummary) -> Headline:
    return summary.totals[0] if summary.totals else summary.current.headline


def _shown(
    summary: DistrictSummary,
    key: str,
    counts: dict[str, int],
    order: Sequence[str],
    previous: bool = False,
) -> list[int | None]:
    """The counts in ``order`` as published to the reader (None where withheld)."""
    hidden = summary.hidden(key, previous)
    return [summary.audience.published(counts.get(k, 0), hidden.hides(k)) for k in order]


def _trend_chart(summary: DistrictSummary) -> Markup:
    head_now, trend = _headline_now(summary), summary.current.trend
    return charts.line_chart(
        "chart-trend",
        "Cases opened and closed by month",
        f"Line chart of cases opened and closed in each month of {summary.period.dates}: "
        f"{head_now.opened:,} opened and {head_now.closed:,} closed in all. "
        "The numbers are in the table that follows.",
        [f"{m.start:%b %Y}" for m in trend],
        [
            charts.Series("Opened", [m.opened for m in trend]),
            charts.Series("Closed", [m.closed for m in trend]),
        ],
        x_label="Month",
        y_label="Cases",
    )


def _time_to_close_chart(summary: DistrictSummary) -> Markup:
    cur, prev = summary.current, summary.previous
    close_keys = [b.key for b in CLOSE_BUCKETS]
    within = (
        f", {_pct(cur.headline.time_to_close.within[30])} within 30 days"
        if summary.withheld is None
        else ""
    )
    return charts.bar_chart(
        "chart-time-to-close",
        "Time to close",
        f"Bar chart of cases closed in this period and the previous one, by days to close. "
        f"This period: {_headline_now(summary).closed:,} closed{within}.",
        [b.label for b in CLOSE_BUCKETS],
        [
            charts.Series(
                NOW,
                _shown(summary, "time_to_close", cur.headline.time_to_close.buckets, close_keys),
            ),
            charts.Series(
                BEFORE,
                _shown(
                    summary,
                    "time_to_close",
                    prev.headline.time_to_close.buckets,
                    close_keys,
                    True,
                ),
            ),
        ],
        x_label="Days to close",
        y_label="Cases closed",
    )


def _aging_chart(summary: DistrictSummary) -> Markup:
    age_keys = [b.key for b in AGE_BUCKETS]
    return charts.bar_chart(
        "chart-aging",
        "Age of cases open at period end",
        f"Bar chart of the {_headline_now(summary).open_at_end:,} cases open at the end of "
        "this period and those open at the end of the previous one, by how long they had "
        "been open.",
        [b.label for b in AGE_BUCKETS],
        [
            charts.Series(NOW, _shown(summary, "aging", summary.current.aging, age_keys)),
            charts.Series(BEFORE, _shown(summary, "aging", summary.previous.aging, age_keys, True)),
        ],
        x_label="Days open",
        y_label="Open cases",
    )


def _category_chart(summary: DistrictSummary) -> Markup:
    hidden = summary.hidden("by_category.opened")
    audience = summary.audience
    categories = [r for r in summary.current.by_category if r.opened and not hidden.whole]
    if summary.withheld is not None:
        categories.sort(
            key=lambda r: (audience.row_order(r.opened, hidden.hides(r.category_id)), r.name)
        )
    top = next((r for r in categories if not hidden.hides(r.category_id)), None)
    return charts.hbar_chart(
        "chart-category",
        "Cases opened by category",
        f"Bar chart of the {_headline_now(summary).opened:,} cases opened in this period by "
        "category" + (f"; most were {top.name} ({top.opened:,})." if top else "."),
        [r.name for r in categories],
        [audience.published(r.opened, hidden.hides(r.category_id)) for r in categories],
        x_label="Cases opened",
        y_label="Category",
    )


@dataclass(frozen=True)
class _ByKind:
    """A chart of one period's cases by the members of an enum (outcome, intake channel)."""

    chart_id: str
    title: str
    members: type[Outcome] | type[Channel]
    counted: str  # "opened" or "closed": which cases, and which headline total they add to
    way: str  # what the bars split the cases by, as the description says it
    y_label: str


_BY_KIND_CHARTS = {
    "by_outcome": _ByKind(
        "chart-outcome", "Cases closed by outcome", Outcome, "closed", "outcome", "Outcome"
    ),
    "by_channel": _ByKind(
        "chart-channel",
        "Cases opened by intake channel",
        Channel,
        "opened",
        "the way the resident reached the office",
        "Channel",
    ),
}


def _by_kind_chart(summary: DistrictSummary, key: str) -> Markup:
    spec = _BY_KIND_CHARTS[key]
    total = getattr(_headline_now(summary), spec.counted)
    return charts.hbar_chart(
        spec.chart_id,
        spec.title,
        f"Bar chart of the {total:,} cases {spec.counted} in this period by {spec.way}.",
        [m.label for m in spec.members],
        _shown(summary, key, getattr(summary.current, key), [m.value for m in spec.members]),
        x_label=f"Cases {spec.counted}",
        y_label=spec.y_label,
    )


def _pct(value: float | None) -> str:
    return DASH if value is None else f"{round(100 * value, 1):.1f}%"


# The comparison of districts ---------------------------------------------------------------

COMPARISON_SORTS: dict[str, Callable[[Any], Any]] = {
    "district": lambda r: r.district.code,
    "opened": lambda r: r.current.opened,
    "opened_change": lambda r: r.current.opened - r.previous.opened,
    "closed": lambda r: r.current.closed,
    "closed_change": lambda r: r.current.closed - r.previous.closed,
    "open": lambda r: r.current.open_at_end,
    "open_change": lambda r: r.current.open_at_end - r.previous.open_at_end,
    "median": lambda r: r.current.time_to_close.median_days,
    "p90": lambda r: r.current.time_to_close.p90_days,
    "within30": lambda r: r.current.time_to_close.within[30],
}


def comparison_table(
    comparison: Comparison, audience: Audience, sort: str = "district", descending: bool = False
) -> Table:
    """One row per district: the headline figures and their change, sorted on a column.
    Readers who see no names get no share closed within 30 days (as on the district page)."""
    shares = audience.shows_shares
    if not shares and sort == "within30":
        sort = "district"
    key = COMPARISON_SORTS.get(sort, COMPARISON_SORTS["district"])
    present = [r for r in comparison.rows if key(r) is not None]
    missing = [r for r in comparison.rows if key(r) is None]  # no closed cases: always last
    ordered = sorted(present, key=key, reverse=descending) + missing
    rows = []
    for r in ordered:
        drill = _Drills(
            audience.drill_down, r.district.code, comparison.period, comparison.previous_period
        )
        cur, prev = r.current, r.previous
        rows.append(
            [
                Cell(r.district.code, r.district.code),
                count(cur.opened, drill(Figure.OPENED)),
                count_change(cur.opened, prev.opened),
                count(cur.closed, drill(Figure.CLOSED)),
                count_change(cur.closed, prev.closed),
                count(cur.open_at_end, drill(Figure.OPEN)),
                count_change(cur.open_at_end, prev.open_at_end),
                days(cur.time_to_close.median_days, drill(Figure.CLOSED)),
                days(cur.time_to_close.p90_days, drill(Figure.CLOSED)),
                share(cur.time_to_close.within[30], drill(Figure.CLOSED, within=30)),
            ][: None if shares else -1]
        )
    columns = [
        Column("District", sort_key="district", numeric=False),
        Column("This period", "Cases opened", "opened"),
        Column("Change", "Cases opened", "opened_change"),
        Column("This period", "Cases closed", "closed"),
        Column("Change", "Cases closed", "closed_change"),
        Column("This period", "Open at period end", "open"),
        Column("Change", "Open at period end", "open_change"),
        Column("Median", "Days to close", "median"),
        Column("90th percentile", "Days to close", "p90"),
        Column("Closed within 30 days", sort_key="within30"),
    ][: None if shares else -1]
    return Table(
        "comparison",
        "All districts side by side",
        columns,
        rows,
        note="Changes are against the previous period of the same length.",
    )


# Every figure in one long list (the "all figures" CSV and `flask report district`) ---------


def long_rows(tables: Sequence[Table]) -> Iterator[list[Any]]:
    """(table, row, column, value) for every cell after the row header of every table."""
    for table in tables:
        for row in table.rows:
            for column, cell in zip(table.columns[1:], row[1:], strict=True):
                yield [table.title, row[0].value, column.csv_name, cell.value]


LONG_HEADER = ["Table", "Row", "Column", "Value"]


def as_json(summary: DistrictSummary, tables: Sequence[Table]) -> dict[str, Any]:
    """The summary as a JSON-ready mapping: district, periods and every table's values."""
    return {
        "district": {"code": summary.district.code, "name": summary.district.name},
        "period": _period_json(summary.period),
        "previous_period": _period_json(summary.previous_period),
        "produced_at": summary.produced_at.isoformat(timespec="seconds"),
        "time_zone": str(summary.tz),
        "tables": {
            t.key: {
                "title": t.title,
                "columns": t.csv_header(),
                "rows": [[cell.value for cell in row] for row in t.rows],
            }
            for t in tables
        },
    }


def _period_json(period: Period) -> dict[str, str]:
    return {"name": period.name, "from": period.start.isoformat(), "to": period.end.isoformat()}


# `flask report district` ---------------------------------------------------------------------


def report_chunks(
    code: str,
    start: date | None,
    end: date | None,
    fmt: str,
    *,
    suppress_small_counts: bool,
    tz: ZoneInfo,
    today: date,
    threshold: int = SMALL_COUNT,
) -> Iterator[str]:
    """The text of ``flask report district``: every table of the district's summary, as the
    long CSV of the "all figures" download or as JSON. Audited as an export (the caller
    commits). Office IT runs it with full access to the database, so every figure is exact
    unless ``suppress_small_counts`` asks for the legislator's view (dates that are exactly a
    calendar month, quarter or year; small cells withheld)."""
    district = district_service.get_by_code(code)
    if district is None:
        raise NotFound(f"There is no district with the code {code!r}.")
    audience = summaries.Audience(sees_names=not suppress_small_counts, threshold=threshold)
    if start or end:
        period = summaries.parse_period("custom", start, end, today)
        if audience.calendar_only and period.kind == summaries.PeriodKind.CUSTOM:
            raise DomainError(summaries.CALENDAR_ONLY_MESSAGE)
    else:
        period = summaries.parse_period("last12", None, None, today, audience)
    summary = summaries.district_summary(district, period, tz, today, audience)
    tables = summary_tables(summary, audience)
    audit.record(
        "export",
        "summary",
        district.code,
        detail=f"{district.code} summary, {fmt} via flask report, {period.dates}",
    )
    if fmt == "json":
        data = as_json(summary, tables)
        data["how_counted"] = dict(summaries.HOW_COUNTED)
        yield json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        yield from exports.csv_chunks(LONG_HEADER, long_rows(tables))
