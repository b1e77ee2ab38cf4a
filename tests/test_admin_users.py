"""Admins create accounts, reset passwords and disable accounts on the web; all audited."""

from __future__ import annotations

import re

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import AuditEvent, Role, User
from tests import factories
from tests.conftest import Client, count

PASSWORD_RE = re.compile(r'id="generated-password"[^>]*value="([^"]+)"')


def _actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_an_admin_creates_a_caseworker_who_signs_in_with_the_password_shown_once(app, client):
    office = factories.make_office()
    client.login(office.admin.email)
    form = {
        "email": "New.Person@Office.example",
        "full_name": "New Person",
        "role": "caseworker",
        "districts": [office.a.code, office.b.code],
        "mail_triage": "y",
    }
    response = client.form_post("/admin/users/new", form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    password = PASSWORD_RE.search(page).group(1)
    assert "shown only this once" in page
    user = db.session.scalar(sa.select(User).where(User.email == "new.person@office.example"))
    assert user.role == Role.CASEWORKER and user.mail_triage
    assert {d.code for d in user.districts} == {office.a.code, office.b.code}
    assert password not in client.get("/admin/users").get_data(as_text=True)
    assert "user_created" in _actions() and "mail_triage_granted" in _actions()
    newcomer = app.test_client()
    assert isinstance(newcomer, Client)
    signed_in = newcomer.login("new.person@office.example", password)
    assert signed_in.status_code == 302 and "/login" not in signed_in.headers["Location"]


def test_a_new_account_refuses_bad_input_and_saves_nothing(app, client):
    office = factories.make_office()
    client.login(office.admin.email)
    before = count(User)
    cases = [
        ({"email": office.caseworker.email, "role": "caseworker"}, "already exists"),
        ({"email": "x@office.example", "role": "intake"}, "belongs to at least one district"),
        ({"email": "x@office.example", "role": "wizard"}, "Not a valid choice"),
        ({"email": "x@office.example", "role": "supervisor", "mail_triage": "y"}, "caseworkers"),
        ({"email": "x" * 300, "role": "caseworker"}, "at most 254"),
    ]
    for extra, message in cases:
        data = {"full_name": "Someone", "districts": [office.a.code], **extra}
        if extra["role"] == "intake":
            data.pop("districts")
        response = client.form_post("/admin/users/new", data)
        assert response.status_code == 422, extra
        assert message in response.get_data(as_text=True), extra
    assert count(User) == before


def test_an_admin_account_needs_no_district(app, client):
    office = factories.make_office()
    client.login(office.admin.email)
    response = client.form_post(
        "/admin/users/new", {"email": "it2@office.example", "full_name": "IT", "role": "admin"}
    )
    assert response.status_code == 200
    user = db.session.scalar(sa.select(User).where(User.email == "it2@office.example"))
    assert user.role == Role.ADMIN and user.districts == []


def test_a_password_reset_ends_the_sessions_and_shows_the_new_password_once(app, client):
    office = factories.make_office()
    worker = app.test_client()
    worker.login(office.caseworker.email)
    assert worker.get("/cases/").status_code == 200
    client.login(office.admin.email)
    url = f"/admin/users/{office.caseworker.id}/reset-password"
    response = client.form_post(url, {}, token_from="/admin/users")
    assert response.status_code == 200
    password = PASSWORD_RE.search(response.get_data(as_text=True)).group(1)
    assert worker.get("/cases/").status_code == 302  # signed out everywhere
    assert worker.login(office.caseworker.email).status_code == 401  # the old one is refused
    assert worker.login(office.caseworker.email, password).status_code == 302
    assert "password_reset" in _actions()
    own = client.form_post(
        f"/admin/users/{office.admin.id}/reset-password", {}, token_from="/admin/users"
    )
    assert own.status_code == 302


def test_an_admin_disables_an_account_from_the_users_page(app, client):
    office = factories.make_office()
    client.login(office.admin.email)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "New user" in page and "Reset password" in page
    url = f"/admin/users/{office.intake.id}/disable"
    assert client.form_post(url, {}, token_from="/admin/users").status_code == 302
    db.session.expire_all()
    assert not office.intake.active and "user_disabled" in _actions()
