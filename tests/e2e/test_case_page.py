"""The case page in Chromium: add a note, assign, record a privacy release with an upload,
close with an outcome and reopen with a reason; axe-core on every page visited."""

from __future__ import annotations

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyLevel,
    Case,
    Category,
    Channel,
    District,
    Priority,
    User,
)
from constituent.services import cases as case_service
from constituent.views.helpers import local_today
from tests import factories
from tests.case_helpers import png_bytes


def make_case(live_server) -> tuple[int, int, str]:
    """A fresh case opened by intake in district A; returns (id, number, signed-on date)."""
    office = live_server.office
    with live_server.app.app_context():
        district = db.session.get(District, office.a.id)
        if db.session.scalar(sa.select(Agency).where(Agency.acronym == "SSA")) is None:
            db.session.add(
                Agency(
                    name="Social Security Administration", acronym="SSA", level=AgencyLevel.FEDERAL
                )
            )
        case = case_service.open_case(
            constituent=factories.gen_constituent(district, first="Rosa", last="Delgado"),
            header=case_service.CaseHeader(
                subject="Survivor benefits not received",
                description="Husband died in March; survivor benefit application filed in April, "
                "no payment or letter since.",
                category=db.session.get(Category, office.category.id),
                priority=Priority.EXPEDITE,
                confidential=False,
                district=district,
            ),
            channel=Channel.PHONE,
            release_needed=True,
            opened_by=db.session.get(User, office.intake.id),
        )
        db.session.commit()
        return case.id, case.number, local_today().isoformat()


def test_work_a_case_from_note_to_reopening(ui, live_server, tmp_path):
    case_id, number, today = make_case(live_server)
    office = live_server.office
    page = ui.page
    ui.login(office.supervisor.email)

    # Open the case from the number box in the header.
    page.fill("#case-number-box", f"c{number}")
    with page.expect_navigation():
        page.press("#case-number-box", "Enter")
    ui.check()
    assert page.url.endswith(f"/cases/{case_id}")
    assert "Survivor benefits not received" in page.inner_text("h1")
    assert "Needed" in page.inner_text(".app-facts")

    # A note in one step.
    page.select_option("#entry-kind", "call")
    page.fill("#entry-body", "Called SSA: the application is pending a death certificate.")
    ui.click("#add-entry button[type=submit]")
    timeline = page.inner_text("#timeline")
    assert "Called SSA: the application is pending a death certificate." in timeline
    assert office.supervisor.full_name in timeline

    # Assign it.
    page.click("#assign summary")  # the action groups are folded but for the timeline
    page.select_option("#assign-assignee", str(office.caseworker.id))
    ui.click("#assign button[type=submit]")
    assert office.caseworker.full_name in page.inner_text(".app-facts")
    assert f"Assigned to {office.caseworker.full_name}." in page.inner_text("#timeline")

    # Record the signed privacy release with its scan.
    scan = tmp_path / "signed-release.png"
    scan.write_bytes(png_bytes())
    page.click("text=Record a signed release")
    page.fill("#relrec-signed_on", today)
    page.select_option("#relrec-signature_method", "wet")
    page.check("label:has-text('Social Security Administration')")
    page.set_input_files("#relrec-file", str(scan))
    ui.check()
    ui.click("form[action$='/release/received'] button[type=submit]")
    assert "Received" in page.inner_text(".app-facts")
    release = page.inner_text("#release")
    assert "Covers: Social Security Administration (SSA)" in release
    assert page.locator("#release a", has_text="Download the signed form").count() == 1

    # Closing without an outcome is refused beside the field, then closed with one.
    page.click("#change-status summary")
    page.select_option("#status-status", "closed")
    ui.click("#change-status button[type=submit]")
    assert "Choose the outcome to close the case." in page.inner_text("#change-status")
    page.select_option("#status-status", "closed")
    page.select_option("#status-outcome", "assisted")
    page.fill("#status-note", "Survivor benefit approved; back payment issued.")
    ui.click("#change-status button[type=submit]")
    assert "closed" in page.inner_text(".app-case-head__tags").lower()
    assert "Outcome: Assisted / favorable" in page.inner_text(".app-case-head")

    # Reopen with a reason.
    page.click("#reopen summary")
    page.fill("#reopen-reason", "The monthly payment did not start.")
    ui.click("#reopen button[type=submit]")
    assert "open" in page.inner_text(".app-case-head__tags").lower()
    assert "Reopened: The monthly payment did not start." in page.inner_text("#timeline")

    # The header edit form and the case list.
    ui.goto(f"/cases/{case_id}/edit")
    ui.goto("/cases/?status=&sort=newest")
    assert f"C-{number}" in page.inner_text("table")

    with live_server.app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status.value == "open" and case.closed_at is None
        assert len(case.intervals) == 2

    # The new assignee finds the notice on My Work.
    ui.logout()
    ui.login(office.caseworker.email)
    assert page.url.endswith("/my-work")
    notices = page.inner_text("#notifications-heading + ul")
    assert f"Case C-{number} was assigned to you" in notices
    assert f"C-{number}" in page.inner_text("#my-cases-heading ~ div")


def test_unknown_case_number_says_so(ui, live_server):
    ui.login(live_server.office.caseworker.email)
    ui.page.fill("#case-number-box", "C-987654")
    with ui.page.expect_navigation():
        ui.page.press("#case-number-box", "Enter")
    ui.check()
    assert "There is no case C-987654 that you can open" in ui.page.inner_text("main")
