"""The public help form in Chromium: a resident asks in English and in Spanish, axe-clean on
every public page in both languages, at 320 px too, and the form works with JavaScript off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import OnlineRequest
from tests.e2e.conftest import SCREENSHOTS, browsing
from tests.help_form import public_world

PEOPLE = {
    "en": ("Rosa", "Delgado", "My disability payments stopped in March."),
    "es": ("José", "Núñez", "Mis pagos de discapacidad se pararon en marzo."),
}


@pytest.fixture(scope="module")
def category_id(live_server) -> Iterator[int]:  # type: ignore[no-untyped-def]
    app = live_server.app
    before = app.config.get("PUBLIC_FORM_MIN_SECONDS")
    app.config["PUBLIC_FORM_MIN_SECONDS"] = 0  # a browser driven by a script fills fast
    with app.app_context():
        found = public_world()
        category = found.category.id
        db.session.remove()
    yield category
    app.config["PUBLIC_FORM_MIN_SECONDS"] = before


def kept(live_server, first_name: str, last_name: str) -> OnlineRequest | None:  # type: ignore[no-untyped-def]
    """The request this test sent (other browser tests share the database and add requests of
    their own, some with the same first name)."""
    with live_server.app.app_context():
        found = db.session.scalar(
            sa.select(OnlineRequest).where(
                OnlineRequest.first_name == first_name, OnlineRequest.last_name == last_name
            )
        )
        if found is not None:
            db.session.expunge(found)
        db.session.remove()
        return found


def sent(live_server, reference: str) -> OnlineRequest | None:  # type: ignore[no-untyped-def]
    """The request the confirmation page names."""
    with live_server.app.app_context():
        found = db.session.scalar(
            sa.select(OnlineRequest).where(OnlineRequest.reference == reference)
        )
        if found is not None:
            db.session.expunge(found)
        db.session.remove()
        return found


def fill(page, lang: str, sign: bool = True) -> None:  # type: ignore[no-untyped-def]
    first, last, story = PEOPLE[lang]
    page.fill("#what_happened", story)
    page.fill("#first_name", first)
    page.fill("#last_name", last)
    page.fill("#address_line1", "12 Main St")
    page.fill("#city", "Cullman")
    page.select_option("#state", "AL")
    page.fill("#zip_code", "35055")
    page.fill("#phone", "(518) 555-0123")
    page.click("label[for=preferred_contact-0]")
    if sign:
        page.click("label[for=attest]")
        page.click("label[for=consent]")
        page.fill("#signed_name", f"{first} {last}")


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_resident_asks_for_help_and_signs_the_release(ui, live_server, category_id, lang):  # type: ignore[no-untyped-def]
    ui.goto(f"/help?lang={lang}")
    assert ui.page.get_attribute("html", "lang") == lang
    ui.page.click(f"label[for=category-{category_id}]")
    ui.click("form[action='/help/request'] button[type=submit]")
    # A post with nothing filled in: the problems, in the resident's language, axe-clean.
    ui.click("button[data-submit-once]")
    assert ui.page.locator(".usa-alert--error").count() == 1
    heading = {"en": "Please fix these problems", "es": "Por favor corrija estos problemas"}
    assert heading[lang] in ui.page.inner_text(".usa-alert--error")
    fill(ui.page, lang)
    ui.click("button[data-submit-once]")
    assert ui.page.url.endswith("/help/sent")
    reference = ui.page.inner_text(".app-reference").strip()
    request = sent(live_server, reference)
    assert request is not None and request.first_name == PEOPLE[lang][0]
    assert request.language.value == lang and request.release_version_id is not None
    assert PEOPLE[lang][1] not in ui.page.content()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_public_pages_fit_320_pixels(browser, live_server, category_id, lang):  # type: ignore[no-untyped-def]
    with browsing(browser, live_server.url, f"help-320-{lang}", width=320) as ui:
        for path in (f"/help?lang={lang}", f"/help/request?category={category_id}"):
            ui.goto(path)
            width = ui.page.evaluate("document.documentElement.scrollWidth")
            assert width <= 320, f"{path} is {width}px wide at 320"


def test_the_form_works_with_javascript_turned_off(browser, live_server, category_id):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1024, "height": 900}
    )
    try:
        page = context.new_page()
        page.goto(live_server.url + "/help")
        page.click(f"label[for=category-{category_id}]")
        with page.expect_navigation():
            page.click("form[action='/help/request'] button[type=submit]")
        PEOPLE["nojs"] = ("Ana", "Sin Script", "Nobody answers my letters.")
        fill(page, "nojs")
        with page.expect_navigation():
            page.click("button[data-submit-once]")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "help-no-javascript.png"), full_page=True)
        assert page.url.endswith("/help/sent")
        assert kept(live_server, "Ana", "Sin Script") is not None
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_refusal_pages_are_axe_clean_too(ui, live_server, category_id, lang):  # type: ignore[no-untyped-def]
    """A choice no longer offered, the polite 429 page and the closed form, in each language."""
    config = live_server.app.config
    ui.goto(f"/help/request?category=999999&lang={lang}")
    assert ui.page.locator(".usa-alert--error").count() == 1
    saved = {k: config[k] for k in ("PUBLIC_FORM_LIMIT_PER_ADDRESS", "RATELIMIT_KEY_PREFIX")}
    config["PUBLIC_FORM_LIMIT_PER_ADDRESS"] = "1 per minute"
    config["RATELIMIT_KEY_PREFIX"] = f"e2e-throttled-{lang}"  # counts of their own
    try:
        ui.goto(f"/help/request?category={category_id}")
        fill(ui.page, lang, sign=False)
        ui.click("button[data-submit-once]")
        assert ui.page.url.endswith("/help/sent")
        ui.goto(f"/help/request?category={category_id}")
        fill(ui.page, lang, sign=False)
        ui.click("button[data-submit-once]")
        title = {"en": "Please wait a little", "es": "Por favor espere un poco"}
        assert title[lang] in ui.page.inner_text("h1")
    finally:
        config.update(saved)
    config["PUBLIC_FORM_OPEN"] = False
    try:
        ui.goto("/help")
        closed = {"en": "closed for now", "es": "cerrado por ahora"}
        assert closed[lang] in ui.page.inner_text("h1")
    finally:
        config["PUBLIC_FORM_OPEN"] = True


def va_release(live_server) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """The VA with a release of its own (made once: the database outlives a test)."""
    from constituent.models import Agency, AgencyLevel, ReleaseTemplate, ReleaseTemplateVersion

    with live_server.app.app_context():
        template = db.session.scalar(
            sa.select(ReleaseTemplate).where(ReleaseTemplate.name == "VA release (e2e)")
        )
        if template is None:
            va = Agency(name="Veterans Affairs (e2e)", acronym="VAE", level=AgencyLevel.FEDERAL)
            template = ReleaseTemplate(name="VA release (e2e)", agencies=[va])
            db.session.add_all([va, template])
            db.session.add(
                ReleaseTemplateVersion(
                    template=template,
                    number=1,
                    text_en="I authorize Veterans Affairs to release my claims file.",
                    text_es="Autorizo a Asuntos de Veteranos a entregar mi expediente.",
                )
            )
            db.session.commit()
        found = (template.agencies[0].id, template.versions[0].id)
        db.session.remove()
        return found


def test_choosing_an_agency_shows_its_release_in_place(ui, live_server, category_id):  # type: ignore[no-untyped-def]
    agency_id, version_id = va_release(live_server)
    ui.goto(f"/help/request?category={category_id}&lang=en")
    release = ui.page.locator(".app-release-text")
    assert "Social Security" in release.inner_text()
    PEOPLE["htmx"] = ("Walt", "Mendez", "My VA claim has waited a year.")
    fill(ui.page, "htmx")  # signed for the SSA's release first
    ui.page.evaluate("window.stillHere = true")
    ui.page.select_option("#agency_id", str(agency_id))
    ui.page.locator(".app-release-text", has_text="Veterans Affairs").wait_for()
    assert ui.page.evaluate("window.stillHere") is True  # redrawn in place, not reloaded
    assert "now for: Veterans Affairs (e2e)" in ui.page.inner_text("#release-status")
    # Another release: the signature was cleared, to be given after reading this one.
    assert not ui.page.is_checked("#attest") and ui.page.input_value("#signed_name") == ""
    ui.check()  # axe on the redrawn form
    ui.page.click("label[for=attest]")
    ui.page.click("label[for=consent]")
    ui.page.fill("#signed_name", "Walt Mendez")
    ui.click("button[data-submit-once]")
    assert ui.page.url.endswith("/help/sent")
    request = kept(live_server, "Walt", "Mendez")
    assert request is not None and request.release_version_id == version_id
