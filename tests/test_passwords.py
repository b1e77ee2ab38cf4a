"""Passwords refuse the account's own words (NIST SP 800-63B): email, name, current password."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import User
from constituent.services import auth
from tests import factories
from tests.conftest import count

URL = "/account/password"


def _change(client, new: str, current: str = factories.PASSWORD):  # type: ignore[no-untyped-def]
    return client.form_post(
        URL, {"current_password": current, "new_password": new, "confirm_password": new}
    )


def _still_old_password(user: User) -> bool:
    db.session.expire_all()
    return auth.verify_password(auth.password_record(user.email), factories.PASSWORD)


@pytest.mark.parametrize(
    ("new", "message"),
    [
        (factories.PASSWORD, "is the current one"),
        (factories.PASSWORD.upper() + "!", "is the current one"),
        ("caseworker@test.example", "email address"),
        ("my name is CaseWorker 2026", "email address"),
        ("maria santos-ortega forever", "name"),
        ("MariaSantos loves Plattsburgh", "name"),
    ],
)
def test_change_password_refuses_the_accounts_own_words(client, office, new, message):
    office.caseworker.full_name = "Maria Santos"
    db.session.commit()
    client.login(office.caseworker.email)
    response = _change(client, new)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert message in page
    assert _still_old_password(office.caseworker)


def test_change_password_accepts_an_unrelated_passphrase(client, office):
    office.caseworker.full_name = "Maria Santos"
    db.session.commit()
    client.login(office.caseworker.email)
    response = _change(client, "tulip ferry granite orbit")
    assert response.status_code == 302
    assert not _still_old_password(office.caseworker)


def _create(runner, password: str, email: str = "pat.lee@office.example"):  # type: ignore[no-untyped-def]
    return runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            email,
            "--name",
            "Patricia Lee",
            "--role",
            "caseworker",
            "--district",
            "NY-21",
        ],
        input=f"{password}\n{password}\n",
    )


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("pat.lee@office.example", "email address"),
        ("hello PAT.LEE from the office", "email address"),
        ("patricia is the best caseworker", "name"),
    ],
)
def test_users_create_refuses_the_accounts_own_words(runner, app, password, message):
    factories.gen_district("NY-21")
    db.session.commit()
    result = _create(runner, password)
    assert result.exit_code != 0
    assert message in result.output
    assert count(User) == 0


def test_users_create_accepts_an_unrelated_passphrase(runner, app):
    factories.gen_district("NY-21")
    db.session.commit()
    result = _create(runner, "tulip ferry granite orbit")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(User.full_name)) == "Patricia Lee"
