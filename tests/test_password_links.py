"""One-time set-password links emailed by an admin when outgoing mail is configured: the link
works once, expires, ends earlier links, and a wrong or altered token is refused; audited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import AuditEvent, PasswordLink, utcnow
from constituent.services import notifications, password_links
from tests import factories

LINK_RE = re.compile(r"https?://[^/\s]+(/account/set-password/\S+)")
NEW_PASSWORD = "a brand new long passphrase"


@pytest.fixture()
def outbox(app, monkeypatch):  # type: ignore[no-untyped-def]
    sent: list[notifications.OutgoingMail] = []
    monkeypatch.setattr(notifications, "send_mail", lambda mail: sent.append(mail) or True)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.test.example")
    return sent


def _actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def _send(client, office, user) -> str:  # type: ignore[no-untyped-def]
    """The admin sends a link; the path it carries."""
    client.login(office.admin.email)
    response = client.form_post(
        f"/admin/users/{user.id}/password-link", {}, token_from="/admin/users"
    )
    assert response.status_code == 302
    client.logout()
    return response


def test_without_outgoing_mail_no_link_is_offered_or_sent(app, client):
    office = factories.make_office()
    client.login(office.admin.email)
    assert "set-password link" not in client.get("/admin/users").get_data(as_text=True)
    token = client.csrf_token("/admin/users")
    refused = client.post(
        f"/admin/users/{office.caseworker.id}/password-link",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "Outgoing mail is not configured" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PasswordLink)) == 0


def test_an_emailed_link_sets_the_password_once(app, client, outbox):
    office = factories.make_office()
    user = office.caseworker
    client.login(office.admin.email)
    assert "Email a set-password link" in client.get("/admin/users").get_data(as_text=True)
    client.logout()
    answer = _send(client, office, user)
    assert answer.location.endswith("/admin/users")
    [mail] = outbox
    assert mail.to == user.email and "works once" in mail.body
    path = LINK_RE.search(mail.body).group(1)
    assert "password_link_sent" in _actions()
    # Only the secret's hash is kept: the token is nowhere in the database.
    link = db.session.scalar(sa.select(PasswordLink))
    assert len(link.secret_hash) == 64 and link.secret_hash not in path

    page = client.get(path)
    assert page.status_code == 200 and user.email in page.get_data(as_text=True)
    mismatch = client.form_post(
        path, {"new_password": NEW_PASSWORD, "confirm_password": "something else entirely"}
    )
    assert mismatch.status_code == 422 and "not the same" in mismatch.get_data(as_text=True)
    weak = client.form_post(path, {"new_password": "short", "confirm_password": "short"})
    assert weak.status_code == 422
    done = client.form_post(path, {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert done.status_code == 302 and done.location.endswith("/login")
    assert "password_set_by_link" in _actions()
    signed_in = client.login(user.email, NEW_PASSWORD)
    assert signed_in.status_code == 302
    client.logout()
    # Used once: the same link is refused, and sets nothing.
    again = client.get(path)
    assert again.status_code == 400 and "used already" in again.get_data(as_text=True)
    reuse = client.post(path, data={"new_password": "x" * 20, "confirm_password": "x" * 20})
    assert reuse.status_code == 400
    assert client.login(user.email, NEW_PASSWORD).status_code == 302


def test_a_newer_link_ends_the_older_one(app, client, outbox):
    office = factories.make_office()
    _send(client, office, office.caseworker)
    _send(client, office, office.caseworker)
    first, second = (LINK_RE.search(m.body).group(1) for m in outbox)
    assert client.get(first).status_code == 400
    assert client.get(second).status_code == 200


def test_an_expired_link_is_refused(app, client, outbox):
    office = factories.make_office()
    _send(client, office, office.caseworker)
    path = LINK_RE.search(outbox[0].body).group(1)
    db.session.execute(sa.update(PasswordLink).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    expired = client.get(path)
    assert expired.status_code == 400 and "has expired" in expired.get_data(as_text=True)
    posted = client.post(
        path, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert posted.status_code == 400
    assert client.login(office.caseworker.email, NEW_PASSWORD).status_code != 302


def test_a_wrong_or_altered_token_is_refused(app, client, outbox):
    office = factories.make_office()
    _send(client, office, office.caseworker)
    path = LINK_RE.search(outbox[0].body).group(1)
    token = path.rsplit("/", 1)[-1]
    for bad in ("not-a-token", token[:-3] + "AAA", token[:20]):
        answer = client.get(f"/account/set-password/{bad}")
        assert answer.status_code == 400 and "not valid" in answer.get_data(as_text=True)
    # Signed with the app's key but for a secret never issued (or another account's id).
    with app.test_request_context():
        forged = password_links._serializer().dumps({"u": office.caseworker.id, "s": "guess"})
        other = password_links._serializer().dumps({"u": office.admin.id, "s": "guess"})
    for bad in (forged, other):
        assert client.get(f"/account/set-password/{bad}").status_code == 400


def test_a_link_is_not_sent_to_a_disabled_account_or_to_oneself(app, client, outbox):
    office = factories.make_office()
    office.intake.active = False
    db.session.commit()
    client.login(office.admin.email)
    for user in (office.intake, office.admin):
        client.form_post(f"/admin/users/{user.id}/password-link", {}, token_from="/admin/users")
    assert (
        outbox == []
        and db.session.scalar(sa.select(sa.func.count()).select_from(PasswordLink)) == 0
    )
