"""Log a call: look-ups, the district from the ZIP table, bad input, roles, one submit."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    AuditEvent,
    Case,
    Constituent,
    EventKind,
    ReleaseState,
    Role,
    TimelineEvent,
)
from tests import factories
from tests.conftest import count

URL = "/intake/"


def call(office, **overrides):
    """The form of a new caller with one concern; overrides replace fields."""
    data = {
        "constituent_id": "",
        "first_name": "Dorothy",
        "last_name": "Vance",
        "phone": "(518) 555-0199",
        "email": "dorothy@example.org",
        "street": "4 Elm Street",
        "city": "Plattsburgh",
        "zip5": "12901",
        "category_id": str(office.category.id),
        "subject": "Pension stopped",
        "description": "Her VA pension stopped in May.",
        "channel": "phone",
        "priority": "routine",
        "action": "log",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture()
def zips(office):
    """12901 in district A only; 12345 split between A and B; 10001 elsewhere in NY."""
    factories.gen_zip("12901", "NY-21")
    factories.gen_zip("12345", "NY-20", "NY-21")
    factories.gen_zip("10001", "NY-12")
    db.session.commit()


def only_case() -> Case:
    cases = db.session.scalars(sa.select(Case)).all()
    assert len(cases) == 1
    return cases[0]


def test_new_caller_one_submit_creates_constituent_case_and_first_event(client, office, zips):
    client.login(office.intake.email)
    response = client.form_post(URL, call(office, release_needed="y", priority="expedite"))
    assert response.status_code == 302
    case = only_case()
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    person = case.constituent
    assert (person.first_name, person.last_name) == ("Dorothy", "Vance")
    assert person.district == office.a and not person.out_of_district
    assert [c.normalized for c in person.contact_points] == ["+15185550199", "dorothy@example.org"]
    assert person.street_key == "4 elm st"
    assert case.district == office.a and case.opened_by == office.intake
    assert case.release_state == ReleaseState.NEEDED and case.priority.value == "expedite"
    assert not case.confidential
    events = db.session.scalars(sa.select(TimelineEvent)).all()
    assert [e.kind for e in events] == [EventKind.INTAKE]
    assert "VA pension" in events[0].body


def test_caseworker_and_supervisor_log_calls_legislator_and_admin_get_403(client, office, zips):
    for role in (Role.CASEWORKER, Role.SUPERVISOR):
        client.login(office.user(role).email)
        assert client.get(URL).status_code == 200
        assert client.form_post(URL, call(office, confidential="y")).status_code == 302
        client.logout()
    assert count(Case) == 2
    assert all(c.confidential for c in db.session.scalars(sa.select(Case)))
    for role in (Role.LEGISLATOR, Role.ADMIN):
        client.login(office.user(role).email)
        assert client.get(URL).status_code == 403
        assert client.get("/intake/lookup?last_name=Example").status_code == 403
        client.logout()


def test_split_zip_asks_which_district_listing_only_the_candidates(client, office, zips):
    factories.gen_district("NY-23")  # served too, but not in this ZIP
    db.session.commit()
    client.login(office.intake.email)
    partial = client.get("/intake/district?zip5=12345").get_data(as_text=True)
    assert "split between NY-20 and NY-21" in partial
    options = re.findall(r"<option[^>]*>([^<]*)</option>", partial)
    assert [label.split(" ")[0] for label in options] == ["Choose", "NY-20", "NY-21"]
    assert re.search(r'<select[^>]* id="district_id"[^>]* required', partial)  # to be answered
    assert 'for="district_id">' in partial and 'class="usa-hint usa-hint--required"' in partial
    refused = client.form_post(URL, call(office, zip5="12345"))
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "Choose the district" in page and 'value="Pension stopped"' in page
    assert "NY-23" not in page.split('id="district_id"')[1].split("</select>")[0]
    assert count(Constituent) == 0 and count(Case) == 0
    done = client.form_post(URL, call(office, zip5="12345", district_id=str(office.b.id)))
    assert done.status_code == 302
    case = only_case()
    assert case.district == office.b and case.constituent.district == office.b
    assert not case.constituent.district_override
    # The intake user works in NY-21 only: no dead end on a case they may not open, but a
    # message saying where it went.
    assert done.headers["Location"].endswith("/intake/")
    page = client.get("/intake/").get_data(as_text=True)
    assert "in NY-20; that district&#39;s staff will handle it." in page


def test_out_of_district_zip_is_flagged_and_the_case_stays_with_the_office(client, office, zips):
    client.login(office.intake.email)
    partial = client.get("/intake/district?zip5=10001").get_data(as_text=True)
    assert "Out of district" in partial and "NY-12" in partial
    assert client.form_post(URL, call(office, zip5="10001")).status_code == 302
    case = only_case()
    assert case.constituent.out_of_district and case.constituent.district is None
    assert case.district == office.a


def test_out_of_district_caller_of_a_two_district_user_chooses_the_handling_district(
    client, office, zips
):
    office.supervisor.districts.append(office.b)
    db.session.commit()
    client.login(office.supervisor.email)
    refused = client.form_post(URL, call(office, zip5="10001"))
    assert refused.status_code == 422
    assert "Choose the district handling the case." in refused.get_data(as_text=True)
    assert (
        client.form_post(URL, call(office, zip5="10001", district_id=str(office.b.id))).status_code
        == 302
    )
    assert only_case().district == office.b


def test_unknown_zip_says_so_and_needs_confirming(client, office, zips):
    client.login(office.intake.email)
    refused = client.form_post(URL, call(office, zip5="99999"))
    assert refused.status_code == 422
    assert "ZIP 99999 is not in the ZIP table" in refused.get_data(as_text=True)
    assert count(Constituent) == 0
    assert client.form_post(URL, call(office, zip5="99999", zip_confirmed="y")).status_code == 302
    assert only_case().constituent.out_of_district


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("description", "x" * 1_048_576, "Use at most 10,000 characters"),
        ("subject", "s" * 201, "Use at most 200 characters"),
        ("zip5", "1290", "five digits"),
        ("email", "dorothy@", "with a name and a domain"),
        ("email", "dorothy", "with a name and a domain"),
        ("phone", "555-01", "can be dialled"),
        ("first_name", "", "Enter the first name"),
        ("subject", "", "Enter a subject"),
        ("category_id", "", "Choose a category"),
        ("channel", "pigeon", "Not a valid choice"),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_saved(
    client, office, zips, field, value, message
):
    client.login(office.intake.email)
    response = client.form_post(URL, call(office, **{field: value}))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="{field}-error"' in page or f'id="{field}"' in page
    if field != "subject":
        assert 'value="Pension stopped"' in page  # the rest of the form is kept
    assert count(Constituent) == 0 and count(Case) == 0 and count(TimelineEvent) == 0
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(
                AuditEvent.action.in_(["constituent_created", "case_opened"])
            )
        )
        == 0
    )


def test_constituent_is_not_created_when_the_case_is_refused(client, office, zips):
    client.login(office.intake.email)
    office.category.active = False
    db.session.commit()
    response = client.form_post(URL, call(office))
    assert response.status_code == 422 and "Choose a category" in response.get_data(as_text=True)
    assert count(Constituent) == 0


def test_picking_an_existing_constituent_opens_the_case_on_their_record(client, office, zips):
    person = factories.gen_constituent(office.a, phone="518-555-0123")
    db.session.commit()
    client.login(office.intake.email)
    response = client.form_post(
        URL, call(office, constituent_id=str(person.id), first_name="", last_name="", zip5="bad")
    )
    # The new-constituent fields are ignored except for the form's own format check.
    assert response.status_code == 422
    response = client.form_post(
        URL, call(office, constituent_id=str(person.id), first_name="", last_name="", zip5="")
    )
    assert response.status_code == 302
    assert count(Constituent) == 1
    assert only_case().constituent_id == person.id and only_case().district == office.a


def test_a_constituent_the_user_may_not_see_cannot_be_picked(client, office, zips):
    stranger = factories.gen_constituent(office.b, first="Hidden", last="Person")
    db.session.commit()
    client.login(office.intake.email)
    response = client.form_post(URL, call(office, constituent_id=str(stranger.id)))
    assert response.status_code == 422
    assert "not available to you" in response.get_data(as_text=True)
    assert count(Case) == 0


def lookup(client, **params) -> str:
    response = client.get("/intake/lookup", query_string=params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_lookup_finds_by_nickname_both_ways(client, office):
    margaret = factories.gen_constituent(office.a, first="Margaret", last="Okafor")
    bob = factories.gen_constituent(office.a, first="Bob", last="Lindqvist")
    factories.gen_constituent(office.a, first="Susan", last="Okafor")
    db.session.commit()
    client.login(office.intake.email)
    found = lookup(client, first_name="Peggy", last_name="Okafor")
    assert f'value="{margaret.id}"' in found and "name (nickname)" in found
    assert "Susan" not in found
    assert f'value="{bob.id}"' in lookup(client, first_name="Robert", last_name="lindq")
    assert f'value="{margaret.id}"' in lookup(client, first_name="marg", last_name="OKAFOR")


def test_lookup_finds_by_phone_in_any_format_email_and_street(client, office):
    person = factories.gen_constituent(
        office.a,
        first="Ana",
        last="Ruiz",
        phone="518-555-0123",
        email="Ana.Ruiz@Example.org",
        street="12 North Main Street",
        zip5="12901",
    )
    db.session.commit()
    client.login(office.intake.email)
    for phone in ("(518) 555-0123", "518.555.0123", "+1 518 555 0123", "5185550123"):
        found = lookup(client, phone=phone)
        assert f'value="{person.id}"' in found and "Matches on phone" in found
    assert f'value="{person.id}"' in lookup(client, email="ana.ruiz@example.ORG ")
    assert f'value="{person.id}"' in lookup(client, street="12 N Main St", zip5="12901")
    assert f'value="{person.id}"' not in lookup(client, street="12 N Main St", zip5="12902")
    assert "No existing constituent matches" in lookup(client, phone="(518) 555-9999")


def test_lookup_never_offers_merged_away_or_invisible_records(client, office):
    kept = factories.gen_constituent(office.a, first="Margaret", last="Okafor")
    gone = factories.gen_constituent(office.a, first="Margaret", last="Okafor", merged_into=kept)
    other = factories.gen_constituent(office.b, first="Margaret", last="Okafor")
    db.session.commit()
    client.login(office.intake.email)
    found = lookup(client, first_name="Margaret", last_name="Okafor")
    assert f'value="{kept.id}"' in found
    assert f'value="{gone.id}"' not in found and f'value="{other.id}"' not in found


def test_find_matches_button_works_without_javascript(client, office, zips):
    person = factories.gen_constituent(office.a, first="Margaret", last="Okafor")
    db.session.commit()
    client.login(office.intake.email)
    response = client.form_post(
        URL, call(office, first_name="Peggy", last_name="Okafor", zip5="12345", action="find")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'value="{person.id}"' in page and "split between NY-20 and NY-21" in page
    assert count(Case) == 0 and count(Constituent) == 1


def test_the_page_marks_required_fields_focuses_the_first_and_enter_logs_the_call(client, office):
    client.login(office.intake.email)
    page = client.get(URL).get_data(as_text=True)
    assert "Fields marked" in page and "are required." in page
    for name in ("first_name", "last_name", "category_id", "subject"):
        tag = re.search(rf'<(?:input|select)[^>]* id="{name}"[^>]*>', page)
        assert tag and " required" in tag.group(0), name
        assert re.search(rf'for="{name}">[^<]*<abbr title="required" class="usa-hint', page)
    assert re.search(
        r'<input[^>]* autofocus[^>]* id="first_name"|id="first_name"[^>]* autofocus', page
    )
    assert page.count("autofocus") == 1
    # Enter in a field submits with the form's first button: it must be "Log the call".
    buttons = re.findall(r'<button[^>]*name="action" value="(\w+)"', page)
    assert buttons == ["log", "find"]
    # The look-up results can be reached from the top of the caller fields.
    assert 'href="#matches"' in page and 'id="matches"' in page


def test_the_channel_starts_as_this_users_last_calls(client, office, zips):
    def chosen() -> str:
        page = client.get(URL).get_data(as_text=True)
        found = re.search(r'<select[^>]*id="channel".*?<option selected value="(\w+)"', page, re.S)
        assert found
        return found.group(1)

    client.login(office.intake.email)
    assert chosen() == "phone"  # before the first call
    assert client.form_post(URL, call(office, channel="walk_in")).status_code == 302
    assert chosen() == "walk_in"
    client.logout()
    client.login(office.caseworker.email)  # another user's calls are theirs
    assert chosen() == "phone"


def test_a_new_case_for_a_known_constituent_starts_with_them_chosen(client, office, zips):
    person = factories.gen_constituent(office.a, first="Ana", last="Ruiz", phone="518-555-0123")
    stranger = factories.gen_constituent(office.b, first="Hidden", last="Person")
    db.session.commit()
    client.login(office.intake.email)
    page = client.get(URL, query_string={"constituent": person.id}).get_data(as_text=True)
    assert f"Using the existing record of {person.full_name}." in re.sub(r"<[^>]+>", "", page)
    assert re.search(rf'value="{person.id}" checked', page)
    assert 'value="Ana"' in page and 'value="Ruiz"' in page
    assert re.search(r'id="category_id"[^>]*autofocus|autofocus[^>]*id="category_id"', page)
    # Out of the user's scope, or nonsense: a new caller, and nothing said about the stranger.
    for value in (stranger.id, "junk", "99999999999"):
        page = client.get(URL, query_string={"constituent": value}).get_data(as_text=True)
        assert "Hidden" not in page and re.search(
            r'id="constituent_id" [^>]*value="" checked', page
        )
    response = client.form_post(
        URL, call(office, constituent_id=str(person.id), first_name="Ana", last_name="Ruiz")
    )
    assert response.status_code == 302 and only_case().constituent_id == person.id
