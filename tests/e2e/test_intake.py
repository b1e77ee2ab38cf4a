"""Log a call in Chromium: find a caller by nickname and by phone, log a new caller in a split
ZIP by keyboard, with axe-core on every page of the intake and constituent areas."""

from __future__ import annotations

import re

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Case, Constituent, District, ZipDistrict
from tests import factories


def seed_zip(live_server, zip5: str, *codes: str) -> None:
    with live_server.app.app_context():
        for code in codes:
            if db.session.get(ZipDistrict, (zip5, code)) is None:
                db.session.add(ZipDistrict(zip5=zip5, district_code=code, state=code[:2]))
        db.session.commit()


def seed_constituent(live_server, first: str, last: str, phone: str, zip5: str) -> int:
    with live_server.app.app_context():
        district = db.session.scalar(sa.select(District).where(District.code == "NY-21"))
        person = factories.gen_constituent(district, first=first, last=last, phone=phone, zip5=zip5)
        db.session.commit()
        return person.id


def test_find_an_existing_constituent_by_nickname_and_by_phone(ui, live_server):
    seed_zip(live_server, "12901", "NY-21")
    person_id = seed_constituent(live_server, "Margaret", "Quillfeather", "518-555-0177", "12901")
    ui.login(live_server.office.intake.email)
    assert ui.page.url.endswith("/intake/")  # intake staff start on Log a call
    page = ui.page
    match = f"#constituent-{person_id}"
    page.fill("#first_name", "Peggy")
    page.fill("#last_name", "Quillfeather")
    page.wait_for_selector(match)
    assert "Matches on name (nickname)" in page.inner_text("#matches")
    ui.check()
    page.fill("#first_name", "")
    page.fill("#last_name", "")
    page.wait_for_selector(match, state="detached")
    page.fill("#phone", "(518) 555 0177")
    page.wait_for_selector(match)
    assert "Matches on phone" in page.inner_text("#matches")
    page.click(f"label[for='constituent-{person_id}']")
    page.wait_for_selector("#district-message:has-text('District on file: NY-21')")
    ui.check()
    ui.goto("/constituents/?q=Peggy+Quillfeather")
    ui.click(f"a[href='/constituents/{person_id}']")
    assert "Margaret Quillfeather" in page.inner_text("h1")
    assert "518-555-0177" in page.inner_text("main")


