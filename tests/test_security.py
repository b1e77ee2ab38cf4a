"""Sessions that really end, throttled sign-in, password rules and security headers."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa

from constituent import create_app
from constituent.config import TestConfig
from constituent.extensions import db
from constituent.models import AuditEvent
from constituent.services import auth
from constituent.services.errors import DomainError
from tests import factories

NEW_PASSWORD = "a brand new passphrase for signing in"


def test_security_headers_on_pages_errors_and_the_sign_in_page(client, office):
    for path in ("/login", "/no/such/page"):
        response = client.get(path)
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        for directive in (
            "default-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ):
            assert directive in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in headers
    client.login(office.admin.email)
    assert client.get("/admin/users").headers["Cache-Control"] == "no-store"


def test_hsts_only_over_https(client, office):
    response = client.get("/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_session_cookie_flags(client, office):
    response = client.login(office.admin.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_new_session_identifier_at_each_sign_in(client, office):
    client.login(office.admin.email)
    with client.session_transaction() as s:
        first = s["sid"]
    client.logout()
    client.login(office.admin.email)
    with client.session_transaction() as s:
        assert s["sid"] != first


def test_idle_timeout_ends_the_session(client, app, office):
    client.login(office.admin.email)
    assert client.get("/admin/users").status_code == 200
    with client.session_transaction() as s:
        s["last_seen"] = int(time.time()) - app.config["SESSION_IDLE_SECONDS"] - 1
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_absolute_timeout_ends_an_active_session(client, app, office):
    client.login(office.admin.email)
    with client.session_transaction() as s:
        s["signed_in_at"] = int(time.time()) - app.config["SESSION_ABSOLUTE_SECONDS"] - 1
    assert client.get("/admin/users").status_code == 302


def _captured_cookie(client):
    return client.get_cookie("session").value


def _replay(app, cookie):
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/admin/users")


def test_password_change_needs_the_current_password_and_ends_other_sessions(client, app, office):
    other = app.test_client_class(app)  # a second browser, signed in before the change
    other.login(office.admin.email)
    stolen = _captured_cookie(other)
    client.login(office.admin.email)
    url = "/account/password"
    wrong = client.form_post(
        url,
        {
            "current_password": "not my password at all",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 422 and "current password is not right" in wrong.get_data(
        as_text=True
    )
    ok = client.form_post(
        url,
        {
            "current_password": factories.PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert ok.status_code == 302
    assert client.get("/admin/users").status_code == 200  # this session goes on
    assert _replay(app, stolen).status_code == 302  # the other one is refused
    client.logout()
    assert client.login(office.admin.email, NEW_PASSWORD).status_code == 302


def test_disabling_an_account_ends_its_sessions(client, app, office):
    victim = app.test_client_class(app)
    victim.login(office.caseworker.email)
    cookie = _captured_cookie(victim)
    assert victim.get("/", follow_redirects=True).status_code == 200
    client.login(office.admin.email)
    response = client.form_post(
        f"/admin/users/{office.caseworker.id}/disable", {}, token_from="/admin/users"
    )
    assert response.status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/", follow_redirects=False).status_code == 302
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user_disabled"))


def test_replayed_cookie_after_sign_out_is_refused(client, app, office):
    client.login(office.admin.email)
    cookie = _captured_cookie(client)
    client.logout()
    assert _replay(app, cookie).status_code == 302


@pytest.mark.parametrize(
    "password,message",
    [
        ("short pass", "at least 12"),
        ("x" * 129, "at most 128"),
        ("iloveyouforever", "commonly used"),
        ("Password1234", "commonly used"),
    ],
)
def test_password_rules(app, password, message):
    with pytest.raises(DomainError, match=message):
        auth.check_password_rules(password)


def test_password_rules_accept_a_long_phrase_without_composition_rules(app):
    auth.check_password_rules("plain lowercase words are fine")


def _fail(client, email):
    return client.form_post("/login", {"email": email, "password": "wrong password guess"})


def test_sign_in_is_throttled_per_account_without_blocking_others(client, office):
    for _ in range(5):
        assert _fail(client, office.caseworker.email).status_code == 401
    blocked = client.form_post(
        "/login", {"email": office.caseworker.email, "password": factories.PASSWORD}
    )
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert "Content-Security-Policy" in blocked.headers
    other = client.login(office.supervisor.email)
    assert other.status_code == 302


def test_sign_in_is_throttled_per_address(client, app, office):
    app.config["SIGN_IN_LIMIT_PER_ADDRESS"] = "3 per minute"
    try:
        for i in range(3):
            assert _fail(client, f"someone{i}@test.example").status_code == 401
        assert _fail(client, "yet-another@test.example").status_code == 429
    finally:
        app.config["SIGN_IN_LIMIT_PER_ADDRESS"] = "30 per minute"


def test_throttling_counts_live_in_redis_when_configured(tmp_path):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except Exception:
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'r.db'}",
            "SECRET_KEY": "x" * 40,
            "RATELIMIT_STORAGE_URI": url,
            "RATELIMIT_KEY_PREFIX": prefix,
        }
    )
    from tests.conftest import Client

    app.test_client_class = Client
    with app.app_context():
        db.create_all()
        office = factories.make_office()
        client = app.test_client()
        for _ in range(5):
            assert _fail(client, office.admin.email).status_code == 401
        assert _fail(client, office.admin.email).status_code == 429
        keys = redis.Redis.from_url(url).keys(f"*{prefix}*")
        assert keys, "the throttle counters should be stored in Redis"
        redis.Redis.from_url(url).delete(*keys)
        db.session.remove()
        db.engine.dispose()


def test_a_nul_character_in_a_form_or_address_is_a_400(client, office):
    assert client.get("/login?next=%00").status_code == 400
    response = client.form_post("/login", {"email": "a\x00b@test.example", "password": "x"})
    assert response.status_code == 400
