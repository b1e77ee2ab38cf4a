"""Versions everywhere: two pages loaded before a change cannot both make it."""

from __future__ import annotations

from constituent.extensions import db
from constituent.models import Case, CaseStatus, Referral, ReferralStatus
from constituent.views.helpers import local_today
from tests.case_helpers import open_case
from tests.conftest import versions_in_form
from tests.referral_helpers import gen_agency, gen_referral


def test_two_stale_pages_changing_the_status_the_second_gets_409(client, office):
    case = open_case(office, assignee=office.caseworker)
    url = f"/cases/{case.id}"
    client.login(office.caseworker.email)
    page = client.get(url).get_data(as_text=True)  # one page, open in two tabs (or two people)
    version = versions_in_form(page, f"{url}/status")
    assert version == {"status-version": str(case.version)}
    token = client.csrf_token(url)
    first = client.post(
        f"{url}/status",
        data={"csrf_token": token, "status-status": "waiting_on_agency", **version},
    )
    assert first.status_code == 302
    second = client.post(
        f"{url}/status",
        data={"csrf_token": token, "status-status": "waiting_on_constituent", **version},
    )
    assert second.status_code == 409
    assert "changed after you opened the page" in second.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == CaseStatus.WAITING_ON_AGENCY


def test_a_status_change_without_the_version_is_refused(client, office):
    case = open_case(office, assignee=office.caseworker)
    client.login(office.caseworker.email)
    token = client.csrf_token(f"/cases/{case.id}")
    response = client.post(
        f"/cases/{case.id}/status", data={"csrf_token": token, "status-status": "waiting_on_agency"}
    )
    assert response.status_code == 400
    assert "Nothing was saved: reload the page" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).status == CaseStatus.OPEN


def test_a_referral_action_without_the_version_is_refused_not_skipped(client, office):
    case = open_case(office, assignee=office.caseworker)
    referral = gen_referral(case, gen_agency("Housing Authority"), sent_on=local_today())
    db.session.commit()
    client.login(office.caseworker.email)
    token = client.csrf_token(f"/referrals/{referral.id}")
    response = client.post(
        f"/referrals/{referral.id}/decline",
        data={"csrf_token": token, "reason": "No jurisdiction"},
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Referral, referral.id).status == ReferralStatus.SENT
