"""Two app servers, as an office that outgrows one runs them: two gunicorns with separate
instance folders on one PostgreSQL, with the postgres search backend, uploads in the database
and sign-in counters in Redis. Whatever staff do through one server, the other serves: a case
saved through A is found by search through B, an attachment uploaded through A downloads
through B, and the sign-in limit counts the wrong passwords sent to both."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections import Counter
from datetime import date, timedelta

import pytest
from cryptography.fernet import Fernet

from constituent.extensions import db
from tests import factories
from tests.referral_helpers import gen_agency
from tests.reliability.conftest import REDIS_URL
from tests.reliability.harness import Browser, Server, percentile, report_line
from tests.reliability.test_load_and_faults import Ledger, log_call

pytestmark = pytest.mark.skipif(
    not os.environ.get("CONSTITUENT_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="several app servers need PostgreSQL (the postgres search backend)",
)
CASES = 20
FOUND_WITHIN = 10.0  # seconds to wait before calling a case lost (the figure printed is the p95)
LIMIT = 5
ATTACHMENT_RE = re.compile(r'href="(/cases/\d+/attachments/\d+)"')


def _pdf(label: str) -> bytes:
    return b"%PDF-1.4\n% " + label.encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture()
def two_servers(deployment, redis_prefix, tmp_path):  # type: ignore[no-untyped-def]
    shared = {
        **deployment.env,
        "CONSTITUENT_SEARCH_BACKEND": "postgres",
        "CONSTITUENT_UPLOAD_STORAGE": "database",
        "CONSTITUENT_RATELIMIT_STORAGE_URL": REDIS_URL,
        "CONSTITUENT_RATELIMIT_KEY_PREFIX": redis_prefix,
        "CONSTITUENT_SIGN_IN_LIMIT_PER_ACCOUNT_AND_ADDRESS": f"{LIMIT} per minute",
        "CONSTITUENT_SIGN_IN_LIMIT_PER_ACCOUNT": "100 per hour",
        "CONSTITUENT_TRUSTED_PROXIES": "1",
        # One key for the agency identifiers on every server (each instance folder would
        # otherwise generate its own, and the second server could not read the first's).
        "CONSTITUENT_DATA_KEY": Fernet.generate_key().decode(),
    }
    app = deployment.app()
    with app.app_context():
        agency_id = gen_agency().id  # the release below covers the SSA
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    servers = []
    for name in ("a", "b"):
        instance = tmp_path / f"instance-{name}"
        instance.mkdir()
        env = {
            **shared,
            "CONSTITUENT_INSTANCE_PATH": str(instance),
            "CONSTITUENT_SEARCH_INDEX_DIR": str(instance / "search-index"),
            "CONSTITUENT_UPLOAD_DIR": str(instance / "uploads"),
        }
        server = Server(env, workers=2)
        server.start()
        servers.append(server)
    try:
        yield servers, agency_id
    finally:
        for server in servers:
            server.stop()
    # Neither server wrote an upload or an index into its own folder: everything is shared.
    for name in ("a", "b"):
        uploads = tmp_path / f"instance-{name}" / "uploads"
        assert not uploads.exists() or not any(uploads.rglob("*.*")), list(uploads.rglob("*"))


def test_what_one_server_saves_the_other_serves(deployment, two_servers):
    (a, b), agency_id = two_servers
    email = deployment.staff[0][0]
    on_a, on_b = Browser(a), Browser(b)
    on_a.login(email, factories.PASSWORD)
    on_b.login(email, factories.PASSWORD)

    # A case saved through A is found by search through B.
    ledger = Ledger()
    waits: list[float] = []
    for _ in range(CASES):
        case_id = log_call(on_a, deployment.category_id, ledger)
        assert case_id, ledger.statuses
        saved = time.perf_counter()
        token = ledger.cases[case_id]
        while True:
            status, _, page = on_b.request("GET", f"/search/?q={token}")
            assert status == 200, page[:500]
            if f'href="/cases/{case_id}"' in page:
                waits.append(time.perf_counter() - saved)
                break
            assert time.perf_counter() - saved < FOUND_WITHIN, f"case {case_id} not found on B"
            time.sleep(0.05)

    # An attachment uploaded through A downloads through B, byte for byte.
    case_id = next(iter(ledger.cases))
    content = _pdf(f"release {uuid.uuid4().hex}")
    status, headers, page = on_a.post_files(
        f"/cases/{case_id}/release/received",
        {
            # Two days back: never after the office's own today, whatever its time zone.
            "relrec-signed_on": (date.today() - timedelta(days=2)).isoformat(),
            "relrec-signature_method": "wet",
            "relrec-agencies": str(agency_id),
            "relrec-version": _version(on_a, case_id),
        },
        {"relrec-file": ("signed release.pdf", content)},
        token_from=f"/cases/{case_id}",
    )
    assert status == 302, re.findall(r"(?:error|alert)[^>]*>([^<]{3,200})", page)
    status, _, page = on_b.request("GET", f"/cases/{case_id}")
    links = ATTACHMENT_RE.findall(page)
    assert status == 200 and links, "the release recorded on A is not on B's case page"
    status, _, body = on_b.request_bytes("GET", links[0])
    assert status == 200 and body == content

    # The sign-in limit counts wrong passwords sent to either server.
    target = deployment.staff[1][0]
    statuses = []
    for n in range(LIMIT + 3):
        server = (a, b)[n % 2]
        guess = Browser(server, headers={"X-Forwarded-For": "203.0.113.77"})
        status, _, _ = guess.post("/login", {"email": target, "password": "a wrong guess 123"})
        statuses.append(status)
    report_line(
        f"two servers on one PostgreSQL (postgres search, database uploads, Redis limits): "
        f"a case saved on A found by search on B in p95 {percentile(waits, 0.95) * 1000:.0f} ms "
        f"(max {max(waits) * 1000:.0f} ms, {CASES} cases); an upload on A downloaded on B; "
        f"sign-in limit {LIMIT} across both: {dict(Counter(statuses))}"
    )
    assert statuses[:LIMIT] == [401] * LIMIT and set(statuses[LIMIT:]) == {429}, statuses


def _version(browser: Browser, case_id: int) -> str:
    _, _, page = browser.request("GET", f"/cases/{case_id}")
    match = re.search(r'name="relrec-version"[^>]*value="(\d+)"', page) or re.search(
        r'value="(\d+)"[^>]*name="relrec-version"', page
    )
    assert match, "no version on the release form"
    return match.group(1)
