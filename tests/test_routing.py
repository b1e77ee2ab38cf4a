"""Routing rules: the best rule for a category and district (and why), and the admin pages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Agency, AgencyContact, AgencyLevel, Role, RoutingRule
from constituent.services import routing
from constituent.services.errors import DomainError
from tests import factories
from tests.conftest import count


def gen_agency(
    name: str, acronym: str, *contacts: str, level=AgencyLevel.FEDERAL, days: int = 30
) -> Agency:
    agency = Agency(name=name, acronym=acronym, level=level, expected_response_days=days)
    for contact in contacts:
        agency.contacts.append(
            AgencyContact(
                name=contact, email=f"{contact.split()[0].lower()}@{acronym.lower()}.example.gov"
            )
        )
    db.session.add(agency)
    db.session.flush()
    return agency


@pytest.fixture()
def ssa(office) -> Agency:
    agency = gen_agency("Social Security Administration", "SSA", "Dana Whitfield", "Lee Ortiz")
    db.session.commit()
    return agency


def test_no_rule_means_no_suggestion(office, ssa):
    assert routing.best_rule(office.category, office.a) is None


def test_a_general_rule_applies_in_every_district_and_says_so(office, ssa):
    db.session.add(
        RoutingRule(
            category=office.category, agency=ssa, contact=ssa.contacts[0], follow_up_days=21
        )
    )
    db.session.commit()
    for district in (office.a, office.b, None):
        suggestion = routing.best_rule(office.category, district)
        assert suggestion.agency.id == ssa.id
        assert suggestion.contact.name == "Dana Whitfield"
        assert suggestion.follow_up_days == 21
        assert suggestion.reason == "Rule for Social Security (all districts)"


def test_a_district_rule_beats_the_general_one_and_says_why(office, ssa):
    local = gen_agency(
        "Social Security Administration, Plattsburgh Field Office", "SSA-P", "Ruth Kim", days=14
    )
    # The general rule is created first, so "oldest first" alone would pick it.
    db.session.add(RoutingRule(category=office.category, agency=ssa, contact=ssa.contacts[0]))
    db.session.add(
        RoutingRule(
            category=office.category, district=office.a, agency=local, contact=local.contacts[0]
        )
    )
    db.session.commit()
    in_a = routing.best_rule(office.category, office.a)
    assert in_a.agency.id == local.id and in_a.contact.name == "Ruth Kim"
    assert in_a.reason == "Rule for Social Security in NY-21"
    assert in_a.follow_up_days == 14  # no interval on the rule: the agency's expected days
    in_b = routing.best_rule(office.category.id, office.b.id)  # ids work too
    assert in_b.agency.id == ssa.id
    assert in_b.reason == "Rule for Social Security (all districts)"
    assert in_b.follow_up_days == 30


def test_inactive_rules_and_agencies_are_skipped(office, ssa):
    local = gen_agency("SSA Plattsburgh", "SSAP", "Ruth Kim")
    general = RoutingRule(category=office.category, agency=ssa)
    specific = RoutingRule(category=office.category, district=office.a, agency=local)
    db.session.add_all([general, specific])
    db.session.commit()
    assert routing.best_rule(office.category, office.a).agency.id == local.id
    specific.active = False
    db.session.commit()
    assert routing.best_rule(office.category, office.a).agency.id == ssa.id
    specific.active = True
    local.active = False
    db.session.commit()
    assert routing.best_rule(office.category, office.a).agency.id == ssa.id
    ssa.active = False
    db.session.commit()
    assert routing.best_rule(office.category, office.a) is None


def test_an_inactive_contact_is_replaced_by_the_agencys_next_active_one(office, ssa):
    dana, lee = ssa.contacts
    db.session.add(RoutingRule(category=office.category, agency=ssa, contact=dana))
    dana.active = False
    db.session.commit()
    suggestion = routing.best_rule(office.category, office.a)
    assert suggestion.contact.id == lee.id
    assert "its contact Dana Whitfield is inactive, so Lee Ortiz is suggested" in suggestion.reason


def test_a_rule_for_another_category_does_not_apply(office, ssa):
    veterans = factories.gen_category("Veterans")
    db.session.add(RoutingRule(category=veterans, agency=ssa))
    db.session.commit()
    assert routing.best_rule(office.category, office.a) is None
    assert routing.best_rule(veterans, office.a).reason == "Rule for Veterans (all districts)"


def test_rule_service_refuses_a_contact_of_another_agency_and_duplicates(office, ssa):
    va = gen_agency("Department of Veterans Affairs", "VA", "Marcus Leone")
    db.session.commit()
    with pytest.raises(DomainError) as exc:
        routing.create_rule(
            routing.RuleData(
                category_id=office.category.id, agency_id=ssa.id, contact_id=va.contacts[0].id
            )
        )
    assert (
        exc.value.field == "contact_id" and "does not work at Social Security" in exc.value.message
    )
    routing.create_rule(routing.RuleData(category_id=office.category.id, agency_id=ssa.id))
    with pytest.raises(DomainError) as exc:
        routing.create_rule(routing.RuleData(category_id=office.category.id, agency_id=va.id))
    assert "already an active rule for Social Security for all districts" in exc.value.message
    # A district rule next to the general one is fine.
    routing.create_rule(
        routing.RuleData(
            category_id=office.category.id,
            agency_id=va.id,
            district_id=office.a.id,
            follow_up_days=10,
        )
    )
    with pytest.raises(DomainError) as exc:
        routing.create_rule(
            routing.RuleData(category_id=office.category.id, agency_id=ssa.id, follow_up_days=0)
        )
    assert exc.value.field == "follow_up_days"


# ---------------------------------------------------------------------------------------
# Admin pages
# ---------------------------------------------------------------------------------------


def test_admin_adds_a_district_rule_and_the_rules_page_explains_the_choice(client, office, ssa):
    local = gen_agency("SSA Plattsburgh", "SSAP", "Ruth Kim")
    db.session.add(RoutingRule(category=office.category, agency=ssa))
    db.session.commit()
    client.login(office.admin.email)
    form = client.get("/agencies/rules/new").get_data(as_text=True)
    assert '<optgroup label="SSAP">' in form
    response = client.form_post(
        "/agencies/rules/new",
        {
            "category_id": office.category.id,
            "district_id": office.a.id,
            "agency_id": local.id,
            "contact_id": local.contacts[0].id,
            "follow_up_days": "12",
        },
    )
    assert response.status_code == 302
    rule = db.session.scalar(sa.select(RoutingRule).where(RoutingRule.district_id.is_not(None)))
    assert (rule.agency_id, rule.contact_id, rule.follow_up_days) == (
        local.id,
        local.contacts[0].id,
        12,
    )
    page = client.get("/agencies/rules").get_data(as_text=True)
    assert "NY-21" in page and "All districts" in page
    tried = client.get(
        f"/agencies/rules?try_category={office.category.id}&try_district={office.a.id}"
    ).get_data(as_text=True)
    assert "SSA Plattsburgh (SSAP)" in tried and "Why: Rule for Social Security in NY-21." in tried
    tried_b = client.get(
        f"/agencies/rules?try_category={office.category.id}&try_district={office.b.id}"
    ).get_data(as_text=True)
    assert "Why: Rule for Social Security (all districts)." in tried_b


def test_rule_form_refuses_a_duplicate_beside_the_district_field(client, office, ssa):
    db.session.add(RoutingRule(category=office.category, agency=ssa))
    db.session.commit()
    client.login(office.admin.email)
    response = client.form_post(
        "/agencies/rules/new",
        {
            "category_id": office.category.id,
            "district_id": "",
            "agency_id": ssa.id,
            "contact_id": "",
            "follow_up_days": "",
        },
    )
    assert response.status_code == 422
    assert "already an active rule for Social Security" in response.get_data(as_text=True)
    assert count(RoutingRule) == 1


def test_admin_edits_deactivates_and_deletes_a_rule(client, office, ssa):
    rule = RoutingRule(category=office.category, agency=ssa)
    db.session.add(rule)
    db.session.commit()
    client.login(office.admin.email)
    response = client.form_post(
        f"/agencies/rules/{rule.id}/edit",
        {
            "category_id": office.category.id,
            "district_id": office.b.id,
            "agency_id": ssa.id,
            "contact_id": ssa.contacts[1].id,
            "follow_up_days": "40",
        },
    )
    assert response.status_code == 302
    db.session.refresh(rule)
    assert (rule.district_id, rule.contact_id, rule.follow_up_days) == (
        office.b.id,
        ssa.contacts[1].id,
        40,
    )
    client.form_post(f"/agencies/rules/{rule.id}/deactivate", token_from="/agencies/rules")
    db.session.refresh(rule)
    assert rule.active is False
    assert routing.best_rule(office.category, office.b) is None
    client.form_post(f"/agencies/rules/{rule.id}/delete", token_from="/agencies/rules")
    assert count(RoutingRule) == 0


@pytest.mark.parametrize("role", [Role.INTAKE, Role.CASEWORKER, Role.SUPERVISOR, Role.LEGISLATOR])
def test_only_admins_see_and_change_rules(client, office, ssa, role):
    rule = RoutingRule(category=office.category, agency=ssa)
    db.session.add(rule)
    db.session.commit()
    client.login(office.user(role).email)
    assert client.get("/agencies/rules").status_code == 403
    assert client.get("/agencies/rules/new").status_code == 403
    token = client.csrf_token("/")
    assert (
        client.post(f"/agencies/rules/{rule.id}/delete", data={"csrf_token": token}).status_code
        == 403
    )
    assert count(RoutingRule) == 1
