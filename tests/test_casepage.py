"""Issue 14, items 2–4 through the test client: My work puts what needs doing now first (with
the constituent's name and phone), the case page is built around the next action, and the
referral form warns about a missing release before submit and offers only the chosen agency's
contacts (htmx, or "Update contacts" without JavaScript)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    ContactKind,
    ContactMethod,
    ContactPoint,
    FollowUp,
    Priority,
    Referral,
    RoutingRule,
    utcnow,
)
from constituent.services import referrals as referral_service
from constituent.views.helpers import local_today
from tests.case_helpers import open_case, pdf_bytes
from tests.referral_helpers import gen_agency, gen_contact, gen_referral


def with_phone(case, phone: str = "(518) 555-0142", e164: str = "+15185550142"):  # type: ignore[no-untyped-def]
    case.constituent.contact_points.append(
        ContactPoint(kind=ContactKind.PHONE, value=phone, normalized=e164, is_primary=True)
    )
    return case


def region(page: str, element_id: str) -> str:
    """The HTML of the element with this id, up to its closing tag (sections, details, divs)."""
    start = page.index(f'id="{element_id}"')
    tag = page.rfind("<", 0, start)
    name = re.match(r"<(\w+)", page[tag:]).group(1)  # type: ignore[union-attr]
    depth, at = 0, tag
    for m in re.finditer(rf"<(/?){name}\b", page[tag:]):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            at = tag + m.end()
            break
    return page[tag:at]


def section(page: str, heading_id: str) -> str:
    """From a heading to the end of its section."""
    start = page.index(f'id="{heading_id}"')
    return page[start : page.find("</section>", start)]


def ticked(html: str, name: str = "relrec-agencies") -> set[int]:
    """The values of the ticked checkboxes called ``name``."""
    found = set()
    for tag in re.findall(r"<input[^>]*>", html):
        if f'name="{name}"' in tag and re.search(r"\bchecked\b", tag):
            found.add(int(re.search(r'value="(\d+)"', tag).group(1)))  # type: ignore[union-attr]
    return found


def numbers(html: str) -> list[str]:
    return re.findall(r">C-(\d+)</a>", html)


def count_in(html: str) -> int:
    return int(re.search(r'class="app-now__count">(\d+)<', html).group(1))  # type: ignore[union-attr]


# My work -------------------------------------------------------------------------------------


def test_supervisor_sees_the_old_unassigned_emergency_first_with_name_and_phone(client, office):
    emergency = with_phone(open_case(office, priority=Priority.EMERGENCY, commit=False))
    emergency.opened_at = utcnow() - timedelta(days=22)
    emergency.intervals[0].opened_at = emergency.opened_at
    routine = [open_case(office, commit=False) for _ in range(4)]
    elsewhere = open_case(office, district=office.b, priority=Priority.EMERGENCY, commit=False)
    db.session.commit()
    client.login(office.supervisor.email)
    page = client.get("/my-work").get_data(as_text=True)

    first_h2 = re.search(r"<h2[^>]*>([^<]+)<", page).group(1)  # type: ignore[union-attr]
    assert first_h2 == "Needs doing now"
    emergencies = region(page, "now-emergencies")
    unassigned = region(page, "now-unassigned")
    assert numbers(emergencies) == [str(emergency.number)]
    assert count_in(emergencies) == 1
    assert numbers(unassigned)[0] == str(emergency.number)  # emergencies first
    assert len(numbers(unassigned)) == 3  # a few rows …
    assert count_in(unassigned) == 5  # … and the count of all of them
    assert "All 5 unassigned cases" in unassigned
    assert emergency.constituent.full_name in emergencies
    assert 'href="tel:+15185550142"' in emergencies and "(518) 555-0142" in emergencies
    assert "22 days" in emergencies and "unassigned" in emergencies
    # Nothing outside the supervisor's districts.
    assert str(elsewhere.number) not in page
    # The "now" blocks come before the full lists.
    assert page.index('id="now-emergencies"') < page.index('id="follow-ups-heading"')
    assert {str(c.number) for c in routine} <= set(numbers(section(page, "unassigned-heading")))


def test_caseworker_sees_own_emergencies_overdue_and_today_without_the_unassigned(client, office):
    mine = open_case(office, assignee=office.caseworker, priority=Priority.EMERGENCY, commit=False)
    with_phone(mine)
    theirs = open_case(
        office, assignee=office.supervisor, priority=Priority.EMERGENCY, commit=False
    )
    db.session.add_all(
        [
            FollowUp(
                case=mine,
                assignee_id=office.caseworker.id,
                due_on=local_today() - timedelta(days=3),
                description="Call back about the letter",
            ),
            FollowUp(
                case=mine,
                assignee_id=office.caseworker.id,
                due_on=local_today(),
                description="Send the form",
            ),
        ]
    )
    db.session.commit()
    client.login(office.caseworker.email)
    page = client.get("/my-work").get_data(as_text=True)
    assert 'id="now-unassigned"' not in page
    emergencies = region(page, "now-emergencies")
    assert numbers(emergencies) == [str(mine.number)] and count_in(emergencies) == 1
    assert str(theirs.number) not in emergencies
    overdue, today = region(page, "now-overdue"), region(page, "now-today")
    assert count_in(overdue) == 1 and "Call back about the letter" in overdue
    assert count_in(today) == 1 and "Send the form" in today
    for html in (overdue, today, section(page, "follow-ups-heading")):
        assert mine.constituent.full_name in html and 'href="tel:+15185550142"' in html
    assert mine.constituent.full_name in section(page, "my-cases-heading")


def test_overdue_referrals_show_the_constituent_and_phone(client, office):
    case = with_phone(open_case(office, assignee=office.caseworker, commit=False))
    agency = gen_agency()
    gen_referral(case, agency, sent_on=local_today() - timedelta(days=60))
    db.session.commit()
    client.login(office.caseworker.email)
    page = client.get("/my-work").get_data(as_text=True)
    now = region(page, "now-referrals")
    assert count_in(now) == 1 and numbers(now) == [str(case.number)]
    full = region(page, "my-overdue-referrals")
    for html in (now, full):
        assert case.constituent.full_name in html and 'href="tel:+15185550142"' in html


# The case page -------------------------------------------------------------------------------


def test_case_header_says_who_to_call_and_the_release_state(client, office):
    case = with_phone(
        open_case(office, assignee=office.caseworker, release_needed=True, commit=False)
    )
    case.constituent.preferred_contact = ContactMethod.TEXT
    db.session.commit()
    client.login(office.caseworker.email)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    head = page[page.index('class="app-case-head"') : page.index('id="description-heading"')]
    assert case.constituent.full_name in head
    assert 'href="tel:+15185550142"' in head and "(518) 555-0142" in head
    assert "Prefers" in head and "Text" in head
    assert "Privacy release" in head and "Needed" in head


def test_only_the_common_action_is_open_and_the_release_form_sits_in_its_section(client, office):
    case = open_case(office, assignee=office.caseworker, release_needed=True)
    client.login(office.supervisor.email)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    opening = {
        m.group(1): " open" in m.group(0)
        for m in re.finditer(r'<details class="app-action app-fold" id="([\w-]+)"[^>]*>', page)
    }
    assert opening == {
        "add-entry": True,
        "change-status": False,
        "assign": False,
        "add-follow-up": False,
    }
    release = region(page, "release")
    assert 'id="record-release"' in release and "Record a signed release" in release
    assert "Record a request" in release and "Mark not needed" in release
    assert 'id="record-release"' not in region(page, "actions-heading").split("</h2>")[0]
    assert re.search(r'<input[^>]*id="relrec-file"[^>]*required', release)


def test_a_refused_action_opens_its_group(client, office):
    case = open_case(office, assignee=office.caseworker)
    client.login(office.supervisor.email)
    r = client.form_post(
        f"/cases/{case.id}/follow-ups",
        {"followup-description": "", "followup-due_on": local_today().isoformat()},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert re.search(r'<details class="app-action app-fold" id="add-follow-up" open>', page)


def test_release_form_ticks_the_referral_and_suggested_agencies(client, office):
    ssa, va = gen_agency(), gen_agency("Department of Veterans Affairs", "VA")
    other = gen_agency("Internal Revenue Service", "IRS")
    case = open_case(office, assignee=office.caseworker, release_needed=True, commit=False)
    gen_referral(case, ssa, sent_on=local_today())
    db.session.add(RoutingRule(category=office.category, agency_id=va.id))
    db.session.commit()
    client.login(office.caseworker.email)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    ticked_ids = ticked(section(page, "release-heading"))
    assert ticked_ids == {ssa.id, va.id}
    assert other.id not in ticked_ids


def test_release_without_a_file_is_refused_beside_the_field(client, office):
    case = open_case(office, assignee=office.caseworker, release_needed=True)
    client.login(office.caseworker.email)
    r = client.form_post(
        f"/cases/{case.id}/release/received",
        {"relrec-signed_on": local_today().isoformat(), "relrec-signature_method": "wet"},
        token_from=f"/cases/{case.id}",
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    assert "Attach the signed form" in region(r.get_data(as_text=True), "release")


def problems(response) -> list[str]:  # type: ignore[no-untyped-def]
    """The refusals on a page shown again (for a failing assertion's message)."""
    return re.findall(
        r"(?:error-message|alert__text)[^>]*>([^<]+)", response.get_data(as_text=True)
    )


def post_release(client, case, agency, next_url: str, token_from: str):  # type: ignore[no-untyped-def]
    """Record a signed release covering ``agency`` from the form on ``token_from``."""
    return client.form_post(
        f"/cases/{case.id}/release/received",
        {
            "relrec-signed_on": local_today().isoformat(),
            "relrec-signature_method": "wet",
            "relrec-agencies": [str(agency.id)],
            "relrec-file": (io.BytesIO(pdf_bytes()), "release.pdf"),
            "next": next_url,
        },
        token_from=token_from,
        content_type="multipart/form-data",
    )


# The referral form ---------------------------------------------------------------------------


@pytest.fixture()
def federal(office):  # type: ignore[no-untyped-def]
    ssa = gen_agency()
    hcr = gen_agency("Homes and Community Renewal", "HCR", level=referral_service.AgencyLevel.STATE)
    pat, kim = gen_contact(ssa, "Pat Liaison"), gen_contact(hcr, "Kim Housing")
    db.session.add(RoutingRule(category=office.category, agency_id=ssa.id, contact_id=pat.id))
    db.session.commit()
    return {"ssa": ssa, "hcr": hcr, "pat": pat, "kim": kim}


def test_referral_form_warns_before_submit_and_records_the_release_in_place(
    client, office, federal
):
    case = open_case(office, assignee=office.caseworker, release_needed=True)
    client.login(office.caseworker.email)
    url = f"/referrals/case/{case.id}/new"
    page = client.get(url).get_data(as_text=True)
    note = region(page, "release-note")
    assert "SSA needs a signed privacy release." in note
    assert "no privacy release has been requested for this case" in note
    form = region(note, "record-release-here")
    back = f"/referrals/case/{case.id}/new?agency={federal['ssa'].id}"
    assert f'name="next" value="{back}"' in form.replace("&amp;", "&")
    assert ticked(form) == {federal["ssa"].id}
    r = post_release(client, case, federal["ssa"], back, token_from=url)
    assert r.status_code == 302, problems(r)
    assert r.headers["Location"] == back
    page = client.get(back).get_data(as_text=True)
    assert "needs a signed privacy release" not in page
    chosen = re.findall(r"<option[^>]*\bselected\b[^>]*>([^<]+)<", region(page, "agency"))
    assert chosen == [f"{federal['ssa'].label} — Federal"]


def test_release_form_never_sends_the_user_off_site(client, office, federal):
    case = open_case(office, assignee=office.caseworker, release_needed=True)
    client.login(office.caseworker.email)
    r = post_release(client, case, federal["ssa"], "https://evil.example/", f"/cases/{case.id}")
    assert r.status_code == 302, problems(r)
    assert r.headers["Location"] == f"/cases/{case.id}#release"


def contact_options(html: str) -> list[str]:
    select = region(html, "contact")
    return re.findall(r"<option[^>]*>([^<]+)</option>", select)


def test_contacts_follow_the_agency_with_htmx(client, office, federal):
    case = open_case(office, assignee=office.caseworker)
    client.login(office.caseworker.email)
    page = client.get(f"/referrals/case/{case.id}/new").get_data(as_text=True)
    assert contact_options(page) == [
        "No particular contact",
        "SSA — Pat Liaison, Congressional liaison",
    ]
    assert f'hx-get="/referrals/case/{case.id}/agency"' in page
    part = client.get(f"/referrals/case/{case.id}/agency?agency={federal['hcr'].id}")
    html = part.get_data(as_text=True)
    assert part.status_code == 200
    assert contact_options(html) == [
        "No particular contact",
        "HCR — Kim Housing, Congressional liaison",
    ]
    assert 'id="release-note" hx-swap-oob="true"' in html
    assert "needs a signed privacy release" not in html  # a state agency needs none
    html = client.get(f"/referrals/case/{case.id}/agency?agency={federal['ssa'].id}").get_data(
        as_text=True
    )
    assert "SSA needs a signed privacy release." in region(html, "release-note")


def test_the_contacts_endpoint_keeps_the_case_scope(client, office, federal):
    case = open_case(office, district=office.b)
    client.login(office.caseworker.email)  # works district a only
    assert (
        client.get(f"/referrals/case/{case.id}/agency?agency={federal['ssa'].id}").status_code
        == 404
    )
    client.logout()
    client.login(office.intake.email)
    assert client.get(f"/referrals/case/{case.id}/agency").status_code == 403


def test_update_contacts_without_javascript_then_a_mismatched_pair_is_refused_by_name(
    client, office, federal
):
    case = open_case(office, assignee=office.caseworker)
    client.login(office.caseworker.email)
    url = f"/referrals/case/{case.id}/new"
    base = {
        "agency": federal["hcr"].id,
        "contact": federal["pat"].id,  # still the SSA liaison: the agency changed
        "method": "email",
        "sent_on": local_today().isoformat(),
    }
    r = client.form_post(url, {**base, "refresh": "contacts"})
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert contact_options(page) == [
        "No particular contact",
        "HCR — Kim Housing, Congressional liaison",
    ]
    assert "is not a contact" not in page
    r = client.form_post(url, base)
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Pat Liaison is not a contact at" in region(page, "contact-field")
    assert "Pat Liaison" not in region(page, "contact")  # not left chosen, nor offered
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 0
    r = client.form_post(url, {**base, "contact": federal["kim"].id})
    assert r.status_code == 302
    assert db.session.scalar(sa.select(Referral.contact_id)) == federal["kim"].id
