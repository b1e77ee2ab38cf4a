"""Search in Chromium: a remembered phrase typed in the header box, a facet to narrow, the
case opened from its highlighted result; axe-core on every page visited."""

from __future__ import annotations

import time

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Category, District, SearchQueue, User
from constituent.search import indexer
from constituent.search.store import IndexBusy
from tests import factories


def _seed(live_server) -> dict[str, int]:
    """Three cases with the phrase staff remember, in two categories; the index brought up
    to date as the indexer thread would."""
    office = live_server.office
    app = live_server.app
    with app.app_context():
        # The migrations create the queue table; this keeps the test independent of them.
        SearchQueue.__table__.create(db.engine, checkfirst=True)
        district = db.session.get(District, office.a.id)
        social = db.session.get(Category, office.category.id)
        # Another browser test's demo seeding may already have made "Veterans".
        veterans = db.session.scalar(
            sa.select(Category).where(Category.name == "Veterans")
        ) or factories.gen_category("Veterans")
        worker = db.session.get(User, office.caseworker.id)
        ids = {}
        for key, category, subject in (
            ("pension", veterans, "VA pension stopped"),
            ("burial", veterans, "Burial honors paperwork"),
            ("survivor", social, "Survivor benefits delayed"),
        ):
            person = factories.gen_constituent(district, first="Edna", last=f"Whitlock{key}")
            case = factories.gen_case(
                district,
                category,
                constituent=person,
                subject=subject,
                assignee=worker,
                opened_by=worker,
                description=f"The pension stopped after her husband passed away in March "
                f"({key}); she has the death certificate <and> the award letter.",
            )
            ids[key] = case.id
        db.session.commit()
        deadline = time.monotonic() + 120
        while True:
            try:
                indexer.run_once(app, lock_timeout=30.0)
                break
            except IndexBusy:  # the server's own indexer thread got there first
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    return ids


def test_find_a_case_by_a_remembered_phrase_narrow_and_open_it(ui, live_server):
    ids = _seed(live_server)
    page = ui.page
    ui.login(live_server.office.caseworker.email)

    page.fill("#header-search-box", '"husband passed away"')
    with page.expect_navigation():
        page.press("#header-search-box", "Enter")
    ui.check()
    assert "/search/" in page.url
    assert "3 cases found" in page.inner_text("#main-content")
    marks = page.locator(".app-hit__passages mark").all_inner_texts()
    assert {m.lower() for m in marks} >= {"husband", "passed", "away"}
    # Case text is shown as text: the "<and>" in it is not markup.
    assert "<and>" in page.inner_text(".app-hits")

    ui.click(".app-facets a:has-text('Veterans')")
    assert "2 cases found" in page.inner_text("#main-content")
    assert "category:veterans" in page.input_value("#q")

    ui.click(".app-hit__title a:has-text('pension')")
    assert page.url.endswith(f"/cases/{ids['pension']}")
    assert "VA pension stopped" in page.inner_text("h1")


def test_a_bad_search_is_explained_beside_the_box(ui, live_server):
    ui.login(live_server.office.caseworker.email)
    ui.page.fill("#header-search-box", '"pension stopped')
    with ui.page.expect_navigation():
        ui.page.press("#header-search-box", "Enter")
    ui.check()
    assert "A quotation mark is not closed" in ui.page.inner_text(".usa-error-message")
