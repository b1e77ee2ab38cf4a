"""Every word of a message kept, in order: all text parts, pictures at their place, forwarded
messages quoted (and their tags found), damaged structure salvaged and said so, "cut off"
only for a file that truly ends mid-part, charsets read as browsers read them, and mail bombs
refused with a reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import InboundMessage, InboundStatus
from constituent.services import mail as mail_service
from constituent.services import tags
from tests.test_mail import eml, make_setup, page_text, upload

CORPUS = Path(__file__).parent / "data" / "mail"
C1 = re.compile("[\x80-\x9f]")


@pytest.fixture()
def setup(office):  # type: ignore[no-untyped-def]
    """A case of district A routed to SSA, and mail triage for the caseworkers."""
    return make_setup(office)


def imported(client, office, *files: tuple[bytes, str]) -> tuple[str, list[InboundMessage]]:  # type: ignore[no-untyped-def]
    client.login(office.caseworker.email)
    report = page_text(upload(client, *files))
    messages = list(db.session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id)))
    return report, messages


def shown(client, message: InboundMessage) -> str:  # type: ignore[no-untyped-def]
    return page_text(client.get(f"/mail/{message.id}"))


def sample(name: str) -> tuple[bytes, str]:
    return (CORPUS / name).read_bytes(), name


def test_every_text_part_of_a_mixed_message_is_shown_in_order(client, office, setup):
    _report, [message] = imported(client, office, sample("own-five-text-parts.eml"))
    page = shown(client, message)
    notes = ["First note", "Second note", "notice.pdf", "Third note", "Fourth note", "Fifth note"]
    places = [page.index(n, page.index("Text")) for n in notes]
    assert places == sorted(places)
    assert "6 of 6 parts shown." in page


def test_text_after_an_inline_picture_is_kept_and_the_picture_is_an_attachment(
    client, office, setup
):
    _report, [message] = imported(client, office, sample("own-inline-picture.eml"))
    text = message.body_text
    assert text.index("Text before") < text.index("[picture: mailbox.png]")
    assert text.index("[picture: mailbox.png]") < text.index("Text after the photograph")
    [picture] = message.attachments
    assert picture.filename == "mailbox.png" and picture.outcome.value == "kept"


def test_a_forward_is_quoted_with_its_headers_and_its_tag_files_the_message(client, office, setup):
    case = setup["case"]
    inner = eml(f"Re: Congressional inquiry {tags.case_tag(case.number)}", "Inner words here.")
    outer = (
        b"From: Office Manager <manager@ssa.example.gov>\nTo: casework@office.example\n"
        b"Subject: Fwd: the reply you wanted\nDate: Tue, 10 Nov 2026 09:00:00 -0500\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b"\n\n--b\n'
        b"Content-Type: text/plain\n\nSee the reply below.\n--b\nContent-Type: message/rfc822\n\n"
        + inner
        + b"\n--b--\n"
    )
    report, [message] = imported(client, office, (outer, "fwd.eml"))
    assert f"Filed to case C-{case.number}." in report
    text = message.body_text
    assert "See the reply below." in text and "Inner words here." in text
    assert "---------- Forwarded message ----------" in text
    assert "From: Dana Whitfield <liaison@ssa.example.gov>" in text
    assert f"Subject: Re: Congressional inquiry {tags.case_tag(case.number)}" in text
    assert "1 forwarded message quoted in the text." in shown(client, message)


def test_a_digest_shows_every_message(client, office, setup):
    _report, [message] = imported(client, office, sample("own-digest.eml"))
    page = shown(client, message)
    for word in ("Zanzibar", "Quetzal", "Ptarmigan", "Subject: Digest item 3"):
        assert word in page
    assert "The message has no text" not in page


@pytest.mark.parametrize(
    "name,words",
    [
        ("own-boundary-missing.eml", "Ombudsman Fairweather answered"),
        ("own-boundary-wrong.eml", "Inspector Delacroix confirmed"),
        ("own-boundary-never-closed.eml", "Commissioner Okonkwo is whole"),
        ("own-bad-base64.eml", "Benefits for Rosalind Ferreira resume"),
    ],
)
def test_damaged_structure_is_shown_as_received_and_said_so(client, office, setup, name, words):
    report, [message] = imported(client, office, sample(name))
    assert "cut off" not in report and "1 queued" in report
    page = shown(client, message)
    assert words in page
    assert "Structure damaged: shown as received." in page
    assert "--actual" not in page and "Content-Type" not in page
    assert "Structure damaged: shown as received" in page_text(client.get("/mail/"))


def test_only_a_file_that_truly_ends_mid_part_is_cut_off(client, office, setup):
    whole = eml(
        "Scan",
        "The text is whole.",
        attachments=[(b"%PDF-1.4\n" * 400, "a.pdf", "application/pdf")],
    )
    report, messages = imported(client, office, (whole[:-300], "cut.eml"))
    assert "The message is cut off: the file ends in the middle of a part" in report
    assert messages == []


def test_iso_8859_1_with_0x92_reads_as_windows_1252(client, office, setup):
    _report, [message] = imported(client, office, sample("own-latin1-0x92.eml"))
    assert message.body_text == "The agency’s answer for Beatrix O’Shaughnessy: approved."
    assert not C1.search(client.get(f"/mail/{message.id}").get_data(as_text=True))


def test_an_unknown_charset_is_read_by_content_with_a_notice(client, office, setup):
    _report, [message] = imported(client, office, sample("own-charset-unknown.eml"))
    page = shown(client, message)
    assert "Résumé for Anaïs Delacroix-Müller attached." in page
    assert "names the character set “x-unheard-of”, which is unknown: it was read as UTF-8" in page
    latin = (
        b"From: a@b.example\nSubject: x\nContent-Type: text/plain; charset=klingon\n\n"
        b"Fran\xe7ois \x93quoted\x94 \x81\n"
    )
    _report, messages = imported(client, office, (latin, "klingon.eml"))
    text = messages[-1].body_text
    assert text == "François “quoted” \ufffd" and not C1.search(text)


def test_the_skipped_parts_are_named(client, office, setup):
    _report, [message] = imported(client, office, sample("own-alternative.eml"))
    assert "1 of 2 parts shown; skipped: the text/html copy of the same text." in shown(
        client, message
    )


def test_mail_bombs_are_refused_with_a_reason(client, office, setup):
    big = eml(
        "Huge",
        "x",
        attachments=[(b"%PDF-1.4\n" + b"0" * (20 * 1024 * 1024), "a.pdf", "application/pdf")],
    )
    deep = b"From: a@b.example\nSubject: deep\n"
    for level in range(3000):
        deep += f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n'.encode()
    deep += b"Content-Type: text/plain\n\nbottom\n"
    for name, data in (("big.eml", big), ("deep.eml", deep)):
        with pytest.raises(mail_service.MessageRefused) as refused:
            mail_service.parse_message(data)
        assert "not imported" in refused.value.reason or "more than the" in refused.value.reason
    client.login(office.caseworker.email)
    report = page_text(upload(client, (deep, "deep.eml")))
    assert "1 refused" in report and "nested parts" in report
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 0


def test_a_forward_in_an_unfiled_message_is_still_unfiled_when_its_tag_is_foreign(
    client, office, setup
):
    case = setup["case"]
    inner = eml(f"Re: {tags.case_tag(case.number, 'PA07')}", "For another office.")
    outer = b"From: x@elsewhere.example\nSubject: Fwd\nContent-Type: message/rfc822\n\n" + inner
    report, [message] = imported(client, office, (outer, "fwd.eml"))
    assert "0 filed, 1 queued" in report and "is for another office" in report
    assert message.status == InboundStatus.UNFILED


def test_headers_in_iso_8859_1_with_0x92_show_no_control_character(client, office, setup):
    raw = (
        b"From: =?iso-8859-1?q?Agency=92s_Desk?= <desk@agency.example>\n"
        b"Subject: =?iso-8859-1?q?The_agency=92s_answer?=\nContent-Type: text/plain\n\nBody.\n"
    )
    _report, [message] = imported(client, office, (raw, "headers.eml"))
    assert message.subject == "The agency’s answer"
    assert message.sender == "Agency’s Desk <desk@agency.example>"
