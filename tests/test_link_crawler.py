"""Every link a user is shown opens: a crawler signs in as each role and follows them all.

From the start page it follows every same-origin link (``<a href>``) on every page it reaches,
and submits every GET form (search boxes, filters) with words that find the world's records,
breadth first and bounded. It records any address that answers 403 (a link to a page the user
may not open), 404 (a link to nothing) or 5xx. Downloads are fetched but not parsed.
"""

from __future__ import annotations

from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlencode, urljoin, urlsplit

import pytest

from constituent.extensions import db
from constituent.models import Role
from tests import factories
from tests.search_support import build, reset_index
from tests.world import make_world

MAX_PAGES = 600  # per user: the world has one record of each kind, so this is never reached
MAX_VARIANTS = 4  # query-string variants followed per path (sort orders, periods, pages)
NOT_FOLLOWED = ("/logout", "/static/")
WORDS = ("Sample", "Social")  # typed into empty text boxes: a person, an agency and a category


class _Links(HTMLParser):
    """The page's link targets, and each GET form's address filled in as a person would."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self._form: tuple[str, list[tuple[str, str]], list[str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        elif tag == "form" and a.get("method", "get").lower() == "get":
            self._form = (a.get("action", ""), [], [])
        elif self._form is not None and tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("text", "search") and not a.get("value"):
                self._form[2].append(a["name"])
            elif kind not in ("checkbox", "radio", "submit", "button") or "checked" in a:
                self._form[1].append((a["name"], a.get("value", "")))
        elif self._form is not None and tag == "select" and a.get("name"):
            self._select = a["name"]
        elif self._select is not None and tag == "option":
            self._form[1].append((self._select, a.get("value", "")))  # type: ignore[index]
            self._select = None  # the first choice, as the page shows it

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        if tag == "form" and self._form is not None:
            action, fields, blanks = self._form
            for word in WORDS if blanks else ("",):
                query = urlencode(fields + [(name, word) for name in blanks])
                self.hrefs.append(f"{action}?{query}" if query else action)
            self._form = None


def links_of(page_url: str, html: str) -> list[str]:
    """The same-origin addresses the page links to (GET forms too), without fragments."""
    parser = _Links()
    parser.feed(html)
    found = []
    for href in parser.hrefs:
        url, _ = urldefrag(urljoin("http://localhost" + page_url, href))
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.netloc != "localhost":
            continue  # mailto:, tel:, other sites
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def crawl(client) -> tuple[list[str], int]:  # type: ignore[no-untyped-def]
    """Follow every link from the start page; (broken links with where they were, pages seen)."""
    start = client.get("/", follow_redirects=True)
    first = start.request.path
    queue: deque[tuple[str, str]] = deque((url, first) for url in links_of(first, start.text))
    seen: set[str] = {"/", first}
    variants: dict[str, int] = {}
    broken: list[str] = []
    while queue and len(seen) < MAX_PAGES:
        url, where = queue.popleft()
        if url in seen or url.startswith(NOT_FOLLOWED):
            continue
        path = url.split("?", 1)[0]
        if "?" in url:
            if variants.get(path, 0) >= MAX_VARIANTS:
                continue
            variants[path] = variants.get(path, 0) + 1
        seen.add(url)
        response = client.get(url)
        if response.status_code in (403, 404) or response.status_code >= 500:
            broken.append(f"{url} (linked from {where}) answers {response.status_code}")
        elif response.status_code in (301, 302, 303):
            target = urlsplit(response.headers["Location"])
            queue.append((target.path + (f"?{target.query}" if target.query else ""), url))
        elif response.mimetype == "text/html":
            queue.extend((link, url) for link in links_of(url, response.text))
        response.close()
    return broken, len(seen)


@pytest.fixture()
def world(app):  # type: ignore[no-untyped-def]
    world = make_world()
    # An unfiled message too: its links are shown only to those who may triage mail.
    factories.gen_message()
    world.triage = factories.gen_user(
        Role.CASEWORKER, [world.office.a], email="triage@test.example", mail_triage=True
    )
    db.session.commit()
    reset_index(app)
    build(app)  # search results are pages with links too
    return world


@pytest.mark.parametrize(
    "who",
    [Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR, Role.LEGISLATOR, Role.ADMIN, "triage"],
)
def test_no_link_shown_to_a_user_answers_forbidden_or_missing(app, world, who):  # type: ignore[no-untyped-def]
    user = world.triage if who == "triage" else world.office.user(who)
    client = app.test_client()
    client.login(user.email)
    broken, pages = crawl(client)
    assert not broken, "\n".join(broken)
    assert pages > 3  # the crawl went somewhere: start page, menu and the records behind them


def test_the_crawler_catches_a_link_to_a_forbidden_page(app, world, monkeypatch):  # type: ignore[no-untyped-def]
    """The check can fail: a menu item asking the wrong capability is caught."""
    from constituent.services.permissions import Capability
    from constituent.views import helpers

    wrong = ("admin.audit", "Audit log", Capability.WORK_CASES)
    monkeypatch.setattr(helpers, "NAVIGATION", [*helpers.NAVIGATION, wrong])
    client = app.test_client()
    client.login(world.office.caseworker.email)
    broken, _ = crawl(client)
    assert broken and broken[0].startswith("/admin/audit (linked from /my-work) answers 403")
