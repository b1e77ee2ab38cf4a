"""Constituent pages: who sees whom, search, profile, edit with a stale-form 409, merge."""

from __future__ import annotations

import re

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    AuditEvent,
    ContactKind,
    ContactPoint,
    EventKind,
    HouseholdMember,
    PrivacyRelease,
    Role,
    TimelineEvent,
)
from constituent.services import constituents as service
from tests import factories


def detail_url(person) -> str:
    return f"/constituents/{person.id}"


def edit_form(person, **overrides) -> dict:
    data = {
        "version": str(person.version),
        "first_name": person.first_name,
        "middle_name": "",
        "last_name": person.last_name,
        "suffix": "",
        "street": person.street or "",
        "street2": "",
        "city": person.city or "",
        "state": person.state or "",
        "zip5": person.zip5 or "",
        "district_id": str(person.district_id or ""),
        "preferred_contact": "",
        "language": "",
        "notes": "",
        "do_not_contact_reason": "",
    }
    data.update(overrides)
    return data


def test_legislators_and_admins_get_403_on_every_constituent_page(client, office):
    person = factories.gen_constituent(office.a)
    db.session.commit()
    for role in (Role.LEGISLATOR, Role.ADMIN):
        client.login(office.user(role).email)
        for url in (
            "/constituents/",
            detail_url(person),
            f"{detail_url(person)}/edit",
            "/constituents/merge",
        ):
            assert client.get(url).status_code == 403, (role, url)
        client.logout()


def test_list_search_by_name_nickname_phone_email_and_zip(client, office):
    peggy = factories.gen_constituent(
        office.a,
        first="Margaret",
        last="Okafor",
        phone="518 555 0123",
        email="m.okafor@example.org",
        zip5="12903",
    )
    other = factories.gen_constituent(office.a, first="Tom", last="Baker", zip5="12901")
    db.session.commit()
    client.login(office.intake.email)
    for query in (
        "okafor",
        "Peggy Okafor",
        "Okafor, Marg",
        "(518) 555-0123",
        "M.Okafor@example.org",
        "12903",
    ):
        page = client.get("/constituents/", query_string={"q": query}).get_data(as_text=True)
        assert detail_url(peggy) in page, query
        assert detail_url(other) not in page, query
    assert detail_url(other) in client.get("/constituents/").get_data(as_text=True)


def test_visibility_no_district_own_district_or_a_visible_case(client, office):
    mine = factories.gen_constituent(office.a, first="Mine", last="Alpha")
    nowhere = factories.gen_constituent(None, first="Nowhere", last="Alpha")
    theirs = factories.gen_constituent(office.b, first="Theirs", last="Alpha")
    with_case = factories.gen_constituent(office.b, first="Visiting", last="Alpha")
    factories.gen_case(office.a, office.category, constituent=with_case)
    db.session.commit()
    client.login(office.caseworker.email)
    page = client.get("/constituents/?q=alpha").get_data(as_text=True)
    for person in (mine, nowhere, with_case):
        assert detail_url(person) in page
        assert client.get(detail_url(person)).status_code == 200
    assert detail_url(theirs) not in page
    assert client.get(detail_url(theirs)).status_code == 404
    assert client.get(f"{detail_url(theirs)}/edit").status_code == 404


def test_profile_shows_contacts_household_flags_do_not_contact_and_only_permitted_cases(
    client, office
):
    person = factories.gen_constituent(
        office.a,
        first="Ruth",
        last="Ng",
        phone="5185550100",
        email="ruth@example.org",
        is_veteran=True,
        do_not_contact=True,
        do_not_contact_reason="Asked not to be called",
    )
    person.household.append(HouseholdMember(name="Sam Ng", relationship_label="son"))
    own = factories.gen_case(
        office.a,
        office.category,
        constituent=person,
        opened_by=office.intake,
        subject="Passport delayed",
    )
    factories.gen_case(
        office.a,
        office.category,
        constituent=person,
        opened_by=office.supervisor,
        subject="Other staff case",
    )
    factories.gen_case(
        office.a,
        office.category,
        constituent=person,
        confidential=True,
        opened_by=office.intake,
        subject="Confidential matter",
    )
    db.session.commit()
    client.login(office.intake.email)
    page = client.get(detail_url(person)).get_data(as_text=True)
    for text in (
        "5185550100",
        "ruth@example.org",
        "Sam Ng",
        "(son)",
        "Veteran",
        "Do not contact.",
        "Asked not to be called",
        "Passport delayed",
    ):
        assert text in page
    assert "Other staff case" not in page and "Confidential matter" not in page
    assert f"C-{own.number}" in page
    assert "Edit details" not in page  # intake staff do not edit
    client.logout()
    client.login(office.supervisor.email)
    page = client.get(detail_url(person)).get_data(as_text=True)
    assert "Other staff case" in page and "Confidential matter" in page


