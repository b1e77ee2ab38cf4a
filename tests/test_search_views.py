"""The results page: escaped highlights, facets that narrow, sorting, paging, case numbers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from constituent.extensions import db
from constituent.models import CaseStatus
from tests import factories
from tests.referral_helpers import gen_agency
from tests.search_support import build, reset_index


@pytest.fixture(autouse=True)
def clean_index(app, search_engine):
    reset_index(app)
    yield
    reset_index(app)


def _hit_numbers(html: str) -> list[str]:
    return re.findall(r'<span class="app-hit__number">(C-\d+)</span>', html)


def test_case_text_is_escaped_and_only_the_highlight_is_markup(app, client, office):
    case = factories.gen_case(
        office.a,
        office.category,
        subject="<b>Bold</b> pension question",
        description='Pension letter said <script>alert("x")</script> & <img src=x onerror=y>.',
    )
    db.session.commit()
    build(app)
    client.login(office.caseworker.email)
    html = client.get("/search/?q=pension").get_data(as_text=True)
    assert f"C-{case.number}" in html
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>Bold</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Bold&lt;/b&gt; <mark>pension</mark> question" in html
    assert "<mark>Pension</mark> letter" in html


def test_a_facet_narrows_the_search_and_can_be_removed(app, client, office):
    housing = factories.gen_category("Housing")
    for _ in range(3):
        factories.gen_case(office.a, office.category, subject="Benefit appeal")
    for _ in range(2):
        factories.gen_case(
            office.a, housing, subject="Benefit for rent arrears", status=CaseStatus.CLOSED
        )
    db.session.commit()
    build(app)
    client.login(office.caseworker.email)
    html = client.get("/search/?q=benefit").get_data(as_text=True)
    assert "5 cases found" in html
    link = re.search(
        r'<a class="usa-link app-facet" href="([^"]+)"><span class="app-facet__label">'
        r'Housing</span> <span class="app-facet__count">2</span>',
        html,
    )
    assert link, html
    narrowed = client.get(unescape(link.group(1))).get_data(as_text=True)
    assert "2 cases found" in narrowed
    assert 'value="benefit category:housing"' in narrowed
    remove = re.search(
        r'<a class="usa-link app-facet app-facet--active" href="([^"]+)">'
        r'<span class="app-facet__label">Housing',
        narrowed,
    )
    assert remove
    assert "5 cases found" in client.get(unescape(remove.group(1))).get_data(as_text=True)
    status = client.get("/search/?q=benefit+status:closed").get_data(as_text=True)
    assert "2 cases found" in status


def test_sorting_by_date_and_paging(app, client, office):
    start = datetime(2026, 1, 1, 15, tzinfo=UTC)
    cases = [
        factories.gen_case(
            office.a,
            office.category,
            subject=f"Tax refund held {i}",
            opened_at=start + timedelta(days=i),
        )
        for i in range(25)
    ]
    db.session.commit()
    build(app)
    client.login(office.caseworker.email)
    first = client.get("/search/?q=refund&sort=newest").get_data(as_text=True)
    assert "25 cases found; page 1 of 2" in first
    newest_first = [f"C-{c.number}" for c in reversed(cases)]
    assert _hit_numbers(first) == newest_first[:20]
    second = client.get("/search/?q=refund&sort=newest&page=2").get_data(as_text=True)
    assert _hit_numbers(second) == newest_first[20:]
    assert "Previous" in second
    relevance = client.get("/search/?q=refund&page=2").get_data(as_text=True)
    assert len(_hit_numbers(relevance)) == 5
    past_the_end = client.get("/search/?q=refund&page=99").get_data(as_text=True)
    assert "page 2 of 2" in past_the_end


def test_date_pickers_narrow_by_opened_and_closed(app, client, office):
    jan = factories.gen_case(
        office.a,
        office.category,
        subject="Visa question",
        opened_at=datetime(2026, 1, 10, 15, tzinfo=UTC),
    )
    factories.gen_case(
        office.a,
        office.category,
        subject="Visa question",
        opened_at=datetime(2026, 5, 10, 15, tzinfo=UTC),
    )
    db.session.commit()
    build(app)
    client.login(office.caseworker.email)
    html = client.get("/search/?q=visa&opened_from=2026-01-01&opened_to=2026-01-31").get_data(
        as_text=True
    )
    assert _hit_numbers(html) == [f"C-{jan.number}"]
    bad = client.get("/search/?q=visa&opened_from=2026-02-30")
    assert bad.status_code == 422
    assert "Enter a date like 03/14/2025." in bad.get_data(as_text=True)


def test_a_case_number_opens_the_case_and_an_unknown_one_searches(app, client, office):
    case = factories.gen_case(office.a, office.category, number=1042)
    other = factories.gen_case(office.b, office.category, number=2077)
    db.session.commit()
    build(app)
    client.login(office.caseworker.email)
    for text in ("1042", "C-1042", "#1042", "case 1042"):
        response = client.get("/search/", query_string={"q": text})
        assert response.status_code == 302, text
        assert response.headers["Location"].endswith(f"/cases/{case.id}")
    response = client.get("/search/", query_string={"q": "C-2077"})  # district B's case
    assert response.status_code == 200
    assert "No case C-2077 is available to you" in response.get_data(as_text=True)
    assert other.number == 2077


def test_agencies_and_constituents_have_their_own_sections(app, client, office):
    gen_agency(name="Internal Revenue Service", acronym="IRS")
    person = factories.gen_constituent(office.a, first="Theodora", last="Irsfeld")
    db.session.commit()
    build(app)
    client.login(office.caseworker.email)
    html = client.get("/search/?q=internal+revenue").get_data(as_text=True)
    assert 'id="agencies-heading"' in html
    assert "Internal Revenue Service (IRS)" in html
    html = client.get("/search/?q=theodora").get_data(as_text=True)
    assert 'id="people-heading"' in html
    assert f"/constituents/{person.id}" in html
    html = client.get("/search/?q=status:open").get_data(as_text=True)
    assert 'id="people-heading"' not in html  # a case filter: no constituent section


def test_the_empty_search_page_explains_the_language(client, office):
    client.login(office.intake.email)
    html = client.get("/search/").get_data(as_text=True)
    assert "How to search" in html
    assert "opened:2026-01-01 to 2026-03-31" in html


def test_no_hits_offers_a_spelling_suggestion_that_finds_cases(app, client, office):
    factories.gen_case(office.a, office.category, subject="Naturalization interview")
    db.session.commit()
    build(app)
    client.login(office.caseworker.email)
    html = client.get("/search/?q=naturalizaton").get_data(as_text=True)
    assert "No cases you can open match this search." in html
    assert "Did you mean" in html and "naturalization" in html
