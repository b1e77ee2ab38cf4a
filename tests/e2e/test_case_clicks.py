"""In Chromium, the issue's click counts: a referral to an agency that needs a privacy release
the case lacks, from the case page to the saved referral (recording the release on the way),
in at most 5 clicks; and any case opened by its number from any page in 1 click plus typing.
The referral form's contact list follows the agency (htmx)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyContact,
    AgencyLevel,
    Case,
    Category,
    Channel,
    District,
    Priority,
    Referral,
    RoutingRule,
    User,
)
from constituent.services import cases as case_service
from tests import factories

# The smallest file the upload check accepts as a PDF: the signature and an %%EOF trailer.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def report(line: str) -> None:
    """Print a figure, and append it to $CONSTITUENT_REPORT_DIR/ui.txt."""
    print(line)
    folder = Path(os.environ.get("CONSTITUENT_REPORT_DIR") or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "ui.txt").open("a", encoding="utf-8") as out:
        out.write(line + "\n")


class Clicks:
    """Counts what the user clicks (a file chosen counts as the click that opens the picker)."""

    def __init__(self, ui) -> None:  # type: ignore[no-untyped-def]
        self.ui, self.count = ui, 0

    def click(self, selector: str, navigates: bool = True) -> None:
        self.count += 1
        self.ui.click(selector, navigates=navigates)

    def choose_file(self, selector: str, name: str, content: bytes) -> None:
        self.count += 1
        self.ui.page.set_input_files(
            selector, files=[{"name": name, "mimeType": "application/pdf", "buffer": content}]
        )


def _routed_category(office) -> tuple[Category, Agency, AgencyContact]:  # type: ignore[no-untyped-def]
    """A category of its own that routes to a federal agency of its own: one the office
    catalog does not hold, since other browser tests share the database and load it."""
    category = db.session.scalar(sa.select(Category).where(Category.slug == "civil-service"))
    if category is None:
        category = factories.gen_category("Civil service")
    agency = db.session.scalar(sa.select(Agency).where(Agency.acronym == "RRB"))
    if agency is None:
        agency = Agency(
            name="Railroad Retirement Board",
            acronym="RRB",
            level=AgencyLevel.FEDERAL,
            expected_response_days=30,
        )
        db.session.add(agency)
        db.session.flush()
        db.session.add(AgencyContact(agency=agency, name="Lee Retirement", title="Liaison"))
        db.session.add(
            Agency(
                name="State Retirement System",
                acronym="NYSLRS",
                level=AgencyLevel.STATE,
                expected_response_days=20,
                contacts=[AgencyContact(name="Sam Pension", title="Liaison")],
            )
        )
        db.session.flush()
        db.session.add(RoutingRule(category=category, agency=agency, contact=agency.contacts[0]))
    return category, agency, agency.contacts[0]


def _case(office, category: Category) -> Case:  # type: ignore[no-untyped-def]
    caseworker = db.session.scalar(sa.select(User).where(User.email == office.caseworker.email))
    district = db.session.get(District, office.a.id)
    return case_service.open_case(
        constituent=factories.gen_constituent(district, first="Hal", last="Brennan"),
        header=case_service.CaseHeader(
            subject="Federal annuity not started",
            description="Retired in June; the RRB has not started the annuity.",
            category=category,
            priority=Priority.ROUTINE,
            confidential=False,
            district=district,
        ),
        channel=Channel.PHONE,
        release_needed=True,
        opened_by=caseworker,
        assignee=caseworker,
    )


@pytest.fixture()
def annuity_case(live_server) -> tuple[int, int, int, str]:  # type: ignore[no-untyped-def]
    """A new case routed to the RRB without a release: its id and number, the RRB's id, its liaison."""
    with live_server.app.app_context():
        category, agency, contact = _routed_category(live_server.office)
        case = _case(live_server.office, category)
        db.session.commit()
        return case.id, case.number, agency.id, contact.name


def test_refer_without_a_release_in_at_most_five_clicks(ui, live_server, annuity_case):
    office = live_server.office
    case_id, _, agency_id, contact_name = annuity_case
    ui.login(office.caseworker.email)
    ui.goto(f"/cases/{case_id}")
    page, clicks = ui.page, Clicks(ui)
    clicks.click("#referrals a:has-text('Refer to an agency')")
    # Said before submit, with the release form in place, its agency already ticked.
    assert "RRB needs a signed privacy release." in page.inner_text("#release-note")
    assert page.is_checked(
        f"#record-release-here input[name='relrec-agencies'][value='{agency_id}']"
    )
    assert page.get_attribute("#relrec-file", "required") is not None
    assert contact_name in page.inner_text("#contact option:checked")
    clicks.choose_file("#relrec-file", "release.pdf", PDF)
    clicks.click("#record-release-here button[type=submit]")
    assert "Signed privacy release recorded." in page.inner_text("main")
    assert page.url.endswith(f"/referrals/case/{case_id}/new?agency={agency_id}")
    assert page.inner_text("#release-note").strip() == ""
    clicks.click("button:has-text('Send referral')")
    assert "Referred to Railroad Retirement Board (RRB)" in page.inner_text("main")
    report(f"clicks to refer without a release: {clicks.count}")
    assert clicks.count <= 5
    with live_server.app.app_context():
        referral = db.session.scalar(sa.select(Referral).where(Referral.case_id == case_id))
        assert referral is not None and referral.agency_id == agency_id
        assert referral.override_reason is None


def test_contacts_follow_the_agency(ui, live_server, annuity_case):
    case_id = annuity_case[0]
    ui.login(live_server.office.caseworker.email)
    ui.goto(f"/referrals/case/{case_id}/new")
    page = ui.page
    assert not page.is_visible("button[name=refresh]")  # htmx does it: no extra button
    page.select_option("#agency", label="State Retirement System (NYSLRS) — State")
    page.wait_for_selector("#contact option:has-text('Sam Pension')", state="attached")
    options = page.eval_on_selector_all("#contact option", "os => os.map(o => o.textContent)")
    assert options == ["No particular contact", "NYSLRS — Sam Pension, Liaison"]
    page.wait_for_function("document.querySelector('#release-note').innerText.trim() === ''")
    ui.check()


def test_open_a_case_by_number_from_any_page(ui, live_server, annuity_case):
    case_id, number = annuity_case[0], annuity_case[1]
    ui.login(live_server.office.supervisor.email)
    for start in ("/my-work", "/cases/", "/referrals/overdue", f"/referrals/case/{case_id}/new"):
        ui.goto(start)
        clicks = Clicks(ui)
        ui.page.fill("#case-number-box", str(number))
        clicks.click("form.app-case-jump button[type=submit]")
        assert ui.page.url.endswith(f"/cases/{case_id}"), (start, ui.page.url)
        assert clicks.count == 1
    report(f"clicks to open a case by number: {clicks.count} + typing")
