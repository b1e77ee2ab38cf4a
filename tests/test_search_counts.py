"""Search counts say nothing about people the user may not see (issue 11, item 1).

A constituent whose only case is confidential and not open to the user is invisible to that
user (her page answers 404). The "N people found" line must not count her either, whatever the
search: an OR with a visible person's name, her ZIP or her town must not change the figure.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from constituent.extensions import db
from constituent.models import CaseStatus, Role
from tests import factories
from tests.search_support import build, reset_index

HIDDEN_ZIP, HIDDEN_TOWN = "12983", "Saranac"
OTHER_ZIP, OTHER_TOWN = "12901", "Plattsburgh"


@pytest.fixture(autouse=True)
def clean_index(app, search_engine):
    reset_index(app)
    yield
    reset_index(app)


@pytest.fixture(params=["assigned to another caseworker", "unassigned"])
def probe(request, app, office):
    """In district A: Philippa Quennell, whose only case is confidential and either assigned
    to a caseworker other than office.caseworker or not assigned to anyone; Walter Ashdown,
    visible, with an ordinary case."""
    other = factories.gen_user(Role.CASEWORKER, [office.a], email="assigned@test.example")
    assigned = other if request.param.startswith("assigned") else None
    hidden = factories.gen_constituent(
        office.a, first="Philippa", last="Quennell", zip5=HIDDEN_ZIP, city=HIDDEN_TOWN
    )
    factories.gen_case(
        office.a,
        office.category,
        constituent=hidden,
        confidential=True,
        assignee=assigned,
        opened_by=other,
        subject="Protective order follow-up",
        opened_at=datetime(2026, 1, 12, 15, 0, tzinfo=UTC),
    )
    visible = factories.gen_constituent(
        office.a, first="Walter", last="Ashdown", zip5=OTHER_ZIP, city=OTHER_TOWN
    )
    factories.gen_case(
        office.a,
        office.category,
        constituent=visible,
        assignee=office.caseworker,
        opened_by=office.intake,
        subject="Pension application",
        status=CaseStatus.RESOLVED,
        opened_at=datetime(2026, 3, 10, 15, 0, tzinfo=UTC),
    )
    db.session.commit()
    build(app)
    return hidden, visible


def _people_line(html: str) -> str | None:
    """The "N people found" line of a results page (None when no people section)."""
    found = re.search(r"(\d+) (?:person|people) found[^<]*", html)
    return found.group(0) if found else None


def _search(client, text: str) -> str:
    page = client.get("/search/", query_string={"q": text})
    assert page.status_code == 200
    return page.get_data(as_text=True)


@pytest.mark.parametrize("who", ["caseworker", "intake"])
def test_an_or_with_a_hidden_persons_name_does_not_change_the_people_count(
    client, office, probe, who
):
    hidden, visible = probe
    client.login(getattr(office, who).email)
    assert client.get(f"/constituents/{hidden.id}").status_code == 404
    assert client.get(f"/constituents/{visible.id}").status_code == 200

    assert _people_line(_search(client, "Ashdown")) == "1 person found."
    html = _search(client, "(Philippa Quennell) OR Ashdown")
    assert _people_line(html) == "1 person found."
    assert f"/constituents/{hidden.id}" not in html
    assert HIDDEN_TOWN not in html and HIDDEN_ZIP not in html
    # Her name alone finds no one at all.
    assert _people_line(_search(client, "Philippa Quennell")) is None


@pytest.mark.parametrize("who", ["caseworker", "intake"])
def test_her_zip_and_town_cannot_be_recovered_from_the_count(client, office, probe, who):
    client.login(getattr(office, who).email)
    lines = {
        text: _people_line(_search(client, text))
        for text in (
            f"(Quennell zip:{HIDDEN_ZIP}) OR Ashdown",
            f"(Quennell zip:{OTHER_ZIP}) OR Ashdown",
            f"(Quennell {HIDDEN_TOWN}) OR Ashdown",
            f"(Quennell {OTHER_TOWN}) OR Ashdown",
        )
    }
    assert set(lines.values()) == {"1 person found."}, lines


def test_those_who_may_open_her_case_count_her(client, office, probe):
    client.login(office.supervisor.email)
    assert _people_line(_search(client, "(Philippa Quennell) OR Ashdown")) == "2 people found."
    assert _people_line(_search(client, f"(Quennell zip:{HIDDEN_ZIP}) OR Ashdown")) == (
        "2 people found."
    )


FACET_LINK = re.compile(
    r'<a class="usa-link app-facet" href="([^"]+)"><span class="app-facet__label">([^<]+)</span>'
    r' <span class="app-facet__count">(\d+)</span>'
)


def _listed(html: str) -> list[str]:
    return re.findall(r'class="app-hit__number">([^<]+)<', html)


@pytest.mark.parametrize("who", ["caseworker", "intake", "supervisor"])
def test_case_counts_and_facets_match_the_cases_listed(client, office, probe, who):
    """Both people's names find their cases (hers open, his resolved); the count and every
    facet count equal the cases listed — after following the facet link, too."""
    client.login(getattr(office, who).email)
    html = _search(client, "Quennell OR Ashdown")
    expected = 2 if who == "supervisor" else 1
    assert len(_listed(html)) == expected
    assert f"{expected} {'case' if expected == 1 else 'cases'} found" in html
    links = FACET_LINK.findall(html)
    assert {label for _href, label, _n in links} >= {"NY-21", "Resolved"}
    for href, label, count in links:
        narrowed = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
        assert len(_listed(narrowed)) == int(count), (label, count)


def test_date_pickers_narrow_every_part_of_an_or(client, office, probe):
    """The date pickers apply to the whole search, not to the last alternative of an OR."""
    client.login(office.supervisor.email)
    dates = {"opened_from": "2026-03-01", "opened_to": "2026-03-31"}
    html = client.get("/search/", query_string={"q": "Quennell OR Ashdown", **dates})
    html = html.get_data(as_text=True)
    assert "1 case found" in html
    assert len(_listed(html)) == 1
