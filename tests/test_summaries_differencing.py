"""No withheld cell of a legislator's summary can be worked out from the other published figures.

A seeded world of small counts (a few cases a month over two years, some confidential) is
read as the legislator reads it: for every month, quarter, year and the last 12 complete
months, the page's tables and charts and every CSV. Every published number becomes a linear
equation over the true monthly counts (a quarter's cell is the sum of its months', a change is
this period minus the previous one, a row missing from a table is zero), and each table's
total is given to the attacker for every month, as if a breakdown with nothing withheld had
published it. A withheld cell is recoverable when its sum of months lies in the span of those
equations (exact elimination modulo a large prime); the test finds none.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import pytest

from constituent.extensions import db
from constituent.models import Agency, AgencyLevel, Channel, Outcome, Priority, ReferralStatus
from constituent.reports import charts
from constituent.services import summaries
from constituent.services.summaries import Period
from constituent.views import summaries as summary_views
from tests import factories
from tests.test_summaries import _case, _referral
from tests.test_summaries_views import norm, page_tables, read_csv

TODAY = date(2026, 7, 10)
THRESHOLD = 5
P = 2_147_483_647  # a prime: elimination is exact modulo P

PLACES = [  # (ZIP, town)
    ("12901", "Plattsburgh"),
    ("12903", "Plattsburgh"),
    ("12992", "Keeseville"),
    ("12993", "Westport"),
    ("12944", "Keeseville"),
]
SECRET_PLACE = ("12950", "Lewis")  # only confidential cases live here
SECRET_CATEGORY = "Immigration"  # and only confidential cases are about this

# Each breakdown: (table title, column group) → how its rows add up.
SUMS = {  # population per month
    ("Cases by category", "Opened"): "opened",
    ("Cases by category", "Closed"): "closed",
    ("Cases opened by ZIP code", ""): "opened",
    ("Cases opened by town", ""): "opened",
    ("Cases opened by intake channel", ""): "opened",
    ("Cases closed by outcome", ""): "closed",
    ("Time to close", ""): "closed",
    ("Referrals by agency", "Referrals sent"): "sent",
    ("Referrals by agency", "Referrals answered"): "answered",
}
SNAPSHOTS = {  # population at an instant (the period's end; today for overdue referrals)
    ("Open cases at period end by priority", ""),
    ("Age of cases open at period end", ""),
    ("Referrals by agency", ""),  # the "Overdue now" column
}
MEDIANS = {  # a median goes with the count it is the median of
    ("Cases by category", "Median days to close"): ("Cases by category", "Closed"),
    ("Referrals by agency", "Median days to answer"): ("Referrals by agency", "Referrals answered"),
}
TOKENS = (
    [
        f"m{y}-{m:02d}"
        for y, m in [(2025, m) for m in range(1, 13)] + [(2026, m) for m in range(1, 8)]
    ]
    + ["q2025-1", "q2025-2", "q2025-3", "q2025-4", "q2026-1", "q2026-2", "q2026-3"]
    + ["y2025", "y2026", "last12"]
)
CSV_KEYS = [
    "headline",
    "trend",
    "time_to_close",
    "open_priority",
    "aging",
    "by_category",
    "by_outcome",
    "by_channel",
    "by_agency",
    "by_zip",
    "by_town",
]


# Exact linear algebra --------------------------------------------------------------------------


class Span:
    """The span of a set of sparse linear forms over the integers modulo P."""

    def __init__(self) -> None:
        self.rows: dict[object, dict[object, int]] = {}  # pivot → row with 1 at the pivot

    def _reduce(self, form: dict[object, int]) -> dict[object, int]:
        form = {k: v % P for k, v in form.items() if v % P}
        changed = True
        while changed:
            changed = False
            for key in list(form):
                if key in self.rows and form.get(key):
                    factor = form[key]
                    for k, v in self.rows[key].items():
                        form[k] = (form.get(k, 0) - factor * v) % P
                        if not form[k]:
                            del form[k]
                    changed = True
        return form

    def add(self, form: dict[object, int]) -> None:
        rest = self._reduce(form)
        if not rest:
            return
        pivot = min(rest, key=repr)
        inverse = pow(rest[pivot], P - 2, P)
        row = {k: v * inverse % P for k, v in rest.items()}
        for other in self.rows.values():  # keep the basis fully reduced
            if pivot in other:
                factor = other[pivot]
                for k, v in row.items():
                    other[k] = (other.get(k, 0) - factor * v) % P
                    if not other[k]:
                        del other[k]
        self.rows[pivot] = row

    def holds(self, form: dict[object, int]) -> bool:
        return not self._reduce(form)


def test_the_span_finds_a_cell_given_away_by_its_total_or_by_a_longer_period():
    """The checker can fail: a table with one withheld cell, and a quarter beside its months."""
    table = Span()
    table.add({"a": 1, "b": 1, "c": 1})  # the total is known
    table.add({"b": 1})
    table.add({"c": 1})
    assert table.holds({"a": 1})
    quarter = Span()
    quarter.add({("a", 1): 1, ("a", 2): 1, ("a", 3): 1})  # the quarter's cell
    quarter.add({("a", 1): 1})
    quarter.add({("a", 2): 1})
    assert quarter.holds({("a", 3): 1})
    two = Span()
    two.add({"a": 1, "b": 1, "c": 1})
    two.add({"c": 1})
    assert not two.holds({"a": 1}) and two.holds({"a": 1, "b": 1})


# The world ------------------------------------------------------------------------------------


def _at(day: date, hour: int = 15) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def make_world(office: factories.Office) -> dict[str, list]:
    """About 150 cases from January 2025 to June 2026, a few a month per category and place;
    one in eight confidential, and the only ones in SECRET_CATEGORY and SECRET_PLACE."""
    rng = random.Random(20261201)
    categories = [office.category] + [factories.gen_category(n) for n in ("Veterans", "Housing")]
    secret = factories.gen_category(SECRET_CATEGORY)
    agencies = [
        Agency(name=name, acronym=short, level=AgencyLevel.FEDERAL)
        for name, short in (("Social Security Administration", "SSA"), ("Veterans Affairs", "VA"))
    ]
    db.session.add_all(agencies)
    cases = []
    day = date(2025, 1, 2)
    n = 0
    while day < date(2026, 7, 1):
        n += 1
        confidential = rng.random() < 0.125
        zip5, town = SECRET_PLACE if confidential and rng.random() < 0.6 else rng.choice(PLACES)
        category = secret if confidential and rng.random() < 0.6 else rng.choice(categories)
        opened = _at(day)
        spans: list[tuple[datetime, datetime | None]]
        outcome = None
        if rng.random() < 0.7:
            closed = opened + timedelta(days=rng.choice([3, 12, 25, 40, 75, 120, 200]))
            if closed.date() >= TODAY:
                spans = [(opened, None)]
            else:
                spans = [(opened, closed)]
                outcome = rng.choice(list(Outcome)[:4])
        else:
            spans = [(opened, None)]
        case = _case(
            office,
            f"w{n}",
            category,
            opened,
            spans,
            outcome=outcome,
            channel=Channel.EVENT if confidential else rng.choice(list(Channel)[:4]),
            priority=rng.choice([Priority.ROUTINE, Priority.ROUTINE, Priority.EXPEDITE]),
            confidential=confidential,
            zip5=zip5,
            city=town,
        )
        cases.append(case)
        if agencies and rng.random() < 0.3:
            sent = day + timedelta(days=1)
            answered = sent + timedelta(days=rng.choice([5, 20, 50]))
            _referral(
                case,
                rng.choice(agencies),
                sent,
                sent + timedelta(days=30),
                answered if answered < TODAY else None,
                ReferralStatus.RESPONDED if answered < TODAY else ReferralStatus.SENT,
            )
        day += timedelta(days=rng.choice([2, 3, 4, 5]))
    db.session.commit()
    return {"cases": cases}


# Reading what the legislator is shown -----------------------------------------------------


def months_of(period: Period) -> list[tuple[int, int]]:
    return [(s.year, s.month) for s, _ in period.months()]


def split(column: str) -> tuple[str, str]:
    """'Opened: This period' → ('Opened', 'This period'); 'Change' → ('', 'Change')."""
    group, _, name = column.rpartition(": ")
    return group, name


def gather(client, token: str) -> tuple[list[list[str]], str]:  # type: ignore[no-untyped-def]
    """Every figure published for one period: the page (tables, charts), all.csv and each
    table's CSV, checked to agree; returns the long rows and the page."""
    page = client.get(f"/summaries/NY-21?period={token}")
    assert page.status_code == 200, token
    html = page.get_data(as_text=True)
    long_rows = read_csv(client.get(f"/summaries/NY-21/all.csv?period={token}"))[1:]
    by_title: dict[str, list[list[str]]] = defaultdict(list)
    for title, row, column, value in long_rows:
        by_title[title].append([row, column, value])
    tables = page_tables(html)
    for key in CSV_KEYS:
        response = client.get(f"/summaries/NY-21/{key}.csv?period={token}")
        if response.status_code == 404:  # a period in progress: totals only
            assert f"caption-{key}" not in tables
            continue
        rows = read_csv(response)
        header, body = rows[0], rows[1:]
        title = next(t for t, k in TITLE_KEYS.items() if k == key)
        expected = [[r[0], c, v] for r in body for c, v in zip(header[1:], r[1:], strict=True)]
        assert expected == by_title.get(title, []), (token, key)
        shown = [[text for text, _ in cells] for cells in tables[f"caption-{key}"]]
        if body:
            assert [[norm(x) for x in r] for r in shown] == [[norm(x) for x in r] for r in body]
    _check_charts(html, by_title)
    return long_rows, html


