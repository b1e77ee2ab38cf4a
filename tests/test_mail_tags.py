"""Office-scoped case tags: [<office code> C-N <check>] on outgoing letters, and only this
office's code with a valid check files a reply automatically (from .eml, mbox and the
command line alike); old-style, foreign, forged and out-of-reach tags wait in the queue with
the reason shown."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import InboundMessage, InboundStatus, LetterKind, LetterTemplate
from constituent.services import letters, tags
from tests import factories
from tests.test_mail import eml, make_setup, page_text, upload


@pytest.fixture()
def setup(office):  # type: ignore[no-untyped-def]
    """A case of district A routed to SSA (release on file), and the SSA liaison."""
    return make_setup(office)


def mbox(*messages: bytes) -> bytes:
    return b"".join(
        b"From MAILER-DAEMON Mon Mar  3 10:00:00 2025\n"
        + m.replace(b"\nFrom ", b"\n>From ")
        + b"\n"
        for m in messages
    )


def last_message() -> InboundMessage:
    return db.session.scalars(sa.select(InboundMessage).order_by(InboundMessage.id.desc())).first()


def test_the_tag_carries_the_office_code_and_a_check_of_the_secret_key(app, office, monkeypatch):
    tag = tags.case_tag(1152)
    found = re.fullmatch(r"\[NY21 C-1152 ([A-Z2-7]{5})\]", tag)
    assert found, tag  # the first district is NY-21
    assert tags.case_tag(1153) != tag.replace("1152", "1153")  # the check follows the number
    monkeypatch.setitem(app.config, "OFFICE_CODE", "alb-7")
    assert tags.case_tag(1152).startswith("[ALB-7 C-1152 ")
    assert tags.case_tag(1152) != tag.replace("NY21", "ALB-7")  # ... and the office code
    other = tags.case_tag(1152)
    monkeypatch.setitem(app.config, "SECRET_KEY", "yet another key")
    assert tags.case_tag(1152) != other


def test_an_agency_inquiry_letter_and_its_printed_page_carry_the_office_tag(client, office, setup):
    case, referral = setup["case"], setup["referral"]
    written_before_tags = LetterTemplate(
        kind=LetterKind.AGENCY_INQUIRY,
        name="Old inquiry",
        subject="Congressional inquiry [Case #{{ case.number }}]",
        body="Please reply quoting [Case #{{ case.number }}].",
    )
    db.session.add(written_before_tags)
    db.session.flush()
    letter = letters.render_letter(written_before_tags, case, office.caseworker, referral=referral)
    db.session.commit()
    tag = tags.case_tag(case.number)
    assert letter.subject == f"Congressional inquiry {tag}"
    assert letter.body == f"Please reply quoting {tag}."
    assert "[Case #" not in letter.subject + letter.body
    client.login(office.caseworker.email)
    page = page_text(client.get(f"/letters/{letter.id}"))
    assert f"Our reference: {tag}" in page


def test_a_template_must_carry_the_tag(client, office):
    with pytest.raises(letters.DomainError, match=r"\{\{ case.tag \}\}"):
        letters.validate_template(
            letters.TemplateData("x", LetterKind.AGENCY_INQUIRY, "Inquiry C-{{ case.number }}", "b")
        )
    letters.validate_template(
        letters.TemplateData("x", LetterKind.AGENCY_INQUIRY, "Inquiry {{ case.tag }}", "b")
    )


def test_a_valid_tag_files_from_an_eml_and_from_an_mbox(client, office, setup):
    case = setup["case"]
    client.login(office.caseworker.email)
    tag = tags.case_tag(case.number)
    text = page_text(upload(client, (eml(f"Re: Congressional inquiry {tag}"), "reply.eml")))
    assert f"Filed to case C-{case.number}." in text
    second = eml("Re: follow-up", f"Quoting your reference {tag} in the text.")
    third = eml(f"RE: FW: {tag.lower()}", "lower case is not our tag", sender="x@else.example")
    text = page_text(upload(client, (mbox(second, third), "box.mbox")))
    assert "box.mbox, message 1 of 2" in text and f"Filed to case C-{case.number}." in text
    assert "1 filed, 1 queued" in text


def test_the_command_line_import_files_only_valid_tags(runner, office, setup, tmp_path):
    case = setup["case"]
    (tmp_path / "a.eml").write_bytes(eml(f"Re: {tags.case_tag(case.number)}"))
    (tmp_path / "b.eml").write_bytes(eml(f"Re: [Case #{case.number}]"))
    forged = tags.case_tag(case.number)[:-3] + "AAA]"
    (tmp_path / "c.eml").write_bytes(eml(f"Re: {forged}"))
    result = runner.invoke(args=["mail", "import", str(tmp_path)])
    assert "3 messages: 1 filed, 2 queued" in result.output, result.output
    assert f"[filed] a.eml: Filed to case C-{case.number}." in result.output


@pytest.mark.parametrize("how", ["eml", "mbox"])
def test_a_legacy_tag_waits_and_is_suggested_only_when_the_sender_is_the_liaison(
    client, office, setup, how
):
    case = setup["case"]
    client.login(office.caseworker.email)
    from_liaison = eml(f"Re: Congressional inquiry [Case #{case.number}]")
    from_stranger = eml(f"Re: [Case #{case.number}]", "Hello.", sender="x@elsewhere.example")
    if how == "eml":
        text = page_text(upload(client, (from_liaison, "a.eml"), (from_stranger, "b.eml")))
    else:
        text = page_text(upload(client, (mbox(from_liaison, from_stranger), "a.mbox")))
    assert "0 filed, 2 queued" in text
    assert "old-style tag [Case #" in text and "never filed automatically" in text
    liaison_message, stranger_message = db.session.scalars(
        sa.select(InboundMessage).order_by(InboundMessage.id)
    ).all()
    assert liaison_message.status == stranger_message.status == InboundStatus.UNFILED
    page = client.get(f"/mail/{liaison_message.id}").get_data(as_text=True)
    assert f'data-case="{case.number}"' in page
    page = client.get(f"/mail/{stranger_message.id}").get_data(as_text=True)
    assert f'data-case="{case.number}"' not in page
    assert "old-style tag" in page_text(client.get(f"/mail/{stranger_message.id}"))


def test_another_offices_tag_and_a_forged_check_wait_with_the_reason(client, office, setup):
    case = setup["case"]
    client.login(office.caseworker.email)
    foreign = tags.case_tag(case.number, "PA07")
    forged = f"[NY21 C-{case.number} {'B' if tags.case_tag(case.number)[-6] != 'B' else 'C'}AAAA]"
    text = page_text(
        upload(client, (eml(f"Re: {foreign}"), "foreign.eml"), (eml(f"Re: {forged}"), "f.eml"))
    )
    assert "0 filed, 2 queued" in text
    assert f"its tag {foreign} is for another office (code PA07; this office is NY21)" in text
    assert f"its tag {forged} has a check that does not match case C-{case.number}" in text
    # An untrusted tag is never a reason to offer its case: another office's reply is not
    # offered at all; the forged one only because its sender is the case's liaison.
    foreign_message, forged_message = db.session.scalars(
        sa.select(InboundMessage).order_by(InboundMessage.id)
    ).all()
    page = client.get(f"/mail/{foreign_message.id}").get_data(as_text=True)
    assert f'data-case="{case.number}"' not in page
    page = page_text(client.get(f"/mail/{forged_message.id}"))
    assert "Why: the sender is the liaison of its open referral" in page
    assert "it carries this office's tag" not in page
    assert foreign_message.status == forged_message.status == InboundStatus.UNFILED


def test_a_valid_tag_on_a_case_the_importer_may_not_see_waits(client, office, setup):
    hidden = factories.gen_case(office.b, office.category, opened_by=office.other_caseworker)
    db.session.commit()
    client.login(office.caseworker.email)
    text = page_text(upload(client, (eml(f"Re: {tags.case_tag(hidden.number)}"), "h.eml")))
    assert "0 filed, 1 queued" in text
    assert f"It names case C-{hidden.number}, which is not a case you can file onto." in text
    assert last_message().status == InboundStatus.UNFILED


def test_the_referral_page_gives_the_tag_to_put_in_emails(client, office, setup):
    case, referral = setup["case"], setup["referral"]
    client.login(office.caseworker.email)
    page = page_text(client.get(f"/referrals/{referral.id}"))
    assert f"Case tag for emails {tags.case_tag(case.number)}" in page