def test_caseworker_edits_and_a_stale_form_gets_409_without_overwriting(client, office):
    factories.gen_zip("12901", "NY-21")
    person = factories.gen_constituent(office.a, first="Ruth", last="Ng", zip5="12901")
    db.session.commit()
    url = f"{detail_url(person)}/edit"
    client.login(office.intake.email)
    assert client.get(url).status_code == 403
    client.logout()
    client.login(office.caseworker.email)
    stale = edit_form(person, city="Old Town")
    saved = client.form_post(
        url, edit_form(person, city="Keeseville", is_veteran="y", language="Spanish")
    )
    assert saved.status_code == 302
    db.session.refresh(person)
    assert (person.city, person.is_veteran, person.language) == ("Keeseville", True, "Spanish")
    assert person.version == 2
    conflict = client.form_post(url, stale)
    assert conflict.status_code == 409
    page = conflict.get_data(as_text=True)
    assert "Keeseville" in page and "Old Town" in page and "What changed" in page
    db.session.refresh(person)
    assert person.city == "Keeseville" and person.version == 2
    audit = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "constituent_updated")
    ).one()
    assert "city" in audit.detail and "Keeseville" not in audit.detail


def test_edit_refuses_do_not_contact_without_reason_and_bad_zip(client, office):
    person = factories.gen_constituent(office.a)
    db.session.commit()
    client.login(office.caseworker.email)
    url = f"{detail_url(person)}/edit"
    response = client.form_post(url, edit_form(person, do_not_contact="y"))
    assert response.status_code == 422
    assert "Say why this person must not be contacted" in response.get_data(as_text=True)
    response = client.form_post(url, edit_form(person, zip5="ABCDE"))
    assert response.status_code == 422 and "five digits" in response.get_data(as_text=True)
    db.session.refresh(person)
    assert not person.do_not_contact and person.version == 1


def test_edit_zip_redistricts_and_a_split_zip_needs_a_choice(client, office):
    factories.gen_zip("12345", "NY-20", "NY-21")
    factories.gen_zip("10001", "NY-12")
    person = factories.gen_constituent(office.a, zip5="12901")
    db.session.commit()
    client.login(office.supervisor.email)
    url = f"{detail_url(person)}/edit"
    response = client.form_post(url, edit_form(person, zip5="12345", district_id=""))
    assert response.status_code == 422 and "split between" in response.get_data(as_text=True)
    assert client.form_post(url, edit_form(person, zip5="10001", district_id="")).status_code == 302
    db.session.refresh(person)
    assert person.out_of_district and person.district is None


def test_contact_points_and_household_members_are_added_and_removed(client, office):
    person = factories.gen_constituent(office.a)
    db.session.commit()
    client.login(office.caseworker.email)
    base = detail_url(person)
    bad = client.form_post(
        f"{base}/contact-points", {"kind": "phone", "value": "12"}, token_from=base
    )
    assert bad.status_code == 422 and "can be dialled" in bad.get_data(as_text=True)
    assert (
        client.form_post(
            f"{base}/contact-points",
            {"kind": "phone", "value": "(518) 555-0142", "label": "cell"},
            token_from=base,
        ).status_code
        == 302
    )
    dup = client.form_post(
        f"{base}/contact-points", {"kind": "phone", "value": "518.555.0142"}, token_from=base
    )
    assert dup.status_code == 422 and "already has" in dup.get_data(as_text=True)
    assert (
        client.form_post(
            f"{base}/household",
            {"name": "Ana Example", "relationship": "daughter"},
            token_from=base,
        ).status_code
        == 302
    )
    db.session.refresh(person)
    assert [c.normalized for c in person.contact_points] == ["+15185550142"]
    assert person.contact_points[0].is_primary
    assert [m.name for m in person.household] == ["Ana Example"]
    point, member = person.contact_points[0], person.household[0]
    client.form_post(f"{base}/contact-points/{point.id}/remove", {}, token_from=base)
    client.form_post(f"{base}/household/{member.id}/remove", {}, token_from=base)
    db.session.refresh(person)
    assert person.contact_points == [] and person.household == []


