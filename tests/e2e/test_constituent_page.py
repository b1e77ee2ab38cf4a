"""The constituent page in Chromium (issue 14, item 5): the cases first, a new case for this
person that opens Log a call with them chosen, and the "add" forms folded until wanted."""

from __future__ import annotations

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import District
from tests import factories
from tests.e2e.conftest import SCREENSHOTS


def seed_person_with_cases(live_server) -> int:  # type: ignore[no-untyped-def]
    with live_server.app.app_context():
        district = db.session.scalar(sa.select(District).where(District.code == "NY-21"))
        person = factories.gen_constituent(
            district, first="Evangeline", last="Marchetti", phone="518-555-0142"
        )
        category = db.session.merge(live_server.office.category)
        for subject in ("Medicare card never arrived", "Passport renewal stuck"):
            factories.gen_case(district, category, constituent=person, subject=subject)
        db.session.commit()
        return person.id


def test_constituent_page_cases_first_new_case_and_folded_forms(ui, live_server):
    person_id = seed_person_with_cases(live_server)
    ui.login(live_server.office.caseworker.email)
    ui.goto(f"/constituents/{person_id}")
    page = ui.page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "constituent-page.png"), full_page=True)
    headings = page.locator("main h2").all_inner_texts()
    assert headings[0].startswith("Cases"), headings
    assert "Passport renewal stuck" in page.inner_text("main table")
    # The add forms are folded: their fields are hidden until the summary is opened.
    assert not page.is_visible("#value")
    page.click("summary:has-text('Add a phone or email')")
    assert page.is_visible("#value")
    ui.check()
    ui.click("a:has-text('New case for this person')")
    assert page.url.endswith(f"/intake/?constituent={person_id}")
    assert page.is_checked(f"#constituent-{person_id}")
    assert "Using the existing record of Evangeline Marchetti" in page.inner_text("#matches")
    assert page.evaluate("document.activeElement.id") == "category_id"
