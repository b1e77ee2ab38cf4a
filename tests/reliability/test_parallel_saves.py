"""Optimistic locking through a real server: 20 parallel saves of one case at one version."""

from __future__ import annotations

import threading
from collections import Counter

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Case, Channel, Role, User
from tests import factories
from tests.reliability.harness import Browser, Server

SAVES = 20


def test_twenty_parallel_saves_at_one_version_one_wins_nineteen_get_409(deployment):
    app = deployment.app()
    with app.app_context():
        supervisor = db.session.scalar(sa.select(User).where(User.role == Role.SUPERVISOR))
        district = supervisor.districts[0]
        case = factories.gen_case(
            district,
            factories.gen_category("Veterans"),
            opened_by=supervisor,
            channel=Channel.PHONE,
        )
        db.session.commit()
        case_id, version, email = case.id, case.version, supervisor.email
        fields = {
            "version": version,
            "description": case.description,
            "category": case.category_id,
            "priority": "routine",
            "district": case.district_id,
        }
        db.session.remove()
        db.engine.dispose()
    server = Server(deployment.env, workers=4)
    server.start()
    try:
        first = Browser(server)
        first.login(email, factories.PASSWORD)
        token = first.token(f"/cases/{case_id}/edit")
        statuses: Counter = Counter()
        start = threading.Barrier(SAVES)
        lock = threading.Lock()

        def save(i: int) -> None:
            browser = Browser(server)
            browser.cookies = dict(first.cookies)  # the same signed-in session, 20 tabs
            start.wait(30)
            status, _, _ = browser.request(
                "POST",
                f"/cases/{case_id}/edit",
                {**fields, "subject": f"Parallel save number {i}", "csrf_token": token},
            )
            with lock:
                statuses[status] += 1

        threads = [threading.Thread(target=save, args=(i,)) for i in range(SAVES)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        server.stop()
    print(f"\n{SAVES} parallel saves of one case at one version: {dict(statuses)}")
    assert statuses == Counter({302: 1, 409: SAVES - 1}), statuses
    with app.app_context():
        saved = db.session.get(Case, case_id)
        assert saved.version == version + 1
        assert saved.subject.startswith("Parallel save number ")
        db.session.remove()
        db.engine.dispose()
