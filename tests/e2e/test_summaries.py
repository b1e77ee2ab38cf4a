"""The legislator's summaries in Chromium, over the demo office (seeded at scale 1).

The demo office is seeded into a database of this module's own (not the session's live
server), so its 400 cases cannot change what other browser tests see. Set
CONSTITUENT_UPDATE_SCREENSHOTS=1 to refresh docs/screenshot-summary.png for the README.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Case, Constituent, User
from constituent.services import auth, demo
from tests import factories
from tests.dbutil import fresh_database
from tests.e2e.conftest import SCREENSHOTS, UI, browsing, e2e_app, serving

DOCS = Path(__file__).resolve().parents[2] / "docs"


@dataclass
class DemoOffice:
    url: str
    legislator: str
    forbidden: list[str]  # constituents' names and streets, and case subjects


@pytest.fixture(scope="module")
def demo_office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoOffice]:
    tmp = tmp_path_factory.mktemp("e2e-summaries")
    with fresh_database(tmp, "e2esum") as url:
        app = e2e_app(url, tmp)
        with app.app_context():
            db.create_all()
            demo.seed(scale=1)
            for email in ("legislator@demo.example", "supervisor@demo.example"):
                user = db.session.scalar(sa.select(User).where(User.email == email))
                user.password_hash = auth.hash_password(factories.PASSWORD)
            db.session.commit()
            forbidden = set()
            for first, last, street in db.session.execute(
                sa.select(Constituent.first_name, Constituent.last_name, Constituent.street)
            ):
                forbidden.update({f"{first} {last}", f"{last}, {first}", street})
            forbidden.update(db.session.scalars(sa.select(Case.subject).distinct()))
        with serving(app) as url:
            yield DemoOffice(url, "legislator@demo.example", sorted(x for x in forbidden if x))


@pytest.fixture()
def demo_ui(browser, demo_office: DemoOffice, request: pytest.FixtureRequest) -> Iterator[UI]:
    with browsing(browser, demo_office.url, request.node.name) as opened:
        yield opened


def assert_no_personal_data(ui: UI, forbidden: list[str]) -> None:
    text = ui.page.inner_text("body")  # type: ignore[attr-defined]
    html = ui.page.content()  # type: ignore[attr-defined]
    found = [x for x in forbidden if x in text or x in html]
    assert not found, f"personal data on {ui.page.url}: {found[:5]}"  # type: ignore[attr-defined]


def test_legislator_reads_summaries_without_any_names(demo_ui, demo_office):
    ui = demo_ui
    page = ui.page
    ui.login(demo_office.legislator)
    assert page.url.endswith("/summaries/")
    assert page.inner_text("h1") == "District summaries"
    rows = page.locator("table.app-figures tbody tr")
    assert rows.count() == 3  # NY-20, NY-21, NY-22
    assert_no_personal_data(ui, demo_office.forbidden)

    ui.click("table.app-figures tbody th a:text('NY-21')")
    assert "/summaries/NY-21" in page.url
    assert page.inner_text("h1") == "NY-21 district summary"
    assert page.locator("svg.app-chart[role=img]").count() >= 6
    assert "Caseload and closures by staffer" not in page.inner_text("main")
    assert page.locator("a[href*='/cases?']").count() == 0
    assert_no_personal_data(ui, demo_office.forbidden)
    if os.environ.get("CONSTITUENT_UPDATE_SCREENSHOTS"):
        DOCS.mkdir(exist_ok=True)
        page.screenshot(
            path=str(DOCS / "screenshot-summary.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": 1280, "height": 1750},
        )
    page.screenshot(
        path=str(SCREENSHOTS / "summary-readme.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": 1750},
    )

    # Change the period to the last full quarter.
    quarters = page.eval_on_selector_all(
        "#period option", "options => options.map(o => o.value).filter(v => v[0] === 'q')"
    )
    page.select_option("#period", quarters[1])
    ui.click("form.app-period-form button[type=submit]")
    assert f"period={quarters[1]}" in page.url
    assert page.locator("#period").input_value() == quarters[1]
    assert_no_personal_data(ui, demo_office.forbidden)

    # No custom dates for a reader who sees no names: not offered, and refused if asked for.
    assert page.locator("#period option[value=custom]").count() == 0
    assert page.locator("#start").count() == 0
    ui.goto("/summaries/NY-21?period=custom&start=2026-03-10&end=2026-03-10")
    assert "Custom dates are not available" in page.inner_text("#period-error")

    # The comparison again, sorted by cases opened.
    ui.goto("/summaries/?sort=opened&order=desc")
    opened = [
        int(t.replace(",", ""))
        for t in page.locator("table.app-figures tbody tr td:nth-of-type(1)").all_inner_texts()
    ]
    assert opened == sorted(opened, reverse=True)
    assert_no_personal_data(ui, demo_office.forbidden)


def test_print_view_fits_us_letter_with_a_header(demo_ui, demo_office):
    ui = demo_ui
    ui.login(demo_office.legislator)
    ui.goto("/summaries/NY-21/print")
    page = ui.page
    page.emulate_media(media="print")
    header = page.inner_text(".app-print-header")
    assert "NY-21" in header and "Last 12 complete months" in header and "Produced" in header
    assert not page.locator(".usa-header").is_visible()
    pdf = page.pdf(format="Letter", prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF") and _pages(pdf) >= 2
    (SCREENSHOTS / "summary-print.pdf").write_bytes(pdf)
    # It starts with a one-page brief for the legislator: the headline, the month-by-month
    # chart and the largest rows of the main tables; the full tables begin on the next page.
    brief = page.inner_text(".app-brief")
    for title in ("What residents needed", "Agencies the office asked", "How fast cases closed"):
        assert title in brief
    assert page.eval_on_selector(".app-brief", "e => getComputedStyle(e).breakAfter") == "page"
    page.set_viewport_size({"width": 720, "height": 950})  # a letter page inside its margins
    page.screenshot(path=str(SCREENSHOTS / "summary-print-first-page.png"))
    page.evaluate(  # print the brief alone: what follows it goes
        "() => { const b = document.querySelector('.app-brief');"
        " while (b.nextElementSibling) b.nextElementSibling.remove(); }"
    )
    alone = page.pdf(format="Letter", prefer_css_page_size=True)
    (SCREENSHOTS / "summary-brief.pdf").write_bytes(alone)
    print(f"print view: {_pages(pdf)} pages, the brief {_pages(alone)}")
    assert _pages(alone) == 1, "the brief must fit one printed page"
    assert_no_personal_data(ui, demo_office.forbidden)


def _pages(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page/") + pdf.count(b"/Type /Page ")


def test_supervisor_drills_down_from_a_number_to_its_cases(demo_ui, demo_office):
    ui = demo_ui
    page = ui.page
    ui.login("supervisor@demo.example")
    ui.goto("/summaries/NY-21")
    assert "Caseload and closures by staffer" in page.inner_text("main")
    link = (
        page.locator("#caption-headline")
        .locator("xpath=ancestor::table")
        .locator("tbody tr", has_text="Cases closed")
        .locator("td a")
        .first
    )
    number = int(link.inner_text().replace(",", ""))
    ui.click(f"a[href='{link.get_attribute('href')}']")
    assert page.inner_text("h1") == "Cases behind a number"
    assert f"{number:,} rows" in page.inner_text("main") or f"{number} rows" in page.inner_text(
        "main"
    )
    assert page.locator("table tbody tr").count() == min(number, 50)
    with page.expect_download() as download:
        page.click("text=Download the list as CSV")
    path = download.value.path()
    lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("Case,Constituent,ZIP")
    assert len(lines) == number + 1
