"""Districts, ZIPs and categories kept by the office itself (commands and admin pages)."""

from __future__ import annotations

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    Agency,
    AgencyLevel,
    AuditEvent,
    Case,
    Category,
    District,
    Role,
    RoutingRule,
    SearchQueue,
    ZipDistrict,
)
from constituent.services import districts as district_service
from tests import factories
from tests.conftest import count


def _audited(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_districts_add_edit_and_deactivate_from_the_command_line(runner, app):
    added = runner.invoke(args=["districts", "add", "mn-sd45", "--name", "Senate District 45"])
    assert added.exit_code == 0, added.output
    district = district_service.get_by_code("MN-SD45")
    assert (district.state, district.name, district.active) == ("MN", "Senate District 45", True)
    region = runner.invoke(args=["districts", "add", "NORTH", "--state", "mn"])
    assert region.exit_code == 0, region.output
    edited = runner.invoke(
        args=["districts", "edit", "MN-SD45", "--legislator", "Senator Ann Johnson Stewart"]
    )
    assert edited.exit_code == 0, edited.output
    off = runner.invoke(args=["districts", "deactivate", "MN-SD45"])
    assert off.exit_code == 0, off.output
    db.session.expire_all()
    assert district.legislator_name == "Senator Ann Johnson Stewart" and not district.active
    assert [d.code for d in district_service.served_districts()] == ["NORTH"]
    assert _audited("district_added") and _audited("district_deactivated")
    listing = runner.invoke(args=["districts", "list"])
    assert "MN-SD45" in listing.output and "(deactivated)" in listing.output


def test_district_commands_refuse_bad_input_and_change_nothing(runner, app):
    a = factories.gen_district("AL-04")
    factories.gen_user(Role.CASEWORKER, [a], email="cw@test.example")
    db.session.commit()
    cases = [
        (["districts", "edit", "AL-99", "--name", "x"], "Unknown district AL-99"),
        (["districts", "add", "AL-04"], "District AL-04 exists already"),
        (["districts", "add", "WARD 3"], "is not usable"),
        (["districts", "add", "WARD3"], "Give the state of district WARD3"),
        (["districts", "deactivate", "AL-04"], "last district of cw@test.example"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
    db.session.expire_all()
    assert count(District) == 1 and a.active and a.name == "District AL-04"


def test_zips_add_puts_a_territory_zip_in_a_served_district(runner, app):
    assert runner.invoke(args=["districts", "add", "GU-AL", "--name", "Guam"]).exit_code == 0
    result = runner.invoke(args=["zips", "add", "96910", "gu-al"])
    assert result.exit_code == 0, result.output
    lookup = district_service.lookup_zip("96910")
    assert [d.code for d in lookup.served] == ["GU-AL"] and not lookup.out_of_district
    for args, message in [
        (["zips", "add", "96910", "GU-AL"], "ZIP 96910 is in GU-AL already"),
        (["zips", "add", "9691", "GU-AL"], "is not five digits"),
        (["zips", "add", "96799", "AS-AL"], "Unknown district AS-AL"),
    ]:
        refused = runner.invoke(args=args)
        assert refused.exit_code == 1 and message in refused.output, refused.output
    assert count(ZipDistrict) == 1


def test_an_offices_own_zip_table_imports_state_legislative_districts(runner, app, tmp_path):
    factories.gen_district("MN-SD45")
    db.session.commit()
    table = tmp_path / "senate.csv"
    table.write_text(
        "zip,district,share\n55391,MN-SD45,0.62\n55391,MN-SD44,0.38\n55356,MN-SD45,1\n"
    )
    result = runner.invoke(args=["districts", "import", str(table)])
    assert result.exit_code == 0, result.output
    lookup = district_service.lookup_zip("55391")
    assert lookup.codes == ["MN-SD44", "MN-SD45"] and [d.code for d in lookup.served] == ["MN-SD45"]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("postcode,ward\n55391,3\n")
    refused = runner.invoke(args=["districts", "import", str(wrong)])
    assert refused.exit_code == 1 and "missing column(s) zip, district" in refused.output
    assert "found postcode, ward" in refused.output


def _agency(name: str, *categories: Category) -> Agency:
    agency = Agency(name=name, level=AgencyLevel.FEDERAL, categories=list(categories))
    db.session.add(agency)
    db.session.flush()
    return agency


def test_categories_merge_moves_cases_rules_and_agency_links(runner, app):
    office = factories.make_office()
    medicare = factories.gen_category("Medicare")
    health = factories.gen_category("Health care")
    cases = [factories.gen_case(office.a, medicare) for _ in range(3)]
    kept = factories.gen_case(office.a, health)
    cms = _agency("Centers for Medicare & Medicaid Services", medicare, health)
    ssa = _agency("Social Security Administration", medicare)
    db.session.add(RoutingRule(category=medicare, agency_id=ssa.id))
    db.session.commit()
    db.session.execute(sa.delete(SearchQueue))
    db.session.commit()
    result = runner.invoke(args=["categories", "merge", "medicare", "Health care"])
    assert result.exit_code == 0, result.output
    assert "3 cases, 1 routing rules, 2 agencies moved" in result.output
    db.session.expire_all()
    assert {c.category.name for c in cases} == {"Health care"} and kept.category == health
    assert db.session.scalar(sa.select(RoutingRule.category_id)) == health.id
    assert [c.name for c in cms.categories] == ["Health care"]
    assert [c.name for c in ssa.categories] == ["Health care"]
    assert not medicare.active
    queued = set(db.session.scalars(sa.select(SearchQueue.record_id)))
    assert {c.id for c in cases} <= queued  # the search index follows
    event = _audited("category_merged")[0]
    assert f"into={health.id}" in event.detail and "cases=3" in event.detail


def test_category_commands_refuse_bad_input_and_change_nothing(runner, app):
    office = factories.make_office()
    factories.gen_case(office.a, office.category)
    db.session.commit()
    for args, message in [
        (["categories", "merge", "Social Security", "social security"], "merged into itself"),
        (["categories", "merge", "Social Security", "Pensions"], "no category named 'Pensions'"),
        (["categories", "add", "social  security"], "exists already"),
        (["categories", "rename", "Nothing", "X"], "no category named 'Nothing'"),
    ]:
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
    assert count(Category) == 1 and not _audited("category_merged")


def test_categories_add_rename_deactivate_and_import(runner, app, tmp_path):
    assert runner.invoke(args=["categories", "add", "Veterans"]).exit_code == 0
    assert (
        runner.invoke(args=["categories", "rename", "veterans", "Veterans affairs"]).exit_code == 0
    )
    assert runner.invoke(args=["categories", "deactivate", "Veterans affairs"]).exit_code == 0
    category = db.session.scalar(sa.select(Category))
    assert (category.name, category.slug, category.active) == (
        "Veterans affairs",
        "veterans-affairs",
        False,
    )
    sheet = tmp_path / "categories.csv"
    sheet.write_text(
        "Name,Description\nSocial Security,SSDI and SSI\nVeterans affairs,\n,\n"
        + "x" * 90
        + ",too long\n"
    )
    result = runner.invoke(args=["categories", "import", str(sheet)])
    assert result.exit_code == 1
    assert "1 added, 1 already there, 2 refused" in result.output
    assert "line 4: no name" in result.output and "line 5: Use at most 80" in result.output
    listing = runner.invoke(args=["categories", "list"])
    assert "Social Security" in listing.output and "(deactivated)" in listing.output
    assert count(Case) == 0


def test_an_admin_keeps_districts_zips_and_categories_on_the_admin_pages(app, client):
    office = factories.make_office()
    medicare = factories.gen_category("Medicare")
    case = factories.gen_case(office.a, medicare)
    db.session.commit()
    client.login(office.admin.email)
    page = client.get("/admin/districts").get_data(as_text=True)
    assert "Add a district" in page and "Add a ZIP" in page
    response = client.form_post(
        "/admin/districts/new",
        {"code": "gu-al", "name": "Guam", "state": "", "legislator_name": ""},
        token_from="/admin/districts",
    )
    assert response.status_code == 302
    refused = client.form_post(
        "/admin/districts/new", {"code": "GU-AL", "name": "Again"}, token_from="/admin/districts"
    )
    assert refused.status_code == 422 and "District GU-AL exists already" in refused.get_data(
        as_text=True
    )
    added = client.form_post(
        "/admin/zips/new", {"zip5": "96910", "district": "GU-AL"}, token_from="/admin/districts"
    )
    assert added.status_code == 302
    unknown = client.form_post(
        "/admin/zips/new", {"zip5": "96799", "district": "AS-AL"}, token_from="/admin/districts"
    )
    assert unknown.status_code == 422 and "Unknown district AS-AL" in unknown.get_data(as_text=True)
    assert [d.code for d in district_service.lookup_zip("96910").served] == ["GU-AL"]
    # Deactivating a user's last district is refused and changes nothing.
    url = f"/admin/districts/{office.b.id}/deactivate"
    client.form_post(url, {}, token_from="/admin/districts")
    db.session.expire_all()
    assert office.b.active
    assert "last district of other@test.example" in client.get("/admin/districts").get_data(
        as_text=True
    )
    # Categories: add, rename, merge (not into itself).
    assert (
        client.form_post(
            "/admin/categories", {"name": "Health care", "description": ""}
        ).status_code
        == 302
    )
    health = db.session.scalar(sa.select(Category).where(Category.name == "Health care"))
    renamed = client.form_post(f"/admin/categories/{medicare.id}", {"name": "Medicare Part D"})
    assert renamed.status_code == 302
    itself = client.form_post(
        f"/admin/categories/{medicare.id}/merge",
        {"target": str(medicare.id)},
        token_from=f"/admin/categories/{medicare.id}",
    )
    assert itself.status_code == 422
    merged = client.form_post(
        f"/admin/categories/{medicare.id}/merge",
        {"target": str(health.id)},
        token_from=f"/admin/categories/{medicare.id}",
    )
    assert merged.status_code == 302
    db.session.expire_all()
    assert case.category_id == health.id and medicare.name == "Medicare Part D"
    listing = client.get("/admin/categories").get_data(as_text=True)
    assert "Medicare Part D" in listing and "Deactivated" in listing


def test_a_deactivated_district_is_offered_nowhere_a_district_is_chosen(client, office):
    """New users, intake's choices, a case's handling district, a constituent's district and
    routing rules offer active districts only; a record already in one keeps it."""
    from constituent.services import auth as auth_service
    from constituent.services.errors import DomainError

    old = factories.gen_district("NY-19", "Old district")
    office.supervisor.districts.append(old)
    office.supervisor.districts.append(office.b)
    case = factories.gen_case(office.a, office.category, opened_by=office.supervisor)
    person = factories.gen_constituent(office.a, first="Ann", last="Lee")
    db.session.commit()
    district_service.set_district_active(old, False)
    db.session.commit()

    def offers(url: str) -> bool:
        page = client.get(url)
        assert page.status_code == 200, url
        return "NY-19" in page.get_data(as_text=True)

    client.login(office.admin.email)
    assert not offers("/admin/users/new")
    assert not offers("/agencies/rules/new")
    client.logout()
    client.login(office.supervisor.email)
    assert not offers(f"/cases/{case.id}/edit")
    assert not offers(f"/constituents/{person.id}/edit")
    # Intake asks about an unknown ZIP with the user's active districts only.
    unknown = client.get("/intake/district?zip5=99950").get_data(as_text=True)
    assert "NY-20" in unknown and "NY-19" not in unknown
    # The services refuse it too, with a sentence for a person.
    try:
        auth_service.create_user(
            "new@test.example", "New Person", "caseworker", ["NY-19"], factories.PASSWORD + "!"
        )
    except DomainError as exc:
        assert "NY-19 is deactivated" in exc.message
    else:
        raise AssertionError("a deactivated district was given to a new user")
    db.session.rollback()
    moved = client.form_post(
        f"/cases/{case.id}/edit",
        {
            "subject": case.subject,
            "description": case.description,
            "category": str(office.category.id),
            "priority": case.priority.value,
            "district": str(old.id),
        },
    )
    assert moved.status_code == 422  # not one of the choices
    db.session.expire_all()
    assert db.session.get(Case, case.id).district_id == office.a.id
    # A case already in the deactivated district keeps it on its edit page.
    kept = factories.gen_case(old, office.category, opened_by=office.supervisor)
    db.session.commit()
    assert offers(f"/cases/{kept.id}/edit")


def test_a_caller_on_file_in_a_deactivated_district_is_handled_by_the_office(app, office):
    from constituent.services import intake

    old = factories.gen_district("NY-19", "Old district")
    person = factories.gen_constituent(old, first="Ann", last="Lee")
    office.supervisor.districts.append(office.b)
    db.session.commit()
    old.active = False
    question = intake.district_question(office.supervisor, "", person)
    assert question.district is None and "deactivated" in question.message
    assert [d.code for d in question.options] == ["NY-20", "NY-21"]


def test_a_deactivated_district_may_be_kept_by_a_record_but_not_chosen_anew(app, office):
    from constituent.services import constituents
    from constituent.services.errors import DomainError

    old = factories.gen_district("NY-19", "Old district")
    old.active = False
    db.session.flush()
    try:
        constituents.resolve_district("12901", old.id)
    except DomainError as exc:
        assert "NY-19 is deactivated" in exc.message and exc.field == "district_id"
    else:
        raise AssertionError("a deactivated district was chosen anew")
    kept, _, _ = constituents.resolve_district("12901", old.id, current_id=old.id)
    assert kept is old
