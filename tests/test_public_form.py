"""The public help form (/help): what a resident sees and sends, in English and Spanish, and
every refusal, through the form itself (tests/help_form.py)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Attachment,
    Body,
    Notification,
    OfficeSettings,
    OnlineRequest,
    ReleaseTemplateVersion,
    SignatureMethod,
)
from constituent.services import file_store
from tests import factories
from tests.help_form import GOOD, SIGNED, form_url, public_world, send


@pytest.fixture()
def world(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 0)
    return public_world()


def requests() -> list[OnlineRequest]:
    return list(db.session.scalars(sa.select(OnlineRequest).order_by(OnlineRequest.id)))


def test_the_choice_page_lists_public_categories_only(client, world):
    factories.gen_category("Passports")  # not public
    db.session.commit()
    page = client.get("/help").get_data(as_text=True)
    assert "Social Security benefits" in page and "Retirement, disability" in page
    assert "Passports" not in page
    assert '<html lang="en">' in page


def test_the_state_starts_as_the_offices_own(client, world):
    """Most residents live in the office's state: it is chosen already (fewer errors)."""
    blank = client.get(form_url(world.category.id)).get_data(as_text=True)
    assert '<option selected value="">' in blank  # no office set up: nothing guessed
    db.session.add(
        OfficeSettings(
            name="Office of Senator Ames",
            legislator_name="Pat Ames",
            legislator_title="Senator",
            body=Body.US_SENATE,
            state="VT",
            office_code="VT",
            timezone="America/New_York",
        )
    )
    db.session.commit()
    page = client.get(form_url(world.category.id)).get_data(as_text=True)
    assert '<option selected value="VT">VT</option>' in page


