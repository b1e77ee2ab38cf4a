"""Reads that leave an audit row never fail for want of the write lock (issue 11, item 6):
the row is written in its own short transaction, so another connection's commit during the
read cannot turn the download into a 503."""

from __future__ import annotations

import io

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import AuditEvent, Channel
from constituent.services import uploads
from tests import factories
from tests.case_helpers import png_bytes


def _confidential_attachment(office):
    case = factories.gen_case(
        office.a,
        office.category,
        opened_by=office.supervisor,
        channel=Channel.PHONE,
        confidential=True,
    )
    stored = uploads.store_upload(
        io.BytesIO(png_bytes()), "release.png", case=case, uploaded_by=office.supervisor
    )
    db.session.commit()
    return case, stored


def _events(action: str) -> list[tuple[str | None, str]]:
    return db.session.execute(
        sa.select(AuditEvent.user_email, AuditEvent.detail).where(AuditEvent.action == action)
    ).all()


def test_a_download_succeeds_and_is_audited_when_another_write_lands_during_it(
    client, office, monkeypatch
):
    case, stored = _confidential_attachment(office)
    client.login(office.supervisor.email)
    real_path = uploads.stored_path

    def someone_else_saves_meanwhile(attachment):  # type: ignore[no-untyped-def]
        # The download has read the case; another connection commits before it audits.
        with db.engine.begin() as other:
            other.execute(sa.insert(AuditEvent).values(action="elsewhere", detail=""))
        return real_path(attachment)

    monkeypatch.setattr(uploads, "stored_path", someone_else_saves_meanwhile)
    response = client.get(f"/cases/{case.id}/attachments/{stored.id}")
    assert response.status_code == 200
    assert response.data == png_bytes()
    assert _events("attachment_downloaded") == [
        (office.supervisor.email, f"case {case.number} (confidential)")
    ]


def test_opening_a_confidential_case_is_audited_once_per_showing(client, office):
    case, _ = _confidential_attachment(office)
    client.login(office.supervisor.email)
    for _ in range(2):
        assert client.get(f"/cases/{case.id}").status_code == 200
    assert _events("confidential_case_viewed") == [(office.supervisor.email, "")] * 2


def test_a_confidential_case_shown_again_after_a_refused_post_is_audited_at_once(client, office):
    """The page shown again after a refused post (a write request, holding the write lock) is a
    showing too: it is audited in the request's own transaction, not one that would wait for
    that lock until the database answered "busy"."""
    case, _ = _confidential_attachment(office)
    client.login(office.supervisor.email)
    response = client.form_post(
        f"/cases/{case.id}/follow-ups",
        {"followup-due_on": "not a date", "followup-description": "Call back"},
        token_from=f"/cases/{case.id}",
    )
    assert response.status_code == 422
    assert _events("confidential_case_viewed") == [(office.supervisor.email, "")] * 2
