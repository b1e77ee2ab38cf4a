"""Issue 3's whole path in one browser session: log a call for a new constituent in a ZIP
split between two districts, choose the district, add a note, assign the case, record a
privacy release with an upload, close it with an outcome and reopen it. axe on every page."""

from __future__ import annotations

import re

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Agency, AgencyLevel, Case
from constituent.views.helpers import local_today
from tests.case_helpers import png_bytes
from tests.e2e.test_intake import seed_zip


def test_log_a_split_zip_call_then_work_the_case_to_closing_and_reopening(
    ui, live_server, tmp_path
):
    seed_zip(live_server, "12960", "NY-20", "NY-21")
    with live_server.app.app_context():
        if db.session.scalar(sa.select(Agency).where(Agency.acronym == "SSA")) is None:
            db.session.add(
                Agency(
                    name="Social Security Administration", acronym="SSA", level=AgencyLevel.FEDERAL
                )
            )
            db.session.commit()
        today = local_today().isoformat()
    office = live_server.office
    page = ui.page
    ui.login(office.supervisor.email)

    # Log the call: one page, one submit.
    ui.goto("/intake/")
    for field_id, text in [
        ("first_name", "Augustina"),
        ("last_name", "Prell"),
        ("phone", "(518) 555-0177"),
        ("street", "4 Mill Road"),
        ("city", "Moriah"),
        ("zip5", "12960"),
    ]:
        page.fill(f"#{field_id}", text)
    page.press("#zip5", "Tab")
    page.wait_for_selector("#district_id")
    options = [o.strip() for o in page.locator("#district_id option").all_inner_texts()]
    assert [o.split(" ")[0] for o in options] == ["Choose", "NY-20", "NY-21"]
    ui.check()
    # The supervisor works in NY-21 (the caller's half of the split ZIP).
    page.select_option("#district_id", label=next(o for o in options if o.startswith("NY-21")))
    page.select_option("#category_id", label=office.category.name)
    page.fill("#subject", "Widow's survivor benefit stopped")
    page.fill("#description", "Payments stopped two months after her husband died.")
    page.click("label[for=release_needed]")
    ui.click("#log-call")
    found = re.search(r"/cases/(\d+)$", page.url)
    assert found, page.url
    case_id = int(found.group(1))
    assert "NY-21" in page.inner_text(".app-facts")

    # A note in one step.
    page.select_option("#entry-kind", "note")
    page.fill("#entry-body", "Asked her to bring the SSA letter to the office.")
    ui.click("#add-entry button[type=submit]")
    assert "Asked her to bring the SSA letter" in page.inner_text("#timeline")

    # Assign it.
    page.click("#assign summary")  # the action groups are folded but for the timeline
    page.select_option("#assign-assignee", str(office.caseworker.id))
    ui.click("#assign button[type=submit]")
    assert office.caseworker.full_name in page.inner_text(".app-facts")

    # Record the signed privacy release with its scan.
    scan = tmp_path / "release.png"
    scan.write_bytes(png_bytes())
    page.click("text=Record a signed release")
    page.fill("#relrec-signed_on", today)
    page.select_option("#relrec-signature_method", "electronic")
    page.check("label:has-text('Social Security Administration')")
    page.set_input_files("#relrec-file", str(scan))
    ui.click("form[action$='/release/received'] button[type=submit]")
    assert "Received" in page.inner_text(".app-facts")

    # Close with an outcome, then reopen with a reason.
    page.click("#change-status summary")
    page.select_option("#status-status", "closed")
    page.select_option("#status-outcome", "assisted")
    ui.click("#change-status button[type=submit]")
    assert "closed" in page.inner_text(".app-case-head__tags").lower()
    page.click("#reopen summary")
    page.fill("#reopen-reason", "The payments stopped again.")
    ui.click("#reopen button[type=submit]")
    assert "open" in page.inner_text(".app-case-head__tags").lower()

    with live_server.app.app_context():
        case = db.session.get(Case, case_id)
        assert case.district.code == "NY-21"
        assert case.constituent.district.code == "NY-21"
        assert case.assignee_id == office.caseworker.id
        assert case.release_state.value == "received"
        assert len(case.intervals) == 2 and case.closed_at is None
        kinds = [e.kind.value for e in case.events]
        assert kinds[0] == "intake" and "note" in kinds and "assignment" in kinds
    assert len(ui.visited) >= 7
