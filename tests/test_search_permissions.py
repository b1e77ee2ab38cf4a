"""Permissions first: search shows, counts, facets and suggests only what the user may open."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import AuditEvent, Case, Role, SearchDocument
from constituent.search import postgres
from constituent.search.compiler import scope_filter
from constituent.search.store import search_index
from constituent.services.permissions import Action, can, case_scope, case_search_scope
from tests import factories
from tests.search_support import build, case_numbers, page_text, reset_index

SECRET = "zqxvbrmlt"
NEAR_MISS = "zqxvbrmlx"  # one letter off: a spelling suggestion would give SECRET away


@pytest.fixture(autouse=True)
def clean_index(app, search_engine):
    reset_index(app)
    yield
    reset_index(app)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_compiled_search_scope_and_case_scope_select_exactly_the_same_cases(
    app, search_engine, seed
):
    rng = random.Random(seed)
    districts = [factories.gen_district(code) for code in ("NY-1", "NY-2", "NY-3")]
    category = factories.gen_category()
    users = []
    for i in range(24):
        role = rng.choice(list(Role))
        chosen = rng.sample(districts, rng.randint(0, 3))
        users.append(
            factories.gen_user(role, chosen, email=f"u{i}@rand.example", active=rng.random() > 0.1)
        )
    staff = [u for u in users if u.role in (Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR)]
    for _ in range(80):
        factories.gen_case(
            rng.choice(districts),
            category,
            confidential=rng.random() < 0.4,
            assignee=rng.choice(staff + [None]) if staff else None,
            opened_by=rng.choice(staff + [None]) if staff else None,
        )
    db.session.commit()
    build(app)
    if search_engine == "postgres":
        for user in users:
            for action in Action:
                by_sql = set(db.session.scalars(sa.select(Case.id).where(case_scope(user, action))))
                scope = postgres.scope_where(case_search_scope(user, action))
                by_rows = set(
                    db.session.scalars(
                        sa.select(SearchDocument.record_id).where(
                            SearchDocument.kind == "cases", scope
                        )
                    )
                )
                assert by_rows == by_sql, (user.role, action, user.district_ids)
        return
    with search_index(app).reading() as reading:
        searcher = reading.searcher("cases")
        for user in users:
            for action in Action:
                by_sql = set(db.session.scalars(sa.select(Case.id).where(case_scope(user, action))))
                by_index = {
                    int(searcher.stored_fields(d)["id"])
                    for d in searcher.docs_for_query(scope_filter(case_search_scope(user, action)))
                }
                assert by_index == by_sql, (user.role, action, user.district_ids)


def _confidential_probe_data(office):
    """A confidential case in district A assigned to another caseworker, holding SECRET, and
    an ordinary case everyone in district A may see that shares another word with it."""
    assigned = factories.gen_user(Role.CASEWORKER, [office.a], email="assigned@test.example")
    secret_case = factories.gen_case(
        office.a,
        office.category,
        confidential=True,
        assignee=assigned,
        opened_by=office.intake,
        subject="Shelter placement needed",
        description=f"Caller fleeing abuse; code word {SECRET} for the shelter intake.",
    )
    ordinary = factories.gen_case(
        office.a,
        office.category,
        opened_by=office.intake,
        assignee=office.caseworker,
        subject="Shelter heating bill",
        description="Heating assistance application.",
    )
    db.session.commit()
    return assigned, secret_case, ordinary


@pytest.mark.parametrize(
    "who", ["intake", "caseworker", "supervisor", "admin", "assigned", "other_caseworker"]
)
def test_a_confidential_cases_unique_word_is_found_only_by_those_who_may_open_it(
    app, client, office, who
):
    assigned, secret_case, ordinary = _confidential_probe_data(office)
    build(app)
    user = assigned if who == "assigned" else getattr(office, who)
    allowed = can(user, Action.VIEW, secret_case)
    assert allowed == (who in ("supervisor", "assigned"))
    client.login(user.email)

    page = client.get("/search/", query_string={"q": SECRET})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    if allowed:
        assert f"C-{secret_case.number}" in html
        assert f"<mark>{SECRET}</mark>" in html
    else:
        assert SECRET not in page_text(html).replace(f"Search: {SECRET}", "").replace(
            f'value="{SECRET}"', ""
        )
        assert f"C-{secret_case.number}" not in html
        assert "No cases you can open match this search." in html

    # Counts and facets of a word both cases share count only what the user may open.
    page = client.get("/search/", query_string={"q": "shelter"}).get_data(as_text=True)
    visible = {c for c in (secret_case, ordinary) if can(user, Action.VIEW, c)}
    expected = len(visible)
    if expected:
        assert f"{expected} {'case' if expected == 1 else 'cases'} found" in page
        assert f'<span class="app-facet__count">{expected}</span>' in page
    else:
        assert "No cases you can open match this search." in page
        assert "app-facet__count" not in page

    # No spelling suggestion leads to the confidential word.
    page = client.get("/search/", query_string={"q": NEAR_MISS}).get_data(as_text=True)
    if allowed:
        assert "Did you mean" in page and SECRET in page
    else:
        assert "Did you mean" not in page
        assert SECRET not in page


def test_legislators_get_no_case_search_and_no_search_box(client, office):
    client.login(office.legislator.email)
    assert client.get("/search/", query_string={"q": "pension"}).status_code == 403
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'id="header-search-box"' not in home
    client.logout()
    client.login(office.caseworker.email)
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'id="header-search-box"' in home


def test_counts_and_facets_leave_out_other_districts(app, client, office):
    for _ in range(3):
        factories.gen_case(office.a, office.category, subject="Passport delay in Albany")
    for _ in range(5):
        factories.gen_case(office.b, office.category, subject="Passport delay in Troy")
    db.session.commit()
    build(app)
    client.login(office.caseworker.email)  # district A only
    page = client.get("/search/", query_string={"q": "passport"}).get_data(as_text=True)
    assert "3 cases found" in page
    assert "NY-20" not in page  # district B appears nowhere, not even as a facet
    assert (
        case_numbers(office.other_caseworker, "passport")
        and len(case_numbers(office.other_caseworker, "passport")) == 5
    )


def test_constituents_are_listed_only_when_the_user_may_see_them(app, client, office):
    here = factories.gen_constituent(office.a, first="Ingrid", last="Ravensworth")
    nowhere = factories.gen_constituent(None, first="Ivo", last="Ravensworth")
    elsewhere = factories.gen_constituent(office.b, first="Iris", last="Ravensworth")
    with_case = factories.gen_constituent(office.b, first="Ines", last="Ravensworth")
    factories.gen_case(
        office.a, office.category, constituent=with_case, opened_by=office.caseworker
    )
    db.session.commit()
    build(app)
    client.login(office.caseworker.email)
    page = client.get("/search/", query_string={"q": "Ravensworth"}).get_data(as_text=True)
    assert "Ingrid Ravensworth" in page and "Ivo Ravensworth" in page
    assert "Ines Ravensworth" in page  # lives in B, but has a case the user may see
    assert "Iris Ravensworth" not in page
    assert here and nowhere and elsewhere


def test_listing_confidential_cases_with_their_text_is_audited(app, client, office):
    _assigned, secret_case, _ordinary = _confidential_probe_data(office)
    build(app)
    client.login(office.supervisor.email)
    client.get("/search/", query_string={"q": SECRET})
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "search_confidential_results")
    ).all()
    assert [e.user_id for e in events] == [office.supervisor.id]
    assert str(secret_case.number) in events[0].detail
    assert SECRET not in events[0].detail
