"""Audited reads under concurrency: GETs that write an audit row (attachment downloads,
opening a confidential case) all succeed in parallel, on SQLite and PostgreSQL alike
(issue 11, item 6); every one of them leaves its audit row."""

from __future__ import annotations

import io
import threading
from collections import Counter

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import AuditEvent, Channel, Role, User
from constituent.services import uploads
from tests import factories
from tests.case_helpers import png_bytes
from tests.reliability.harness import Browser, Server, report_line
from tests.reliability.test_load_and_faults import _dialect

PARALLEL = 12
ROUNDS = 3


def test_parallel_audited_reads_never_fail(deployment):
    app = deployment.app()
    with app.app_context():
        supervisors = list(db.session.scalars(sa.select(User).where(User.role == Role.SUPERVISOR)))
        district = supervisors[0].districts[0]
        case = factories.gen_case(
            district,
            factories.gen_category("Veterans"),
            opened_by=supervisors[0],
            channel=Channel.PHONE,
            confidential=True,
        )
        data = png_bytes()
        stored = uploads.store_upload(
            io.BytesIO(data), "release.png", case=case, uploaded_by=supervisors[0]
        )
        db.session.commit()
        case_id, attachment_id = case.id, stored.id
        emails = [s.email for s in supervisors]
        db.session.remove()
        db.engine.dispose()
    reads = {
        "download": f"/cases/{case_id}/attachments/{attachment_id}",
        "confidential case": f"/cases/{case_id}",
    }
    server = Server(deployment.env, workers=4)
    server.start()
    statuses: dict[str, Counter] = {kind: Counter() for kind in reads}
    wrong_bytes: list[int] = []
    lock = threading.Lock()
    try:
        signed_in = []
        for email in emails:
            browser = Browser(server)
            browser.login(email, factories.PASSWORD)
            signed_in.append(browser.cookies)
        for kind, path in reads.items():
            for _ in range(ROUNDS):
                start = threading.Barrier(PARALLEL)

                def read(i: int, path: str = path, kind: str = kind) -> None:
                    browser = Browser(server)
                    browser.cookies = dict(signed_in[i % len(signed_in)])
                    start.wait(30)
                    status, _, body = browser.request_bytes("GET", path)
                    with lock:
                        statuses[kind][status] += 1
                        if kind == "download" and status == 200 and body != data:
                            wrong_bytes.append(i)

                threads = [threading.Thread(target=read, args=(i,)) for i in range(PARALLEL)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(120)
    finally:
        server.stop()
    report_line(
        f"audited reads on {_dialect(deployment)}, {PARALLEL} at once x {ROUNDS} rounds, "
        f"4 workers: " + "; ".join(f"{kind} {dict(counts)}" for kind, counts in statuses.items())
    )
    for kind, counts in statuses.items():
        assert counts == Counter({200: PARALLEL * ROUNDS}), (kind, counts)
    assert not wrong_bytes
    with app.app_context():
        rows = dict(
            db.session.execute(
                sa.select(AuditEvent.action, sa.func.count())
                .where(AuditEvent.action.in_(["attachment_downloaded", "confidential_case_viewed"]))
                .group_by(AuditEvent.action)
            ).all()
        )
        db.session.remove()
        db.engine.dispose()
    assert rows == {
        "attachment_downloaded": PARALLEL * ROUNDS,
        "confidential_case_viewed": PARALLEL * ROUNDS,
    }, rows