TITLE_KEYS = {
    "Headline figures": "headline",
    "Cases opened and closed by month": "trend",
    "Time to close": "time_to_close",
    "Open cases at period end by priority": "open_priority",
    "Age of cases open at period end": "aging",
    "Cases by category": "by_category",
    "Cases closed by outcome": "by_outcome",
    "Cases opened by intake channel": "by_channel",
    "Referrals by agency": "by_agency",
    "Cases opened by ZIP code": "by_zip",
    "Cases opened by town": "by_town",
}


CHARTS = {
    "chart-time-to-close": ("Time to close", ""),
    "chart-aging": ("Age of cases open at period end", ""),
    "chart-category": ("Cases by category", "Opened"),
    "chart-outcome": ("Cases closed by outcome", ""),
    "chart-channel": ("Cases opened by intake channel", ""),
}


def _check_charts(html: str, by_title: dict[str, list[list[str]]]) -> None:
    """A breakdown chart prints no number that its table does not publish (besides its axis
    ticks, which follow from the largest published count)."""
    for chart_id, (title, group) in CHARTS.items():
        match = re.search(rf'<svg[^>]*id="{chart_id}".*?</svg>', html, re.S)
        if match is None:
            continue
        svg = re.sub(r"<(title|desc)[^>]*>.*?</\1>", "", match.group(0), flags=re.S)
        texts = re.findall(r">([^<>]+)</text>", svg)
        numbers = {float(t.replace(",", "")) for t in texts if re.fullmatch(r"[\d,.]+", t)}
        values = [
            (split(column)[1], float(v))
            for _, column, v in by_title.get(title, [])
            if split(column)[0] == group and split(column)[1] != "Change" and _is_number(v)
        ]
        published = {v for _, v in values}
        now = [v for name, v in values if name == "This period"]
        # Bar charts draw both periods, horizontal ones this period only.
        ticks = set(charts.nice_ticks(max(published, default=0)))
        ticks |= set(charts.nice_ticks(max(now, default=0)))
        assert numbers <= published | ticks, (chart_id, numbers - published - ticks)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# The attack -----------------------------------------------------------------------------------


