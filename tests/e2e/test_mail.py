"""In Chromium: a tagged .eml uploaded on the Incoming mail page lands on the right case's
timeline and as the response of its referral to SSA; an untagged one is filed from the queue
in two clicks (counted below); axe finds nothing on any page visited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyContact,
    AgencyLevel,
    AgencyResponse,
    Case,
    Category,
    Channel,
    District,
    EventKind,
    InboundMessage,
    InboundStatus,
    Priority,
    ReferralMethod,
    TimelineEvent,
    User,
)
from constituent.services import cases as case_service
from constituent.services import mail as mail_service
from constituent.services import referrals as referral_service
from constituent.services import tags
from tests import factories
from tests.referral_helpers import gen_release

LIAISON = "dana.whitfield@ssa.example"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _eml(subject: str, body: str, sender: str, attachment: bytes | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "casework@office.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC) - timedelta(hours=1))
    msg["Message-ID"] = make_msgid(domain="ssa.example")
    msg.set_content(body)
    if attachment is not None:
        msg.add_attachment(
            attachment, maintype="application", subtype="pdf", filename="ssa-letter.pdf"
        )
    return msg.as_bytes()


def _seed(live_server, subject: str, first: str, last: str) -> Case:  # type: ignore[no-untyped-def]
    """A case of district A assigned to the caseworker, who was given mail triage."""
    office = live_server.office
    district = db.session.get(District, office.a.id)
    caseworker = db.session.scalar(sa.select(User).where(User.email == office.caseworker.email))
    caseworker.mail_triage = True
    constituent = factories.gen_constituent(district, first=first, last=last)
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


def _ssa() -> tuple[Agency, AgencyContact]:
    agency = db.session.scalar(
        sa.select(Agency).where(Agency.name == "Social Security Administration")
    )
    if agency is None:
        agency = Agency(
            name="Social Security Administration",
            acronym="SSA",
            level=AgencyLevel.FEDERAL,
            expected_response_days=30,
        )
        db.session.add(agency)
        db.session.flush()
    contact = db.session.scalar(sa.select(AgencyContact).where(AgencyContact.email == LIAISON))
    if contact is None:
        contact = AgencyContact(
            agency=agency, name="Dana Whitfield", title="Liaison", email=LIAISON
        )
        db.session.add(contact)
        db.session.flush()
    return agency, contact


def test_upload_a_tagged_eml_and_find_it_on_the_case_and_as_the_response(ui, live_server):
    office = live_server.office
    with live_server.app.app_context():
        ssa, contact = _ssa()
        case = _seed(live_server, "Survivor benefit not paid", "Loretta", "Vance")
        gen_release(case, [ssa])
        caseworker = db.session.scalar(sa.select(User).where(User.email == office.caseworker.email))
        referral_service.route_case(
            case,
            agency=ssa,
            contact=contact,
            method=ReferralMethod.EMAIL,
            sent_on=referral_service.office_today() - timedelta(days=7),
            due_on=None,
            reference_number=None,
            author=caseworker,
        )
        db.session.commit()
        case_id, number = case.id, case.number
        tag = tags.case_tag(number)

    message = _eml(
        f"RE: Congressional inquiry {tag}",
        "Dear Representative Avery,\nThe survivor benefit was released today and "
        "will arrive within five business days.\nSSA Congressional Unit",
        f"Dana Whitfield <{LIAISON}>",
        attachment=PDF,
    )
    ui.login(office.caseworker.email)
    ui.click("nav a:has-text('Incoming mail')")
    ui.page.set_input_files(
        "#files", files=[{"name": "ssa-reply.eml", "mimeType": "message/rfc822", "buffer": message}]
    )
    ui.click("#import-mail")
    report = ui.page.inner_text("#import-report")
    assert "1 message: 1 filed, 0 queued, 0 duplicate, 0 refused." in report
    assert f"Filed to case C-{number}." in report
    assert (
        "Recorded as the response to the referral to Social Security Administration (SSA)" in report
    )
    assert "ssa-letter.pdf" in report and "kept" in report

    ui.click(f"#import-report a:has-text('Open case C-{number}')")
    assert ui.page.url.endswith(f"/cases/{case_id}")
    timeline = ui.page.inner_text("#timeline")
    assert f"Email from Dana Whitfield <{LIAISON}>" in timeline
    assert "The survivor benefit was released today" in timeline  # the response entry
    assert "ssa-letter.pdf (kept)" in timeline
    assert "RESPONDED" in ui.page.inner_text("#referrals").upper()

    ui.click("#referrals a:has-text('Pending')")
    assert "Response from Social Security Administration (SSA)" in ui.page.inner_text("h1")
    assert "The survivor benefit was released today" in ui.page.inner_text("main")
    with live_server.app.app_context():
        saved = db.session.scalar(
            sa.select(InboundMessage).where(InboundMessage.case_id == case_id)
        )
        response = db.session.scalar(
            sa.select(AgencyResponse).where(AgencyResponse.inbound_message_id == saved.id)
        )
        assert saved.status == InboundStatus.FILED and response is not None
        message_id = saved.id

    # The message page shows the text escaped and the kept attachment.
    ui.goto(f"/mail/{message_id}")
    assert "The survivor benefit was released today" in ui.page.inner_text(".app-mail-text")
    assert ui.page.locator("a:has-text('ssa-letter.pdf')").count() == 1


def test_file_an_untagged_message_from_the_queue_in_two_clicks(ui, live_server):
    office = live_server.office
    with live_server.app.app_context():
        case = _seed(live_server, "Medicare card never arrived", "Harold", "Okafor")
        db.session.commit()
        case_id, number = case.id, case.number
        report = mail_service.import_sources(
            [
                mail_service.MailSource(
                    "forwarded.eml",
                    lambda: _eml(
                        "Fwd: card replacement",
                        "The replacement card was mailed on Monday.",
                        "Benefits Desk <desk@agency.example>",
                    ),
                )
            ],
            user=None,
        )
        db.session.commit()
        message_id = report.messages[0].message.id
        assert report.messages[0].outcome == mail_service.ImportOutcome.QUEUED

    ui.login(office.caseworker.email)
    ui.goto("/mail/")
    row = ui.page.locator(f"#message-{message_id}")
    assert "There is no case tag (" in row.inner_text()

    clicks = 0
    # Click 1: into the row's case-number box; the number is then typed (keys, not clicks).
    ui.click(f"#m{message_id}-case_number", navigates=False)
    clicks += 1
    ui.page.keyboard.type(str(number))
    # Click 2: File.
    ui.click(f"#file-{message_id}")
    clicks += 1
    assert clicks <= 3
    assert f"Filed “Fwd: card replacement” to case C-{number}." in ui.page.inner_text("main")
    assert ui.page.locator(f"#message-{message_id}").count() == 0

    ui.goto(f"/cases/{case_id}")
    assert "The replacement card was mailed on Monday." in ui.page.inner_text("#timeline")
    with live_server.app.app_context():
        events = db.session.scalars(
            sa.select(TimelineEvent).where(
                TimelineEvent.case_id == case_id, TimelineEvent.kind == EventKind.EMAIL
            )
        ).all()
        assert len(events) == 1


def test_the_message_page_and_the_new_case_form_of_a_queued_message(ui, live_server):
    office = live_server.office
    with live_server.app.app_context():
        report = mail_service.import_sources(
            [
                mail_service.MailSource(
                    "q.eml",
                    lambda: _eml(
                        "Question about my pension",
                        "<b>Please</b> call me about my pension.",
                        "Evelyn Marsh <evelyn.marsh@example.net>",
                    ),
                )
            ],
            user=None,
        )
        db.session.commit()
        message_id = report.messages[0].message.id

    ui.login(office.supervisor.email)
    ui.goto(f"/mail/{message_id}")
    assert "<b>Please</b> call me about my pension." in ui.page.inner_text(".app-mail-text")
    ui.click("a:has-text('Open a new case')")
    assert ui.page.input_value("#email") == "evelyn.marsh@example.net"
    ui.page.fill("#first_name", "Evelyn")
    ui.page.fill("#last_name", "Marsh")
    ui.page.select_option("#category_id", label="Social Security")
    ui.click("#open-case")
    assert "opened for Evelyn Marsh, with the email on its timeline" in ui.page.inner_text("main")
    assert "<b>Please</b> call me about my pension." in ui.page.inner_text("#timeline")


def test_the_liaisons_untagged_reply_is_filed_as_the_response_in_one_click(ui, live_server):
    office = live_server.office
    with live_server.app.app_context():
        ssa, contact = _ssa()
        case = _seed(live_server, "Disability appeal hearing date", "Ottilie", "Brandvold")
        gen_release(case, [ssa])
        caseworker = db.session.scalar(sa.select(User).where(User.email == office.caseworker.email))
        referral_service.route_case(
            case,
            agency=ssa,
            contact=contact,
            method=ReferralMethod.EMAIL,
            sent_on=referral_service.office_today() - timedelta(days=5),
            due_on=None,
            reference_number=None,
            author=caseworker,
        )
        db.session.commit()
        number = case.number
        report = mail_service.import_sources(
            [
                mail_service.MailSource(
                    "reply.eml",
                    lambda: _eml(
                        "RE: your inquiry",
                        "The hearing for Ottilie Brandvold is set for the 14th.",
                        f"Dana Whitfield <{LIAISON}>",
                    ),
                )
            ],
            user=None,
        )
        db.session.commit()
        message_id = report.messages[0].message.id

    ui.login(office.caseworker.email)
    ui.goto("/mail/")
    button = ui.page.locator(f"#message-{message_id} button[data-case='{number}']")
    assert button.inner_text().startswith(f"File as SSA’s response on C-{number}")
    ui.click(f"#message-{message_id} button[data-case='{number}']")  # the one click
    main = ui.page.inner_text("main")
    assert f"Filed “RE: your inquiry” to case C-{number}." in main
    assert "Recorded as the response to the referral to Social Security Administration" in main
