"""Browser tests: the app on a free loopback port with a temporary database, driven by
Debian's Chromium through Playwright, with axe-core run on every page visited."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import make_server

from constituent import create_app
from constituent.config import TestConfig
from constituent.extensions import db
from constituent.search import indexer
from tests import factories
from tests.dbutil import fresh_database

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CONSTITUENT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_URL = "/__e2e__/axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCREENSHOTS = Path(
    os.environ.get("CONSTITUENT_SCREENSHOT_DIR")
    or Path(tempfile.gettempdir()) / "constituent-screenshots"
)


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@dataclass
class LiveServer:
    url: str
    app: object
    office: factories.Office


def e2e_app(url: str, tmp: Path) -> Flask:
    """The app as a browser meets it (TESTING off, real CSP), on its own database and folders."""
    return create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "TESTING": False,
            "SQLALCHEMY_DATABASE_URI": url,
            "SEARCH_INDEX_DIR": str(tmp / "index"),
            "UPLOAD_DIR": str(tmp / "uploads"),
            "SECRET_KEY": "e2e-secret-key-not-for-production",
            "OFFICE_NAME": "Office of Rep. Jordan Avery",
        }
    )


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1:<free port> from a thread; yields its URL. Afterwards stop
    the server and the app's search indexer (which would otherwise poll a dropped database)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        indexer.stop_background_indexer(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app served by a threaded WSGI server on 127.0.0.1:<free port>."""
    tmp = tmp_path_factory.mktemp("e2e")
    with fresh_database(tmp, "e2e") as url:
        app = e2e_app(url, tmp)
        with app.app_context():
            upgrade()
            office = factories.make_office()
            for record in vars(office).values():
                db.session.refresh(record)  # load every column before detaching
            db.session.expunge_all()
        with serving(app) as url:
            yield LiveServer(url, app, office)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but no Chromium at {CHROMIUM}: install Debian's chromium")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@dataclass
class UI:
    """A page plus the checks every visit gets: axe-core WCAG 2.1 A/AA and a screenshot."""

    page: object
    base_url: str
    name: str
    visited: list[str] = field(default_factory=list)
    shots: int = 0
    csp_errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)  # type: ignore[attr-defined]
        self.check()

    def click(self, selector: str, navigates: bool = True) -> None:
        if navigates:
            with self.page.expect_navigation():  # type: ignore[attr-defined]
                self.page.click(selector)  # type: ignore[attr-defined]
            self.check()
        else:
            self.page.click(selector)  # type: ignore[attr-defined]

    def check(self) -> None:
        """Run axe on the current page (fail on any WCAG 2.1 A/AA violation); screenshot it."""
        page = self.page
        page.wait_for_load_state("load")  # type: ignore[attr-defined]
        self.visited.append(page.url)  # type: ignore[attr-defined]
        self.shots += 1
        if os.environ.get("CONSTITUENT_SCREENSHOTS", "1") != "0":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            slug = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")
            page.screenshot(
                path=str(SCREENSHOTS / f"{slug}-{self.shots:02d}.png"),  # type: ignore[attr-defined]
                full_page=True,
            )
        assert not self.csp_errors, f"Content-Security-Policy violations: {self.csp_errors}"
        if not page.evaluate("typeof window.axe !== 'undefined'"):  # type: ignore[attr-defined]
            # Served from the page's own origin (intercepted below) so the CSP allows it.
            page.add_script_tag(url=self.base_url + AXE_URL)  # type: ignore[attr-defined]
        result = page.evaluate(  # type: ignore[attr-defined]
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
        )
        violations = result["violations"]
        report = "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:5])
            for v in violations
        )
        assert not violations, f"axe found violations on {page.url}:\n{report}"  # type: ignore[attr-defined]

    def login(self, email: str, password: str = factories.PASSWORD) -> None:
        self.goto("/login")
        self.page.fill("#email", email)  # type: ignore[attr-defined]
        self.page.fill("#password", password)  # type: ignore[attr-defined]
        self.click("button[type=submit]")

    def logout(self) -> None:
        self.click("form[action='/logout'] button")


@contextmanager
def browsing(browser, base_url: str, name: str, width: int = 1280) -> Iterator[UI]:  # type: ignore[no-untyped-def]
    """A fresh browser context on ``base_url`` (``width`` CSS pixels wide): axe served from the
    app's origin, CSP violations reported by the console collected for the harness to fail on."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.route(
        f"**{AXE_URL}",
        lambda route: route.fulfill(path=str(AXE_JS), content_type="application/javascript"),
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    ui = UI(page=page, base_url=base_url, name=name)

    def on_console(message) -> None:  # type: ignore[no-untyped-def]
        if message.type == "error" and "Content Security Policy" in message.text:
            ui.csp_errors.append(message.text)

    page.on("console", on_console)
    try:
        yield ui
    finally:
        context.close()


@pytest.fixture()
def ui(browser, live_server: LiveServer, request: pytest.FixtureRequest) -> Iterator[UI]:
    with browsing(browser, live_server.url, request.node.name) as opened:
        yield opened
