"""Every page of every role on a 320-pixel-wide screen (WCAG 1.4.10 Reflow): a crawler signs in
as each role, follows every link and GET form it is shown (as tests/test_link_crawler.py does),
and on each page checks that nothing scrolls sideways. The world holds the worst text staff
meet: a 10,000-character description without a space, and a name written right to left.
axe-core runs once on each kind of page at this width."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator

import pytest
from playwright.sync_api import Error as PlaywrightError

from constituent.extensions import db
from constituent.models import Case, Constituent, Role
from tests import factories
from tests.dbutil import fresh_database
from tests.e2e.conftest import LiveServer, browsing, e2e_app, serving
from tests.test_link_crawler import links_of
from tests.world import make_world

WIDTH = 320
NOT_FOLLOWED = ("/logout", "/static/", "/__e2e__/")
MAX_PAGES = 400  # per role; each kind of page is visited once (see _kind)
LONG_WORD = "Unbroken" * 1250  # 10,000 characters without a space
RTL_NAME = "مريم"

# The widest element that sticks out past the right edge, named for the failure message.
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return null;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  let worst = null;
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.right > width && (!worst || box.right > worst.right)) {
      worst = {name: name(el), right: Math.round(box.right)};
    }
  }
  if (!worst) {  // text sticking out of a narrower element
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    while (walker.nextNode()) {
      range.selectNodeContents(walker.currentNode);
      const box = range.getBoundingClientRect();
      if (box.right > width && (!worst || box.right > worst.right)) {
        worst = {name: 'text in ' + name(walker.currentNode.parentElement) + ': ' +
          walker.currentNode.textContent.trim().slice(0, 40), right: Math.round(box.right)};
      }
    }
  }
  return {scroll: document.documentElement.scrollWidth, worst};
}"""


def _kind(url: str) -> str:
    """One visit per kind of page: numbers become {n}, and a query string counts by the
    names of the parameters it fills (a search for words is not an empty search)."""
    path, _, query = url.partition("?")
    filled = sorted({p.split("=")[0] for p in query.split("&") if p.partition("=")[2]})
    return re.sub(r"\d+", "{n}", path) + ("?" + "&".join(filled) if filled else "")


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("small")
    with fresh_database(tmp, "small") as url:
        app = e2e_app(url, tmp)
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            world = make_world()
            case = db.session.get(Case, world.ids["case_id"])
            assert case is not None
            case.description = f"The caller pasted this: {LONG_WORD}"
            person = db.session.get(Constituent, case.constituent_id)
            assert person is not None
            person.first_name = RTL_NAME
            factories.gen_message()
            db.session.commit()
            office = world.office
            for record in vars(office).values():
                db.session.refresh(record)
            db.session.expunge_all()
        with serving(app) as base:
            yield LiveServer(base, app, office)


def _crawl(ui, checked: set[str]) -> tuple[list[str], int]:  # type: ignore[no-untyped-def]
    page = ui.page
    queue: deque[str] = deque(["/"])
    seen: set[str] = set()
    wide: list[str] = []
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        kind = _kind(url)
        if kind in seen or url.startswith(NOT_FOLLOWED):
            continue
        seen.add(kind)
        try:
            response = page.goto(ui.base_url + url)
        except PlaywrightError:  # a download (CSV, attachment): not a page
            continue
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        overflow = page.evaluate(OVERFLOW_JS)
        if overflow:
            worst = overflow["worst"] or {"name": "?", "right": overflow["scroll"]}
            wide.append(
                f"{url}: {overflow['scroll']} px wide ({worst['name']} ends at {worst['right']} px)"
            )
        if kind not in checked:
            checked.add(kind)
            try:
                ui.check()  # axe-core at 320 px, and a screenshot
            except AssertionError as failed:
                wide.append(str(failed).split("\nassert")[0])
        here = page.url.removeprefix(ui.base_url)
        queue.extend(links_of(here, page.content()))
    return wide, len(seen)


@pytest.mark.parametrize(
    "role", [Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR, Role.LEGISLATOR, Role.ADMIN]
)
def test_no_page_scrolls_sideways_at_320_pixels(browser, small_world, role):  # type: ignore[no-untyped-def]
    user = small_world.office.user(role)
    checked: set[str] = getattr(small_world, "checked", set())
    small_world.checked = checked  # type: ignore[attr-defined]  # axe once per kind of page
    with browsing(browser, small_world.url, f"320-{role.value}", width=WIDTH) as ui:
        ui.login(user.email)
        wide, pages = _crawl(ui, checked)
    print(f"{role.value}: {pages} kinds of page at {WIDTH} px, {len(wide)} scroll sideways")
    assert pages > 5, "the crawl should reach the role's pages"
    assert not wide, "pages wider than the screen, or failing axe at this width:\n" + "\n".join(
        wide
    )