def publication_equations(
    token: str, period: Period, long_rows: Iterable[list[str]], whole: dict, spans: dict
) -> list[tuple[dict, object, str]]:
    """(linear form, value or "withheld", description) for every cell of every breakdown."""
    previous = period.previous()
    out = []
    cells: dict[tuple, dict[str, str]] = defaultdict(dict)
    for title, row, column, value in long_rows:
        group, name = split(column)
        cells[(title, group)].setdefault(row, {})
        cells[(title, group)][row][name] = value
    for (title, group), rows in cells.items():
        dim = (title, group)
        if dim in SUMS:
            for row, values in rows.items():
                now = {(dim, row, m): 1 for m in months_of(period)}
                before = {(dim, row, m): 1 for m in months_of(previous)}
                for names, form in (
                    (("This period",), now),
                    (("Previous", "Previous period"), before),
                ):
                    for name in names:
                        if name in values:
                            what = f"{token} {title} {group} {row} {name}"
                            out.append((form, values[name], what))
                change = values.get("Change")
                if change not in (None, ""):
                    form = dict(now)
                    for k in before:
                        form[k] = form.get(k, 0) - 1
                    out.append((form, change, f"{token} {title} {group} {row} change"))
            for which, p in (("now", period), ("before", previous)):
                if not whole[(token, dim, which)]:
                    for row in spans[dim]:
                        if row not in rows:  # a row left out is a zero
                            out.append(
                                ({(dim, row, m): 1 for m in months_of(p)}, "0", f"{token} {row}")
                            )
        elif dim in SNAPSHOTS:
            for row, values in rows.items():
                for name, at in (
                    ("This period", period.end),
                    ("Previous period", previous.end),
                    ("Overdue now", TODAY),
                ):
                    if name in values:
                        what = f"{token} {title} {row} {name}"
                        out.append(({(dim, row, at): 1}, values[name], what))
                change = values.get("Change")
                if change not in (None, ""):
                    form = {(dim, row, period.end): 1, (dim, row, previous.end): -1}
                    out.append((form, change, f"{token} {title} {row} change"))
        elif dim in MEDIANS:
            count_dim = MEDIANS[dim]
            for row, values in rows.items():
                for name, count_name in (("This period", "This period"), ("Previous", "Previous")):
                    hidden = cells[count_dim].get(row, {}).get(count_name) == "withheld"
                    assert (values.get(name) == "withheld") == hidden, (token, dim, row)
    return out


