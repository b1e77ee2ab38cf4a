"""Agency email filed onto its case: the [Case #N] tag, the agency's response, the unfiled
queue and filing from it, attachments through the upload checks, and the bad-input batch
(malformed, truncated, binary, unknown case, a 30 MB attachment, an mbox broken in the
middle): each reported, good messages still filed, nothing filed twice or half-filed."""

from __future__ import annotations

import html
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    AgencyResponse,
    Attachment,
    AuditEvent,
    Case,
    CaseStatus,
    Channel,
    EventKind,
    InboundMessage,
    InboundStatus,
    ReferralMethod,
    ReferralStatus,
    ResponseOutcome,
    TimelineEvent,
)
from constituent.models.mail import AttachmentOutcome, InboundAttachment
from constituent.services import mail as mail_service
from constituent.services import referrals as referral_service
from constituent.services import tags, timeline
from constituent.services.mail import ImportOutcome, MailSource
from tests import factories
from tests.conftest import count
from tests.referral_helpers import gen_agency, gen_contact, gen_release

SSA_ADDRESS = "liaison@ssa.example.gov"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
    b"\x00\x00\x00\x90wS\xde\x00\x00\x00\x00IEND\xaeB`\x82"
)


def eml(
    subject: str = "Re: Congressional inquiry",
    body: str | None = "Thank you for your inquiry. The payment will be reissued.",
    *,
    sender: str = f"Dana Whitfield <{SSA_ADDRESS}>",
    html: str | None = None,
    attachments: list[tuple[bytes, str, str]] | None = None,
    message_id: str | None = None,
    sent_at: datetime | None = None,
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    """A saved message as a mail program writes it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "casework@office.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(sent_at or datetime.now(UTC) - timedelta(hours=2))
    msg["Message-ID"] = message_id or make_msgid(domain="ssa.example.gov")
    for name, value in (extra_headers or {}).items():
        msg[name] = value
    if body is not None:
        msg.set_content(body)
    if html is not None:
        if body is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    for data, filename, content_type in attachments or []:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def truncated_mime() -> bytes:
    """A multipart message cut off in the middle of its attachment (no closing boundary)."""
    whole = eml(
        "[Case #{n}] cut",
        "The text part is whole.",
        attachments=[(PDF * 40, "a.pdf", "application/pdf")],
    )
    return whole[: len(whole) - 400]


HEADERS_ONLY = (
    b"From: Dana Whitfield <liaison@ssa.example.gov>\nTo: casework@office.example\n"
    b"Subject: Re: [Case #1001] payment\nDate: Mon, 3 Mar 2025 10:00:00 -0500\n"
)
BINARY = bytes(range(256)) * 8


@pytest.fixture()
def setup(office):  # type: ignore[no-untyped-def]
    """A case of district A routed to SSA (release on file), and the SSA liaison."""
    return make_setup(office)


def make_setup(office):  # type: ignore[no-untyped-def]
    """The records of the ``setup`` fixture (other test modules build them too)."""
    ssa = gen_agency("Social Security Administration", "SSA")
    contact = gen_contact(ssa, "Dana Whitfield", email=SSA_ADDRESS)
    case = factories.gen_case(
        office.a,
        office.category,
        opened_by=office.caseworker,
        assignee=office.caseworker,
        status=CaseStatus.OPEN,
    )
    gen_release(case, [ssa])
    referral = referral_service.route_case(
        case,
        agency=ssa,
        contact=contact,
        method=ReferralMethod.EMAIL,
        sent_on=referral_service.office_today() - timedelta(days=10),
        due_on=None,
        reference_number=None,
        author=office.caseworker,
    )
    # These caseworkers work the unfiled queue: an administrator gave them mail triage.
    office.caseworker.mail_triage = True
    office.other_caseworker.mail_triage = True
    db.session.commit()
    return {"ssa": ssa, "contact": contact, "case": case, "referral": referral}


def tag(number: int) -> str:
    """This office's tag for the case, as outgoing letters carry it."""
    return tags.case_tag(number)


def tagged(case: Case, **kw) -> bytes:  # type: ignore[no-untyped-def]
    return eml(f"Re: Congressional inquiry {tag(case.number)}", **kw)


def upload(client, *files: tuple[bytes, str]):  # type: ignore[no-untyped-def]
    return client.form_post(
        "/mail/upload",
        {"files": [(io.BytesIO(data), name) for data, name in files]},
        token_from="/mail/",
        content_type="multipart/form-data",
    )


def email_events(case: Case) -> list[TimelineEvent]:
    return list(
        db.session.scalars(
            sa.select(TimelineEvent).where(
                TimelineEvent.case_id == case.id, TimelineEvent.kind == EventKind.EMAIL
            )
        )
    )


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return page_text_of(response.get_data(as_text=True))


# The tag, the timeline and the agency's response -----------------------------------------------


def test_a_tagged_message_from_the_agency_contact_is_filed_and_becomes_the_response(
    client, office, setup
):
    case, referral = setup["case"], setup["referral"]
    client.login(office.caseworker.email)
    response = upload(client, (tagged(case), "ssa-reply.eml"))
    assert response.status_code == 200
    text = page_text(response)
    assert f"Filed to case C-{case.number}." in text
    assert (
        "Recorded as the response to the referral to Social Security Administration (SSA)" in text
    )
    assert "1 message: 1 filed, 0 queued, 0 duplicate, 0 refused." in text

    message = db.session.scalar(sa.select(InboundMessage))
    assert message.status == InboundStatus.FILED and message.case_id == case.id
    assert message.referral_id == referral.id and message.imported_by_id == office.caseworker.id
    answer = db.session.scalar(sa.select(AgencyResponse))
    assert answer.referral_id == referral.id and answer.inbound_message_id == message.id
    assert answer.outcome == ResponseOutcome.PENDING and answer.channel == ReferralMethod.EMAIL
    assert "The payment will be reissued." in answer.body
    db.session.refresh(referral)
    assert referral.status == ReferralStatus.RESPONDED
    [event] = email_events(case)
    assert event.author_id == office.caseworker.id
    assert (
        "Recorded as the response to the referral to Social Security Administration" in event.body
    )
    assert event.data["inbound_message_id"] == message.id

    case_page = page_text(client.get(f"/cases/{case.id}"))
    assert "Email from Dana Whitfield <liaison@ssa.example.gov>" in case_page
    assert "The payment will be reissued." in case_page  # in the response entry
    detail = page_text(client.get(f"/mail/{message.id}"))
    assert "Filed" in detail and f"case C-{case.number}" in detail
    assert "response from Social Security Administration (SSA)" in detail


def test_a_sender_of_the_agencys_domain_counts_too(client, office, setup):
    case = setup["case"]
    client.login(office.caseworker.email)
    upload(
        client, (tagged(case, sender="Casework Unit <casework.unit@mail.ssa.example.gov>"), "a.eml")
    )
    assert count(AgencyResponse) == 1


def test_a_tagged_message_from_an_unknown_sender_is_an_email_only(client, office, setup):
    case, referral = setup["case"], setup["referral"]
    client.login(office.caseworker.email)
    text = page_text(
        upload(
            client,
            (
                tagged(
                    case,
                    sender="Someone <someone@elsewhere.example>",
                    body="A note about the case.",
                ),
                "other.eml",
            ),
        )
    )
    assert (
        f"Filed to case C-{case.number}." in text
        and "response"
        not in text.split("What happened to each message")[1]
        .split("Waiting to be filed")[0]
        .lower()
    )
    assert count(AgencyResponse) == 0
    db.session.refresh(referral)
    assert referral.status == ReferralStatus.SENT
    [event] = email_events(case)
    assert "A note about the case." in event.body


def test_webmail_domains_never_match_by_domain(client, office, setup):
    food = gen_agency("Regional Food Bank", None)
    gen_contact(food, "Patty Ng", email="foodbank.help@gmail.com")
    case = factories.gen_case(office.a, office.category, assignee=office.caseworker)
    referral_service.route_case(
        case,
        agency=food,
        contact=None,
        method=ReferralMethod.EMAIL,
        # A day back: the message below is dated two hours ago, which just after midnight in
        # the office is the day before, and a reply cannot predate the referral.
        sent_on=referral_service.office_today() - timedelta(days=1),
        due_on=None,
        reference_number=None,
        author=office.supervisor,
        override_reason="Urgent: food insecurity",
    )
    db.session.commit()
    client.login(office.caseworker.email)
    upload(client, (tagged(case, sender="A Stranger <stranger@gmail.com>"), "a.eml"))
    assert count(AgencyResponse) == 0
    upload(
        client,
        (
            tagged(case, sender="Patty Ng <foodbank.help@gmail.com>", body="We delivered a box."),
            "b.eml",
        ),
    )
    assert count(AgencyResponse) == 1


def test_the_tag_with_the_office_prefix_and_in_the_text(client, office, setup):
    case = setup["case"]
    other = factories.gen_case(office.a, office.category)
    db.session.commit()
    client.login(office.caseworker.email)
    text = page_text(
        upload(
            client,
            (eml(f"Inquiry {tag(other.number)}", sender="x@elsewhere.example"), "prefix.eml"),
            (
                eml(
                    "Your letter",
                    f"Regarding your letter {tag(case.number)}, see below.",
                    sender="x@elsewhere.example",
                ),
                "body.eml",
            ),
            (
                eml(
                    "Two cases",
                    f"{tag(case.number)} and {tag(other.number)}",
                    sender="x@elsewhere.example",
                ),
                "two.eml",
            ),
        )
    )
    assert f"Filed to case C-{other.number}." in text
    assert f"Filed to case C-{case.number}." in text
    assert (
        f"It names several cases in its text (C-{case.number}, C-{other.number}) and none "
        "in its subject: choose the case."
    ) in text
    assert [
        m.status for m in db.session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id))
    ] == [InboundStatus.FILED, InboundStatus.FILED, InboundStatus.UNFILED]


