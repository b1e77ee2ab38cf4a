"""Sign-in throttling that holds: per (account, address), per address and a looser per-account
limit, counted before the password hash; forwarded addresses believed only behind a trusted
proxy (issue 11, item 3)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from cryptography.fernet import Fernet

from constituent import create_app
from constituent.config import ConfigurationError, TestConfig
from constituent.extensions import db
from constituent.models import AuditEvent
from tests import factories
from tests.conftest import Client

WRONG = "not the right password at all"


def at(app, address: str) -> Client:
    """A browser at ``address`` (what the server sees as the client's address)."""
    app.test_client_class = Client
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def sign_in(client, email: str, password: str = WRONG, **kw):
    return client.form_post("/login", {"email": email, "password": password}, **kw)


@pytest.fixture()
def limits(app):
    """Small limits a test can reach; the defaults come back afterwards."""
    saved = {k: app.config[k] for k in app.config if k.startswith("SIGN_IN_LIMIT_")}
    app.config.update(
        SIGN_IN_LIMIT_PER_ACCOUNT_AND_ADDRESS="5 per minute",
        SIGN_IN_LIMIT_PER_ADDRESS="30 per minute",
        SIGN_IN_LIMIT_PER_ACCOUNT="12 per hour",
    )
    yield app.config
    app.config.update(saved)


def test_the_owner_signs_in_from_elsewhere_while_one_address_attacks(app, office, limits):
    attacker, owner = at(app, "203.0.113.66"), at(app, "198.51.100.7")
    email = office.caseworker.email
    for _ in range(5):
        assert sign_in(attacker, email).status_code == 401
    # The attacker keeps going long past the account's looser limit (12): every try is refused
    # by the pair limit and none of them is charged to the account.
    for _ in range(20):
        assert sign_in(attacker, email).status_code == 429
    assert sign_in(attacker, email, factories.PASSWORD).status_code == 429  # even a right one
    response = sign_in(owner, email, factories.PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_guessing_one_account_from_many_addresses_meets_the_account_limit(app, office, limits):
    email = office.supervisor.email
    for i in range(4):
        place = at(app, f"203.0.113.{i + 10}")
        for _ in range(3):
            assert sign_in(place, email).status_code == 401
    blocked = sign_in(at(app, "198.51.100.7"), email, factories.PASSWORD)
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    # Other accounts are not affected.
    assert (
        sign_in(at(app, "198.51.100.7"), office.intake.email, factories.PASSWORD).status_code == 302
    )


def test_one_address_spraying_many_accounts_meets_the_address_limit(app, office, limits):
    limits["SIGN_IN_LIMIT_PER_ADDRESS"] = "4 per minute"
    sprayer = at(app, "203.0.113.9")
    for i in range(4):
        assert sign_in(sprayer, f"person{i}@test.example").status_code == 401
    assert sign_in(sprayer, office.admin.email).status_code == 429
    assert sign_in(at(app, "198.51.100.7"), office.admin.email).status_code == 401


def test_a_refused_attempt_is_refused_before_the_password_is_hashed(
    app, office, limits, monkeypatch
):
    hashed = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, stored, password):  # type: ignore[no-untyped-def]
        hashed.append(password)
        return real_verify(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    attacker = at(app, "203.0.113.66")
    for _ in range(5):
        sign_in(attacker, office.caseworker.email)
    assert len(hashed) == 5
    for _ in range(10):
        assert sign_in(attacker, office.caseworker.email).status_code == 429
    assert len(hashed) == 5, "a refused attempt must not cost a password hash"
    failures = db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "sign_in_failed")
    )
    assert failures == 5


def test_right_passwords_cost_nothing_and_forgive_earlier_typos(app, office, limits):
    limits["SIGN_IN_LIMIT_PER_ADDRESS"] = "13 per minute"
    limits["SIGN_IN_LIMIT_PER_ACCOUNT"] = "100 per hour"
    client = at(app, "198.51.100.7")
    email = office.caseworker.email
    for _ in range(3):
        for _ in range(4):
            assert sign_in(client, email).status_code == 401
        assert sign_in(client, email, factories.PASSWORD).status_code == 302
        client.logout()
    # Twelve typos and three sign-ins: the pair limit of 5 was cleared by each right password,
    # and the address limit of 13 counts the twelve typos only.
    assert sign_in(client, email).status_code == 401
    assert sign_in(client, email).status_code == 429


