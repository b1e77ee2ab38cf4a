"""Sign-in throttling under gunicorn with 4 workers sharing Redis counters, behind one trusted
proxy: the limit holds to the count whichever worker answers, and the owner still signs in
from another address. Production refuses per-worker counters with several workers."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import AuditEvent
from tests import factories
from tests.reliability.conftest import REDIS_URL
from tests.reliability.harness import Browser, Server, report_line

PARALLEL = 12
LIMIT = 5


def wrong_try(server: Server, email: str, address: str) -> int:
    browser = Browser(server, headers={"X-Forwarded-For": address})
    status, _, _ = browser.post("/login", {"email": email, "password": "a wrong guess 123"})
    return status


def test_four_workers_hold_the_sign_in_limit_to_the_count(deployment, redis_prefix):
    env = {
        **deployment.env,
        "CONSTITUENT_RATELIMIT_STORAGE_URL": REDIS_URL,
        "CONSTITUENT_RATELIMIT_KEY_PREFIX": redis_prefix,
        "CONSTITUENT_SIGN_IN_LIMIT_PER_ACCOUNT_AND_ADDRESS": f"{LIMIT} per minute",
        "CONSTITUENT_SIGN_IN_LIMIT_PER_ADDRESS": "100 per minute",
        "CONSTITUENT_SIGN_IN_LIMIT_PER_ACCOUNT": "100 per hour",
        "CONSTITUENT_TRUSTED_PROXIES": "1",
    }
    first, second = deployment.staff[0][0], deployment.staff[1][0]
    server = Server(env, workers=4)
    server.start()
    try:
        # The probe: wrong passwords one after another, spread over the workers.
        sequential = [wrong_try(server, first, "203.0.113.10") for _ in range(20)]
        before_first_429 = sequential.index(429) if 429 in sequential else len(sequential)

        # Twelve wrong passwords at once, one per thread: the count cannot be outrun.
        statuses: Counter = Counter()
        lock = threading.Lock()
        start = threading.Barrier(PARALLEL)

        def attack() -> None:
            start.wait(30)
            status = wrong_try(server, second, "203.0.113.66")
            with lock:
                statuses[status] += 1

        threads = [threading.Thread(target=attack) for _ in range(PARALLEL)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)

        # Meanwhile the owner signs in from elsewhere.
        owner = Browser(server, headers={"X-Forwarded-For": "198.51.100.7"})
        owner.login(second, factories.PASSWORD)
    finally:
        server.stop()
    report_line(
        f"sign-in throttle, 4 workers + Redis, limit {LIMIT}: {before_first_429} wrong passwords "
        f"before the first 429 (of 20 in a row: {dict(Counter(sequential))}); "
        f"{PARALLEL} at once: {dict(statuses)}"
    )
    assert before_first_429 == LIMIT and set(sequential[LIMIT:]) == {429}, sequential
    assert statuses == Counter({401: LIMIT, 429: PARALLEL - LIMIT}), statuses
    app = deployment.app()
    with app.app_context():
        failed = db.session.execute(
            sa.select(AuditEvent.ip, sa.func.count())
            .where(AuditEvent.action == "sign_in_failed")
            .group_by(AuditEvent.ip)
        ).all()
        signed_in = set(
            db.session.scalars(sa.select(AuditEvent.ip).where(AuditEvent.action == "sign_in"))
        )
        db.session.remove()
        db.engine.dispose()
    # The audit log names the forwarded addresses, and a refused try costs no hash or row.
    assert dict(failed) == {"203.0.113.10": LIMIT, "203.0.113.66": LIMIT}
    assert signed_in == {"198.51.100.7"}


def test_production_start_up_refuses_per_worker_counters(deployment):
    env = {**deployment.env, "CONSTITUENT_ENV": "production"}
    env.pop("CONSTITUENT_RATELIMIT_STORAGE_URL", None)
    env.pop("WEB_CONCURRENCY", None)
    server = Server(env, workers=4)
    with pytest.raises(RuntimeError, match="exited during start-up"):
        server.start()
    log = server.log_path.read_text()
    assert "CONSTITUENT_RATELIMIT_STORAGE_URL" in log and "4 workers" in log, log
