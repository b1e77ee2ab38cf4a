"""The agency directory: search and filters, edits with optimistic locking, deactivation,
deletion refused for agencies with referrals, contacts, CSV import, and who may do what."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyContact,
    AgencyLevel,
    AuditEvent,
    Category,
    Referral,
    ReferralMethod,
    Role,
    RoutingRule,
)
from constituent.services import agencies as agency_service
from constituent.services import demo
from tests import factories
from tests.conftest import count


def seed_directory() -> dict[str, Agency]:
    """The demo's realistic directory (catalog data) and its routing rules."""
    categories = demo._ensure_categories()
    agencies = demo._ensure_agencies(categories)
    demo._ensure_routing_rules(categories, agencies)
    db.session.commit()
    return {a.acronym or a.name: a for a in agencies.values()}


def agency_by_name(name: str) -> Agency | None:
    return db.session.scalar(sa.select(Agency).where(Agency.name == name))


# ---------------------------------------------------------------------------------------
# Directory list: search, filters, paging
# ---------------------------------------------------------------------------------------


def test_directory_lists_the_demo_agencies_and_searches_by_name_or_acronym(client, office):
    seed_directory()
    client.login(office.caseworker.email)
    page = client.get("/agencies/").get_data(as_text=True)
    assert "Social Security Administration" in page
    assert "Legal Aid Society of Northeastern New York" in page
    assert "22 agencies" in page
    found = client.get("/agencies/?q=uscis").get_data(as_text=True)
    assert "U.S. Citizenship and Immigration Services" in found
    assert "Social Security Administration" not in found
    assert "Showing 1–1 of 1 agency" in found


def test_directory_filters_by_level_and_category(client, office):
    seed_directory()
    client.login(office.supervisor.email)
    state = client.get("/agencies/?level=state").get_data(as_text=True)
    assert "New York State Department of Motor Vehicles" in state
    assert "Social Security Administration" not in state
    assert "Safe Harbor Domestic Violence Shelter" not in state
    housing = db.session.scalar(sa.select(Category).where(Category.name == "Housing"))
    both = client.get(f"/agencies/?category={housing.id}").get_data(as_text=True)
    for name in (
        "Department of Housing and Urban Development",
        "New York State Homes and Community Renewal",
        "Legal Aid Society of Northeastern New York",
    ):
        assert name in both
    assert "Social Security Administration" not in both
    nonprofit_housing = client.get(f"/agencies/?category={housing.id}&level=nonprofit").get_data(
        as_text=True
    )
    assert "Legal Aid Society of Northeastern New York" in nonprofit_housing
    assert "Department of Housing and Urban Development" not in nonprofit_housing


def test_directory_hides_inactive_agencies_unless_asked(client, office):
    agencies = seed_directory()
    agency_service.set_agency_active(agencies["USPS"], False)
    db.session.commit()
    client.login(office.caseworker.email)
    assert "United States Postal Service" not in client.get("/agencies/").get_data(as_text=True)
    inactive = client.get("/agencies/?status=inactive").get_data(as_text=True)
    assert "United States Postal Service" in inactive and "Inactive" in inactive
    assert "Social Security Administration" not in inactive


def test_directory_pages_through_many_agencies(client, office):
    for i in range(30):
        db.session.add(Agency(name=f"Agency {i:02d}", level=AgencyLevel.CITY))
    db.session.commit()
    client.login(office.caseworker.email)
    first = client.get("/agencies/?level=city").get_data(as_text=True)
    assert "Showing 1–25 of 30 agencies" in first
    assert "Agency 24" in first and "Agency 25" not in first
    assert re.search(r'href="/agencies/\?(page=2&amp;level=city|level=city&amp;page=2)"', first)
    second = client.get("/agencies/?level=city&page=2").get_data(as_text=True)
    assert "Showing 26–30 of 30 agencies" in second
    assert "Agency 25" in second and "Agency 24" not in second


def test_bad_filter_values_get_a_message_not_a_500(client, office):
    client.login(office.caseworker.email)
    response = client.get("/agencies/?level=galactic&category=abc&page=abc")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Not a valid choice" in page
    assert "Invalid Choice" in page


