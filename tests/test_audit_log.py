"""The audit trail: what is recorded, the admin page's filters, its CSV, and no sensitive
values in audit text or application logs."""

from __future__ import annotations

import csv
import io
import logging

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import AuditEvent, Case
from tests import factories

CANARY_SSN = "078-05-1120"


def test_sign_in_out_denials_and_exports_are_recorded_and_filterable(client, office):
    client.login(office.caseworker.email, "a wrong password for sure")
    client.login(office.caseworker.email)
    client.get("/admin/users")  # refused: audited
    client.logout()
    client.login(office.admin.email)
    page = client.get("/admin/audit?action=sign_in_failed").get_data(as_text=True)
    assert "<td>Sign in failed</td>" in page and "1 event." in page
    page = client.get("/admin/audit?user=caseworker@").get_data(as_text=True)
    for action in ("Sign in", "Access denied", "Sign out"):  # said as words, not codes
        assert f"<td>{action}</td>" in page
    assert '<option value="access_denied">Access denied</option>' in page
    response = client.get("/admin/audit.csv?user=caseworker@")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["When (office time)", "User", "Action"]
    assert {"sign_in", "access_denied", "sign_out"} <= {r[2] for r in rows[1:]}
    exports = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "export", AuditEvent.record_type == "audit"
        )
    ).all()
    assert len(exports) == 1


def test_audit_page_is_for_admins_and_refuses_bad_dates(client, office):
    client.login(office.supervisor.email)
    assert client.get("/admin/audit").status_code == 403
    client.logout()
    client.login(office.admin.email)
    assert client.get("/admin/audit?since=not-a-date").status_code == 422
    assert client.get("/admin/audit?page=99999999999").status_code == 200


def test_no_sensitive_value_reaches_audit_text_or_logs(client, office, caplog):
    caplog.set_level(logging.DEBUG)
    person = factories.gen_constituent(office.a)
    case = factories.gen_case(
        office.a,
        office.category,
        constituent=person,
        opened_by=office.intake,
        assignee=office.caseworker,
        description=f"SSN {CANARY_SSN} on the denial letter",
    )
    db.session.commit()
    client.login(office.supervisor.email)
    client.get(f"/cases/{case.id}")
    client.form_post(
        f"/cases/{case.id}/entries",
        {"entry-kind": "note", "entry-body": f"Confirmed SSN {CANARY_SSN}"},
        token_from=f"/cases/{case.id}",
    )
    client.form_post(
        f"/cases/{case.id}/edit",
        {
            "version": db.session.get(Case, case.id).version,
            "subject": f"SSN {CANARY_SSN}",
            "description": "x",
            "category": office.category.id,
            "priority": "routine",
            "district": office.a.id,
        },
        token_from=f"/cases/{case.id}/edit",
    )
    client.get(f"/search/?q={CANARY_SSN}")
    texts = [
        f"{e.action} {e.record_type} {e.record_id} {e.detail}"
        for e in db.session.scalars(sa.select(AuditEvent))
    ]
    assert texts, "the actions above should have been audited"
    assert not [t for t in texts if CANARY_SSN in t]
    assert CANARY_SSN not in caplog.text
