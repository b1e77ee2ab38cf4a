"""Setting up an office without the demo seeder: `flask office init` and the Office page."""

from __future__ import annotations

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import AuditEvent, Category, District, OfficeSettings, Role, User
from tests import factories
from tests.conftest import count

ADERHOLT = [
    "office",
    "init",
    "--name",
    "Office of Representative Robert Aderholt",
    "--legislator",
    "Robert Aderholt",
    "--body",
    "us_house",
    "--state",
    "AL",
    "--district",
    "AL-04=Alabama's 4th congressional district",
    "--code",
    "AL04",
    "--timezone",
    "America/Chicago",
    "--admin-email",
    "It@Aderholt.example",
    "--admin-name",
    "Office IT",
    "--generate-password",
    "--no-interactive",
]


def _password(output: str) -> str:
    return output.split("Password: ")[1].split()[0]


def test_office_init_sets_up_a_house_office_whose_admin_signs_in(runner, app, client):
    result = runner.invoke(args=[*ADERHOLT, "--starter", "categories"])
    assert result.exit_code == 0, result.output
    assert "Representative Robert Aderholt" in result.output and "AL-04" in result.output
    district = db.session.scalar(sa.select(District))
    assert (district.code, district.state, district.name) == (
        "AL-04",
        "AL",
        "Alabama's 4th congressional district",
    )
    admin = db.session.scalar(sa.select(User))
    assert admin.role == Role.ADMIN and admin.email == "it@aderholt.example"
    assert admin.districts == []  # the first admin needs no district
    names = set(db.session.scalars(sa.select(Category.name)))
    assert {"Social Security", "Veterans", "IRS", "Immigration", "Passports"} <= names
    # The first admin signs in and sees the office's name and settings.
    response = client.login("it@aderholt.example", _password(result.output))
    assert response.status_code == 302
    page = client.get("/admin/office").get_data(as_text=True)
    assert "Office of Representative Robert Aderholt" in page
    assert 'value="America/Chicago"' in page and 'value="AL04"' in page
    # Staff accounts can now be created for the district.
    made = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "cw@aderholt.example",
            "--role",
            "caseworker",
            "--district",
            "AL-04",
            "--generate-password",
        ]
    )
    assert made.exit_code == 0, made.output
    shown = runner.invoke(args=["office", "show"])
    assert "America/Chicago" in shown.output and "U.S. House" in shown.output


def test_office_init_for_an_at_large_state_asks_in_a_terminal(runner, app):
    answers = "\n".join(
        [
            "Office of Representative Harriet Hageman",
            "Harriet Hageman",
            "us_house",
            "wy",
            "WY-AL",
            "WY00",
            "America/Denver",
            "admin@hageman.example",
            "n",
            "a long enough passphrase",
            "a long enough passphrase",
        ]
    )
    result = runner.invoke(args=["office", "init", "--interactive"], input=answers + "\n")
    assert result.exit_code == 0, result.output
    district = db.session.scalar(sa.select(District))
    assert (district.code, district.state) == ("WY-AL", "WY")
    settings = db.session.scalar(sa.select(OfficeSettings))
    assert (settings.office_code, settings.timezone, settings.state) == (
        "WY00",
        "America/Denver",
        "WY",
    )
    assert settings.legislator_title == "Representative"
    assert count(Category) == 0  # declined the starter categories


def test_office_init_without_a_terminal_names_the_missing_flags(runner, app):
    result = runner.invoke(args=["office", "init", "--name", "X", "--no-interactive"])
    assert result.exit_code == 2
    assert "--legislator" in result.output and "--district" in result.output
    assert count(OfficeSettings) == 0


def test_office_init_refuses_bad_input_and_saves_nothing(runner, app):
    bad_zone = [a if a != "America/Chicago" else "America/Chicgo" for a in ADERHOLT]
    result = runner.invoke(args=bad_zone)
    assert result.exit_code == 1 and "Unknown time zone 'America/Chicgo'" in result.output
    bad_code = [
        a if a != "AL-04=Alabama's 4th congressional district" else "AL 04" for a in ADERHOLT
    ]
    result = runner.invoke(args=bad_code)
    assert result.exit_code == 1 and "District code 'AL 04' is not usable" in result.output
    assert (count(OfficeSettings), count(District), count(User)) == (0, 0, 0)
    assert runner.invoke(args=ADERHOLT).exit_code == 0
    again = runner.invoke(args=ADERHOLT)
    assert again.exit_code == 1 and "set up already" in again.output
    assert (count(OfficeSettings), count(District), count(User)) == (1, 1, 1)