def test_forwarded_addresses_are_ignored_without_a_trusted_proxy(app, office, limits):
    client = at(app, "192.0.2.1")
    for i in range(5):
        forged = {"X-Forwarded-For": f"203.0.113.{i}"}
        assert sign_in(client, office.caseworker.email, headers=forged).status_code == 401
    forged = {"X-Forwarded-For": "203.0.113.99"}
    assert sign_in(client, office.caseworker.email, headers=forged).status_code == 429
    addresses = set(db.session.scalars(sa.select(AuditEvent.ip)))
    assert addresses == {"192.0.2.1"}


@pytest.fixture()
def proxied(tmp_path):
    """An app told it sits behind one trusted proxy (CONSTITUENT_TRUSTED_PROXIES=1)."""
    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'proxied.db'}",
            "SEARCH_INDEX_DIR": str(tmp_path / "index"),
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "SECRET_KEY": "x" * 40,
            "TRUSTED_PROXIES": 1,
            "RATELIMIT_KEY_PREFIX": "proxied",
            "SIGN_IN_LIMIT_PER_ACCOUNT_AND_ADDRESS": "5 per minute",
        }
    )
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_behind_a_trusted_proxy_the_forwarded_address_is_limited_and_audited(proxied):
    office = factories.make_office()
    proxy = at(proxied, "10.0.0.2")  # every request arrives from the proxy's own address
    attacker = {"X-Forwarded-For": "203.0.113.66"}
    owner = {"X-Forwarded-For": "198.51.100.7"}
    for _ in range(5):
        assert sign_in(proxy, office.caseworker.email, headers=attacker).status_code == 401
    assert sign_in(proxy, office.caseworker.email, headers=attacker).status_code == 429
    signed_in = sign_in(proxy, office.caseworker.email, factories.PASSWORD, headers=owner)
    assert signed_in.status_code == 302
    events = db.session.execute(sa.select(AuditEvent.action, AuditEvent.ip)).all()
    assert ("sign_in", "198.51.100.7") in events
    assert {ip for action, ip in events if action == "sign_in_failed"} == {"203.0.113.66"}
    # A client's own extra X-Forwarded-For entries in front are not believed: only the last
    # entry, the one the trusted proxy appended, counts.
    spoofed = {"X-Forwarded-For": "198.51.100.7, 203.0.113.66"}
    assert (
        sign_in(at(proxied, "10.0.0.2"), office.caseworker.email, headers=spoofed).status_code
        == 429
    )


def test_production_refuses_per_worker_counters_with_several_workers(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSTITUENT_ENV", "production")
    monkeypatch.setenv("CONSTITUENT_SECRET_KEY", "s" * 48)
    monkeypatch.setenv("CONSTITUENT_DATA_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("CONSTITUENT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("CONSTITUENT_RATELIMIT_STORAGE_URL", raising=False)
    monkeypatch.delenv("CONSTITUENT_WORKERS", raising=False)
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    with pytest.raises(ConfigurationError, match="CONSTITUENT_RATELIMIT_STORAGE_URL") as exc:
        create_app()
    assert "4 workers" in str(exc.value)
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    monkeypatch.setenv("CONSTITUENT_WORKERS", "2")  # what gunicorn.conf.py exports
    with pytest.raises(ConfigurationError, match="CONSTITUENT_RATELIMIT_STORAGE_URL"):
        create_app()
    monkeypatch.setenv("CONSTITUENT_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/15")
    assert create_app().config["RATELIMIT_STORAGE_URI"].startswith("redis://")
    monkeypatch.delenv("CONSTITUENT_RATELIMIT_STORAGE_URL")
    monkeypatch.setenv("CONSTITUENT_WORKERS", "1")
    assert create_app().config["RATELIMIT_STORAGE_URI"] == "memory://"  # one process: fine


def test_a_trusted_proxy_count_that_is_not_a_number_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSTITUENT_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CONSTITUENT_TRUSTED_PROXIES", "yes")
    with pytest.raises(ConfigurationError, match="CONSTITUENT_TRUSTED_PROXIES"):
        create_app()
