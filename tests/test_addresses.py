"""Addresses the USPS way (State, unit, ZIP+4, phone extensions) and honest districts for
split and unknown ZIPs, through the log-a-call page."""

from __future__ import annotations

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Case, Constituent, ContactKind, Role
from constituent.services import letters as letter_service
from constituent.services import office as office_service
from tests import factories
from tests.conftest import count

URL = "/intake/"


def _alabama(area_code: str = ""):  # type: ignore[no-untyped-def]
    """An office serving AL-04 only; 35055 in AL-04, 35016 split between AL-04 and AL-05."""
    office_service.save_settings(
        office_service.SettingsInput(
            name="Office of Representative Robert Aderholt",
            legislator_name="Robert Aderholt",
            legislator_title="",
            body="us_house",
            state="AL",
            office_code="AL04",
            timezone="America/Chicago",
            default_area_code=area_code,
        )
    )
    district = factories.gen_district("AL-04")
    category = factories.gen_category("Social Security")
    intake = factories.gen_user(Role.INTAKE, [district], email="front@al.example")
    factories.gen_zip("35055", "AL-04")
    factories.gen_zip("35016", "AL-04", "AL-05")
    db.session.commit()
    return district, category, intake


def _call(category, **overrides):  # type: ignore[no-untyped-def]
    data = {
        "constituent_id": "",
        "first_name": "Ruby",
        "last_name": "Hollis",
        "phone": "(256) 555-0142 x15",
        "email": "",
        "street": "402 2nd Ave SE",
        "street2": "Apt 3",
        "city": "Cullman",
        "state": "",
        "zip5": "35055-1234",
        "category_id": str(category.id),
        "subject": "SSDI payment stopped",
        "description": "",
        "channel": "phone",
        "priority": "routine",
        "action": "log",
    }
    data.update(overrides)
    return data


def test_a_call_keeps_the_unit_state_zip_plus_4_and_extension_and_letters_use_usps_format(
    app, client
):
    district, category, intake = _alabama()
    client.login(intake.email)
    page = client.get(URL).get_data(as_text=True)
    assert 'name="state"' in page and 'value="AL"' in page and 'name="street2"' in page
    for label in ("First name", "Last name", "Category", "Subject"):  # required, marked
        assert f'{label} <abbr title="required"' in page, label
    response = client.form_post(URL, _call(category))
    assert response.status_code == 302, response.get_data(as_text=True)
    person = db.session.scalar(sa.select(Constituent))
    assert (person.street2, person.state, person.zip5, person.zip4) == (
        "Apt 3",
        "AL",
        "35055",
        "1234",
    )
    assert person.district == district
    phone = next(c for c in person.contact_points if c.kind == ContactKind.PHONE)
    assert (phone.value, phone.normalized) == ("(256) 555-0142 ext. 15", "+12565550142")
    case = db.session.scalar(sa.select(Case))
    fields = letter_service.merge_fields(case, intake)
    assert fields["constituent"]["address"] == "402 2nd Ave SE\nApt 3\nCullman AL 35055-1234"
    detail = client.get(f"/constituents/{person.id}").get_data(as_text=True)
    assert "Cullman AL 35055-1234" in detail


def test_a_seven_digit_number_needs_the_offices_area_code(app, client):
    _, category, intake = _alabama()
    client.login(intake.email)
    refused = client.form_post(URL, _call(category, phone="555-0142"))
    assert refused.status_code == 422
    assert "Enter the area code too" in refused.get_data(as_text=True)
    assert count(Constituent) == 0
    settings = office_service.stored_settings()
    settings.default_area_code = "256"
    db.session.commit()
    accepted = client.form_post(URL, _call(category, phone="555-0142"))
    assert accepted.status_code == 302
    phone = db.session.scalar(sa.select(Constituent)).contact_points[0]
    assert phone.normalized == "+12565550142" and phone.value == "(256) 555-0142"


def test_a_bad_zip_is_refused_with_the_zip_plus_4_hint(app, client):
    _, category, intake = _alabama()
    client.login(intake.email)
    refused = client.form_post(URL, _call(category, zip5="3505-51234"))
    assert refused.status_code == 422
    assert "ZIP+4, like 35055 or 35055-1234" in refused.get_data(as_text=True)
    assert count(Constituent) == 0


def test_a_split_zip_with_an_unserved_part_asks_and_offers_outside(app, client):
    district, category, intake = _alabama()
    client.login(intake.email)
    question = client.get("/intake/district", query_string={"zip5": "35016"}).get_data(as_text=True)
    assert "split between AL-04 and AL-05" in question
    assert "AL-04, or outside this office&#39;s districts" in question
    assert "Outside this office" in question and "AL-05 ·" not in question
    refused = client.form_post(URL, _call(category, zip5="35016"))
    assert refused.status_code == 422 and "Choose the district" in refused.get_data(as_text=True)
    assert count(Case) == 0
    outside = client.form_post(URL, _call(category, zip5="35016", district_id="-1"))
    assert outside.status_code == 302
    person = db.session.scalar(sa.select(Constituent))
    assert person.out_of_district and person.district is None
    assert db.session.scalar(sa.select(Case)).district == district  # the office handles it
    inside = client.form_post(
        URL, _call(category, zip5="35016", first_name="Mae", district_id=str(district.id))
    )
    assert inside.status_code == 302
    mae = db.session.scalar(sa.select(Constituent).where(Constituent.first_name == "Mae"))
    assert mae.district == district and not mae.out_of_district


def test_an_unknown_zip_says_so_and_staff_choose(app, client):
    district, category, intake = _alabama()
    client.login(intake.email)
    question = client.get("/intake/district", query_string={"zip5": "35999"})
    text = question.get_data(as_text=True)
    assert "ZIP 35999 is not in the ZIP table" in text
    assert "AL-04 ·" in text and "Outside this office" in text
    refused = client.form_post(URL, _call(category, zip5="35999"))
    assert refused.status_code == 422 and count(Constituent) == 0  # nothing decided for them
    placed = client.form_post(URL, _call(category, zip5="35999", district_id=str(district.id)))
    assert placed.status_code == 302
    person = db.session.scalar(sa.select(Constituent))
    assert person.district == district and not person.out_of_district
    outside = client.form_post(
        URL, _call(category, zip5="35998", first_name="Ida", district_id="-1")
    )
    assert outside.status_code == 302
    ida = db.session.scalar(sa.select(Constituent).where(Constituent.first_name == "Ida"))
    assert ida.out_of_district and ida.district is None
