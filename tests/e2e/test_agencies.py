"""In Chromium: the agency directory, an agency, the routing rules, a letter template, and a
letter previewed, printed and laid out on one US-letter page. axe-core runs on every page."""

from __future__ import annotations

import re
from typing import Any

from constituent.extensions import db
from constituent.models import Channel, District, Priority, User
from constituent.services import cases, demo, tags
from tests import factories
from tests.e2e.conftest import SCREENSHOTS


def seed(live_server) -> dict[str, Any]:
    """The demo directory, rules and templates, and one case for the caseworker."""
    office = live_server.office
    with live_server.app.app_context():
        categories = demo._ensure_categories()
        agencies = demo._ensure_agencies(categories)
        demo._ensure_routing_rules(categories, agencies)
        demo._ensure_letter_templates()
        district = db.session.get(District, office.a.id)
        district.legislator_name = district.legislator_name or "Rep. Jordan Avery"
        person = factories.gen_constituent(
            district, first="Margaret", last="Okafor", phone="(518) 555-0142"
        )
        case = cases.open_case(
            constituent=person,
            header=cases.CaseHeader(
                subject="Retirement check stopped",
                description="Payment stopped after a change of address; rent due on the first.",
                category=categories["Social Security"],
                priority=Priority.ROUTINE,
                confidential=False,
                district=district,
            ),
            channel=Channel.PHONE,
            release_needed=True,
            opened_by=db.session.get(User, office.intake.id),
            assignee=db.session.get(User, office.caseworker.id),
        )
        db.session.commit()
        ids = {
            "case": case.id,
            "number": case.number,
            "ssa": agencies["Social Security Administration"].id,
            "tag": tags.case_tag(case.number),
            "sample_tag": tags.case_tag(1042),
        }
        db.session.remove()
    return ids


def test_directory_rules_templates_and_a_printed_letter(ui, live_server):
    ids = seed(live_server)
    office = live_server.office

    ui.login(office.caseworker.email)
    ui.goto("/agencies/")
    assert "Social Security Administration" in ui.page.inner_text("main")
    ui.page.select_option("#level", "nonprofit")
    ui.click(".app-filter button[type=submit]")
    listed = ui.page.inner_text("main table")
    assert "Safe Harbor Domestic Violence Shelter" in listed
    assert "Social Security Administration" not in listed
    ui.goto(f"/agencies/{ids['ssa']}")
    main = ui.page.inner_text("main")
    assert "Dana Whitfield" in main and "Rule for Social Security (all districts)" in main
    assert "Edit agency" not in main  # caseworkers read the directory, admins change it
    ui.logout()

    ui.login(office.admin.email)
    ui.goto("/agencies/rules")
    ui.page.select_option("#try_category", label="Social Security")
    ui.page.select_option("#try_district", label=office.a.code)
    ui.click("#try-heading ~ form button[type=submit]")
    assert "Why: Rule for Social Security (all districts)." in ui.page.inner_text("main")
    ui.goto("/agencies/letter-templates")
    ui.click("text=Agency inquiry")
    ui.click("button[value=preview]")
    assert f"Re: Congressional inquiry {ids['sample_tag']}" in ui.page.inner_text("main")
    ui.logout()

    ui.login(office.caseworker.email)
    ui.goto(f"/cases/{ids['case']}/letters/new")
    ui.page.select_option("#template_id", label="Agency inquiry (Agency inquiry)")
    # The agency contact starts from the routing rule's suggestion.
    assert "Dana Whitfield" in ui.page.locator("#contact_id option:checked").inner_text()
    ui.click("button:has-text('Preview')")
    letter = ui.page.inner_text("article.app-letter")
    assert f"Congressional inquiry {ids['tag']}" in letter
    assert "Dear Dana Whitfield:" in letter and "Margaret Okafor" in letter
    ui.click("button:has-text('Print')")
    assert re.search(r"/letters/\d+$", ui.page.url)
    assert ui.page.is_visible("button[data-print-letter]")
    assert "recorded on the case timeline" in ui.page.inner_text("main")

    # Printed, it is one US-letter page without the site's header and navigation.
    ui.page.emulate_media(media="print")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ui.page.screenshot(path=str(SCREENSHOTS / "agencies-letter-as-printed.png"), full_page=True)
    assert not ui.page.is_visible("header.usa-header")
    assert not ui.page.is_visible("h1")
    pdf = ui.page.pdf(prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    assert pages == 1, f"the letter prints on {pages} pages"
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert box and (round(float(box.group(1))), round(float(box.group(2)))) == (612, 792)