def test_log_a_call_for_a_new_constituent_in_a_split_zip_by_keyboard(ui, live_server):
    seed_zip(live_server, "12877", "NY-20", "NY-21")
    ui.login(live_server.office.intake.email)
    page = ui.page
    page.focus("#first_name")
    typed = [
        ("first_name", "Winifred"),
        ("last_name", "Osterhout"),
        ("phone", "518 555 0166"),
        ("email", "w.osterhout@example.org"),
        ("street", "9 Bridge Street"),
        ("street2", "Apt 2"),
        ("city", "Keeseville"),
        ("state", "NY"),
        ("zip5", "12877"),
    ]
    for position, (field_id, text) in enumerate(typed):
        assert page.evaluate("document.activeElement.id") == field_id
        page.keyboard.type(text)
        if position < len(typed) - 1:
            page.keyboard.press("Tab")
    select = page.wait_for_selector("#district_id")
    options = [o.strip() for o in page.locator("#district_id option").all_inner_texts()]
    assert [o.split(" ")[0] for o in options] == ["Choose", "NY-20", "NY-21"]
    assert "split between NY-20 and NY-21" in page.inner_text("#district-region")
    ui.check()
    # Tab order: the "New constituent" choice, then the district, then the concern.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "constituent_id"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "district_id"
    select.select_option(label=next(o for o in options if o.startswith("NY-21")))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "category_id"
    page.select_option("#category_id", label=live_server.office.category.name)
    page.keyboard.press("Tab")
    page.keyboard.type("Passport for a funeral abroad")
    page.keyboard.press("Tab")
    page.keyboard.type("Needs an emergency passport appointment this week.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "channel"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "priority"
    page.select_option("#priority", "emergency")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "release_needed"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "log-call"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    found = re.search(r"/cases/(\d+)$", page.url)
    assert found, page.url
    with live_server.app.app_context():
        case = db.session.get(Case, int(found.group(1)))
        person = db.session.get(Constituent, case.constituent_id)
        assert case.subject == "Passport for a funeral abroad"
        assert case.district.code == "NY-21" and person.district.code == "NY-21"
        assert case.priority.value == "emergency" and case.release_state.value == "needed"
        assert (person.first_name, person.last_name) == ("Winifred", "Osterhout")
        assert [c.normalized for c in person.contact_points] == [
            "+15185550166",
            "w.osterhout@example.org",
        ]
    # The case page belongs to another area; it is checked by its own tests.


def test_refused_call_keeps_the_form_and_shows_errors_beside_fields(ui, live_server):
    seed_zip(live_server, "12877", "NY-20", "NY-21")
    ui.login(live_server.office.intake.email)
    page = ui.page
    page.fill("#first_name", "Ida")
    page.fill("#last_name", "Brandt")
    page.fill("#email", "ida@")
    page.fill("#zip5", "12877")
    page.wait_for_selector("#district_id")
    ui.click("#log-call")
    main = page.inner_text("main")
    assert "Choose the district" in main and "with a name and a domain" in main
    assert "Choose a category" in main and "Enter a subject" in main
    assert page.input_value("#last_name") == "Brandt"
    assert page.is_visible("#district_id")


def test_supervisor_edits_and_merges_and_admin_dry_runs_a_zip_table(ui, live_server, tmp_path):
    seed_zip(live_server, "12901", "NY-21")
    kept = seed_constituent(live_server, "Theodora", "Vandermeer", "518-555-0155", "12901")
    dup = seed_constituent(live_server, "Teddy", "Vandermeer", "(518) 555-0155", "12901")
    ui.login(live_server.office.supervisor.email)
    ui.goto(f"/constituents/{kept}")
    assert f"duplicate={dup}" in ui.page.inner_html("main")
    ui.click("a[href$='/edit']")
    ui.page.fill("#language", "Dutch")
    ui.click("main button[type=submit]")
    assert "Dutch" in ui.page.inner_text("main")
    ui.goto(f"/constituents/merge?kept={kept}&duplicate={dup}")
    ui.page.click("label[for=confirm]")
    ui.click("main form[method=post] button[type=submit]")
    assert ui.page.url.endswith(f"/constituents/{kept}")
    ui.goto(f"/constituents/{dup}")
    assert ui.page.url.endswith(f"/constituents/{kept}")  # the old link resolves
    ui.logout()
    csv = tmp_path / "zccd.csv"
    csv.write_text(
        "state_fips,state_abbr,zcta,cd\n36,NY,12901,21\n36,NY,12877,20\n36,NY,12877,21\n"
    )
    ui.login(live_server.office.admin.email)
    ui.goto("/admin/zip-table")
    ui.page.set_input_files("#file", str(csv))
    ui.click("main button[type=submit]")
    assert "Dry run: nothing was saved" in ui.page.inner_text("main")


def test_a_second_click_on_a_slow_connection_sends_nothing_more(ui, live_server):
    """The button disables itself after the first click (static script, under the CSP)."""
    seed_zip(live_server, "12901", "NY-21")
    ui.login(live_server.office.intake.email)
    page = ui.page
    page.fill("#first_name", "Theodora")
    page.fill("#last_name", "Quimby")
    page.fill("#zip5", "12901")
    page.wait_for_selector("#district-message:has-text('NY-21')")
    page.select_option("#category_id", label=live_server.office.category.name)
    page.fill("#subject", "Second click on a slow line")
    posts: list[str] = []

    def no_answer_yet(route) -> None:  # type: ignore[no-untyped-def]
        # 204 leaves the page as it is, as a slow answer would: the second click comes first.
        if route.request.method == "POST":
            posts.append(route.request.post_data or "")
            route.fulfill(status=204)
        else:
            route.continue_()

    page.route("**/intake/", no_answer_yet)
    page.click("#log-call", no_wait_after=True)
    page.wait_for_selector("#log-call[disabled]")
    ui.check()
    page.click("#log-call", force=True, no_wait_after=True)  # the impatient second click
    page.wait_for_timeout(500)
    assert len(posts) == 1 and "action=log" in posts[0]  # the clicked button's value was sent
    page.unroute("**/intake/")
    ui.goto("/intake/")
    assert page.is_enabled("#log-call")  # a new page starts with working buttons
