"""Summaries for audiences that see no names (the legislator) cannot single out a resident.

Calendar periods only (custom dates refused with 400, not offered), "last 12 months" is the
last 12 complete months, and a period in progress shows its totals only, so no two pages a
legislator can open differ by one day's cases.
"""

from __future__ import annotations

from datetime import date

import pytest

from constituent.views import summaries as summary_views
from tests.test_summaries import local, make_history
from tests.test_summaries_views import page_tables, read_csv

ONE_DAY = "period=custom&start=2026-03-10&end=2026-03-10"  # c5 (confidential) opened that day
BREAKDOWN_KEYS = ("by_category", "by_zip", "by_town", "by_channel", "by_outcome", "by_agency")


@pytest.fixture()
def history(office):  # type: ignore[no-untyped-def]
    return make_history(office)


def on_day(monkeypatch, day: date) -> None:  # type: ignore[no-untyped-def]
    """The office's 'today' as the summary pages see it."""
    monkeypatch.setattr(summary_views, "local_today", lambda: day)


@pytest.mark.parametrize(
    "path",
    [
        "/summaries/NY-21",
        "/summaries/NY-21/print",
        "/summaries/NY-21/headline.csv",
        "/summaries/NY-21/by_category.csv",
        "/summaries/NY-21/by_zip.csv",
        "/summaries/NY-21/by_town.csv",
        "/summaries/NY-21/all.csv",
        "/summaries/",
        "/summaries/comparison.csv",
    ],
)
def test_one_day_custom_period_is_refused_for_legislators(client, history, office, path):
    client.login(office.legislator.email)
    for query in (ONE_DAY, "start=2026-03-10&end=2026-03-10"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        html = response.get_data(as_text=True)
        assert "Custom dates are not available" in html
        assert "attachment" not in response.headers.get("Content-Disposition", "")
        assert "12901" not in html and "Plattsburgh" not in html


def test_supervisors_keep_custom_dates(client, history, office):
    client.login(office.supervisor.email)
    response = client.get(f"/summaries/NY-21/by_zip.csv?{ONE_DAY}")
    assert response.status_code == 200
    assert ["12901", "1", "0", "1"] in read_csv(response)  # c5, exact, as before
    html = client.get("/summaries/NY-21").get_data(as_text=True)
    assert 'value="custom"' in html and 'name="start"' in html


def test_legislators_are_not_offered_custom_dates(client, history, office):
    client.login(office.legislator.email)
    for path in ("/summaries/", "/summaries/NY-21"):
        html = client.get(path).get_data(as_text=True)
        assert 'value="custom"' not in html
        assert 'name="start"' not in html and 'name="end"' not in html
        assert "Last 12 complete months" in html
        assert 'value="m2026-03"' in html or 'value="q2026-1"' in html


def test_last_12_months_are_the_last_12_complete_months(client, history, office, monkeypatch):
    client.login(office.legislator.email)
    on_day(monkeypatch, date(2026, 4, 15))
    html = client.get("/summaries/NY-21?period=last12").get_data(as_text=True)
    assert "Last 12 complete months</strong> (Apr 1, 2025 – Mar 31, 2026)" in html
    assert "Apr 1, 2024 – Mar 31, 2025" in html  # compared with the 12 months before
    # c2 (opened 1 April) is not in it: the month it was opened in is not over.
    headline = {r[0][0]: r[1][0] for r in page_tables(html)["caption-headline"]}
    assert headline["Cases opened"] == "13"


def test_pages_do_not_change_from_one_day_to_the_next(client, history, office, monkeypatch):
    """Every figure a legislator can download is the same on 15 and 16 April, although a case
    was opened on 15 April: no two days' pages differ by one day's cases."""
    from tests.test_summaries import _case

    _case(office, "d15", history.housing, local("2026-04-15 10:00"), zip5="12993", city="Westport")
    from constituent.extensions import db

    db.session.commit()
    client.login(office.legislator.email)
    seen = {}
    for day in (date(2026, 4, 15), date(2026, 4, 16)):
        on_day(monkeypatch, day)
        seen[day] = {
            period: client.get(f"/summaries/NY-21/all.csv?period={period}").get_data(as_text=True)
            for period in ("last12", "m2026-03", "q2026-1", "y2025")
        }
    assert seen[date(2026, 4, 15)] == seen[date(2026, 4, 16)]


def test_a_period_in_progress_shows_totals_only(client, history, office, monkeypatch):
    client.login(office.legislator.email)
    on_day(monkeypatch, date(2026, 4, 15))
    response = client.get("/summaries/NY-21?period=m2026-04")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    tables = page_tables(html)
    assert set(tables) == {"caption-headline", "caption-trend"}
    assert "only its totals are shown" in html
    assert "12903" not in html  # c2's ZIP
    for key in BREAKDOWN_KEYS:
        refused = client.get(f"/summaries/NY-21/{key}.csv?period=m2026-04")
        assert refused.status_code == 404
        assert "once the period is complete" in refused.get_data(as_text=True)
    rows = read_csv(client.get("/summaries/NY-21/all.csv?period=m2026-04"))
    assert {r[0] for r in rows[1:]} == {"Headline figures", "Cases opened and closed by month"}
    # Supervisors see the month so far in full.
    client.logout()
    client.login(office.supervisor.email)
    assert "caption-by_zip" in page_tables(
        client.get("/summaries/NY-21?period=m2026-04").get_data(as_text=True)
    )


@pytest.mark.parametrize("value", ["1", "five", "-3"])
def test_the_threshold_setting_must_be_a_number_of_at_least_two(monkeypatch, tmp_path, value):
    from constituent import create_app
    from constituent.config import ConfigurationError

    monkeypatch.setenv("CONSTITUENT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CONSTITUENT_SUMMARY_MIN_CELL", value)
    with pytest.raises(ConfigurationError, match="CONSTITUENT_SUMMARY_MIN_CELL"):
        create_app()


def test_the_threshold_comes_from_the_setting(app, client, history, office):
    client.login(office.legislator.email)
    html = client.get("/summaries/NY-21?period=m2026-03").get_data(as_text=True)
    assert "fewer than 5 cases" in html
    app.config["SUMMARY_MIN_CELL"] = 8
    html = client.get("/summaries/NY-21?period=m2026-03").get_data(as_text=True)
    assert "fewer than 8 cases" in html and "fewer than 5 cases" not in html


def test_legislators_and_supervisors_read_the_same_totals(client, history, office):
    """The headline and the monthly trend count every case, confidential ones included, for
    both; only the shares closed within 30/60/90 days are not shown to the legislator."""
    seen = {}
    for user in (office.supervisor, office.legislator):
        client.login(user.email)
        for period in ("q2026-1", "m2026-03", "y2025"):
            tables = page_tables(
                client.get(f"/summaries/NY-21?period={period}").get_data(as_text=True)
            )
            seen[(user.role, period)] = {
                key: [[text for text, _ in row] for row in tables[key]]
                for key in ("caption-headline", "caption-trend")
            }
        client.logout()
    for period in ("q2026-1", "m2026-03", "y2025"):
        staff, legislator = (
            seen[(office.supervisor.role, period)],
            seen[(office.legislator.role, period)],
        )
        assert legislator["caption-trend"] == staff["caption-trend"]
        assert legislator["caption-headline"] == [
            row for row in staff["caption-headline"] if not row[0].startswith("Closed within")
        ]
