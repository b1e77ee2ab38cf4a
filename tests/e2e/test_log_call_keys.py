"""Keys to log a call (issue 14, item 1): a scripted keyboard user logs a call for a new
constituent in Chromium, typing and pressing Tab or Enter only, and every key press is counted
(each typed character is one). The figure is printed and written to the report folder."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Case, Constituent, District, ZipDistrict
from tests import factories
from tests.e2e.conftest import SCREENSHOTS

KEY_LIMIT = 120

# What a caller says on an ordinary phone call, in the order a staffer types it. The category
# is picked by typing its first letter on the focused select, as a keyboard user does.
CALL = [
    ("first_name", "Rosalind"),
    ("last_name", "Pemberton"),
    ("phone", "518 555 0166"),
    ("street", "7 Quarry Street"),
    ("city", "Plattsburgh"),
    ("zip5", "12901"),
    ("category_id", "S"),
    ("subject", "Emergency passport"),
    ("description", "Funeral abroad on Friday."),
]


class Keyboard:
    """Presses keys on the page and counts them."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.page = page
        self.keys = 0
        self.tabs = 0

    def focused(self) -> str:
        return str(self.page.evaluate("document.activeElement.id || ''"))

    def settle(self) -> None:
        """Wait as a person would for the look-ups typed so far to come back."""
        self.page.wait_for_timeout(350)
        for _ in range(50):  # wait_for_function would need 'unsafe-eval' under the CSP
            if not self.page.evaluate("!!document.querySelector('.htmx-request')"):
                return
            self.page.wait_for_timeout(100)

    def tab_to(self, field_id: str) -> None:
        for _ in range(60):
            if self.focused() == field_id:
                return
            self.page.keyboard.press("Tab")
            self.keys += 1
            self.tabs += 1
        raise AssertionError(f"Tab never reached #{field_id} (at #{self.focused()})")

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.keys += len(text)
        self.settle()

    def submit(self) -> None:
        """Enter in a single-line field; in a text area its advertised shortcut, if any;
        otherwise Tab to the submit button and press Enter there."""
        kind = self.page.evaluate("document.activeElement.tagName")
        shortcut = self.page.evaluate(
            "document.activeElement.getAttribute('aria-keyshortcuts') || ''"
        )
        if kind == "TEXTAREA" and shortcut:
            chord = shortcut.split()[0]
            self.keys += len(chord.split("+"))
            chosen = chord
        elif kind == "INPUT":
            self.keys += 1
            chosen = "Enter"
        else:
            self.tab_to("log-call")
            self.keys += 1
            chosen = "Enter"
        with self.page.expect_navigation():
            self.page.keyboard.press(chosen)


def test_keys_to_log_a_call_for_a_new_constituent(ui, live_server):
    with live_server.app.app_context():
        if db.session.get(ZipDistrict, ("12901", "NY-21")) is None:
            db.session.add(ZipDistrict(zip5="12901", district_code="NY-21", state="NY"))
            db.session.commit()
    ui.login(live_server.office.intake.email)
    page = ui.page
    assert page.url.endswith("/intake/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "log-a-call-empty.png"), full_page=True)
    usual_channel = page.input_value("#channel")  # the user's last call's, or phone
    keyboard = Keyboard(page)
    for field_id, text in CALL:
        keyboard.tab_to(field_id)
        keyboard.type(text)
    page.screenshot(path=str(SCREENSHOTS / "log-a-call-filled.png"), full_page=True)
    keyboard.submit()
    found = re.search(r"/cases/(\d+)$", page.url)
    assert found, page.url
    with live_server.app.app_context():
        case = db.session.get(Case, int(found.group(1)))
        person = db.session.get(Constituent, case.constituent_id)
        assert (person.first_name, person.last_name, person.city) == (
            "Rosalind",
            "Pemberton",
            "Plattsburgh",
        )
        assert case.subject == "Emergency passport" and case.district.code == "NY-21"
        assert case.description == "Funeral abroad on Friday."
        assert case.channel.value == usual_channel
    figure = f"keys to log a call: {keyboard.keys} (Tab: {keyboard.tabs})"
    print("\n" + figure)
    folder = Path(os.environ.get("CONSTITUENT_REPORT_DIR") or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "ui.txt").open("a") as report:
        report.write(figure + "\n")
    assert keyboard.keys <= KEY_LIMIT, figure


def test_the_matches_are_a_few_keys_from_the_name_fields(ui, live_server):
    with live_server.app.app_context():
        district = db.session.scalar(sa.select(District).where(District.code == "NY-21"))
        person = factories.gen_constituent(district, first="Octavia", last="Brannigan")
        db.session.commit()
        person_id = person.id
    ui.login(live_server.office.intake.email)
    page = ui.page
    keyboard = Keyboard(page)
    keyboard.type("Octavia")
    keyboard.tab_to("last_name")
    keyboard.type("Brannigan")
    page.wait_for_selector(f"#constituent-{person_id}")
    # Back to the link above the name fields, follow it, and the next Tab is in the matches.
    for _ in range(2):
        page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#matches"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#matches') !== null")
    page.keyboard.press("ArrowDown")  # from "New constituent" to the first match
    assert page.is_checked(f"#constituent-{person_id}")
    page.wait_for_selector("#district-message:has-text('District on file: NY-21')")
    ui.check()
