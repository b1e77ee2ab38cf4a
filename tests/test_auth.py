"""Sign-in, sign-out, deny by default, CSRF and the error pages."""

from __future__ import annotations

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import AuditEvent, Role
from constituent.services.auth import SIGN_IN_FAILED
from tests import factories


def test_every_page_but_login_requires_sign_in(client, office):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert "/login?next=/admin/users" in response.headers["Location"]
    assert client.get("/login").status_code == 200
    assert client.get("/static/css/app.css").status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_message(client, office):
    wrong = client.login(office.caseworker.email, "not the right password at all")
    unknown = client.login("nobody@test.example", factories.PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        page = response.get_data(as_text=True)
        assert SIGN_IN_FAILED in page
        assert "unknown" not in page.lower()
    failures = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "sign_in_failed")
    )
    assert failures == 2


def test_sign_in_lands_on_role_home_and_sign_out_ends_session(client, office):
    response = client.login(office.admin.email)
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 200
    token = client.csrf_token("/admin/users")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 302


def test_old_session_cookie_is_refused_after_sign_out(client, app, office):
    client.login(office.admin.email)
    cookie = client.get_cookie("session").value
    token = client.csrf_token("/admin/users")
    client.post("/logout", data={"csrf_token": token})
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/admin/users").status_code == 302


def test_next_goes_only_to_this_site(client, office):
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        token = client.csrf_token("/login")
        response = client.post(
            "/login",
            data={
                "email": office.admin.email,
                "password": factories.PASSWORD,
                "csrf_token": token,
                "next": bad,
            },
        )
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"]
        assert not response.headers["Location"].startswith("javascript")
        client.logout()
    token = client.csrf_token("/login")
    response = client.post(
        "/login",
        data={
            "email": office.admin.email,
            "password": factories.PASSWORD,
            "csrf_token": token,
            "next": "/admin/districts",
        },
    )
    assert response.headers["Location"].endswith("/admin/districts")


def test_post_without_csrf_token_is_a_400_page(client, office):
    response = client.post(
        "/login", data={"email": office.admin.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Bad request" in page and "usa-header" in page


def test_unknown_url_is_a_404_page_in_the_layout(client, office):
    client.login(office.admin.email)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_role_without_access_gets_403_and_it_is_audited(client, office):
    client.login(office.caseworker.email)
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)
    denied = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "access_denied"))
    assert denied is not None and denied.user_id == office.caseworker.id


def test_body_over_the_limit_is_a_413_page(client, app, office):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = client.post("/login", data={"email": "x" * 4096, "password": "y"})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 12 * 1024 * 1024
    assert response.status_code == 413
    assert "Too large" in response.get_data(as_text=True)


def test_disabled_user_cannot_sign_in(client, office):
    office.caseworker.active = False
    db.session.commit()
    response = client.login(office.caseworker.email)
    assert response.status_code == 401


def test_each_role_sees_its_navigation(client, office):
    expected = {Role.ADMIN: "Users", Role.LEGISLATOR: "Summaries"}
    for role, label in expected.items():
        client.login(office.user(role).email)
        page = client.get("/", follow_redirects=True).get_data(as_text=True)
        assert f"<span>{label}</span>" in page
        client.logout()