def test_a_resident_asks_in_english_and_signs_the_release(client, world, app):
    office = factories.make_office()
    response = send(client, world.category.id, {**GOOD, **SIGNED, "claim_number": "123-45-6789A"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/help/sent")
    [kept] = requests()
    assert kept.language.value == "en" and kept.first_name == "Rosa"
    assert kept.phone == "(518) 555-0123" and kept.email == "rosa@example.com"
    assert json.loads(kept.identifiers) == {"claim_number": "123-45-6789A"}
    assert kept.release_version_id == world.version.id and kept.signed_name == "rosa  DELGADO"
    assert kept.signed_at is not None and kept.submitted_from == "127.0.0.1"
    assert [a.name for a in kept.release_agencies] == ["Social Security Administration"]
    copy = db.session.get(Attachment, kept.release_copy_id)
    assert copy.case_id is None and copy.content_type == "text/html"
    html = b"".join(file_store.file_store().open(copy.storage_key)).decode()
    assert "I authorize the Social Security Administration" in html and kept.reference in html
    assert SignatureMethod.CASES_ACT.label in html
    # Staff who take calls are told in the app; the resident's words stay out of the notice.
    told = db.session.scalars(sa.select(Notification.user_id)).all()
    assert office.intake.id in told and office.caseworker.id in told
    assert office.legislator.id not in told
    assert all("disability" not in n.message for n in db.session.scalars(sa.select(Notification)))
    sent = client.get("/help/sent").get_data(as_text=True)
    assert kept.reference in sent
    assert "Rosa" not in sent and "Delgado" not in sent and "Cullman" not in sent


def test_a_resident_asks_in_spanish_and_reads_the_release_in_spanish(client, world):
    page = client.get(form_url(world.category.id, "es")).get_data(as_text=True)
    assert '<html lang="es">' in page and "Enviar mi solicitud" in page
    assert "Autorizo a la Administración del Seguro Social" in page
    assert "I authorize" not in page
    response = send(client, world.category.id, {**GOOD, **SIGNED})
    assert response.status_code == 302
    [kept] = requests()
    assert kept.language.value == "es"
    sent = client.get("/help/sent").get_data(as_text=True)
    assert "Recibimos su solicitud" in sent and '<html lang="es">' in sent
    # The choice is remembered; staff pages stay English whatever it is.
    assert '<html lang="es">' in client.get("/help").get_data(as_text=True)
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_spanish_pages_name_the_kind_of_help_in_spanish(client, world):
    # No Spanish name yet: the Spanish pages show the English one.
    assert "Social Security benefits" in client.get("/help?lang=es").get_data(as_text=True)
    world.category.public_name_es = "Beneficios del Seguro Social"
    db.session.commit()
    choose = client.get("/help").get_data(as_text=True)
    page = client.get(form_url(world.category.id)).get_data(as_text=True)
    for shown in (choose, page):
        assert "Beneficios del Seguro Social" in shown
        assert "Social Security benefits" not in shown
    assert "<h1>Pida ayuda: Beneficios del Seguro Social</h1>" in page
    assert send(client, world.category.id, {**GOOD, **SIGNED}).status_code == 302
    [kept] = requests()
    copy = db.session.get(Attachment, kept.release_copy_id)
    html = b"".join(file_store.file_store().open(copy.storage_key)).decode()
    assert "Beneficios del Seguro Social (Social Security benefits)" in html
    # English pages keep the English name.
    english = client.get(form_url(world.category.id, "en")).get_data(as_text=True)
    assert "Social Security benefits" in english and "Beneficios" not in english


def test_errors_come_in_the_residents_language(client, world):
    response = send(client, world.category.id, {**GOOD, "zip_code": "ABCDE"}, lang="es")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Escriba un código postal de 5 números" in page
    assert requests() == []


def test_a_resident_may_skip_the_release(client, world):
    assert send(client, world.category.id).status_code == 302
    [kept] = requests()
    assert kept.release_version_id is None and kept.release_copy_id is None
    assert kept.signed_name is None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"what_happened": ""}, "what_happened", "Tell us what happened."),
        ({"what_happened": "x" * 5001}, "what_happened", "Use at most 5,000 characters."),
        ({"first_name": "a" * 81}, "first_name", "Use at most 80 characters."),
        ({"zip_code": "3505"}, "zip_code", "Enter a ZIP code of 5 numbers"),
        ({"phone": "12"}, "phone", "Enter a phone number that can be dialled"),
        ({"email": "not-an-email"}, "email", "Enter an email address with a name"),
        ({"preferred_contact": "pigeon"}, "preferred_contact", "Choose how we should contact"),
        ({"preferred_contact": "email", "email": ""}, "email", "Enter an email address, or"),
        ({"ssn_last4": "12a4"}, "ssn_last4", "Enter only the last 4 numbers"),
        ({"claim_number": "!!"}, "claim_number", "Enter the claim or case number"),
        ({**SIGNED, "signed_name": "Someone Else"}, "signed_name", "the same way you wrote it"),
        ({"attest": "y"}, "signed_name", "tick both boxes and type your full name"),
        ({"state": "ZZZ"}, "state", "Choose your state."),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_kept(
    client, world, change, field, message
):
    response = send(client, world.category.id, {**GOOD, **change})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page and f'id="{field}-error"' in page
    assert requests() == [] and db.session.scalars(sa.select(Attachment)).all() == []


def test_a_closed_or_unknown_category_gets_a_clear_message(client, world):
    assert client.get("/help/request?category=999999").status_code == 404
    page = client.get(form_url(world.category.id)).get_data(as_text=True)
    world.category.public = False
    db.session.commit()
    response = send(client, world.category.id)
    assert response.status_code == 422
    assert "not offered on this form anymore" in response.get_data(as_text=True)
    assert requests() == [] and page