def test_supervisor_merges_duplicates_keeping_every_case_event_release_and_contact(client, office):
    kept = factories.gen_constituent(
        office.a, first="Margaret", last="Okafor", phone="518-555-0123"
    )
    dup = factories.gen_constituent(
        office.a,
        first="Peggy",
        last="Okafor",
        phone="(518) 555-0123",
        email="peggy@example.org",
        is_veteran=True,
    )
    dup.household.append(HouseholdMember(name="Joe Okafor", relationship_label="husband"))
    cases = [factories.gen_case(office.a, office.category, constituent=dup) for _ in range(2)]
    db.session.add(TimelineEvent(case=cases[0], kind=EventKind.NOTE, body="Called back."))
    db.session.add(PrivacyRelease(case=cases[1]))
    old_case = factories.gen_case(office.a, office.category, constituent=kept)
    db.session.commit()
    client.login(office.caseworker.email)
    assert client.get("/constituents/merge").status_code == 403
    client.logout()
    client.login(office.supervisor.email)
    profile = client.get(detail_url(kept)).get_data(as_text=True)
    assert f"duplicate={dup.id}" in profile  # offered as a possible duplicate
    compare = client.get("/constituents/merge", query_string={"kept": kept.id, "duplicate": dup.id})
    assert compare.status_code == 200 and "Joe Okafor" in compare.get_data(as_text=True)
    form = {"kept": kept.id, "duplicate": dup.id}
    unconfirmed = client.form_post("/constituents/merge", form, token_from="/constituents/merge")
    assert unconfirmed.status_code == 422 and dup.merged_into_id is None
    done = client.form_post(
        "/constituents/merge", {**form, "confirm": "y"}, token_from="/constituents/merge"
    )
    assert done.status_code == 302
    db.session.refresh(kept)
    db.session.refresh(dup)
    assert sorted(c.id for c in kept.cases) == sorted([old_case.id] + [c.id for c in cases])
    assert dup.cases == [] and dup.merged_into_id == kept.id and dup.merged_at is not None
    assert any(e.body == "Called back." for e in cases[0].events)
    assert cases[1].releases and cases[1].constituent_id == kept.id
    assert sorted(c.normalized for c in kept.contact_points) == [
        "+15185550123",
        "peggy@example.org",
    ]
    assert (
        db.session.scalar(
            sa.select(sa.func.count(ContactPoint.id)).where(
                ContactPoint.kind == ContactKind.PHONE, ContactPoint.constituent_id == kept.id
            )
        )
        == 1
    )
    assert [m.name for m in kept.household] == ["Joe Okafor"] and kept.is_veteran
    # Old links resolve to the kept record; the alias is never a candidate again.
    old_link = client.get(detail_url(dup))
    assert old_link.status_code == 301 and old_link.headers["Location"].endswith(detail_url(kept))
    assert [
        m.constituent.id
        for m in service.find_matches(office.supervisor, first_name="Peggy", last_name="Okafor")
    ] == [kept.id]
    audit = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "constituent_merged")
    ).one()
    assert audit.user_id == office.supervisor.id and audit.record_id == str(kept.id)
    assert "Okafor" not in audit.detail and "0123" not in audit.detail
    again = client.form_post(
        "/constituents/merge", {**form, "confirm": "y"}, token_from="/constituents/merge"
    )
    assert again.status_code == 422 and "already merged" in again.get_data(as_text=True)


def test_merge_is_refused_when_a_case_is_outside_the_supervisors_districts(client, office):
    kept = factories.gen_constituent(office.a, first="Ann", last="Lee")
    dup = factories.gen_constituent(office.a, first="Ann", last="Lee")
    factories.gen_case(office.b, office.category, constituent=dup)
    db.session.commit()
    client.login(office.supervisor.email)
    response = client.form_post(
        "/constituents/merge",
        {"kept": kept.id, "duplicate": dup.id, "confirm": "y"},
        token_from="/constituents/merge",
    )
    assert response.status_code == 403
    db.session.refresh(dup)
    assert dup.merged_into_id is None and len(dup.cases) == 1