@pytest.fixture()
def world(office):  # type: ignore[no-untyped-def]
    return make_world(office)


def test_no_withheld_cell_can_be_worked_out_from_the_published_figures(
    app, client, office, world, monkeypatch
):
    monkeypatch.setattr(summary_views, "local_today", lambda: TODAY)
    client.login(office.legislator.email)
    tz = summary_views.office_tz()
    audience = summaries.LEGISLATOR_VIEW
    truth: dict[tuple, int] = {}  # true monthly counts: the unknowns
    equations: list[tuple[dict, object, str]] = []
    spans: dict[tuple, set[str]] = defaultdict(set)  # every row label of each breakdown
    published: list[tuple[str, Period, list[list[str]]]] = []
    whole: dict[tuple, bool] = {}
    in_progress = 0
    for token in TOKENS:
        long_rows, html = gather(client, token)
        for title, row, column, value in long_rows:  # what the page shows, before any algebra
            group, name = split(column)
            if ((title, group) in SUMS or (title, group) in SNAPSHOTS) and name != "Change":
                small = _is_number(value) and 0 < float(value) < THRESHOLD
                assert not small, f"small count published: {token} {title} {row} {column}"
        period = summaries.parse_period(token, None, None, TODAY, audience)
        if not period.complete(TODAY):
            in_progress += 1
            assert "caption-by_zip" not in html
            continue
        published.append((token, period, long_rows))
        summary = summaries.district_summary(office.a, period, tz, TODAY, audience)
        for dim in SUMS:
            key = _withheld_key(dim)
            whole[(token, dim, "now")] = summary.hidden(key).whole
            whole[(token, dim, "before")] = summary.hidden(key, True).whole
        for title, row, column, _ in long_rows:
            spans[(title, split(column)[0])].add(row)
    assert in_progress == 3  # July 2026, Q3 2026 and 2026

    # The unknowns' true values, and each table's total per month (given to the attacker).
    months = {
        span for _, period, _ in published for span in period.months() + period.previous().months()
    }
    for m_start, m_end in sorted(months):
        month = Period(summaries.PeriodKind.MONTH, m_start, m_end, "")
        f = summaries.period_figures(
            [office.a.id], [month], tz, TODAY, confidential=False, trend=False
        )[0]
        for dim, rows in _rows_of(f).items():
            for row, value in rows.items():
                truth[(dim, row, (m_start.year, m_start.month))] = value
                spans[dim].add(row)
    snapshot_totals = {}
    for _, period, _ in published:
        for p in (period, period.previous()):
            f = summaries.period_figures(
                [office.a.id], [p], tz, TODAY, confidential=False, trend=False
            )[0]
            snapshot_totals[p.end] = (sum(f.by_priority.values()), sum(f.aging.values()))
            overdue = sum(r.overdue_now for r in f.by_agency)
    for dim in SUMS:
        for month in {k[2] for k in truth if k[0] == dim}:
            total = {(dim, row, month): 1 for row in spans[dim]}
            value = sum(truth.get((dim, row, month), 0) for row in spans[dim])
            equations.append((total, str(value), f"total {dim} {month}"))
    aging, priority, agencies = sorted(SNAPSHOTS)  # by title
    for at, (open_priority, open_aging) in snapshot_totals.items():
        for dim, value in ((priority, open_priority), (aging, open_aging)):
            total = {(dim, row, at): 1 for row in spans[dim]}
            equations.append((total, str(value), f"total {dim} {at}"))
    equations.append(
        ({(agencies, row, TODAY): 1 for row in spans[agencies]}, str(overdue), "overdue total")
    )

    withheld = []
    for token, period, long_rows in published:
        for form, value, what in publication_equations(token, period, long_rows, whole, spans):
            if value == "withheld":
                withheld.append((form, what))
            else:
                equations.append((form, value, what))
                if "change" not in what:
                    n = float(value)
                    assert not 0 < n < THRESHOLD, f"small count published: {what} = {value}"

    spans_by_dim: dict[tuple, Span] = defaultdict(Span)
    for form, _, what in equations:
        dims = {k[0] for k in form}
        assert len(dims) == 1, what
        spans_by_dim[next(iter(dims))].add(form)
    # Every published figure is true: the equations describe the world.
    for form, value, what in equations:
        if next(iter(form))[0] in SUMS:
            assert sum(c * truth.get(k, 0) for k, c in form.items()) == int(float(value)), what
    recoverable = [what for form, what in withheld if spans_by_dim[next(iter(form))[0]].holds(form)]
    assert len(withheld) > 500, "the world has small counts, so much must be withheld"
    assert not recoverable, recoverable[:10]
    # Each small month cell is withheld on its month's page and stays unknown.
    small = [k for k, v in truth.items() if 0 < v < THRESHOLD]
    assert small
    assert not [k for k in small if spans_by_dim[k[0]].holds({k: 1})]


