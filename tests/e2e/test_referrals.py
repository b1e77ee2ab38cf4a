"""In Chromium: a case routed to SSA without a privacy release is refused with the reason;
the release is recorded on the case page; the referral goes out, the agency's answer is
recorded and the case moves on. Then the overdue queue and the response-time table."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyContact,
    AgencyLevel,
    Case,
    CaseStatus,
    Category,
    Channel,
    District,
    Priority,
    Referral,
    ReferralStatus,
    User,
)
from constituent.services import cases as case_service
from constituent.services import referrals as referral_service
from tests import factories

# The smallest file the upload check accepts as a PDF: the signature and an %%EOF trailer.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _agency(name: str, acronym: str, level: AgencyLevel = AgencyLevel.FEDERAL) -> Agency:
    """The agency by name (other browser tests may have created it), with a contact."""
    agency = db.session.scalar(sa.select(Agency).where(Agency.name == name))
    if agency is None:
        agency = Agency(name=name, acronym=acronym, level=level, expected_response_days=30)
        db.session.add(agency)
        db.session.flush()
    # Other browser tests (the demo seeding of the summaries test) may have given the agency
    # other liaisons: make sure the one this test picks exists.
    if not any(c.active and c.name == "Pat Liaison" for c in agency.contacts):
        db.session.add(
            AgencyContact(
                agency=agency,
                name="Pat Liaison",
                title="Liaison",
                email=f"liaison@{acronym.lower()}.example",
            )
        )
    return agency


def _open_case(live_server, subject: str, assignee_email: str) -> Case:  # type: ignore[no-untyped-def]
    office = live_server.office
    district = db.session.get(District, office.a.id)
    caseworker = db.session.scalar(sa.select(User).where(User.email == assignee_email))
    constituent = factories.gen_constituent(district, first="Dolores", last="Whitfield")
    return case_service.open_case(
        constituent=constituent,
        header=case_service.CaseHeader(
            subject=subject,
            description="Retirement payment stopped after a change of address.",
            category=db.session.get(Category, office.category.id),
            priority=Priority.ROUTINE,
            confidential=False,
            district=district,
        ),
        channel=Channel.PHONE,
        release_needed=True,
        opened_by=caseworker,
        assignee=caseworker,
    )


def test_route_to_ssa_needs_the_release_then_response_moves_the_case_on(ui, live_server):
    office = live_server.office
    with live_server.app.app_context():
        _agency("Social Security Administration", "SSA")
        case = _open_case(live_server, "Retirement check stopped", office.caseworker.email)
        db.session.commit()
        case_id, today = case.id, referral_service.office_today()

    ui.login(office.caseworker.email)
    ui.goto(f"/cases/{case_id}")
    ui.click("#referrals a:has-text('Refer to an agency')")
    ui.page.select_option("#agency", label="Social Security Administration (SSA) — Federal")
    ui.click("button:has-text('Send referral')")
    problem = ui.page.inner_text("#release-problem")
    assert problem == (
        "No signed privacy release covers Social Security Administration (SSA): "
        "no privacy release has been requested for this case."
    )
    assert "Not sent: privacy release missing" in ui.page.inner_text("main")

    # Record the signed release through the case page's release form.
    ui.goto(f"/cases/{case_id}")
    ui.page.click("summary:has-text('Record a signed release')")
    ui.page.fill("#relrec-signed_on", today.isoformat())
    # The agencies of the case's referrals and of the routing suggestion come ticked.
    ui.page.locator(
        "#release-actions label.usa-checkbox__label",
        has_text="Social Security Administration (SSA)",
    ).check()
    ui.page.set_input_files(
        "#relrec-file",
        files=[{"name": "release.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    ui.click("button:has-text('Record signed release')")
    assert "covering SSA" in ui.page.inner_text("#timeline")

    # Now the referral goes through.
    ui.click("#referrals a:has-text('Refer to an agency')")
    ui.page.select_option("#agency", label="Social Security Administration (SSA) — Federal")
    ui.page.select_option("#contact", label="SSA — Pat Liaison, Liaison")
    ui.page.fill("#reference_number", "SSA-2025-0412")
    ui.click("button:has-text('Send referral')")
    assert "Referred to Social Security Administration (SSA)" in ui.page.inner_text("main")
    panel = ui.page.inner_text("#referrals")
    assert "SSA" in panel and "Sent" in panel
    with live_server.app.app_context():
        assert db.session.get(Case, case_id).status == CaseStatus.WAITING_ON_AGENCY

    # The referral page, then the agency's answer.
    ui.click("#referrals a:has-text('SSA')")
    assert "SSA-2025-0412" in ui.page.inner_text("main")
    ui.click("a:has-text('Record the agency’s response')")
    ui.page.select_option("#channel", "letter")
    ui.page.select_option("#outcome", "resolved")
    ui.page.fill(
        "#body",
        "Dear Representative Avery,\nPayments resume on the 3rd of next "
        "month, with the missed amount.\nSincerely, SSA Congressional Unit",
    )
    ui.click("button:has-text('Record the response')")
    assert "the usual next status is resolved" in ui.page.inner_text("main")
    assert ui.page.input_value("#status") == "resolved"
    ui.click("#move-case")
    assert "Case moved to resolved." in ui.page.inner_text("main")
    assert "Payments resume on the 3rd" in ui.page.inner_text("#timeline")
    assert "RESPONDED" in ui.page.inner_text("#referrals").upper()
    with live_server.app.app_context():
        assert db.session.get(Case, case_id).status == CaseStatus.RESOLVED
        referral = db.session.scalar(sa.select(Referral).where(Referral.case_id == case_id))
        assert referral.status == ReferralStatus.RESPONDED


def test_overdue_queue_second_inquiry_and_response_times(ui, live_server):
    office = live_server.office
    with live_server.app.app_context():
        agency = _agency("Department of Motor Vehicles", "DMV", AgencyLevel.STATE)
        case = _open_case(live_server, "Licence suspended in error", office.supervisor.email)
        today = referral_service.office_today()
        supervisor = db.session.scalar(sa.select(User).where(User.email == office.supervisor.email))
        referral = referral_service.route_case(
            case,
            agency=agency,
            contact=None,
            method=referral_service.ReferralMethod.EMAIL,
            sent_on=today - timedelta(days=40),
            due_on=today - timedelta(days=12),
            reference_number=None,
            author=supervisor,
        )
        db.session.commit()
        referral_id = referral.id

    ui.login(office.supervisor.email)
    ui.goto("/")
    assert "My overdue referrals" in ui.page.inner_text("main")
    assert "Licence suspended in error" in ui.page.inner_text("#my-overdue-referrals")
    ui.goto("/referrals/overdue")
    row = ui.page.locator("tbody tr", has_text="Licence suspended in error")
    assert row.locator("td").first.inner_text() == "12"
    ui.page.select_option("#filter-agency", label="Department of Motor Vehicles (DMV)")
    ui.click("button:has-text('Filter')")
    assert "matching the filters" in ui.page.inner_text("main")
    ui.click(f"form[action='/referrals/{referral_id}/second-inquiry'] button")
    assert "Inquiry to Department of Motor Vehicles (DMV) recorded" in ui.page.inner_text("main")
    assert "Licence suspended in error" not in ui.page.inner_text("main")
    with live_server.app.app_context():
        saved = db.session.get(Referral, referral_id)
        assert saved.inquiry_count == 2 and saved.due_on > today

    ui.goto(f"/referrals/{referral_id}")
    assert "2, the last on" in ui.page.inner_text("main")

    ui.goto("/referrals/response-times")
    assert "Department of Motor Vehicles (DMV)" in ui.page.inner_text("table")
    ui.click("th a:has-text('Median days')")
    assert ui.page.get_attribute("th[aria-sort]", "aria-sort") == "descending"