def test_a_caseworker_cannot_move_a_constituent_out_of_their_districts(client, office):
    """The probe of issue 11: another district's id typed into the edit form."""
    factories.gen_zip("12901", "NY-21")
    factories.gen_zip("12020", "NY-20")
    person = factories.gen_constituent(office.a, first="Ruth", last="Ng", zip5="12901")
    db.session.commit()
    client.login(office.caseworker.email)
    url = f"{detail_url(person)}/edit"
    form = client.get(url).get_data(as_text=True)
    assert "NY-21" in form and "NY-20" not in form  # only the staffer's own districts
    chosen = client.form_post(url, edit_form(person, district_id=str(office.b.id)))
    assert chosen.status_code == 422
    assert "NY-20 is not one of your districts" in chosen.get_data(as_text=True)
    by_zip = client.form_post(url, edit_form(person, zip5="12020", district_id=""))
    assert by_zip.status_code == 422
    assert "That ZIP is in NY-20" in by_zip.get_data(as_text=True)
    db.session.refresh(person)
    assert (person.district_id, person.zip5, person.version) == (office.a.id, "12901", 1)
    client.logout()
    client.login(office.other_caseworker.email)  # NY-20's staff still cannot see her
    assert client.get(detail_url(person)).status_code == 404


def test_a_staffer_of_both_districts_may_move_a_constituent_between_them(client, office):
    factories.gen_zip("12020", "NY-20")
    office.supervisor.districts.append(office.b)
    person = factories.gen_constituent(office.a, zip5="12901")
    db.session.commit()
    client.login(office.supervisor.email)
    url = f"{detail_url(person)}/edit"
    saved = client.form_post(url, edit_form(person, zip5="12020", district_id=""))
    assert saved.status_code == 302
    db.session.refresh(person)
    assert person.district_id == office.b.id


def test_profile_puts_cases_first_offers_a_new_case_and_folds_the_add_forms(client, office):
    person = factories.gen_constituent(office.a, first="Ana", last="Ruiz")
    factories.gen_case(office.a, office.category, constituent=person, subject="Visa interview")
    db.session.commit()
    client.login(office.caseworker.email)
    page = client.get(detail_url(person)).get_data(as_text=True)
    main = page[page.index('id="main-content"') :]
    headings = re.findall(r"<h2[^>]*>([^<]+)", main)
    assert [h.strip() for h in headings[:4]] == [
        "Cases",
        "Details",
        "Phones and email",
        "Household",
    ]
    assert main.index("Visa interview") < main.index("<h2>Details")
    new_case = f'href="/intake/?constituent={person.id}">New case for this person</a>'
    assert new_case in main and main.index(new_case) < main.index("Visa interview")
    # Each add form is folded under its summary, closed until it has something to say.
    folds = re.findall(r"<details class=\"app-fold\"( open)?>\s*<summary[^>]*>([^<]+)<", main)
    assert folds == [("", "Add a phone or email"), ("", "Add a household member")]
    bad = client.form_post(
        f"{detail_url(person)}/contact-points",
        {"kind": "phone", "value": "12"},
        token_from=detail_url(person),
    )
    folds = re.findall(r"<details class=\"app-fold\"( open)?>", bad.get_data(as_text=True))
    assert bad.status_code == 422 and folds == [" open", ""]
    bad = client.form_post(
        f"{detail_url(person)}/household",
        {"name": "", "relationship": ""},
        token_from=detail_url(person),
    )
    folds = re.findall(r"<details class=\"app-fold\"( open)?>", bad.get_data(as_text=True))
    assert bad.status_code == 422 and folds == ["", " open"]
    # Intake with the constituent chosen: the link's page (tested in tests/test_intake.py).
    intake = client.get(f"/intake/?constituent={person.id}").get_data(as_text=True)
    assert f"Using the existing record of {person.full_name}." in re.sub(r"<[^>]+>", "", intake)


def test_the_new_case_link_is_only_for_those_who_log_calls(client, office):
    person = factories.gen_constituent(office.a)
    db.session.commit()
    for user in (office.intake, office.caseworker, office.supervisor):
        client.login(user.email)
        page = client.get(detail_url(person)).get_data(as_text=True)
        assert "New case for this person" in page, user.role
        client.logout()