def _withheld_key(dim: tuple[str, str]) -> str:
    return {
        ("Cases by category", "Opened"): "by_category.opened",
        ("Cases by category", "Closed"): "by_category.closed",
        ("Cases opened by ZIP code", ""): "by_zip",
        ("Cases opened by town", ""): "by_town",
        ("Cases opened by intake channel", ""): "by_channel",
        ("Cases closed by outcome", ""): "by_outcome",
        ("Time to close", ""): "time_to_close",
        ("Referrals by agency", "Referrals sent"): "by_agency.sent",
        ("Referrals by agency", "Referrals answered"): "by_agency.responded",
    }[dim]


def _rows_of(f: summaries.Figures) -> dict[tuple, dict[str, int]]:
    """The true counts of a month by the row labels the tables use."""
    from constituent.services.summaries import CLOSE_BUCKETS

    return {
        ("Cases by category", "Opened"): {r.name: r.opened for r in f.by_category},
        ("Cases by category", "Closed"): {r.name: r.closed for r in f.by_category},
        ("Cases opened by ZIP code", ""): {r.label: r.opened for r in f.by_zip},
        ("Cases opened by town", ""): {r.label: r.opened for r in f.by_town},
        ("Cases opened by intake channel", ""): {
            c.label: f.by_channel.get(c.value, 0) for c in Channel
        },
        ("Cases closed by outcome", ""): {o.label: f.by_outcome.get(o.value, 0) for o in Outcome},
        ("Time to close", ""): {
            b.label: f.headline.time_to_close.buckets[b.key] for b in CLOSE_BUCKETS
        },
        ("Referrals by agency", "Referrals sent"): {r.name: r.sent for r in f.by_agency},
        ("Referrals by agency", "Referrals answered"): {r.name: r.responded for r in f.by_agency},
    }


def test_confidential_cases_are_in_the_headline_totals_only(
    app, client, office, world, monkeypatch
):
    """Only confidential cases are about SECRET_CATEGORY, live in SECRET_PLACE or came in at an
    event: the legislator never sees those rows (the event row stays at 0) in any breakdown,
    while the headline counts every case; a supervisor sees them all."""
    monkeypatch.setattr(summary_views, "local_today", lambda: TODAY)
    cases = world["cases"]
    secret = [c for c in cases if c.confidential]
    assert len(secret) >= 10
    client.login(office.legislator.email)
    for token in ("m2026-03", "q2026-1", "y2025", "last12"):
        text = client.get(f"/summaries/NY-21/all.csv?period={token}").get_data(as_text=True)
        html = client.get(f"/summaries/NY-21?period={token}").get_data(as_text=True)
        for shown in (text, html):
            assert SECRET_CATEGORY not in shown
            assert SECRET_PLACE[0] not in shown and SECRET_PLACE[1] not in shown
        rows = list(read_csv(client.get(f"/summaries/NY-21/by_channel.csv?period={token}")))
        assert [r[1:3] for r in rows if r[0] == "Event"] == [["0", "0"]]
    period = summaries.parse_period("y2025", None, None, TODAY)
    start, end = period.bounds(summary_views.office_tz())
    opened = [c for c in cases if start <= c.opened_at < end]
    headline = read_csv(client.get("/summaries/NY-21/headline.csv?period=y2025"))
    assert ["Cases opened", str(len(opened))] == headline[1][:2]
    assert any(c.confidential for c in opened)
    client.logout()
    client.login(office.supervisor.email)
    text = client.get("/summaries/NY-21/all.csv?period=y2025").get_data(as_text=True)
    assert SECRET_CATEGORY in text and SECRET_PLACE[0] in text
