"""Issue 15 end to end in Chromium: a resident asks in English and one in Spanish through
/help and signs the electronic release; intake accepts each from the Online requests queue;
each case shows the electronic release (CASES Act) and the resident's language; a caseworker
refers the case to the agency the release covers and the gate lets it through without an
override. axe runs on every page (the staff pages added here included)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Category, OnlineRequest, Referral, ZipDistrict
from tests.e2e.conftest import browsing
from tests.help_form import public_world
from tests.online_helpers import gen_request

RESIDENTS = {
    "en": ("Marisol", "Okafor", "My retirement payment has not come since June.", "BX-4471-22"),
    "es": ("Tomás", "Ibáñez", "No me llega el pago de jubilación desde junio.", "CZ-9902-51"),
}


@pytest.fixture(scope="module")
def category_id(live_server) -> Iterator[int]:  # type: ignore[no-untyped-def]
    """The public SSA category (made here, or the one the public form's tests made), and ZIP
    12901 in the office's district NY-21."""
    app = live_server.app
    before = app.config.get("PUBLIC_FORM_MIN_SECONDS")
    app.config["PUBLIC_FORM_MIN_SECONDS"] = 0  # a browser driven by a script fills fast
    with app.app_context():
        found = db.session.scalar(sa.select(Category).where(Category.slug == "ssa-public"))
        category = found.id if found is not None else public_world().category.id
        if db.session.get(ZipDistrict, {"zip5": "12901", "district_code": "NY-21"}) is None:
            db.session.add(ZipDistrict(zip5="12901", district_code="NY-21", state="NY"))
            db.session.commit()
        db.session.remove()
    yield category
    app.config["PUBLIC_FORM_MIN_SECONDS"] = before


def ask(browser, live_server, category_id: int, lang: str) -> str:  # type: ignore[no-untyped-def]
    """The resident's side: the form filled and signed in ``lang``; the reference shown."""
    first, last, story, claim = RESIDENTS[lang]
    with browsing(browser, live_server.url, f"resident-{lang}") as ui:
        ui.goto(f"/help?lang={lang}")
        ui.page.click(f"label[for=category-{category_id}]")
        ui.click("form[action='/help/request'] button[type=submit]")
        page = ui.page
        page.fill("#what_happened", story)
        page.fill("#first_name", first)
        page.fill("#last_name", last)
        page.fill("#address_line1", "31 Cornelia Street")
        page.fill("#city", "Plattsburgh")
        page.select_option("#state", "NY")
        page.fill("#zip_code", "12901")
        page.fill("#phone", "(518) 555-0177")
        page.click("label[for=preferred_contact-0]")
        if page.locator("#claim_number").count():
            page.fill("#claim_number", claim)
        page.click("label[for=attest]")
        page.click("label[for=consent]")
        page.fill("#signed_name", f"{first} {last}")
        ui.click("button[data-submit-once]")
        assert ui.page.url.endswith("/help/sent")
        return ui.page.inner_text(".app-reference").strip()


def kept(live_server, reference: str) -> tuple[int, int | None]:  # type: ignore[no-untyped-def]
    with live_server.app.app_context():
        found = db.session.scalar(
            sa.select(OnlineRequest).where(OnlineRequest.reference == reference)
        )
        assert found is not None
        ids = (found.id, found.case_id)
        db.session.remove()
        return ids


def referrals_of(live_server, case_id: int) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    with live_server.app.app_context():
        rows = db.session.scalars(sa.select(Referral).where(Referral.case_id == case_id)).all()
        found = [(r.agency.name, r.override_reason) for r in rows]
        db.session.remove()
        return found


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_request_asked_online_becomes_a_case_whose_release_passes_the_gate(  # type: ignore[no-untyped-def]
    browser, live_server, category_id, lang
):
    reference = ask(browser, live_server, category_id, lang)
    request_id, _ = kept(live_server, reference)
    first, last, story, claim = RESIDENTS[lang]
    office = live_server.office

    with browsing(browser, live_server.url, f"staff-accepts-{lang}") as ui:
        ui.login(office.intake.email)
        assert ui.page.locator("nav a:has-text('Online requests (')").count() == 1
        ui.click("nav a:has-text('Online requests')")
        ui.click(f"a:has-text('{reference}')")
        page = ui.page
        assert story in page.inner_text("main")
        assert "SSA release, version 1" in page.inner_text("#release-heading + dl")
        if page.locator("#reveal").count():  # the category asks for the claim number
            assert claim not in page.content()
            ui.click("#reveal")
            assert claim in page.inner_text("#identifiers")
            assert page.input_value("#first_name") == first  # the accept form still filled
        ui.click("#accept")
        assert "/cases/" in page.url, page.url
        release = page.inner_text("#release")
        assert (
            "on the online help form (electronic (CASES Act))" in release
            and "Social Security Administration" in release
        )
        assert "Download the signed form" in release
        language = {"en": "English", "es": "Spanish"}[lang]
        assert language in page.inner_text(".app-case-who")
        ui.logout()

    _, case_id = kept(live_server, reference)
    assert case_id is not None
    with browsing(browser, live_server.url, f"caseworker-refers-{lang}") as ui:
        ui.login(office.caseworker.email)
        ui.goto(f"/cases/{case_id}")
        if ui.page.locator("#identifiers").count():
            assert claim not in ui.page.content()  # masked on the case too
        ui.click("#referrals a:has-text('Refer to an agency')")
        ui.page.select_option("#agency", label="Social Security Administration (SSA) — Federal")
        assert ui.page.locator("#override_reason").count() == 0
        ui.click("button:has-text('Send referral')")
    assert referrals_of(live_server, case_id) == [("Social Security Administration", None)]


def test_the_staff_pages_added_for_online_requests_are_axe_clean(ui, live_server, category_id):  # type: ignore[no-untyped-def]
    """The queue with an out-of-district request waiting, its page (split into accept and
    decline for intake, read-only for an admin) and the admin pages."""
    with live_server.app.app_context():
        db.session.add(ZipDistrict(zip5="05401", district_code="VT-01", state="VT"))
        category = db.session.get(Category, category_id)
        waiting = gen_request(category, zip_code="05401", state="VT", city="Burlington")
        db.session.commit()
        waiting_id = waiting.id
        db.session.remove()
    ui.login(live_server.office.intake.email)
    ui.goto("/online-requests/")
    assert "OUT OF DISTRICT" in ui.page.inner_text("main table").upper()
    ui.goto(f"/online-requests/{waiting_id}")
    assert "courtesy referral" in ui.page.inner_text("main")
    ui.click("#decline")  # no reason chosen: the refusal shown, axe-clean too
    assert "Choose why the request is declined." in ui.page.inner_text("main")
    ui.logout()
    ui.login(live_server.office.admin.email)
    ui.goto(f"/online-requests/{waiting_id}")
    ui.goto("/online-requests/")
    ui.goto("/admin/release-templates")
    ui.click("a:has-text('SSA release')")
    ui.goto(f"/admin/categories/{category_id}")
