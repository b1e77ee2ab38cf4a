"""Fixtures: an app on a fresh database (SQLite, or PostgreSQL when
CONSTITUENT_TEST_DATABASE_URL is set), a client that can sign in, and data factories."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from constituent import create_app
from constituent.config import TestConfig
from constituent.extensions import db
from constituent.services import throttle
from tests import factories
from tests.dbutil import fresh_database

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# The longest tests are dispatched first, so that no long test is left running alone at the end
# of an xdist run. The browser tests share one live server per worker and some build on what
# an earlier one left in its database: they stay together on one worker, in file order
# (scripts/test runs xdist with --dist loadgroup).
SLOW_FIRST = (
    "tests/reliability/",
    "tests/test_fuzz_forms.py",
    "tests/e2e/",
    "tests/test_summaries_differencing.py",
    "tests/test_office_from_scratch.py",
    "tests/test_backup.py",
)


def _start_rank(item: pytest.Item) -> int:
    path = item.nodeid
    return next(
        (n for n, start in enumerate(SLOW_FIRST) if path.startswith(start)), len(SLOW_FIRST)
    )


# tryfirst: xdist's own hook turns the xdist_group mark into the "@browser" suffix of each node
# id that --dist loadgroup schedules by; marked after it, the browser tests were spread over
# both workers (two live servers and two Chromiums at once, and order-dependent failures).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith("tests/e2e/"):
            item.add_marker(pytest.mark.xdist_group("browser"))
    items.sort(key=_start_rank)  # stable: the order within each group is unchanged


@pytest.fixture(scope="session")
def _app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("app")
    with fresh_database(tmp, "suite") as url:
        app = create_app(
            {
                **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                "SQLALCHEMY_DATABASE_URI": url,
                "SEARCH_INDEX_DIR": str(tmp / "index"),
                "UPLOAD_DIR": str(tmp / "uploads"),
                "SECRET_KEY": "test-secret-key-not-for-production",
            }
        )
        with app.app_context():
            db.create_all()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _empty_tables(app: Flask) -> None:
    throttle.reset(app)  # sign-in throttling counts must not leak from one test into the next
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
    uploads = Path(app.config["UPLOAD_DIR"])
    if uploads.exists():
        shutil.rmtree(uploads)


@pytest.fixture(params=["whoosh", "postgres"])
def search_engine(request: pytest.FixtureRequest, _app: Flask) -> Iterator[str]:
    """Each search backend in turn (config SEARCH_BACKEND); postgres only on PostgreSQL."""
    if request.param == "postgres" and _app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the postgres search backend needs CONSTITUENT_TEST_DATABASE_URL (PostgreSQL)")
    _app.config["SEARCH_BACKEND"] = request.param
    yield request.param
    _app.config["SEARCH_BACKEND"] = "whoosh"


@pytest.fixture()
def app(_app: Flask) -> Iterator[Flask]:
    """The app with empty tables, inside an app context; its test clients can sign in."""
    _empty_tables(_app)
    _app.test_client_class = Client
    with _app.app_context():
        yield _app
        db.session.remove()


class _FormVersions(HTMLParser):
    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.found = action, False, {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action", "").split("?")[0] == self.action.split("?")[0]
        elif self.inside and tag == "input" and a.get("name", "").endswith("version"):
            self.found[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False


def versions_in_form(page: str, action: str) -> dict[str, str]:
    """The hidden version fields of the page's form that posts to ``action``."""
    parser = _FormVersions(action)
    parser.feed(page)
    return parser.found


class Client(FlaskClient):
    """A test client that knows how to sign in and send CSRF tokens.

    Each request runs in its own app context (its own ``g`` and database session), as in a
    real server. Around it the test's own session commits: what the test set up is visible to
    the request, and the test then reads what the request saved (a new snapshot).
    """

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.commit()
        return response

    def csrf_token(self, url: str = "/login") -> str:
        page = self.get(url, follow_redirects=True).get_data(as_text=True)
        match = CSRF_RE.search(page)
        assert match, f"no CSRF token on {url}"
        return match.group(1)

    def login(self, email: str, password: str = factories.PASSWORD):  # type: ignore[no-untyped-def]
        token = self.csrf_token("/login")
        return self.post("/login", data={"email": email, "password": password, "csrf_token": token})

    def form_post(self, url: str, data: dict | None = None, token_from: str | None = None, **kw):  # type: ignore[no-untyped-def]
        """POST as the form on ``token_from`` (default: the same URL) would: with its CSRF token
        and the record version it carries, unless ``data`` gives them."""
        data = dict(data or {})
        page = self.get(token_from or url, follow_redirects=True).get_data(as_text=True)
        match = CSRF_RE.search(page)
        assert match, f"no CSRF token on {token_from or url}"
        data.setdefault("csrf_token", match.group(1))
        for name, value in versions_in_form(page, url).items():
            data.setdefault(name, value)
        return self.post(url, data=data, **kw)

    def logout(self):  # type: ignore[no-untyped-def]
        return self.post("/logout", data={"csrf_token": self.csrf_token("/")})


@pytest.fixture()
def client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture()
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture()
def office(app: Flask) -> factories.Office:
    """Two districts, categories, one user of each role in district A, one caseworker in B."""
    return factories.make_office()


def count(model: type) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))