def test_a_release_changed_or_withdrawn_while_the_resident_reads_is_signed_again(client, world):
    from tests.help_form import hidden_fields

    page = client.get(form_url(world.category.id)).get_data(as_text=True)
    hidden = hidden_fields(page)
    newer = ReleaseTemplateVersion(
        template=world.template, number=2, text_en="New wording v2.", text_es="Texto v2."
    )
    db.session.add(newer)
    db.session.commit()
    response = client.post(form_url(world.category.id), data={**hidden, **GOOD, **SIGNED})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "The release changed while you were" in page
    assert "New wording v2." in page and requests() == []
    world.template.active = False
    db.session.commit()
    response = client.post(form_url(world.category.id), data={**hidden, **GOOD, **SIGNED})
    assert response.status_code == 422
    assert "no longer offered for this agency" in response.get_data(as_text=True)
    # Without a signature it goes through, and staff send a release as they do today.
    assert client.post(form_url(world.category.id), data={**hidden, **GOOD}).status_code == 302
    assert len(requests()) == 1


def test_a_zip_in_no_table_is_accepted_and_flagged(client, world):
    factories.gen_district("AL-04")
    factories.gen_zip("35055", "AL-04")
    db.session.commit()
    assert send(client, world.category.id).status_code == 302
    assert "could not find your ZIP" not in client.get("/help/sent").get_data(as_text=True)
    assert send(client, world.category.id, {**GOOD, "zip_code": "99999"}).status_code == 302
    assert "could not find your ZIP" in client.get("/help/sent").get_data(as_text=True)
    placed, unplaced = requests()
    assert placed.district.code == "AL-04" and unplaced.district_id is None


def test_without_a_csrf_token_the_form_is_shown_again(client, world):
    response = send(client, world.category.id, drop=("csrf_token",))
    assert response.status_code == 422
    assert "This page was open too long" in response.get_data(as_text=True)
    assert requests() == []


@pytest.mark.parametrize("bot", ["honeypot", "too_fast", "no_start_time"])
def test_bots_are_refused_as_if_it_worked(client, world, app, monkeypatch, bot):
    data = dict(GOOD)
    drop: tuple[str, ...] = ()
    if bot == "honeypot":
        data["website"] = "http://spam.example"
    elif bot == "too_fast":
        monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 2)
    else:
        drop = ("started",)
    response = send(client, world.category.id, data, drop=drop)
    assert response.status_code == 302 and response.headers["Location"].endswith("/help/sent")
    assert "Your reference number is" in client.get("/help/sent").get_data(as_text=True)
    assert requests() == []


def test_a_person_who_took_their_time_gets_through_the_minimum_fill_time(
    client, world, app, monkeypatch
):
    import time

    from constituent.views.public import started_token
    from tests.help_form import hidden_fields

    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 2)
    with app.test_request_context():
        earlier = started_token(time.time() - 30)
    hidden = hidden_fields(client.get(form_url(world.category.id)).get_data(as_text=True))
    response = client.post(form_url(world.category.id), data={**hidden, **GOOD, "started": earlier})
    assert response.status_code == 302 and len(requests()) == 1


def test_one_hundred_posts_a_minute_from_one_address_are_throttled_politely(client, world):
    answers = [send(client, world.category.id, {**GOOD, "email": ""}) for _ in range(100)]
    kept = [r for r in answers if r.status_code == 302]
    refused = [r for r in answers if r.status_code == 429]
    assert len(kept) == 10 and len(refused) == 90
    assert answers[:10] == kept  # the earlier ones all went through …
    assert len(requests()) == 10  # … and were all kept
    assert "Please wait a little" in refused[0].get_data(as_text=True)


def test_one_email_is_throttled_across_addresses(client, world):
    for n in range(5):
        page = client.get(form_url(world.category.id))
        assert page.status_code == 200
        assert send(client, world.category.id).status_code == 302, n
    assert send(client, world.category.id).status_code == 429
    assert len(requests()) == 5


def test_the_same_answer_whether_or_not_someone_already_asked(client, world):
    first = send(client, world.category.id, {**GOOD, "email": ""})
    second = send(client, world.category.id, {**GOOD, "email": ""})
    assert first.status_code == second.status_code == 302
    assert len(requests()) == 2


