"""Letters: sandboxed templates (no reaching Python internals, unknown fields named, syntax
errors refused with their line), previews, printed letters on the timeline, and roles."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    AuditEvent,
    EventKind,
    Letter,
    LetterKind,
    LetterTemplate,
    Referral,
    ReferralMethod,
    Role,
    TimelineEvent,
)
from constituent.services import demo, tags
from constituent.services import letters as letter_service
from constituent.services.errors import DomainError
from tests import factories
from tests.conftest import count

ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os.system('id') }}",
    "{{ joiner.__init__.__globals__['os'] }}",
    "{{ ''|attr('__class__') }}",
    "{{ '{0.__class__}'.format(case) }}",
    "{{ case.__class__ }}",
    "{{ case['__class__'] }}",
    "{{ self.__init__ }}",
    "{% set x = constituent.full_name.__class__ %}{{ x }}",
    "{% if namespace.__init__ %}yes{% endif %}",
]


@pytest.fixture()
def letter_case(office):
    """A case in district A assigned to the caseworker, with the demo directory and templates."""
    categories = demo._ensure_categories()
    agencies = demo._ensure_agencies(categories)
    demo._ensure_routing_rules(categories, agencies)
    demo._ensure_letter_templates()
    office.a.legislator_name = "Rep. Jordan Avery"
    person = factories.gen_constituent(
        office.a,
        first="Margaret",
        last="Okafor",
        phone="(518) 555-0142",
        email="margaret@example.net",
    )
    case = factories.gen_case(
        office.a,
        office.category,
        constituent=person,
        opened_by=office.intake,
        assignee=office.caseworker,
        subject="Retirement check stopped",
        number=1042,
    )
    db.session.commit()
    return case


def template(name: str) -> LetterTemplate:
    return db.session.scalar(sa.select(LetterTemplate).where(LetterTemplate.name == name))


def data(
    body: str, subject: str = "Letter", kind: str = "acknowledgement", name: str = "Test"
) -> letter_service.TemplateData:
    return letter_service.TemplateData(name=name, kind=kind, subject=subject, body=body)


# ---------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ESCAPES)
def test_templates_reaching_for_python_internals_are_refused(app, body):
    with pytest.raises(DomainError) as exc:
        letter_service.validate_template(data(body))
    assert exc.value.field == "body"
    assert "may use merge fields only, never Python internals" in exc.value.message


def test_an_escape_in_the_subject_is_refused_too(app):
    with pytest.raises(DomainError) as exc:
        letter_service.validate_template(data("Hello", subject="{{ ''.__class__ }}"))
    assert exc.value.field == "subject" and "Python internals" in exc.value.message


def test_dict_methods_of_merge_groups_are_not_reachable(app):
    for body in ("{{ case.update({'subject': 'x'}) }}", "{{ case.items() }}", "{{ case.clear() }}"):
        with pytest.raises(DomainError) as exc:
            letter_service.validate_template(data(body))
        assert "Unknown merge field: case." in exc.value.message


@pytest.mark.parametrize(
    "body,field",
    [
        ("Dear {{ constituent.nickname }}", "constituent.nickname"),
        ("{{ config }}", "config"),
        ("{{ request.environ }}", "request"),
        ("{{ case.numbr }}", "case.numbr"),
    ],
)
def test_an_unknown_merge_field_is_named(app, body, field):
    with pytest.raises(DomainError) as exc:
        letter_service.validate_template(data(body))
    assert f"Unknown merge field: {field}" in exc.value.message


def test_a_template_that_does_not_compile_is_refused_with_its_line(app):
    body = "Dear {{ constituent.full_name }}:\n\nThank you.\n{% if case.subject %}\nBye"
    with pytest.raises(DomainError) as exc:
        letter_service.validate_template(data(body))
    assert exc.value.field == "body"
    assert re.search(r"does not compile: line \d+: Unexpected end of template", exc.value.message)
    with pytest.raises(DomainError) as exc:
        letter_service.validate_template(data("Line one\nLine two {{ case.subject }\nThree"))
    assert "line 2:" in exc.value.message


def test_huge_output_is_refused_not_built(app):
    for body in (
        "{{ 'x' * 10000000 }}",
        "{{ 9 ** 99999999 }}",
        "{% for i in range(10000000) %}x{% endfor %}",
    ):
        with pytest.raises(DomainError):
            letter_service.validate_template(data(body))


def test_an_agency_inquiry_must_carry_the_case_tag_in_its_subject(app):
    body = "Dear {{ agency.contact_name }}"
    with pytest.raises(DomainError) as exc:
        letter_service.validate_template(data(body, subject="Inquiry", kind="agency_inquiry"))
    assert exc.value.field == "subject" and "{{ case.tag }}" in exc.value.message
    # A template written before office tags ([Case #N]) carries the office tag all the same.
    for subject in ("Inquiry [Case #{{ case.number }}]", "Inquiry {{ case.tag }}"):
        rendered = letter_service.validate_template(
            data(body, subject=subject, kind="agency_inquiry")
        )
        assert rendered.subject == f"Inquiry {tags.case_tag(1042)}"


def test_the_demo_templates_are_valid_and_the_inquiry_carries_the_tag(app):
    for kind, name, subject, body in demo.LETTER_TEMPLATES:
        rendered = letter_service.validate_template(
            data(body, subject=subject, kind=kind, name=name)
        )
        assert "{{" not in rendered.body
    inquiry = next(t for t in demo.LETTER_TEMPLATES if t[0] == LetterKind.AGENCY_INQUIRY)
    assert "[Case #{{ case.number }}]" in inquiry[2]


def test_merge_fields_are_plain_strings_with_the_documented_names(app, letter_case, office):
    fields = letter_service.merge_fields(letter_case, office.caseworker)
    sample = letter_service.sample_fields()
    for group, values in fields.items():
        if group == "agency":
            continue
        assert set(values) == set(sample[group]), group
        assert all(isinstance(v, str) for v in values.values())
    assert fields["case"]["tag"] == tags.case_tag(1042)
    assert fields["constituent"]["address"] == "12 Main Street\nPlattsburgh NY 12901"
    assert fields["office"]["legislator"] == "Rep. Jordan Avery"


# ---------------------------------------------------------------------------------------
# Admin pages for templates
# ---------------------------------------------------------------------------------------


def template_form(**overrides: str) -> dict[str, str]:
    form = {
        "name": "Second inquiry",
        "kind": "agency_inquiry",
        "subject": "Second request [Case #{{ case.number }}]",
        "body": "Dear {{ agency.contact_name }}:\n\nWe wrote about {{ case.subject }}.",
    }
    form.update(overrides)
    return form


def test_admin_adds_a_template_and_previews_it_with_sample_data(client, office):
    client.login(office.admin.email)
    preview = client.form_post(
        "/agencies/letter-templates/new", {**template_form(), "action": "preview"}
    )
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    text = re.sub(r"<[^>]+>", "", page)  # names and subjects are set apart for direction
    assert f"Re: Second request {tags.case_tag(1042)}" in text and "Dear Dana Whitfield:" in text
    assert count(LetterTemplate) == 0
    saved = client.form_post(
        "/agencies/letter-templates/new", {**template_form(), "action": "save"}
    )
    assert saved.status_code == 302
    assert template("Second inquiry").kind == LetterKind.AGENCY_INQUIRY


@pytest.mark.parametrize(
    "body,message",
    [
        ("{{ ''.__class__ }}", "Python internals"),
        ("{{ cycler.__init__.__globals__ }}", "Python internals"),
        ("Dear {{ constituent.nickname }}", "Unknown merge field: constituent.nickname"),
        ("Hello\n{% for x in %}", "does not compile: line 2:"),
    ],
)
def test_a_bad_template_is_refused_on_save_and_the_saved_one_kept(client, office, body, message):
    demo._ensure_letter_templates()
    db.session.commit()
    ack = template("Constituent acknowledgement")
    before = ack.body
    client.login(office.admin.email)
    url = f"/agencies/letter-templates/{ack.id}/edit"
    response = client.form_post(
        url,
        {
            "name": ack.name,
            "kind": "acknowledgement",
            "subject": ack.subject,
            "body": body,
            "version": str(ack.version),
            "action": "save",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page.replace("&#39;", "'")
    assert "usa-error-message" in page  # beside the field
    db.session.refresh(ack)
    assert ack.body == before


def test_template_edit_with_a_stale_version_is_a_conflict(client, office):
    demo._ensure_letter_templates()
    db.session.commit()
    ack = template("Constituent acknowledgement")
    stale = ack.version
    client.login(office.admin.email)
    url = f"/agencies/letter-templates/{ack.id}/edit"
    client.form_post(
        url,
        {
            "name": ack.name,
            "kind": "acknowledgement",
            "subject": "Thanks!",
            "body": ack.body,
            "version": str(stale),
            "action": "save",
        },
    )
    response = client.form_post(
        url,
        {
            "name": ack.name,
            "kind": "acknowledgement",
            "subject": "Received",
            "body": ack.body,
            "version": str(stale),
            "action": "save",
        },
    )
    assert response.status_code == 409
    db.session.refresh(ack)
    assert ack.subject == "Thanks!"


@pytest.mark.parametrize("role", [Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR, Role.LEGISLATOR])
def test_only_admins_edit_templates(client, office, role):
    demo._ensure_letter_templates()
    db.session.commit()
    ack = template("Constituent acknowledgement")
    client.login(office.user(role).email)
    assert client.get("/agencies/letter-templates").status_code == 403
    assert client.get(f"/agencies/letter-templates/{ack.id}/edit").status_code == 403
    token = client.csrf_token("/")
    response = client.post(
        f"/agencies/letter-templates/{ack.id}/edit",
        data={"csrf_token": token, "name": "x", "kind": "closing", "subject": "x", "body": "x"},
    )
    assert response.status_code == 403
    db.session.refresh(ack)
    assert ack.name == "Constituent acknowledgement"


# ---------------------------------------------------------------------------------------
# Letters on a case
# ---------------------------------------------------------------------------------------


def test_caseworker_previews_prints_and_the_letter_lands_on_the_timeline(
    client, office, letter_case
):
    inquiry = template("Agency inquiry")
    client.login(office.caseworker.email)
    new_url = f"/cases/{letter_case.id}/letters/new"
    page = client.get(new_url).get_data(as_text=True)
    # The contact starts from the routing rule's suggestion, and says why.
    assert "Suggested: Rule for Social Security (all districts)." in page
    ssa_contact = re.search(
        r'<option selected value="(\d+)">SSA: Dana Whitfield', page
    ) or re.search(r'<option value="(\d+)" selected>SSA: Dana Whitfield', page)
    assert ssa_contact, "the suggested contact is preselected"
    contact_id = ssa_contact.group(1)
    preview = client.get(f"{new_url}?template_id={inquiry.id}&contact_id={contact_id}")
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert f"Re: Congressional inquiry {tags.case_tag(1042)}" in text
    assert "Dear Dana Whitfield:" in text and "Margaret Okafor" in text
    assert count(Letter) == 0 and count(TimelineEvent) == 0
    response = client.form_post(
        f"/cases/{letter_case.id}/letters",
        {"template_id": inquiry.id, "contact_id": contact_id, "referral_id": ""},
        token_from=f"{new_url}?template_id={inquiry.id}&contact_id={contact_id}",
    )
    assert response.status_code == 302
    letter = db.session.scalar(sa.select(Letter))
    assert response.headers["Location"].endswith(f"/letters/{letter.id}")
    assert letter.subject == f"Congressional inquiry {tags.case_tag(1042)}"
    assert "Margaret Okafor" in letter.body and letter.created_by_id == office.caseworker.id
    event = db.session.scalar(
        sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.LETTER)
    )
    assert event.case_id == letter_case.id and event.data["letter_id"] == letter.id
    assert "Agency inquiry" in event.body and event.author_id == office.caseworker.id
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "letter_printed"))
    assert audit.record_id == str(letter.id) and audit.user_id == office.caseworker.id
    printed = client.get(f"/letters/{letter.id}").get_data(as_text=True)
    assert (
        f"Congressional inquiry {tags.case_tag(1042)}" in printed and "Print this letter" in printed
    )
    assert "css/letters.css" in printed and "js/letters.js" in printed


def test_a_referral_supplies_the_agency_and_its_reference_number(client, office, letter_case):
    ssa = db.session.scalar(sa.select(Agency).where(Agency.acronym == "SSA"))
    referral = Referral(
        case_id=letter_case.id,
        agency_id=ssa.id,
        contact_id=ssa.contacts[0].id,
        method=ReferralMethod.LETTER,
        sent_on=date(2026, 3, 2),
        due_on=date(2026, 4, 1),
        reference_number="SSA-778899",
    )
    db.session.add(referral)
    db.session.add(
        LetterTemplate(
            kind=LetterKind.AGENCY_INQUIRY,
            name="Follow-up",
            subject="Follow-up {{ case.tag }}",
            body="Your reference {{ agency.reference_number }}, sent {{ agency.sent_on }}.",
        )
    )
    db.session.commit()
    follow_up = template("Follow-up")
    client.login(office.caseworker.email)
    page = client.get(
        f"/cases/{letter_case.id}/letters/new?template_id={follow_up.id}"
        f"&referral_id={referral.id}&contact_id="
    ).get_data(as_text=True)
    assert "Your reference SSA-778899, sent March 2, 2026." in page
    client.form_post(
        f"/cases/{letter_case.id}/letters",
        {"template_id": follow_up.id, "referral_id": referral.id, "contact_id": ""},
        token_from=f"/cases/{letter_case.id}/letters/new",
    )
    letter = db.session.scalar(sa.select(Letter))
    assert letter.referral_id == referral.id and "SSA-778899" in letter.body


def test_an_inquiry_without_an_agency_asks_for_one(client, office, letter_case):
    inquiry = template("Agency inquiry")
    client.login(office.caseworker.email)
    response = client.get(
        f"/cases/{letter_case.id}/letters/new?template_id={inquiry.id}&contact_id=&referral_id="
    )
    assert response.status_code == 422
    assert "choose an agency contact or a referral" in response.get_data(as_text=True)
    client.form_post(
        f"/cases/{letter_case.id}/letters",
        {"template_id": inquiry.id, "contact_id": "", "referral_id": ""},
        token_from=f"/cases/{letter_case.id}/letters/new",
    )
    assert count(Letter) == 0


def test_a_referral_of_another_case_is_refused(client, office, letter_case):
    other = factories.gen_case(office.a, office.category, opened_by=office.intake)
    ssa = db.session.scalar(sa.select(Agency).where(Agency.acronym == "SSA"))
    referral = Referral(
        case_id=other.id,
        agency_id=ssa.id,
        method=ReferralMethod.EMAIL,
        sent_on=date(2026, 3, 2),
        due_on=date(2026, 4, 1),
    )
    db.session.add(referral)
    db.session.commit()
    client.login(office.caseworker.email)
    inquiry = template("Agency inquiry")
    response = client.form_post(
        f"/cases/{letter_case.id}/letters",
        {"template_id": inquiry.id, "referral_id": referral.id, "contact_id": ""},
        token_from=f"/cases/{letter_case.id}/letters/new",
        follow_redirects=True,
    )
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)  # not one of its referrals
    assert count(Letter) == 0


def test_a_template_broken_after_saving_gives_a_message_not_a_500(client, office, letter_case):
    # Written straight to the database, as an older release or a hand edit might have.
    db.session.add(
        LetterTemplate(
            kind=LetterKind.CLOSING,
            name="Broken",
            subject="Closing",
            body="{{ ''.__class__.__mro__ }}",
        )
    )
    db.session.commit()
    broken = template("Broken")
    client.login(office.caseworker.email)
    response = client.get(
        f"/cases/{letter_case.id}/letters/new?template_id={broken.id}&contact_id=&referral_id="
    )
    assert response.status_code == 422
    assert "Python internals" in response.get_data(as_text=True).replace("&#39;", "'")
    client.form_post(
        f"/cases/{letter_case.id}/letters",
        {"template_id": broken.id, "referral_id": "", "contact_id": ""},
        token_from=f"/cases/{letter_case.id}/letters/new",
    )
    assert count(Letter) == 0 and count(TimelineEvent) == 0


def test_letters_follow_case_permissions(client, office, letter_case):
    ack = template("Constituent acknowledgement")
    client.login(office.caseworker.email)
    client.form_post(
        f"/cases/{letter_case.id}/letters",
        {"template_id": ack.id, "referral_id": "", "contact_id": ""},
        token_from=f"/cases/{letter_case.id}/letters/new",
    )
    letter = db.session.scalar(sa.select(Letter))
    assert letter is not None
    client.logout()
    # A caseworker of another district neither writes nor reads letters on the case.
    client.login(office.other_caseworker.email)
    assert client.get(f"/cases/{letter_case.id}/letters/new").status_code == 404
    assert client.get(f"/letters/{letter.id}").status_code == 404
    token = client.csrf_token("/")
    assert (
        client.post(
            f"/cases/{letter_case.id}/letters", data={"csrf_token": token, "template_id": ack.id}
        ).status_code
        == 404
    )
    client.logout()
    # The supervisor of the district may; intake and the legislator may not write letters.
    client.login(office.supervisor.email)
    assert client.get(f"/cases/{letter_case.id}/letters/new").status_code == 200
    assert client.get(f"/letters/{letter.id}").status_code == 200
    client.logout()
    for user in (office.intake, office.legislator):
        client.login(user.email)
        assert client.get(f"/cases/{letter_case.id}/letters/new").status_code == 403
        client.logout()
    client.login(office.legislator.email)
    assert client.get(f"/letters/{letter.id}").status_code == 403
    assert count(Letter) == 1


def test_a_confidential_case_letter_view_is_audited(client, office, letter_case):
    letter_case.confidential = True
    db.session.commit()
    ack = template("Constituent acknowledgement")
    client.login(office.caseworker.email)  # assigned to it: may see it
    client.form_post(
        f"/cases/{letter_case.id}/letters",
        {"template_id": ack.id, "referral_id": "", "contact_id": ""},
        token_from=f"/cases/{letter_case.id}/letters/new",
    )
    letter = db.session.scalar(sa.select(Letter))
    before = count(AuditEvent)
    assert client.get(f"/letters/{letter.id}").status_code == 200
    viewed = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "confidential_case_viewed",
            AuditEvent.record_id == str(letter_case.number),
        )
    )
    assert count(AuditEvent) == before + 1 and len(list(viewed)) >= 2


def test_render_letter_refuses_a_referral_of_another_case(app, office, letter_case):
    other = factories.gen_case(office.a, office.category, opened_by=office.intake)
    ssa = db.session.scalar(sa.select(Agency).where(Agency.acronym == "SSA"))
    referral = Referral(
        case_id=other.id,
        agency_id=ssa.id,
        method=ReferralMethod.EMAIL,
        sent_on=date(2026, 3, 2),
        due_on=date(2026, 4, 1),
    )
    db.session.add(referral)
    db.session.flush()
    with pytest.raises(DomainError) as exc:
        letter_service.render_letter(
            template("Agency inquiry"), letter_case, office.caseworker, referral=referral
        )
    assert exc.value.field == "referral_id"
    assert count(Letter) == 0


def test_the_case_page_offers_a_letter_to_those_who_may_write_one(client, office, letter_case):
    link = f'href="/cases/{letter_case.id}/letters/new"'
    for user, offered in (
        (office.caseworker, True),
        (office.supervisor, True),
        (office.intake, False),
        (office.admin, False),
    ):
        client.login(user.email)
        page = client.get(f"/cases/{letter_case.id}")
        if page.status_code == 200:
            assert (link in page.get_data(as_text=True)) is offered, user.email
            if offered:
                assert client.get(f"/cases/{letter_case.id}/letters/new").status_code == 200
        else:
            assert not offered and page.status_code in (403, 404)
        client.logout()
