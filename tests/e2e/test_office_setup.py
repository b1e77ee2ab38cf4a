"""Done when, in Chromium: from an empty database and without the demo seeder, an office for a
real House member (AL-04, Robert Aderholt; WY-AL, Harriet Hageman) is set up on the admin pages,
its agencies with their categories and 1,000 constituents and 2,000 cases are imported, and a
call is logged from a ZIP split with a district the office does not serve. axe runs on every
page visited."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_migrate import upgrade

from constituent.extensions import db
from constituent.services import auth
from tests.caseload import write_caseload
from tests.dbutil import fresh_database
from tests.e2e.conftest import browsing, e2e_app, serving
from tests.test_office_from_scratch import ALABAMA, WYOMING, RealOffice

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "a long admin passphrase for set-up"
CATEGORIES = "name,description\nSocial Security,SSDI and SSI\nVeterans,VA claims\nIRS,Refunds\n"


def _zip_table(tmp: Path, states: str) -> Path:
    """The Census rows of the office's states, in an office's own zip,district layout."""
    wanted = set(states.split(","))
    lines = ["zip,district"]
    for row in (ROOT / "constituent/data/zccd.csv").read_text().splitlines()[1:]:
        _fips, state, zcta, cd = row.split(",")
        if state in wanted:
            lines.append(f"{zcta},{state}-{'AL' if int(cd) == 0 else f'{int(cd):02d}'}")
    path = tmp / "zips.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("office", [ALABAMA, WYOMING], ids=["AL-04", "WY-AL"])
def test_an_office_set_up_in_the_browser_from_an_empty_database(browser, tmp_path, office):
    agencies, people, cases = write_caseload(tmp_path / "old", office.zips, office.city)
    categories = tmp_path / "categories.csv"
    categories.write_text(CATEGORIES)
    zips = _zip_table(tmp_path, office.states)
    with fresh_database(tmp_path, "setup") as url:
        app = e2e_app(url, tmp_path)
        with app.app_context():
            upgrade()
            # The one step before the browser: the first administrator (no district needed).
            auth.create_user("it@office.example", "Office IT", "admin", [], ADMIN_PASSWORD)
            db.session.commit()
            db.session.remove()
        with serving(app) as base, browsing(browser, base, f"setup-{office.code}") as ui:
            _set_up(ui, office, agencies, people, cases, categories, zips)


def _submit(ui, action: str) -> None:  # type: ignore[no-untyped-def]
    ui.click(f"form[action='{action}'] button[type=submit]")


def _set_up(ui, office: RealOffice, agencies, people, cases, categories, zips) -> None:  # type: ignore[no-untyped-def]
    page = ui.page
    ui.login("it@office.example", ADMIN_PASSWORD)
    ui.goto("/admin/office")
    page.fill("#name", f"Office of Representative {office.legislator}")
    page.fill("#legislator_name", office.legislator)
    page.select_option("#body", "us_house")
    page.fill("#state", office.state)
    page.fill("#office_code", office.code)
    page.fill("#timezone", office.timezone)
    _submit(ui, "/admin/office")
    assert "saved" in page.inner_text("main")
    assert f"Office of Representative {office.legislator}" in page.inner_text("header")

    ui.goto("/admin/districts")
    page.fill("#code", office.district)
    page.fill("#name", f"{office.state} congressional district")
    _submit(ui, "/admin/districts/new")
    assert f"Added district {office.district}" in page.inner_text("main")
    ui.goto("/admin/zip-table")
    page.set_input_files("#file", str(zips))
    page.click("label[for=dry_run]")  # USWDS draws the box on the label
    _submit(ui, "/admin/zip-table")
    assert "Imported" in page.inner_text("main")

    ui.goto("/admin/categories")
    page.set_input_files("#file", str(categories))
    _submit(ui, "/admin/categories/import")
    assert "3 added" in page.inner_text("main")
    ui.goto("/agencies/import")
    page.set_input_files("#file", str(agencies))
    ui.click("main form[enctype='multipart/form-data'] button[type=submit]")
    assert "3 of 3 rows imported" in page.inner_text("main")

    for kind, path, added in (("constituents", people, "1,000"), ("cases", cases, "2,000")):
        ui.goto("/admin/import")
        page.select_option("#kind", kind)
        page.set_input_files("#file", str(path))
        _submit(ui, "/admin/import")  # a dry run first (the box starts ticked)
        page.wait_for_selector(f"text={added} would be added", timeout=60_000)
        assert "Dry run: nothing was saved" in page.inner_text("main")
        ui.goto("/admin/import")
        page.select_option("#kind", kind)
        page.set_input_files("#file", str(path))
        page.click("label[for=dry_run]")
        _submit(ui, "/admin/import")  # runs in the background: a progress bar, polled by htmx
        assert page.locator("progress#import-bar").count() == 1
        page.wait_for_selector(f"text={added} were added", timeout=60_000)
        assert page.locator("#import-bar").get_attribute("value") == page.locator(
            "#import-bar"
        ).get_attribute("max")

    ui.goto("/admin/users/new")
    page.fill("#email", "front@office.example")
    page.fill("#full_name", "Front Desk")
    page.select_option("#role", "intake")
    page.click(f"label:has-text('{office.district} ·')")
    _submit(ui, "/admin/users/new")
    password = page.input_value("#generated-password")
    ui.logout()

    ui.login("front@office.example", password)
    ui.goto("/intake/")
    page.fill("#first_name", "Opal")
    page.fill("#last_name", "Whitlock")
    page.fill("#phone", "(307) 555-0199")
    page.fill("#street", "40 Split Rd")
    page.fill("#city", office.city)
    page.fill("#zip5", office.split_zip)
    page.wait_for_selector("#district_id")
    message = page.inner_text("#district-message")
    assert office.other in message and "outside this office's districts" in message
    options = page.eval_on_selector_all("#district_id option", "os => os.map(o => o.text)")
    assert not any(o.startswith(office.other) for o in options)
    page.select_option("#district_id", label="Outside this office's districts")
    page.select_option("#category_id", label="IRS")
    page.fill("#subject", "Refund held for review")
    ui.click("button[name=action][value=log]")
    assert re.search(r"Case C-\d+", page.inner_text("main"))