def test_the_kill_switch_closes_the_form_politely(client, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_FORM_OPEN", False)
    page = client.get("/help")
    assert page.status_code == 200 and "closed for now" in page.get_data(as_text=True)
    response = client.post(form_url(world.category.id), data=GOOD)
    assert response.status_code == 503 and requests() == []


def test_identifiers_are_unreadable_in_the_raw_column(client, world):
    send(client, world.category.id, {**GOOD, "ssn_last4": "6789", "claim_number": "ABC12345"})
    raw = db.session.execute(sa.text("SELECT identifiers FROM online_requests")).scalar_one()
    assert "6789" not in raw and "ABC12345" not in raw
    [kept] = requests()
    assert json.loads(kept.identifiers) == {"claim_number": "ABC12345", "ssn_last4": "6789"}


def test_identifiers_a_category_does_not_ask_for_are_not_kept(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 0)
    world = public_world(asks="")
    page = client.get(form_url(world.category.id)).get_data(as_text=True)
    assert 'name="ssn_last4"' not in page
    send(client, world.category.id, {**GOOD, "ssn_last4": "6789"})
    [kept] = requests()
    assert kept.identifiers is None


def test_mail_goes_to_staff_and_a_confirmation_to_the_resident(client, world, app, monkeypatch):
    from constituent.services import notifications

    factories.make_office()
    sent = []
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.test.example")
    monkeypatch.setitem(app.config, "OFFICE_PHONE", "(256) 555-0100")
    monkeypatch.setattr(notifications, "send_mail", lambda mail: sent.append(mail) or True)
    send(client, world.category.id, lang="es")
    [kept] = requests()
    [resident] = [m for m in sent if m.to == "rosa@example.com"]
    assert kept.reference in resident.body and "(256) 555-0100" in resident.body
    assert "Recibimos" in resident.subject
    assert "disability" not in resident.body and "Cullman" not in resident.body
    assert any(m.to == "intake@test.example" for m in sent)
    assert all("disability" not in m.body for m in sent)


def test_the_message_catalog_is_compiled_from_the_po(app):
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = Path(app.root_path) / "translations" / "es" / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as po, open(folder / "messages.mo", "rb") as mo:
        source, compiled = read_po(po), read_mo(mo)
    wanted = {m.id: m.string for m in source if m.id and m.string and not m.fuzzy}
    got = {m.id: m.string for m in compiled if m.id}
    assert wanted == got, "run: pybabel compile -d constituent/translations"


def test_the_demo_office_shows_a_working_help_form(client, app, monkeypatch):
    from constituent.models import Category
    from constituent.services import demo

    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 0)
    demo.seed(scale=1)
    db.session.commit()
    page = client.get("/help").get_data(as_text=True)
    for name in ("Social Security", "Veterans", "Immigration", "IRS"):
        assert name in page
    ssa = db.session.scalar(sa.select(Category).where(Category.name == "Social Security"))
    form = client.get(form_url(ssa.id)).get_data(as_text=True)
    assert "Privacy Act of 1974" in form and "Representative Jordan Avery" in form
    spanish = client.get(form_url(ssa.id, "es")).get_data(as_text=True)
    assert "Ley de Privacidad de 1974" in spanish and "Pida ayuda: Seguro Social" in spanish
    choices = client.get("/help").get_data(as_text=True)
    for name in ("Seguro Social", "Veteranos", "Inmigración", "Impuestos (IRS)"):
        assert name in choices
    assert send(client, ssa.id, {**GOOD, **SIGNED}).status_code == 302
    [kept] = requests()
    assert [a.acronym for a in kept.release_agencies] == ["SSA"]