def test_the_office_page_changes_every_setting_and_is_audited(app, client):
    admin = factories.gen_user(Role.ADMIN, [], email="admin@test.example")
    db.session.commit()
    client.login(admin.email)
    page = client.get("/admin/office").get_data(as_text=True)
    assert "not set up yet" in page
    form = {
        "name": "Office of Senator Tina Smith",
        "legislator_name": "Tina Smith",
        "legislator_title": "",
        "body": "us_senate",
        "state": "mn",
        "office_code": "mnsen",
        "timezone": "America/Chicago",
        "default_area_code": "612",
    }
    response = client.form_post("/admin/office", form)
    assert response.status_code == 302
    settings = db.session.scalar(sa.select(OfficeSettings))
    assert (settings.legislator_title, settings.state, settings.office_code) == (
        "Senator",
        "MN",
        "MNSEN",
    )
    assert settings.default_area_code == "612"
    home = client.get("/admin/office").get_data(as_text=True)
    assert "Office of Senator Tina Smith" in home  # header and form
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "office_settings_changed")
    )
    assert event is not None and "timezone" in event.detail
    # A bad value is refused beside its field and changes nothing.
    refused = client.form_post("/admin/office", {**form, "timezone": "Mars/Olympus", "name": "X"})
    assert refused.status_code == 422
    assert "Unknown time zone" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(OfficeSettings.name)) == "Office of Senator Tina Smith"


def test_the_office_time_zone_decides_the_office_day(app, client):
    from datetime import UTC, datetime

    from constituent.services import clock, office

    office.save_settings(
        office.SettingsInput(
            name="Guam office",
            legislator_name="James Moylan",
            legislator_title="Delegate",
            body="us_house",
            state="GU",
            office_code="GU",
            timezone="Pacific/Guam",
        )
    )
    db.session.commit()
    office.forget_profile()
    assert str(clock.office_tz()) == "Pacific/Guam"
    assert clock.office_date(datetime(2026, 3, 1, 20, 0, tzinfo=UTC)).day == 2


def test_case_tags_carry_the_office_code_set_on_the_office_page(app):
    from constituent.services import office, tags

    factories.gen_district("GU-AL")
    db.session.commit()
    assert tags.office_code() == "GUAL"  # before set-up: the first district's code
    office.save_settings(
        office.SettingsInput(
            name="Guam office",
            legislator_name="James Moylan",
            legislator_title="Delegate",
            body="us_house",
            state="GU",
            office_code="GUAM",
            timezone="Pacific/Guam",
        )
    )
    db.session.commit()
    assert tags.office_code() == "GUAM"
    assert tags.case_tag(1152).startswith("[GUAM C-1152 ")


def test_two_admins_saving_the_office_page_at_once_the_second_is_refused(app):
    from tests.conftest import Client

    first, second = (factories.gen_user(Role.ADMIN, [], email=f"a{n}@test.example") for n in (1, 2))
    db.session.commit()
    app.test_client_class = Client
    one, two = app.test_client(), app.test_client()
    one.login(first.email)
    two.login(second.email)
    form = {
        "name": "Office of Representative Robert Aderholt",
        "legislator_name": "Robert Aderholt",
        "legislator_title": "",
        "body": "us_house",
        "state": "AL",
        "office_code": "AL04",
        "timezone": "America/Chicago",
        "default_area_code": "",
    }
    # Both open the page before the office is set up; the first save wins.
    page_one = one.get("/admin/office").get_data(as_text=True)
    page_two = two.get("/admin/office").get_data(as_text=True)
    assert one.post("/admin/office", data={**form, **_hidden(page_one)}).status_code == 302
    refused = two.post(
        "/admin/office",
        data={**form, "name": "Someone else's name", **_hidden(page_two)},
    )
    assert refused.status_code == 409
    assert "changed after you opened the page" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(OfficeSettings.name)) == form["name"]
    # Opened again, the page carries the new version and saves; an old page is refused again.
    assert one.form_post("/admin/office", {**form, "name": "Aderholt office"}).status_code == 302
    stale = one.post("/admin/office", data={**form, **_hidden(page_one)})
    assert stale.status_code == 409
    # A post without the version is refused, never let through unchecked.
    bare = one.post("/admin/office", data={**form, "csrf_token": _hidden(page_one)["csrf_token"]})
    assert bare.status_code == 400 and "which version" in bare.get_data(as_text=True)


def _hidden(page: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'<input[^>]*name="(csrf_token|version)"[^>]*value="([^"]*)"', page))