# ---------------------------------------------------------------------------------------
# Create, edit with a version, deactivate, delete
# ---------------------------------------------------------------------------------------


def agency_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Clinton County Office for the Aging",
        "acronym": "CCOFA",
        "level": "county",
        "expected_response_days": "10",
        "website": "https://aging.example.gov",
        "notes": "Handles HEAP applications for seniors.",
        "category_ids": [],
    }
    data.update(overrides)
    return data


def test_admin_creates_an_agency_with_categories(client, office):
    seed_directory()
    utilities = db.session.scalar(sa.select(Category).where(Category.name == "Utilities"))
    client.login(office.admin.email)
    response = client.form_post("/agencies/new", agency_form(category_ids=[utilities.id]))
    assert response.status_code == 302
    agency = agency_by_name("Clinton County Office for the Aging")
    assert agency.level == AgencyLevel.COUNTY and agency.expected_response_days == 10
    assert [c.name for c in agency.categories] == ["Utilities"]
    assert response.headers["Location"].endswith(f"/agencies/{agency.id}")
    page = client.get(f"/agencies/{agency.id}").get_data(as_text=True)
    assert "Handles HEAP applications for seniors." in page
    assert db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "agency_created", AuditEvent.record_id == str(agency.id)
        )
    )


def test_create_refuses_bad_input_beside_the_field(client, office):
    seed_directory()
    client.login(office.admin.email)
    response = client.form_post(
        "/agencies/new",
        agency_form(
            name="social security administration", expected_response_days="0", website="ftp://nope"
        ),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a number from 1 to 365." in page
    response = client.form_post(
        "/agencies/new",
        agency_form(name="social security administration", website="ftp://x.example"),
        token_from="/agencies/new",
    )
    assert response.status_code == 422
    assert "must start with https://" in response.get_data(as_text=True)
    response = client.form_post(
        "/agencies/new",
        agency_form(name="social security administration"),
        token_from="/agencies/new",
    )
    assert response.status_code == 422
    assert "already in the directory" in response.get_data(as_text=True)
    assert count(Agency) == 22


def test_edit_saves_and_bumps_the_version(client, office):
    agencies = seed_directory()
    ssa = agencies["SSA"]
    version = ssa.version
    client.login(office.admin.email)
    url = f"/agencies/{ssa.id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert f'name="version" type="hidden" value="{version}"' in page
    response = client.form_post(
        url,
        agency_form(
            name=ssa.name,
            acronym="SSA",
            level="federal",
            expected_response_days="25",
            website=ssa.website,
            notes="Field office in Plattsburgh.",
            category_ids=[c.id for c in ssa.categories],
            version=str(version),
        ),
    )
    assert response.status_code == 302
    db.session.refresh(ssa)
    assert ssa.expected_response_days == 25 and ssa.notes == "Field office in Plattsburgh."
    assert ssa.version == version + 1


def test_edit_with_a_stale_version_is_refused_with_409_and_nothing_overwritten(client, office):
    agencies = seed_directory()
    ssa = agencies["SSA"]
    client.login(office.admin.email)
    url = f"/agencies/{ssa.id}/edit"
    stale = ssa.version
    # Someone else saves first.
    agency_service.update_agency(
        ssa,
        agency_service.AgencyData(
            name=ssa.name,
            level="federal",
            acronym="SSA",
            category_ids=[c.id for c in ssa.categories],
            expected_response_days=45,
            website=ssa.website,
        ),
        expected_version=stale,
    )
    db.session.commit()
    response = client.form_post(
        url,
        agency_form(
            name=ssa.name,
            acronym="SSA",
            level="federal",
            expected_response_days="20",
            website=ssa.website,
            category_ids=[c.id for c in ssa.categories],
            version=str(stale),
        ),
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "changed by someone else" in page
    assert "Expected response days" in page and "45" in page and "20" in page
    db.session.refresh(ssa)
    assert ssa.expected_response_days == 45
    # The form now carries the current version: saving again is a deliberate overwrite.
    assert f'value="{ssa.version}"' in page


def test_update_service_raises_conflict_with_the_changed_fields(app, office):
    agencies = seed_directory()
    ssa = agencies["SSA"]
    data = agency_service.AgencyData(
        name="Social Security Admin",
        level="federal",
        acronym="SSA",
        expected_response_days=30,
        website=ssa.website,
        category_ids=[c.id for c in ssa.categories],
    )
    with pytest.raises(agency_service.Conflict) as exc:
        agency_service.update_agency(ssa, data, expected_version=ssa.version - 1)
    assert exc.value.status_code == 409
    assert [c[0] for c in exc.value.changes] == ["Name"]
    assert exc.value.changes[0][1:] == ("Social Security Administration", "Social Security Admin")


def test_deactivating_hides_an_agency_from_routing_but_keeps_it(client, office):
    agencies = seed_directory()
    ssa = agencies["SSA"]
    client.login(office.admin.email)
    response = client.form_post(f"/agencies/{ssa.id}/deactivate", token_from=f"/agencies/{ssa.id}")
    assert response.status_code == 302
    db.session.refresh(ssa)
    assert ssa.active is False
    assert "This agency is inactive" in client.get(f"/agencies/{ssa.id}").get_data(as_text=True)
    from constituent.services import routing

    assert routing.best_rule(office.category, office.a) is None
    client.form_post(f"/agencies/{ssa.id}/activate", token_from=f"/agencies/{ssa.id}")
    db.session.refresh(ssa)
    assert ssa.active is True
    assert routing.best_rule(office.category, office.a).agency.id == ssa.id


def test_deleting_an_agency_with_referrals_is_refused(client, office):
    agencies = seed_directory()
    ssa = agencies["SSA"]
    case = factories.gen_case(office.a, office.category, opened_by=office.caseworker)
    db.session.add(
        Referral(
            case_id=case.id,
            agency_id=ssa.id,
            contact_id=ssa.contacts[0].id,
            method=ReferralMethod.EMAIL,
            sent_on=date(2026, 3, 1),
            due_on=date(2026, 3, 31),
        )
    )
    db.session.commit()
    client.login(office.admin.email)
    page = client.get(f"/agencies/{ssa.id}").get_data(as_text=True)
    assert "Delete agency" not in page and "1 in all, 1 awaiting an answer" in page
    response = client.form_post(
        f"/agencies/{ssa.id}/delete", token_from=f"/agencies/{ssa.id}", follow_redirects=True
    )
    assert "has 1 referral on record, so it cannot be deleted" in response.get_data(as_text=True)
    assert db.session.get(Agency, ssa.id) is not None
    assert count(Referral) == 1


def test_deleting_an_unused_agency_removes_it_with_contacts_and_rules(client, office):
    agencies = seed_directory()
    usps = agencies["USPS"]
    usps_id = usps.id
    assert count(RoutingRule) and db.session.scalar(
        sa.select(sa.func.count()).where(RoutingRule.agency_id == usps_id)
    )
    client.login(office.admin.email)
    response = client.form_post(f"/agencies/{usps_id}/delete", token_from=f"/agencies/{usps_id}")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Agency, usps_id) is None
    assert not db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AgencyContact)
        .where(AgencyContact.agency_id == usps_id)
    )
    assert not db.session.scalar(
        sa.select(sa.func.count()).select_from(RoutingRule).where(RoutingRule.agency_id == usps_id)
    )