def test_behind_a_trusted_proxy_the_residents_address_is_kept_and_limited(tmp_path):
    """The release records, and the limit counts, the address the proxy saw (ProxyFix)."""
    from constituent import create_app
    from constituent.config import TestConfig
    from tests.conftest import Client

    proxied = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'proxied.db'}",
            "SEARCH_INDEX_DIR": str(tmp_path / "index"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "SECRET_KEY": "x" * 40,
            "TRUSTED_PROXIES": 1,
            "RATELIMIT_KEY_PREFIX": "proxied-help",
            "PUBLIC_FORM_MIN_SECONDS": 0,
            "PUBLIC_FORM_LIMIT_PER_ADDRESS": "2 per minute",
        }
    )
    proxied.test_client_class = Client
    with proxied.app_context():
        db.create_all()
        try:
            world = public_world()
            client = proxied.test_client()
            resident = {"X-Forwarded-For": "198.51.100.7"}
            client.environ_base["REMOTE_ADDR"] = "10.0.0.2"
            url = form_url(world.category.id)

            def post(headers):  # type: ignore[no-untyped-def]
                from tests.help_form import hidden_fields

                hidden = hidden_fields(client.get(url).get_data(as_text=True))
                data = {**hidden, **GOOD, **SIGNED, "email": ""}
                return client.post(url, data=data, headers=headers)

            assert post(resident).status_code == 302
            assert post(resident).status_code == 302
            assert post(resident).status_code == 429  # that resident's limit …
            assert post({"X-Forwarded-For": "198.51.100.8"}).status_code == 302  # … not others'
            assert {r.submitted_from for r in requests()} == {"198.51.100.7", "198.51.100.8"}
            copy = db.session.get(Attachment, requests()[0].release_copy_id)
            html = b"".join(file_store.file_store().open(copy.storage_key)).decode()
            assert "198.51.100.7" in html
        finally:
            db.session.remove()
            db.engine.dispose()


def test_the_language_link_carries_no_other_argument(client, world):
    page = client.get("/help?_external=1&_scheme=javascript&_anchor=x&lang=es").get_data(
        as_text=True
    )
    assert 'href="/help?lang=en"' in page and "javascript" not in page
    form = client.get(form_url(world.category.id) + "&junk=1").get_data(as_text=True)
    assert f'href="/help/request?category={world.category.id}&amp;lang=en"' in form


def test_an_agency_the_list_does_not_offer_is_refused(client, world):
    from constituent.models import Agency, AgencyLevel

    other = Agency(name="Bureau of Elsewhere", level=AgencyLevel.FEDERAL)
    db.session.add(other)
    db.session.commit()
    response = send(client, world.category.id, {**GOOD, "agency_id": str(other.id)})
    assert response.status_code == 422
    assert (
        response.get_data(as_text=True).count("Choose an agency from the list") == 2
    )  # summary, field
    assert (
        send(client, world.category.id, {**GOOD, "agency_id": str(world.agency.id)}).status_code
        == 302
    )
    [kept] = requests()
    assert kept.agency_id == world.agency.id


def _drawn(client, world) -> dict[str, str]:
    from tests.help_form import hidden_fields

    return hidden_fields(client.get(form_url(world.category.id)).get_data(as_text=True))


def _reference_shown(client) -> str:
    import re

    page = client.get("/help/sent").get_data(as_text=True)
    return re.search(r'class="app-reference">([^<]+)<', page).group(1)


def test_a_double_click_keeps_one_request_and_answers_it_twice(client, world):
    hidden = _drawn(client, world)
    first = client.post(form_url(world.category.id), data={**hidden, **GOOD, **SIGNED})
    shown_first = _reference_shown(client)
    again = client.post(form_url(world.category.id), data={**hidden, **GOOD, **SIGNED})
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"].endswith("/help/sent")
    [kept] = requests()
    assert shown_first == _reference_shown(client) == kept.reference
    assert len(db.session.scalars(sa.select(Attachment)).all()) == 1
    # A new page drawn is a new request.
    assert send(client, world.category.id).status_code == 302 and len(requests()) == 2