def test_a_message_sent_before_the_referral_is_not_its_response(client, office, setup):
    case = setup["case"]
    client.login(office.caseworker.email)
    old = datetime.now(UTC) - timedelta(days=40)
    text = page_text(upload(client, (tagged(case, sent_at=old), "old.eml")))
    assert "so it is not its response: filed as an email only" in text
    assert count(AgencyResponse) == 0 and len(email_events(case)) == 1


def test_a_closed_case_gets_the_email_on_its_timeline(client, office, setup):
    closed = factories.gen_case(office.a, office.category, status=CaseStatus.CLOSED)
    db.session.commit()
    client.login(office.caseworker.email)
    text = page_text(
        upload(
            client,
            (eml(f"{tag(closed.number)} late reply", sender="x@elsewhere.example"), "late.eml"),
        )
    )
    assert "The case is closed; the email is on its timeline." in text
    assert len(email_events(closed)) == 1


def test_an_html_only_message_is_turned_into_escaped_text(client, office, setup):
    case = setup["case"]
    html = (
        "<html><head><style>p {color: red}</style><script>alert('x')</script></head><body>"
        "<p>Dear office,</p><p>1 &lt; 2 &amp; <b>bold</b> &lt;img src=x onerror=alert(1)&gt;"
        "</p><img src=x onerror=alert(2)></body></html>"
    )
    client.login(office.caseworker.email)
    upload(
        client,
        (
            eml(f"{tag(case.number)} html", None, html=html, sender="x@elsewhere.example"),
            "html.eml",
        ),
    )
    message = db.session.scalar(sa.select(InboundMessage))
    assert message.body_text == "Dear office,\n\n1 < 2 & bold <img src=x onerror=alert(1)>"
    page = client.get(f"/mail/{message.id}").get_data(as_text=True)
    assert "1 &lt; 2 &amp; bold &lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page and "alert('x')" not in page and "color: red" not in page
    case_page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in case_page and "<img src=x" not in case_page


