"""The summary pages over HTTP: who sees what, bad input, drill-down, CSV and CLI agreement."""

from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import AuditEvent, Role
from tests import factories
from tests.test_summaries import MARCH, History, make_history

MARCH_ARGS = "period=m2026-03"
TABLE_KEYS = [
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


class Tables(HTMLParser):
    """Collects every table of a page: caption id → rows of (text, href) cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {}
        self._caption: str | None = None
        self._rows: list[list[tuple[str, str | None]]] | None = None
        self._cell: list[str] | None = None
        self._href: str | None = None
        self._in_head = False
        self._in_sr_only = 0

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if tag == "table":
            self._rows = []
        elif tag == "caption":
            self._caption = a.get("id")
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and self._rows is not None and not self._in_head:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None and not self._in_head:
            self._cell, self._href = [], None
        elif tag == "a" and self._cell is not None:
            self._href = a.get("href")
        elif tag == "span" and "app-row-note" in (a.get("class") or ""):
            self._in_sr_only += 1

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None and self._rows:
            self._rows[-1].append(("".join(self._cell).strip(), self._href))
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables[self._caption or f"table{len(self.tables)}"] = self._rows
            self._rows = None
        elif tag == "span" and self._in_sr_only:
            self._in_sr_only -= 1

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._cell is not None and not self._in_sr_only:
            self._cell.append(data)


def page_tables(html: str) -> dict[str, list[list[tuple[str, str | None]]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def norm(value: object) -> str:
    """A page text or CSV/JSON value as a comparable string: '1,234' '−3' '66.7%' → numbers."""
    if value is None:
        return ""
    text = str(value).replace(",", "").replace("%", "").replace(" pts", "")
    text = text.replace("\u2212", "-").replace("+", "").replace("—", "").strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return f"{number:g}"


def read_csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture()
def history(office) -> History:
    return make_history(office)


def exports_recorded() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == "export")
    )


# Who may open what ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.INTAKE, Role.CASEWORKER])
def test_caseworkers_and_intake_may_not_open_summaries(client, office, role):
    client.login(office.user(role).email)
    for path in (
        "/summaries/",
        "/summaries/NY-21",
        "/summaries/NY-21/headline.csv",
        "/summaries/NY-21/cases?figure=opened",
    ):
        assert client.get(path).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, office):
    response = client.get("/summaries/NY-21")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_district_is_forbidden_with_a_clear_message(client, office):
    client.login(office.legislator.email)
    response = client.get("/summaries/NY-20")
    assert response.status_code == 403
    assert "You do not have access to the summaries of NY-20" in response.get_data(as_text=True)
    missing = client.get("/summaries/NY-99")
    assert missing.status_code == 404
    assert "There is no district with the code" in missing.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "period=custom&start=2026-03-31&end=2026-03-01",
            "end",
            "The end date is before the start",
        ),
        ("period=custom&start=2010-01-01&end=2021-01-01", "end", "at most 10 years"),
        ("period=custom&start=2026-03-01&end=not-a-date", "end", "Enter a date like 03/14/2025."),
        ("period=custom&start=2999-01-01&end=2999-01-31", "start", "starts after today"),
        ("period=m1999-99", "period", "Choose a period from the list"),
    ],
)
def test_bad_periods_get_a_message_beside_the_field(client, office, query, field, message):
    client.login(office.supervisor.email)
    for path in ("/summaries/", "/summaries/NY-21"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        error = re.search(rf'id="{field}-error"[^>]*>([^<]*)<', html)
        assert error and message in error.group(1), html
        assert 'aria-invalid="true"' in html
    assert client.get(f"/summaries/NY-21/headline.csv?{query}").status_code == 422


# The supervisor's page, its CSV and the CLI agree --------------------------------------------


def test_supervisor_page_shows_the_hand_counted_figures(client, history, office):
    client.login(office.supervisor.email)
    response = client.get(f"/summaries/NY-21?{MARCH_ARGS}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    tables = page_tables(html)
    headline = {row[0][0]: [c[0] for c in row[1:]] for row in tables["caption-headline"]}
    assert headline["Cases opened"] == ["7", "3", "+4"]
    assert headline["Cases closed"] == ["6", "1", "+5"]
    assert headline["Open at period end"] == ["5", "4", "+1"]
    assert headline["Median days to close"] == ["12.5", "5.0", "+7.5"]
    assert headline["90th percentile days to close"][0] == "139.5"
    assert headline["Closed within 30 days"] == ["66.7%", "100.0%", "\u221233.3 pts"]
    zips = {row[0][0]: row[1][0] for row in tables["caption-by_zip"]}
    assert zips == {"12901": "6", "12992": "1"}
    staff = {row[0][0]: [c[0] for c in row[1:]] for row in tables["caption-by_staff"]}
    assert staff["Unassigned"] == ["3", "2", "3", "1", "+2"]
    assert "How these numbers are counted" in html
    assert "11 pm on 31 March" in html
    assert "March 2026" in html and "February 2026" in html


def test_page_csv_and_cli_agree(client, runner, history, office):
    client.login(office.supervisor.email)
    tables = page_tables(client.get(f"/summaries/NY-21?{MARCH_ARGS}").get_data(as_text=True))
    for key in [*TABLE_KEYS, "by_staff"]:
        rows = read_csv(client.get(f"/summaries/NY-21/{key}.csv?{MARCH_ARGS}"))
        page_rows = tables[f"caption-{key}"]
        assert [[norm(v) for v in r] for r in rows[1:]] == [
            [norm(text) for text, _ in r] for r in page_rows
        ], key
    every = read_csv(client.get(f"/summaries/NY-21/all.csv?{MARCH_ARGS}"))
    result = runner.invoke(
        args=[
            "report",
            "district",
            "NY-21",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--format",
            "csv",
        ]
    )
    assert result.exit_code == 0, result.output
    cli_rows = list(csv.reader(io.StringIO(result.output)))
    assert cli_rows == every
    assert ["Headline figures", "Cases opened", "This period", "7"] in cli_rows
    as_json = runner.invoke(
        args=[
            "report",
            "district",
            "ny-21",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--format",
            "json",
        ]
    )
    data = json.loads(as_json.output)
    assert data["period"] == {"name": "March 2026", "from": "2026-03-01", "to": "2026-03-31"}
    assert data["previous_period"]["from"] == "2026-02-01"
    for key in TABLE_KEYS:
        page_rows = tables[f"caption-{key}"]
        assert [[norm(v) for v in r] for r in data["tables"][key]["rows"]] == [
            [norm(text) for text, _ in r] for r in page_rows
        ], key
    assert data["tables"]["by_zip"]["rows"][1][:2] == ["12992", 1]  # exact for office IT


def test_cli_refuses_unknown_districts_and_bad_dates(runner, office):
    result = runner.invoke(args=["report", "district", "ZZ-01"])
    assert result.exit_code != 0 and "no district with the code" in result.output
    result = runner.invoke(
        args=["report", "district", "NY-21", "--from", "2026-03-31", "--to", "2026-03-01"]
    )
    assert result.exit_code != 0 and "before the start date" in result.output


def test_every_export_is_audited(client, runner, history, office):
    client.login(office.supervisor.email)
    before = exports_recorded()
    client.get(f"/summaries/NY-21/by_zip.csv?{MARCH_ARGS}")
    client.get(f"/summaries/NY-21/all.csv?{MARCH_ARGS}")
    client.get(f"/summaries/comparison.csv?{MARCH_ARGS}")
    client.get(f"/summaries/NY-21/cases.csv?figure=closed&{MARCH_ARGS}")
    runner.invoke(args=["report", "district", "NY-21"])
    assert exports_recorded() == before + 5
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
    ).first()
    assert event.user_email == office.supervisor.email and "by_zip" in event.detail


def test_csv_downloads_are_streamed_utf8_with_a_header(client, history, office):
    client.login(office.supervisor.email)
    response = client.get(f"/summaries/NY-21/cases.csv?figure=opened&{MARCH_ARGS}")
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0][:3] == ["Case", "Constituent", "ZIP"]
    assert len(rows) == 1 + MARCH["opened"]


# The legislator: counts and durations only ---------------------------------------------------


def test_legislator_sees_no_names_no_drill_down_and_small_zip_counts_hidden(
    client, history, office
):
    client.login(office.legislator.email)
    response = client.get(f"/summaries/NY-21?{MARCH_ARGS}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for case in history.cases.values():
        person = case.constituent
        assert person.first_name not in html and person.last_name not in html
        assert case.subject not in html and case.description not in html
        assert person.street not in html
    assert "/cases" not in html  # no drill-down links
    assert office.caseworker.full_name not in html  # no per-staffer table
    tables = page_tables(html)
    assert "caption-by_staff" not in tables
    # March: 5 cases from 12901 and 1 from 12992 (c5, confidential, is in no breakdown); the 1
    # is withheld and so is the 5, which would give it away. February: 3 cases, all from
    # 12901, so February's whole column is withheld; the changes go with them.
    zips = {row[0][0]: [c[0] for c in row[1:]] for row in tables["caption-by_zip"]}
    assert zips["12901"] == ["withheld", "withheld", "—"]
    assert zips["12992"] == ["withheld", "withheld", "—"]
    towns = {row[0][0]: [c[0] for c in row[1:]] for row in tables["caption-by_town"]}
    assert towns["Keeseville"] == ["withheld", "withheld", "—"]
    headline = {row[0][0]: row[1][0] for row in tables["caption-headline"]}
    assert headline["Cases opened"] == "7"  # confidential c5 is counted
    rows = read_csv(client.get(f"/summaries/NY-21/by_zip.csv?{MARCH_ARGS}"))
    assert rows[1:] == [
        ["12901", "withheld", "withheld", ""],
        ["12992", "withheld", "withheld", ""],
    ]
    assert client.get(f"/summaries/NY-21/by_staff.csv?{MARCH_ARGS}").status_code == 404
    assert client.get(f"/summaries/NY-21/cases?figure=closed&{MARCH_ARGS}").status_code == 403
    assert client.get(f"/summaries/NY-21/cases.csv?figure=closed&{MARCH_ARGS}").status_code == 403


def test_cli_suppresses_small_counts_only_when_asked(runner, history, office):
    result = runner.invoke(
        args=[
            "report",
            "district",
            "NY-21",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-31",
            "--suppress-small-counts",
        ]
    )
    assert ["Cases opened by ZIP code", "12992", "This period", "withheld"] in list(
        csv.reader(io.StringIO(result.output))
    )


def test_overview_lists_the_users_districts_sorted(client, history, office):
    client.login(office.legislator.email)
    tables = page_tables(client.get(f"/summaries/?{MARCH_ARGS}").get_data(as_text=True))
    rows = tables["caption-comparison"]
    assert [r[0][0] for r in rows] == ["NY-21"]  # not NY-20
    assert rows[0][0][1].startswith("/summaries/NY-21?period=m2026-03")
    assert [c[0] for c in rows[0][1:7]] == ["7", "+4", "6", "+5", "5", "+1"]
    both = factories.gen_user(Role.SUPERVISOR, [office.a, office.b], email="both@test.example")
    db.session.commit()
    client.logout()
    client.login(both.email)
    for sort, order, expected in [
        ("opened", "desc", ["NY-21", "NY-20"]),
        ("opened", "asc", ["NY-20", "NY-21"]),
        ("district", "asc", ["NY-20", "NY-21"]),
        ("median", "desc", ["NY-21", "NY-20"]),
    ]:
        html = client.get(f"/summaries/?{MARCH_ARGS}&sort={sort}&order={order}").get_data(
            as_text=True
        )
        assert [r[0][0] for r in page_tables(html)["caption-comparison"]] == expected
    assert 'aria-sort="descending"' in html


# Drill-down: the cases behind a number -------------------------------------------------------


def drill_numbers(html: str) -> set[str]:
    rows = page_tables(html)["drill-caption"]
    return {row[0][0].split()[0] for row in rows}


def test_supervisor_drill_down_lists_exactly_the_cases_behind_each_number(client, history, office):
    client.login(office.supervisor.email)
    html = client.get(f"/summaries/NY-21?{MARCH_ARGS}").get_data(as_text=True)
    links = {
        (text, href)
        for rows in page_tables(html).values()
        for row in rows
        for text, href in row
        if href and "/cases?" in href
    }
    assert len(links) > 60
    checked = 0
    for text, href in links:
        if not re.fullmatch(r"\d+", text) or int(text) == 0:
            continue
        listed = client.get(href.replace("&amp;", "&"))
        assert listed.status_code == 200, href
        body = listed.get_data(as_text=True)
        total = re.search(r"<p>(\d+) rows?", body)
        assert total and int(total.group(1)) == int(text), (href, text)
        checked += 1
    assert checked > 30
    closed = client.get(f"/summaries/NY-21/cases?figure=closed&{MARCH_ARGS}")
    expected = {f"C-{n}" for n in history.numbers("c3", "c4", "c5", "c10", "c12", "c16")}
    assert drill_numbers(closed.get_data(as_text=True)) == expected
    category = client.get(
        f"/summaries/NY-21/cases?figure=closed&category={history.ss.id}&{MARCH_ARGS}"
    )
    assert drill_numbers(category.get_data(as_text=True)) == {
        f"C-{n}" for n in history.numbers("c4", "c5", "c12")
    }


def test_admin_drill_down_leaves_out_confidential_cases_and_says_so(client, history, office):
    client.login(office.admin.email)
    body = client.get(f"/summaries/NY-21/cases?figure=closed&{MARCH_ARGS}").get_data(as_text=True)
    assert f"C-{history.cases['c5'].number}" not in body
    assert "5 rows" in body
    assert "1 of the 6 behind this number is confidential" in body


def test_drill_down_link_with_an_unknown_figure_is_refused(client, history, office):
    client.login(office.supervisor.email)
    assert client.get(f"/summaries/NY-21/cases?figure=nonsense&{MARCH_ARGS}").status_code == 400
    for bad in (
        "category=x",
        "category=99999999999999999999999",
        "within=-1",
        "staff=1e9",
        "month=2026-13",
        "age=old",
        "close_time=soon",
        "channel=pigeon",
    ):
        response = client.get(f"/summaries/NY-21/cases?figure=closed&{bad}&{MARCH_ARGS}")
        assert response.status_code == 400, bad
        assert "does not name a number on the summary" in response.get_data(as_text=True)


def test_drill_down_csv_neutralises_formulas_in_names(client, history, office):
    person = history.cases["c4"].constituent
    person.first_name = '=HYPERLINK("http://attacker.example","Click")'
    person.last_name = "@SUM(A1)"
    history.cases["c4"].subject = "+1 555 0100 called"
    db.session.commit()
    client.login(office.supervisor.email)
    rows = read_csv(client.get(f"/summaries/NY-21/cases.csv?figure=closed&{MARCH_ARGS}"))
    row = next(r for r in rows if r[0] == f"C-{history.cases['c4'].number}")
    assert row[1] == '\'=HYPERLINK("http://attacker.example","Click") @SUM(A1)'
    assert row[4] == "'+1 555 0100 called"
    assert row[14] == "23.0"  # days open: a number, written as a number


# Empty districts and the print view ----------------------------------------------------------


def test_a_district_with_no_cases_shows_zeros_and_no_cases_charts(client, office):
    both = factories.gen_user(Role.SUPERVISOR, [office.a, office.b], email="both@test.example")
    db.session.commit()
    client.login(both.email)
    response = client.get(f"/summaries/NY-20?{MARCH_ARGS}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    headline = {row[0][0]: [c[0] for c in row[1:]] for row in page_tables(html)["caption-headline"]}
    assert headline["Cases opened"] == ["0", "0", "0"]
    assert headline["Median days to close"] == ["—", "—", "—"]
    assert html.count(">No cases<") >= 6  # every chart says so
    assert 'role="img"' in html
    assert client.get(f"/summaries/NY-20/print?{MARCH_ARGS}").status_code == 200


def test_print_view_names_district_period_and_date_produced(client, history, office):
    client.login(office.legislator.email)
    html = client.get(f"/summaries/NY-21/print?{MARCH_ARGS}").get_data(as_text=True)
    header = html[html.index("app-print-header") : html.index("<h1>")]
    assert "NY-21" in header and "District NY-21" in header and "March 2026" in header
    assert "Produced" in header
    assert "/cases" not in html and "<script>" not in html
    assert "js/summaries.js" in html
    css = client.get("/static/css/summaries.css").get_data(as_text=True)
    assert "size: letter" in css


def test_legislator_navigation_leads_to_summaries(client, office):
    response = client.login(office.legislator.email)
    assert response.status_code == 302
    assert client.get("/").headers["Location"].endswith("/summaries/")
    html = client.get("/summaries/").get_data(as_text=True)
    assert "District summaries" in html


def test_drill_urls_carry_the_exact_period(client, history, office):
    client.login(office.supervisor.email)
    html = client.get(f"/summaries/NY-21?{MARCH_ARGS}").get_data(as_text=True)
    href = next(
        h
        for rows in page_tables(html).values()
        for row in rows
        for _, h in row
        if h and "figure=opened" in h
    )
    query = parse_qs(urlsplit(href.replace("&amp;", "&")).query)
    assert query["period"] == ["custom"]
    assert (query["start"], query["end"]) in (
        (["2026-03-01"], ["2026-03-31"]),
        (["2026-02-01"], ["2026-02-28"]),
    )


def test_the_page_has_contents_and_the_print_view_starts_with_a_brief(client, history, office):
    client.login(office.supervisor.email)
    html = client.get(f"/summaries/NY-21?{MARCH_ARGS}").get_data(as_text=True)
    contents = html[
        html.index('id="h-on-this-page"') : html.index("</nav>", html.index("h-on-this-page"))
    ]
    targets = re.findall(r'href="#([^"]+)"', contents)
    assert "h-headline" in targets and "h-by_category" in targets and "how-counted" in targets
    assert all(f'id="{target}"' in html for target in targets)  # every entry leads somewhere
    printed = client.get(f"/summaries/NY-21/print?{MARCH_ARGS}").get_data(as_text=True)
    brief = printed[printed.index('class="app-brief"') : printed.index("The figures in full")]
    assert "What residents needed" in brief and "How fast cases closed" in brief
    assert printed.index("The figures in full") < printed.index('id="h-by_category"')
