"""The flask commands: users, districts, demo."""

from __future__ import annotations

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Case, District, Role, User, ZipDistrict
from tests import factories
from tests.conftest import count


def test_users_create_with_generated_password_and_list(runner, app):
    factories.gen_district("NY-21")
    db.session.commit()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Pat@Office.example",
            "--name",
            "Pat Lee",
            "--role",
            "caseworker",
            "--district",
            "ny-21",
            "--generate-password",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Password: " in result.output
    password = result.output.split("Password: ")[1].strip()
    user = db.session.scalar(sa.select(User).where(User.email == "pat@office.example"))
    assert user.role == Role.CASEWORKER and [d.code for d in user.districts] == ["NY-21"]
    assert user.password_hash.startswith("$argon2id$") and password not in user.password_hash
    listing = runner.invoke(args=["users", "list"])
    assert "pat@office.example" in listing.output and "NY-21" in listing.output


def test_users_create_prompts_for_password_and_refuses_short_ones(runner, app):
    factories.gen_district("NY-21")
    db.session.commit()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "a@b.example",
            "--role",
            "admin",
            "--district",
            "NY-21",
        ],
        input="short\nshort\n",
    )
    assert result.exit_code != 0 and "at least 12 characters" in result.output
    assert count(User) == 0
    good = "a long enough passphrase"
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "a@b.example",
            "--role",
            "admin",
            "--district",
            "NY-21",
        ],
        input=f"{good}\n{good}\n",
    )
    assert result.exit_code == 0, result.output
    assert count(User) == 1


def test_users_create_unknown_district_is_refused(runner, app):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "a@b.example",
            "--role",
            "admin",
            "--district",
            "ZZ-99",
            "--generate-password",
        ]
    )
    assert result.exit_code != 0 and "Unknown district ZZ-99" in result.output
    assert count(User) == 0


def test_no_default_accounts(app):
    assert count(User) == 0


def test_demo_seed_creates_an_office_and_prints_sign_ins(runner, app):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    for role in Role:
        assert f"{role.value}@demo.example" in result.output
    assert count(District) == 3
    assert count(Case) == 400
    statuses = set(db.session.scalars(sa.select(Case.status).distinct()))
    assert len(statuses) == 5
    assert db.session.scalar(sa.select(sa.func.count(sa.distinct(ZipDistrict.zip5)))) > 1000
    # Demo referrals to federal agencies pass the privacy-release gate they would face today.
    from constituent.models import Referral
    from constituent.services import referrals as referral_service

    federal = db.session.scalars(sa.select(Referral)).all()
    assert federal
    refused = [r.id for r in federal if referral_service.release_problem(r.case, r.agency)]
    assert refused == []
    again = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert again.exit_code == 0 and "already present" in again.output
    assert count(Case) == 400


def test_demo_seed_at_scale_writes_unique_rows_across_batches(app):
    from constituent.services import demo

    result = demo.seed(scale=8)  # 2,400 constituents: more than one insert batch
    db.session.commit()
    assert result.constituents == 2400 and result.cases == 3200
    from constituent.models import Constituent, ContactPoint

    assert count(Constituent) == 2400
    assert count(ContactPoint) >= 2400


def test_demo_cases_take_numbers_from_the_case_counter(app):
    """The seeded cases are numbered 1001 on, and the next case opened takes the number
    after the last of them (from the same counter an import and intake use)."""
    from constituent.services import cases, demo

    demo.seed(scale=1)
    db.session.commit()
    numbers = db.session.scalars(sa.select(Case.number).order_by(Case.number)).all()
    assert numbers == list(range(1001, 1001 + 400))
    assert cases.next_case_number() == 1401
    assert cases.next_case_number(3) == 1402
    assert cases.next_case_number() == 1405