# ---------------------------------------------------------------------------------------
# Contacts
# ---------------------------------------------------------------------------------------


def test_admin_adds_edits_and_deactivates_a_contact(client, office):
    agencies = seed_directory()
    va = agencies["VA"]
    client.login(office.admin.email)
    url = f"/agencies/{va.id}/contacts/new"
    response = client.form_post(
        url,
        {
            "name": "Ida Brooks",
            "title": "Caseworker",
            "email": "Ida.Brooks@VA.example.gov",
            "phone": "(518) 555-0111",
        },
    )
    assert response.status_code == 302
    contact = db.session.scalar(sa.select(AgencyContact).where(AgencyContact.name == "Ida Brooks"))
    assert contact.agency_id == va.id and contact.email == "ida.brooks@va.example.gov"
    bad = client.form_post(
        f"/agencies/contacts/{contact.id}/edit", {"name": "Ida Brooks", "email": "not an email"}
    )
    assert bad.status_code == 422 and "Enter a valid email address." in bad.get_data(as_text=True)
    client.form_post(
        f"/agencies/contacts/{contact.id}/edit",
        {
            "name": "Ida Brooks-Lee",
            "title": "Senior Caseworker",
            "email": "",
            "phone": "",
            "notes": "",
        },
    )
    db.session.refresh(contact)
    assert contact.name == "Ida Brooks-Lee" and contact.email is None
    client.form_post(f"/agencies/contacts/{contact.id}/deactivate", token_from=f"/agencies/{va.id}")
    db.session.refresh(contact)
    assert contact.active is False
    assert "Reactivate" in client.get(f"/agencies/{va.id}").get_data(as_text=True)