def test_a_plain_text_part_is_preferred_to_html(client, office, setup):
    case = setup["case"]
    client.login(office.caseworker.email)
    upload(
        client,
        (
            eml(
                f"{tag(case.number)} both",
                "Plain words.",
                html="<p>HTML words.</p>",
                sender="x@elsewhere.example",
            ),
            "both.eml",
        ),
    )
    assert db.session.scalar(sa.select(InboundMessage.body_text)) == "Plain words."


# The bad-input batch ---------------------------------------------------------------------------


def test_the_bad_input_batch_is_reported_message_by_message(client, office, setup, app):
    case = setup["case"]
    big_pdf = b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024) + b"\n%%EOF\n"
    batch = [
        (tagged(case, body="First good message."), "good-1.eml"),
        (HEADERS_ONLY, "headers-only.eml"),
        (truncated_mime().replace(b"{n}", str(case.number).encode()), "cut.eml"),
        (BINARY, "garbage.eml"),
        (b"", "empty.eml"),
        (eml(f"Re: {tag(99999)} who?", sender="x@elsewhere.example"), "unknown.eml"),
        (
            tagged(
                case,
                sender="x@elsewhere.example",
                body="Scan attached.",
                attachments=[
                    (big_pdf, "scan.pdf", "application/pdf"),
                    (PDF, "letter.pdf", "application/pdf"),
                    (
                        b"PK\x03\x04 not a pdf",
                        "form.docx",
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    ),
                ],
            ),
            "big.eml",
        ),
        (
            eml("No tag here", "Second good message, untagged.", sender="x@elsewhere.example"),
            "untagged.eml",
        ),
    ]
    client.login(office.caseworker.email)
    response = upload(client, *batch)
    assert response.status_code == 200
    text = page_text(response)
    assert "8 messages: 2 filed, 2 queued, 0 duplicate, 4 refused." in text
    rows = {
        name: line
        for name, line in re.findall(
            r"<th scope=\"row\"[^>]*>([^<]+)</th>(.*?)</tr>", response.get_data(as_text=True), re.S
        )
    }
    assert "Filed" in rows["good-1.eml"]
    assert "headers but no body" in rows["headers-only.eml"]
    assert "The message is cut off" in rows["cut.eml"]
    assert "binary data, not an email message" in rows["garbage.eml"]
    assert "The file is empty." in rows["empty.eml"]
    assert "It names case C-99999, which is not a case you can file onto." in page_text_of(
        rows["unknown.eml"]
    )
    big = page_text_of(rows["big.eml"])
    assert f"Filed to case C-{case.number}." in big
    assert "scan.pdf (11.0 MB): refused — it is 11.0 MB, over the 10 MB limit" in big
    assert "letter.pdf" in big and "kept" in big
    assert "form.docx" in big and "skipped — only PDF, PNG, JPEG, GIF, TIFF, HEIC" in big
    assert f"There is no case tag ({tag(1042)}) in its subject or text." in page_text_of(
        rows["untagged.eml"]
    )

    # Good messages filed whole; broken ones left nothing behind.
    assert count(InboundMessage) == 4
    kept = db.session.scalars(sa.select(Attachment)).all()
    assert [a.filename for a in kept] == ["letter.pdf"] and kept[0].case_id == case.id
    assert len(list(Path(app.config["UPLOAD_DIR"]).rglob("*"))) == 2  # one folder, one file
    notes = {n.filename: n for n in db.session.scalars(sa.select(InboundAttachment))}
    assert notes["scan.pdf"].outcome == AttachmentOutcome.REFUSED
    assert notes["scan.pdf"].attachment_id is None
    assert notes["form.docx"].outcome == AttachmentOutcome.SKIPPED
    assert len(email_events(case)) == 2

    # The same batch again: everything imported is a duplicate, nothing new is written.
    events, stored = count(TimelineEvent), count(Attachment)
    again = page_text(upload(client, *batch))
    assert "8 messages: 0 filed, 0 queued, 4 duplicate, 4 refused." in again
    assert f"and filed to case C-{case.number}: nothing was added." in again
    assert "it is waiting in the unfiled queue: nothing was added." in again
    assert (count(InboundMessage), count(TimelineEvent), count(Attachment)) == (4, events, stored)
    assert count(AgencyResponse) == 1