def test_two_posts_of_one_page_at_the_same_moment_keep_one_request(client, world, monkeypatch):
    from constituent.services import online_requests

    hidden = _drawn(client, world)
    assert client.post(form_url(world.category.id), data={**hidden, **GOOD}).status_code == 302
    # The second post does not see the first before it writes (as when both run at once):
    # the unique key refuses its row, and it answers with the first request.
    monkeypatch.setattr(online_requests, "already_sent", lambda key: None)
    again = client.post(form_url(world.category.id), data={**hidden, **GOOD})
    assert again.status_code == 302 and again.headers["Location"].endswith("/help/sent")
    [kept] = requests()
    assert _reference_shown(client) == kept.reference


def test_a_page_posted_from_another_visit_never_answers_with_its_reference(app, client, world):
    hidden = _drawn(client, world)
    assert client.post(form_url(world.category.id), data={**hidden, **GOOD}).status_code == 302
    [first] = requests()
    other = app.test_client()
    theirs = _drawn(other, world)
    copied = {**theirs, "started": hidden["started"]}  # someone else's page key, replayed
    assert other.post(form_url(world.category.id), data={**copied, **GOOD}).status_code == 302
    assert len(requests()) == 2
    assert _reference_shown(other) != first.reference


def _second_release(world):
    """The VA with a release of its own, offered in the form's agency list."""
    from constituent.models import Agency, AgencyLevel, ReleaseTemplate

    va = Agency(name="Department of Veterans Affairs", acronym="VA", level=AgencyLevel.FEDERAL)
    template = ReleaseTemplate(name="VA release", agencies=[va])
    version = ReleaseTemplateVersion(
        template=template,
        number=1,
        text_en="I authorize the VA to release my claims file.",
        text_es="Autorizo al VA a entregar mi expediente de reclamos.",
    )
    db.session.add_all([va, template, version])
    db.session.commit()
    return va, version


def _release_part(client, world, **args) -> tuple[int, str]:
    response = client.get(
        "/help/request/release", query_string={"category": world.category.id, **args}
    )
    return response.status_code, response.get_data(as_text=True)


def test_choosing_another_agency_redraws_the_release_to_read(client, world):
    from tests.help_form import hidden_fields

    va, version = _second_release(world)
    page = client.get(form_url(world.category.id)).get_data(as_text=True)
    assert 'hx-get="/help/request/release?category=' in page and "I authorize the Social" in page
    status, part = _release_part(
        client, world, agency_id=va.id, release_version=world.version.id, **SIGNED
    )
    assert status == 200
    assert "I authorize the VA" in part and "I authorize the Social" not in part
    assert "The release below is now for: Department of Veterans Affairs" in part
    assert hidden_fields(part)["release_version"] == str(version.id)
    # Another release: what was ticked and typed is cleared, to be signed after reading.
    assert 'value="rosa  DELGADO"' not in part and "checked" not in part
    # The same release again (back to the routed agency): what was signed stays.
    _, same = _release_part(client, world, agency_id="", release_version=world.version.id, **SIGNED)
    assert "I authorize the Social" in same and 'value="rosa  DELGADO"' in same
    assert same.count("checked") == 2
    # In Spanish, in Spanish; nothing is stored by drawing it.
    _, spanish = _release_part(client, world, agency_id=va.id, lang="es")
    assert "Autorizo al VA" in spanish and "ahora es para" in spanish
    assert requests() == []


def test_the_release_part_refuses_quietly(client, world, app, monkeypatch):
    assert _release_part(client, world, agency_id="999999")[1].count("I authorize the Social") == 1
    # A category closed meanwhile, or the form closed: nothing to draw, the page stays as it is.
    response = client.get("/help/request/release?category=999999")
    assert response.status_code == 204 and response.get_data() == b""
    monkeypatch.setitem(app.config, "PUBLIC_FORM_OPEN", False)
    assert _release_part(client, world)[0] == 204