# ---------------------------------------------------------------------------------------
# CSV import
# ---------------------------------------------------------------------------------------

CSV_GOOD_AND_BAD = """name,acronym,level,categories,expected_response_days,website,notes,contact_name,contact_title,contact_email,contact_phone
Essex County Department of Social Services,ECDSS,county,Housing;Utilities,14,https://essex.example.gov,HEAP office,Lena Park,Director,lena.park@essex.example.gov,(518) 555-0170
Essex County Department of Social Services,ECDSS,county,Child welfare,14,https://essex.example.gov,HEAP office,Omar Diaz,Caseworker,omar.diaz@essex.example.gov,(518) 555-0171
Town of Keene,,city,Utilities,,,,,,,
Nowhere Agency,NA,galactic,Housing,10,,,,,,
Bad Days Agency,,state,Housing,forever,,,,,,
,,federal,,,,,,,,
Wrong Category Board,,state,Pets,5,,,,,,
Bad Mail Office,,state,,5,,,Kim,,kim@@example,
"""


def write_csv(tmp_path, text: str, name: str = "directory.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_import_reports_bad_rows_by_line_and_imports_the_good_ones(runner, app, tmp_path):
    demo._ensure_categories()
    db.session.commit()
    path = write_csv(tmp_path, CSV_GOOD_AND_BAD)
    result = runner.invoke(args=["agencies", "import", str(path)])
    assert result.exit_code == 1, result.output
    out = result.output
    assert "3 of 8 rows imported" in out
    assert "agencies 2 added" in out and "contacts 2 added" in out and "5 rows refused" in out
    assert "line 5 (Nowhere Agency): Level 'galactic' is not one of federal" in out
    assert "line 6 (Bad Days Agency): Expected_response_days 'forever'" in out
    assert "line 7: Name is empty" in out
    assert "line 8 (Wrong Category Board): Unknown category 'Pets'" in out
    assert "line 9 (Bad Mail Office): Contact_email" in out
    essex = agency_by_name("Essex County Department of Social Services")
    assert essex.level == AgencyLevel.COUNTY and essex.expected_response_days == 14
    assert [c.name for c in essex.categories] == ["Child welfare", "Housing", "Utilities"]
    assert sorted(c.name for c in essex.contacts) == ["Lena Park", "Omar Diaz"]
    keene = agency_by_name("Town of Keene")
    assert keene.expected_response_days == 30 and keene.contacts == []
    assert agency_by_name("Nowhere Agency") is None
    assert agency_by_name("Bad Mail Office") is None


def test_reimporting_updates_rather_than_duplicates(runner, app, tmp_path):
    demo._ensure_categories()
    db.session.commit()
    path = write_csv(tmp_path, CSV_GOOD_AND_BAD)
    runner.invoke(args=["agencies", "import", str(path)])
    agencies, contacts = count(Agency), count(AgencyContact)
    again = runner.invoke(args=["agencies", "import", str(path)])
    assert "agencies 0 added, 0 updated, 2 unchanged" in again.output
    assert "contacts 0 added, 0 updated, 2 unchanged" in again.output
    assert (count(Agency), count(AgencyContact)) == (agencies, contacts)
    changed = CSV_GOOD_AND_BAD.replace("Director,lena.park", "Commissioner,lena.park").replace(
        "Utilities,,,,,,,", "Utilities,21,,,,,,"
    )
    third = runner.invoke(args=["agencies", "import", str(write_csv(tmp_path, changed, "b.csv"))])
    assert "agencies 0 added, 1 updated, 1 unchanged" in third.output
    assert "contacts 0 added, 1 updated, 1 unchanged" in third.output
    assert (count(Agency), count(AgencyContact)) == (agencies, contacts)
    lena = db.session.scalar(sa.select(AgencyContact).where(AgencyContact.name == "Lena Park"))
    assert lena.title == "Commissioner"
    assert agency_by_name("Town of Keene").expected_response_days == 21


def test_import_dry_run_saves_nothing(runner, app, tmp_path):
    demo._ensure_categories()
    db.session.commit()
    path = write_csv(tmp_path, CSV_GOOD_AND_BAD)
    result = runner.invoke(args=["agencies", "import", "--dry-run", str(path)])
    assert "Dry run: nothing was saved." in result.output
    assert count(Agency) == 0


def test_import_of_a_file_without_the_required_columns_is_refused(runner, app, tmp_path):
    path = write_csv(tmp_path, "agency,kind\nSSA,federal\n")
    result = runner.invoke(args=["agencies", "import", str(path)])
    assert result.exit_code != 0
    assert "The file has no name, level columns" in result.output
    assert count(Agency) == 0


def test_import_a_row_with_too_many_cells_is_refused(app):
    report = agency_service.import_directory(
        io.StringIO("name,level\nGood Agency,state\nBad Agency,state,extra\n")
    )
    assert [(e.line, e.name) for e in report.errors] == [(3, "Bad Agency")]
    assert "more cells than the header" in report.errors[0].message
    assert agency_by_name("Good Agency") is not None


def test_admin_imports_a_directory_through_the_web_page(client, office):
    demo._ensure_categories()
    db.session.commit()
    client.login(office.admin.email)
    response = client.form_post(
        "/agencies/import",
        {"file": (io.BytesIO(CSV_GOOD_AND_BAD.encode()), "directory.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "3 of 8 rows imported" in page
    assert "Unknown category &#39;Pets&#39;" in page or "Unknown category 'Pets'" in page
    assert agency_by_name("Town of Keene") is not None
    not_utf8 = client.form_post(
        "/agencies/import",
        {"file": (io.BytesIO("name,level\nCaf\xe9,state\n".encode("latin-1")), "x.csv")},
        content_type="multipart/form-data",
    )
    assert not_utf8.status_code == 422 and "not UTF-8" in not_utf8.get_data(as_text=True)


# ---------------------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.SUPERVISOR, Role.ADMIN])
def test_staff_may_view_the_directory(client, office, role):
    agencies = seed_directory()
    client.login(office.user(role).email)
    assert client.get("/agencies/").status_code == 200
    assert client.get(f"/agencies/{agencies['SSA'].id}").status_code == 200


@pytest.mark.parametrize("role", [Role.INTAKE, Role.LEGISLATOR])
def test_intake_and_legislator_may_not_view_the_directory(client, office, role):
    agencies = seed_directory()
    client.login(office.user(role).email)
    assert client.get("/agencies/").status_code == 403
    assert client.get(f"/agencies/{agencies['SSA'].id}").status_code == 403


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.SUPERVISOR])
def test_only_admins_change_the_directory(client, office, role):
    agencies = seed_directory()
    ssa = agencies["SSA"]
    client.login(office.user(role).email)
    page = client.get(f"/agencies/{ssa.id}").get_data(as_text=True)
    assert "Edit agency" not in page and "Deactivate agency" not in page
    assert client.get("/agencies/new").status_code == 403
    assert client.get(f"/agencies/{ssa.id}/edit").status_code == 403
    assert client.get("/agencies/import").status_code == 403
    token = client.csrf_token("/agencies/")
    for url in (
        f"/agencies/{ssa.id}/deactivate",
        f"/agencies/{ssa.id}/delete",
        f"/agencies/contacts/{ssa.contacts[0].id}/deactivate",
    ):
        assert client.post(url, data={"csrf_token": token}).status_code == 403
    db.session.refresh(ssa)
    assert ssa.active and ssa.contacts[0].active