def page_text_of(markup: str) -> str:
    """What a reader sees: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_the_same_message_saved_twice_is_a_duplicate_by_message_id(client, office, setup):
    case = setup["case"]
    first = tagged(case, message_id="<reply-1@ssa.example.gov>")
    resaved = b"X-Saved-By: another mail program\n" + first
    client.login(office.caseworker.email)
    upload(client, (first, "a.eml"))
    text = page_text(upload(client, (resaved, "b.eml")))
    assert "(the same Message-ID)" in text
    assert count(InboundMessage) == 1 and len(email_events(case)) == 1


def test_a_message_that_fails_half_way_leaves_nothing_and_the_batch_goes_on(
    app, office, setup, monkeypatch
):
    case = setup["case"]
    real = timeline.add_event

    def failing(case_, kind, body="", *args, **kw):  # type: ignore[no-untyped-def]
        if "EXPLODE" in body:
            raise RuntimeError("disk on fire")
        return real(case_, kind, body, *args, **kw)

    monkeypatch.setattr(timeline, "add_event", failing)
    sources = [
        MailSource("1.eml", lambda: tagged(case, body="fine one", sender="x@elsewhere.example")),
        MailSource(
            "2.eml",
            lambda: tagged(
                case, body="EXPLODE", attachments=[(PDF, "kept-then-undone.pdf", "application/pdf")]
            ),
        ),
        MailSource("3.eml", lambda: tagged(case, body="fine two", sender="x@elsewhere.example")),
    ]
    report = mail_service.import_sources(sources, user=office.caseworker)
    db.session.commit()
    assert [m.outcome for m in report.messages] == [
        ImportOutcome.FILED,
        ImportOutcome.REFUSED,
        ImportOutcome.FILED,
    ]
    assert "unexpected error" in report.messages[1].detail
    assert count(InboundMessage) == 2 and count(AgencyResponse) == 0
    assert count(Attachment) == 0 and count(InboundAttachment) == 0
    assert not [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]
    db.session.refresh(setup["referral"])
    assert setup["referral"].status == ReferralStatus.SENT  # the response was rolled back
    assert [e.body.split("\n\n")[1] for e in email_events(case)] == ["fine one", "fine two"]


# The command line ------------------------------------------------------------------------------


def test_flask_mail_import_an_mbox_with_a_broken_message_in_the_middle(
    runner, office, setup, tmp_path
):
    case = setup["case"]
    good_1 = tagged(case, body="Good one.", sender="x@elsewhere.example")
    broken = truncated_mime().replace(b"{n}", str(case.number).encode())
    good_2 = tagged(case, body="Good two.")
    path = tmp_path / "agency.mbox"
    path.write_bytes(
        b"".join(
            b"From MAILER-DAEMON Mon Mar  3 10:00:00 2025\n"
            + m.replace(b"\nFrom ", b"\n>From ")
            + b"\n"
            for m in (good_1, broken, good_2)
        )
    )
    result = runner.invoke(args=["mail", "import", str(path)])
    assert result.exit_code == 1, result.output
    out = result.output
    assert f"[filed] agency.mbox, message 1 of 3: Filed to case C-{case.number}." in out
    assert "[refused] agency.mbox, message 2 of 3: The message is cut off" in out
    assert (
        f"[filed] agency.mbox, message 3 of 3: Filed to case C-{case.number}. Recorded as "
        "the response to the referral to Social Security Administration (SSA)"
    ) in out
    assert "3 messages: 2 filed, 0 queued, 0 duplicate, 1 refused." in out
    events = count(TimelineEvent)
    again = runner.invoke(args=["mail", "import", str(path)])
    assert "3 messages: 0 filed, 0 queued, 2 duplicate, 1 refused." in again.output
    assert count(TimelineEvent) == events and count(InboundMessage) == 2
    message = db.session.scalar(sa.select(InboundMessage).order_by(InboundMessage.id))
    assert message.imported_by_id is None


def test_flask_mail_import_a_folder(runner, office, setup, tmp_path):
    case = setup["case"]
    (tmp_path / "b.eml").write_bytes(eml("nothing to see", sender="x@elsewhere.example"))
    (tmp_path / "a.eml").write_bytes(tagged(case, attachments=[(PNG, "photo.png", "image/png")]))
    (tmp_path / "notes.txt").write_text("not mail")
    result = runner.invoke(args=["mail", "import", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.index("a.eml") < result.output.index("b.eml")
    assert "attachment photo.png: kept" in result.output
    assert "2 messages: 1 filed, 1 queued, 0 duplicate, 0 refused." in result.output
    [stored] = db.session.scalars(sa.select(Attachment)).all()
    assert stored.case_id == case.id and stored.uploaded_by_id is None
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(args=["mail", "import", str(empty)])
    assert result.exit_code == 1 and "There are no .eml files in" in result.output


# The unfiled queue -----------------------------------------------------------------------------


def queued(client, office, data: bytes, name: str = "q.eml") -> InboundMessage:  # type: ignore[no-untyped-def]
    client.login(office.caseworker.email)
    upload(client, (data, name))
    client.logout()
    return db.session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id.desc())).first()


def test_file_a_queued_message_by_its_case_number(client, office, setup):
    case = setup["case"]
    message = queued(client, office, eml("Your inquiry", "About Mrs. Example's payment."))
    client.login(office.caseworker.email)
    inbox = client.get("/mail/").get_data(as_text=True)
    assert f'id="m{message.id}-case_number"' in inbox and "Your inquiry" in inbox
    response = client.form_post(
        f"/mail/{message.id}/file",
        {f"m{message.id}-case_number": f"C-{case.number}"},
        token_from="/mail/",
    )
    assert response.status_code == 302 and response.location.endswith("/mail/")
    db.session.refresh(message)
    assert message.status == InboundStatus.FILED and message.case_id == case.id
    assert count(AgencyResponse) == 1  # from the SSA liaison, onto the case routed to SSA
    assert len(email_events(case)) == 1
    flashed = page_text(client.get("/mail/"))
    assert f"Filed “Your inquiry” to case C-{case.number}." in flashed
    assert "No messages are waiting" in flashed
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "mail_filed"))
    assert audit.user_id == office.caseworker.id and audit.record_id == str(message.id)


def test_filing_refuses_a_bad_or_unknown_number_beside_the_field(client, office, setup):
    message = queued(client, office, eml("Your inquiry", sender="x@elsewhere.example"))
    client.login(office.caseworker.email)
    field = f"m{message.id}-case_number"
    bad = client.form_post(f"/mail/{message.id}/file", {field: "banana"}, token_from="/mail/")
    assert bad.status_code == 422
    assert "Type a case number such as C-1042 or 1042." in page_text(bad)
    unknown = client.form_post(f"/mail/{message.id}/file", {field: "99999"}, token_from="/mail/")
    assert unknown.status_code == 422
    assert "There is no case C-99999 that you can file onto." in page_text(unknown)
    empty = client.form_post(f"/mail/{message.id}/file", {field: ""}, token_from="/mail/")
    assert empty.status_code == 422
    db.session.refresh(message)
    assert message.status == InboundStatus.UNFILED and count(TimelineEvent) == len(
        db.session.scalars(sa.select(TimelineEvent)).all()
    )


def test_suggestions_from_numbers_and_known_constituent_emails(client, office, setup):
    case = setup["case"]
    person = factories.gen_constituent(
        office.a, first="Rosa", last="Quinn", email="rosa.quinn@example.net"
    )
    hers = factories.gen_case(
        office.a, office.category, constituent=person, subject="Passport delayed"
    )
    elsewhere = factories.gen_case(office.b, office.category)
    db.session.commit()
    by_number = queued(
        client,
        office,
        eml(
            "Follow-up",
            f"Regarding case {case.number} and file #{elsewhere.number}.",
            sender="x@elsewhere.example",
        ),
        "n.eml",
    )
    by_email = queued(
        client,
        office,
        eml("Help please", "My passport is late.", sender="Rosa Quinn <Rosa.Quinn@example.net>"),
        "e.eml",
    )
    client.login(office.caseworker.email)
    inbox = client.get("/mail/").get_data(as_text=True)
    assert f'value="{case.number}"' in inbox and f"File to C-{case.number}" in inbox
    assert f"File to C-{hers.number}" in inbox and "Passport delayed" in inbox
    assert f"C-{elsewhere.number}" not in inbox  # not a case this caseworker may edit
    response = client.form_post(
        f"/mail/{by_email.id}/file",
        {f"m{by_email.id}-case_number": str(hers.number)},
        token_from="/mail/",
    )
    assert response.status_code == 302
    db.session.refresh(by_email)
    assert by_email.case_id == hers.id and by_number.status == InboundStatus.UNFILED


def test_open_a_new_case_from_a_queued_message(client, office, setup):
    person = factories.gen_constituent(office.a, first="Walter", last="Ames")
    db.session.commit()
    message = queued(
        client,
        office,
        eml(
            "Benefits question",
            "Mr. Ames asks about his benefits.",
            sender="x@elsewhere.example",
            attachments=[(PDF, "notice.pdf", "application/pdf")],
        ),
    )
    client.login(office.caseworker.email)
    url = f"/mail/{message.id}/new-case"
    form = client.get(url)
    assert form.status_code == 200 and 'value="Benefits question"' in form.get_data(as_text=True)
    found = client.form_post(
        url, {"action": "find", "last_name": "Ames", "subject": "Benefits question"}
    )
    assert f'value="{person.id}"' in found.get_data(as_text=True)
    missing = client.form_post(
        url, {"action": "open", "constituent_id": str(person.id), "subject": "Benefits question"}
    )
    assert missing.status_code == 422 and "Choose a category." in page_text(missing)
    assert count(Case) == 1
    response = client.form_post(
        url,
        {
            "action": "open",
            "constituent_id": str(person.id),
            "category_id": str(office.category.id),
            "subject": "Benefits question",
            "priority": "routine",
        },
    )
    assert response.status_code == 302
    case = db.session.scalar(sa.select(Case).where(Case.constituent_id == person.id))
    assert response.location.endswith(f"/cases/{case.id}")
    assert case.channel == Channel.EMAIL and case.opened_by_id == office.caseworker.id
    # The description is the message as read, the attachment named at its place.
    assert case.description == "Mr. Ames asks about his benefits.\n\n[attachment: notice.pdf]"
    db.session.refresh(message)
    assert message.status == InboundStatus.FILED and message.case_id == case.id
    [event] = email_events(case)
    assert "Mr. Ames asks about his benefits." in event.body and "notice.pdf (kept)" in event.body
    assert db.session.scalar(sa.select(Attachment.case_id)) == case.id


def test_open_a_new_case_with_a_new_constituent(client, office, setup):
    message = queued(
        client,
        office,
        eml("Housing", "I need help with my landlord.", sender="Ann Lee <ann.lee@example.net>"),
    )
    client.login(office.caseworker.email)
    url = f"/mail/{message.id}/new-case"
    assert 'value="ann.lee@example.net"' in client.get(url).get_data(as_text=True)
    response = client.form_post(
        url,
        {
            "action": "open",
            "constituent_id": "",
            "first_name": "Ann",
            "last_name": "Lee",
            "email": "ann.lee@example.net",
            "category_id": str(office.category.id),
            "subject": "Landlord problem",
            "priority": "routine",
        },
    )
    assert response.status_code == 302, page_text(response)
    case = db.session.scalar(sa.select(Case).where(Case.subject == "Landlord problem"))
    assert case.constituent.full_name == "Ann Lee"
    # The agency's own address is never offered as the constituent's.
    agency_message = queued(client, office, eml("From SSA", "About someone."), "s.eml")
    client.login(office.caseworker.email)
    page = client.get(f"/mail/{agency_message.id}/new-case").get_data(as_text=True)
    assert f'value="{SSA_ADDRESS}"' not in page and 'name="email" type="text" value=""' in page


def test_a_case_from_mail_takes_the_same_address_fields_as_intake(client, office, setup):
    """State (defaulted to the office's) and the unit line, from the macro intake uses."""
    from constituent.services import office as office_service

    office_service.save_settings(
        office_service.SettingsInput(
            name="Office of Elise Stefanik",
            legislator_name="Elise Stefanik",
            legislator_title="",
            body="us_house",
            state="NY",
            office_code="NY21",
            timezone="America/New_York",
        )
    )
    factories.gen_zip("12901", "NY-21")
    db.session.commit()
    message = queued(client, office, eml("Housing", "My landlord.", sender="a@example.net"))
    client.login(office.caseworker.email)
    url = f"/mail/{message.id}/new-case"
    page = client.get(url).get_data(as_text=True)
    intake = client.get("/intake/").get_data(as_text=True)

    def address_inputs(markup: str) -> list[str]:
        names = ("street", "street2", "city", "state", "zip5")
        return [m for m in re.findall(r'<input[^>]*name="(\w+)"', markup) if m in names]

    assert (
        address_inputs(page)
        == address_inputs(intake)
        == [
            "street",
            "street2",
            "city",
            "state",
            "zip5",
        ]
    )
    assert re.search(r'name="state"[^>]*value="NY"', page)
    response = client.form_post(
        url,
        {
            "action": "open",
            "constituent_id": "",
            "first_name": "Ann",
            "last_name": "Lee",
            "street": "12 Oak St",
            "street2": "Apt 4B",
            "city": "Plattsburgh",
            "state": "NY",
            "zip5": "12901-1234",
            "category_id": str(office.category.id),
            "subject": "Landlord problem",
            "priority": "routine",
        },
    )
    assert response.status_code == 302, page_text(response)
    person = db.session.scalar(
        sa.select(Case).where(Case.subject == "Landlord problem")
    ).constituent
    assert (person.street2, person.state, person.zip5, person.zip4) == (
        "Apt 4B",
        "NY",
        "12901",
        "1234",
    )


def test_a_case_from_mail_offers_outside_the_districts_for_a_split_zip(client, office, setup):
    factories.gen_zip("35016", "NY-21", "AL-05")  # one part served here, one not
    db.session.commit()
    message = queued(client, office, eml("Housing", "My landlord.", sender="a@example.net"))
    client.login(office.caseworker.email)
    url = f"/mail/{message.id}/new-case"
    page = client.form_post(url, {"action": "find", "zip5": "35016"}).get_data(as_text=True)
    assert "Outside this office" in page and "split between" in page


# Who may do what -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["intake", "legislator", "admin"])
def test_mail_is_casework_only(client, office, setup, role):
    message = queued(client, office, eml("x", sender="x@elsewhere.example"))
    client.login(getattr(office, role).email)
    assert client.get("/mail/").status_code == 403
    assert client.get(f"/mail/{message.id}").status_code == 403
    token = client.csrf_token("/")
    assert (
        client.post(
            f"/mail/{message.id}/file",
            data={"csrf_token": token, f"m{message.id}-case_number": "1"},
        ).status_code
        == 403
    )
    assert client.post("/mail/upload", data={"csrf_token": token}).status_code == 403


def test_a_caseworker_of_another_district_can_neither_file_onto_nor_see_the_case(
    client, office, setup
):
    case = setup["case"]
    data = tagged(case)
    client.login(office.other_caseworker.email)
    text = page_text(upload(client, (data, "a.eml")))
    assert f"It names case C-{case.number}, which is not a case you can file onto." in text
    message = db.session.scalar(sa.select(InboundMessage))
    assert message.status == InboundStatus.UNFILED
    refused = client.form_post(
        f"/mail/{message.id}/file",
        {f"m{message.id}-case_number": str(case.number)},
        token_from="/mail/",
    )
    assert refused.status_code == 422
    assert f"There is no case C-{case.number} that you can file onto." in page_text(refused)
    assert case.subject not in client.get("/mail/").get_data(as_text=True)
    client.logout()
    # A caseworker of the case's district files it; after that the message is theirs only.
    client.login(office.caseworker.email)
    inbox = client.get("/mail/").get_data(as_text=True)
    assert "which you can file it onto" in inbox and f'data-case="{case.number}"' in inbox
    client.form_post(
        f"/mail/{message.id}/file",
        {f"m{message.id}-case_number": str(case.number)},
        token_from="/mail/",
    )
    assert client.get(f"/mail/{message.id}").status_code == 200
    client.logout()
    client.login(office.other_caseworker.email)
    assert client.get(f"/mail/{message.id}").status_code == 404
    again = page_text(upload(client, (data, "a.eml")))
    # The report names no case beyond the message's own subject line.
    again = again.replace(tag(case.number), "")
    assert "Already imported on" in again and f"C-{case.number}" not in again


def test_confidential_cases_only_for_those_who_may_edit_them(client, office, setup):
    secret = factories.gen_case(
        office.a,
        office.category,
        confidential=True,
        subject="Protective order",
        assignee=office.supervisor,
    )
    db.session.commit()
    client.login(office.caseworker.email)
    text = page_text(
        upload(client, (eml(f"{tag(secret.number)} order", sender="x@elsewhere.example"), "c.eml"))
    )
    assert "which is not a case you can file onto" in text
    assert "Protective order" not in client.get("/mail/").get_data(as_text=True)
    message = db.session.scalar(sa.select(InboundMessage))
    client.logout()
    client.login(office.supervisor.email)
    assert "File to C-" + str(secret.number) in client.get("/mail/").get_data(as_text=True)
    client.form_post(
        f"/mail/{message.id}/file",
        {f"m{message.id}-case_number": str(secret.number)},
        token_from="/mail/",
    )
    db.session.refresh(message)
    assert message.case_id == secret.id
    before = count(AuditEvent)
    assert client.get(f"/mail/{message.id}").status_code == 200
    viewed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "confidential_case_viewed")
    ).all()
    assert count(AuditEvent) > before and viewed[-1].record_id == str(secret.number)
    client.logout()
    client.login(office.caseworker.email)
    assert client.get(f"/mail/{message.id}").status_code == 404


# Attachments -----------------------------------------------------------------------------------


def test_kept_attachments_download_from_the_message_and_the_case(client, office, setup):
    case = setup["case"]
    client.login(office.caseworker.email)
    upload(
        client,
        (
            tagged(
                case,
                sender="x@elsewhere.example",
                attachments=[
                    (PDF, "letter.pdf", "application/pdf"),
                    (b"\x00\x01", "data.bin", "application/octet-stream"),
                ],
            ),
            "a.eml",
        ),
    )
    message = db.session.scalar(sa.select(InboundMessage))
    kept = next(a for a in message.attachments if a.outcome == AttachmentOutcome.KEPT)
    page = client.get(f"/mail/{message.id}").get_data(as_text=True)
    assert f"/mail/{message.id}/attachments/{kept.id}" in page and "data.bin" in page
    download = client.get(f"/mail/{message.id}/attachments/{kept.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    via_case = client.get(f"/cases/{case.id}/attachments/{kept.attachment_id}")
    assert via_case.status_code == 200 and via_case.data == PDF
    skipped = next(a for a in message.attachments if a.outcome == AttachmentOutcome.SKIPPED)
    assert client.get(f"/mail/{message.id}/attachments/{skipped.id}").status_code == 404


def test_an_upload_of_nothing_is_refused_beside_the_field(client, office, setup):
    client.login(office.caseworker.email)
    response = client.form_post(
        "/mail/upload", {}, token_from="/mail/", content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "Choose one or more saved messages" in page_text(response)


def test_parse_refusals_name_the_problem():
    with pytest.raises(mail_service.MessageRefused, match="not an email message"):
        mail_service.parse_message(b"Hello, this is a text file.\nNot mail at all.\n")
    with pytest.raises(mail_service.MessageRefused, match="no sender"):
        mail_service.parse_message(b"Subject: hi\nDate: Mon, 3 Mar 2025 10:00:00 -0500\n\nhi\n")
    with pytest.raises(mail_service.MessageRefused, match="binary data"):
        mail_service.parse_message(b"%PDF-1.4\x00\x00\x00")


def test_an_upload_without_the_form_token_imports_nothing(client, office, setup):
    client.login(office.caseworker.email)
    client.get("/mail/")
    response = client.post(
        "/mail/upload",
        data={"csrf_token": "forged", "files": [(io.BytesIO(tagged(setup["case"])), "a.eml")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "The form expired. Reload the page and try again." in page_text(response)
    assert count(InboundMessage) == 0


def test_an_upload_over_the_page_limit_is_refused_whole(client, office, setup, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_UPLOAD_MAX_BYTES", 4 * 1024 * 1024)
    client.login(office.caseworker.email)
    big = tagged(
        setup["case"], attachments=[(PDF + b"0" * (5 * 1024 * 1024), "big.pdf", "application/pdf")]
    )
    response = upload(client, (big, "big.eml"))
    assert response.status_code == 413
    assert "larger than the 4 MB this page accepts at once" in page_text(response)
    assert count(InboundMessage) == 0


def test_the_new_case_form_survives_impossible_ids(client, office, setup):
    message = queued(client, office, eml("Help", "Please help.", sender="x@elsewhere.example"))
    client.login(office.caseworker.email)
    response = client.form_post(
        f"/mail/{message.id}/new-case",
        {
            "action": "open",
            "constituent_id": "9223372036854775808",
            "category_id": "9223372036854775808",
            "district_id": "-1",
            "subject": "Help",
        },
    )
    assert response.status_code == 422
    assert "Choose a category." in page_text(response)
    assert count(Case) == 1


def test_an_uploaded_mbox_is_split_into_its_messages(client, office, setup):
    case = setup["case"]
    box = b"".join(
        b"From MAILER-DAEMON Mon Mar  3 10:00:00 2025\n" + m + b"\n"
        for m in (
            tagged(case, body="First in the box.", sender="x@elsewhere.example"),
            eml("Untagged", "Second in the box.", sender="x@elsewhere.example"),
        )
    )
    client.login(office.caseworker.email)
    text = page_text(upload(client, (box, "export.mbox")))
    assert "2 messages: 1 filed, 1 queued, 0 duplicate, 0 refused." in text
    assert "export.mbox, message 1 of 2" in text and "export.mbox, message 2 of 2" in text


def test_the_case_timeline_links_a_filed_email_to_its_message(client, office, setup):
    case = setup["case"]
    client.login(office.caseworker.email)
    upload(
        client,
        (
            tagged(
                case,
                sender="Someone <someone@elsewhere.example>",
                body="Following up on my letter.",
            ),
            "f.eml",
        ),
    )
    message = db.session.scalar(sa.select(InboundMessage).where(InboundMessage.case_id == case.id))
    assert message is not None
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f'href="/mail/{message.id}"' in page
    opened = client.get(f"/mail/{message.id}")
    assert opened.status_code == 200
    assert "Following up on my letter." in opened.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["1²", "١٠٠١", "C-1²", "[Case #1²]", "𝟏𝟎𝟎𝟏", "1" * 41, "#-1"])
def test_any_string_in_the_filing_box_is_refused_beside_the_field_or_files(
    client, office, setup, typed
):
    message = queued(client, office, eml("Your inquiry", sender="x@elsewhere.example"))
    client.login(office.caseworker.email)
    field = f"m{message.id}-case_number"
    answer = client.form_post(f"/mail/{message.id}/file", {field: typed}, token_from="/mail/")
    assert answer.status_code == 422
    assert f'id="{field}-error"' in answer.get_data(as_text=True)
    db.session.refresh(message)
    assert message.status == InboundStatus.UNFILED


def test_the_filing_box_has_a_hint_not_a_placeholder(client, office, setup):
    message = queued(client, office, eml("Your inquiry", sender="x@elsewhere.example"))
    client.login(office.caseworker.email)
    page = client.get(f"/mail/{message.id}").get_data(as_text=True)
    name = f"m{message.id}-case_number"
    box = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
    assert "placeholder" not in box
    assert f'aria-describedby="{name}-hint"' in box
    assert "For example C-1042 or 1042" in page_text(client.get(f"/mail/{message.id}"))


def test_import_results_look_like_what_happened(client, office, setup):
    case = setup["case"]
    client.login(office.caseworker.email)

    def outcome(*files):  # type: ignore[no-untyped-def]
        page = upload(client, *files).get_data(as_text=True)
        box = re.search(
            r'<div class="usa-alert usa-alert--(\w+)[^"]*"[^>]*id="import-outcome".*?</p>',
            page,
            re.S,
        )
        return box.group(1), page_text_of(box.group(0))

    level, text = outcome((tagged(case, body="All good."), "good.eml"))
    assert level == "success" and "Every message is on its case." in text
    assert "1 message: 1 filed, 0 queued, 0 duplicate, 0 refused." in text
    level, text = outcome(
        (eml("No tag one", "a", sender="x@else.example"), "q1.eml"),
        (eml("No tag two", "b", sender="x@else.example"), "q2.eml"),
    )
    assert level == "warning" and "0 filed, 2 queued" in text
    assert "Imported in part: 2 waiting in the queue below for someone to file." in text
    level, text = outcome((b"", "empty.eml"), (BINARY, "garbage.eml"))
    assert level == "error" and "Nothing was imported: every message was refused" in text
    assert "2 messages: 0 filed, 0 queued, 0 duplicate, 2 refused." in text


def _office_file(kind: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
        if kind == "docm":
            archive.writestr("word/vbaProject.bin", b"\x00")
    return buffer.getvalue()


def test_attachments_are_kept_by_content_and_dangerous_ones_refused(client, office, setup):
    case = setup["case"]
    keep = [
        (PDF, "letter.pdf", "application/pdf"),
        (PNG, "photo.png", "image/png"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;" + b"\x00" * 8, "scan.gif", "image/gif"),
        (b"II*\x00\x08\x00\x00\x00" + b"\x00" * 16, "fax.tif", "image/tiff"),
        (
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 16,
            "i.heic",
            "image/heic",
        ),
        ("Claim notes: décision favorable.\n".encode(), "notes.txt", "text/plain"),
        (_office_file("docx"), "form.docx", "application/octet-stream"),
        (_office_file("xlsx"), "ledger.xlsx", "application/vnd.ms-excel"),
    ]
    refuse = [
        (b"<!DOCTYPE html><script>x()</script>", "page.html", "text/html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "logo.svg", "image/svg+xml"),
        (b"MZ\x90\x00" + b"\x00" * 64, "setup.exe", "application/octet-stream"),
        (b"<html><body>hi</body></html>", "renamed.pdf", "application/pdf"),
        (_office_file("docm"), "macro.docx", "application/octet-stream"),
    ]
    client.login(office.caseworker.email)
    upload(client, (tagged(case, body="Files.", attachments=keep + refuse), "files.eml"))
    message = db.session.scalar(sa.select(InboundMessage))
    notes = {a.filename: a for a in message.attachments}
    for _data, name, _type in keep:
        assert notes[name].outcome == AttachmentOutcome.KEPT, (name, notes[name].reason)
    for _data, name, _type in refuse:
        assert notes[name].outcome == AttachmentOutcome.REFUSED, name
    page = page_text(client.get(f"/mail/{message.id}"))
    assert "page.html (" in page and "a web page (HTML) is never kept" in page
    assert "an SVG picture is never kept" in page
    assert "a program or script is never kept" in page
    assert "an Office file with macros is never kept" in page
    kinds = {a.filename: a.content_type for a in db.session.scalars(sa.select(Attachment))}
    assert kinds["form.docx"].endswith("wordprocessingml.document")
    assert kinds["fax.tif"] == "image/tiff" and kinds["notes.txt"] == "text/plain"
    for name in ("notes.txt", "photo.png", "form.docx"):
        item = notes[name]
        download = client.get(f"/mail/{message.id}/attachments/{item.id}")
        assert download.status_code == 200
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_a_liaisons_untagged_reply_is_suggested_first_and_filed_in_one_click(client, office, setup):
    case, referral = setup["case"], setup["referral"]
    person = case.constituent
    other = factories.gen_case(office.a, office.category, subject="Medicare card lost")
    db.session.commit()
    reply = eml(
        "Re: your inquiry",
        f"We reviewed the file of {person.first_name} {person.last_name}; see also case "
        f"{other.number}. Payment follows.",
    )
    message = queued(client, office, reply)
    client.login(office.caseworker.email)
    page = client.get(f"/mail/{message.id}").get_data(as_text=True)
    buttons = re.findall(r'data-case="(\d+)">([^<]+)<', page)
    assert buttons[0] == (
        str(case.number),
        f"File as SSA’s response on C-{case.number}",
    )
    assert (str(other.number), f"File to C-{other.number}") in buttons
    why = page_text_of(page)
    assert "the sender is the liaison of its open referral to" in why
    assert f"it names {person.full_name}" in why
    # One click: the button's form as it is on the page.
    response = client.form_post(
        f"/mail/{message.id}/file",
        {f"m{message.id}-case_number": str(case.number), "back": "detail"},
        token_from=f"/mail/{message.id}",
    )
    assert response.status_code == 302
    db.session.refresh(message)
    db.session.refresh(referral)
    assert message.case_id == case.id and message.referral_id == referral.id
    assert referral.status == ReferralStatus.RESPONDED
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "mail_filed"))
    assert audit.user_id == office.caseworker.id and "as an agency response" in audit.detail


def test_suggestions_rank_and_never_offer_an_untrusted_tags_case(client, office, setup):
    case = setup["case"]
    phone_owner = factories.gen_constituent(
        office.a, first="Lena", last="Ortiz", phone="(518) 555-0177"
    )
    by_phone = factories.gen_case(
        office.a, office.category, constituent=phone_owner, subject="Heating assistance"
    )
    db.session.commit()
    message = queued(
        client,
        office,
        eml(
            f"Re: {tags.case_tag(case.number, 'PA07')}",
            "Please call 518-555-0177 about the heating assistance application.",
            sender="x@elsewhere.example",
        ),
    )
    client.login(office.caseworker.email)
    page = client.get(f"/mail/{message.id}").get_data(as_text=True)
    offered = re.findall(r'data-case="(\d+)"', page)
    assert offered[0] == str(by_phone.number)
    assert str(case.number) not in offered
    assert "it carries the constituent's phone number" in page_text_of(page)
