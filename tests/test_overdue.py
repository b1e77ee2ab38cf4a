"""The follow-up queue of overdue referrals, second inquiries, and My Work's overdue list."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import render_template_string
from flask_login import login_user

from constituent.extensions import db
from constituent.models import (
    AgencyLevel,
    CaseStatus,
    EventKind,
    ReferralStatus,
    Role,
    TimelineEvent,
)
from constituent.services import referrals as referral_service
from constituent.services.errors import DomainError
from tests import factories
from tests.referral_helpers import gen_agency, gen_referral


def today() -> date:
    return referral_service.office_today()


def ago(days: int) -> date:
    return today() - timedelta(days=days)


@pytest.fixture()
def queue(office):  # type: ignore[no-untyped-def]
    """Overdue referrals by 3, 10 and 25 days in district A, others that are not overdue,
    and overdue ones the district-A caseworker may not see."""
    ssa = gen_agency("Social Security Administration", "SSA", expected_response_days=30)
    va = gen_agency("Department of Veterans Affairs", "VA", expected_response_days=45)
    dmv = gen_agency(
        "Department of Motor Vehicles", "DMV", level=AgencyLevel.STATE, expected_response_days=14
    )
    cw, sup = office.caseworker, office.supervisor

    def case(**kw):  # type: ignore[no-untyped-def]
        return factories.gen_case(kw.pop("district", office.a), office.category, **kw)

    c_mine = case(assignee=cw, subject="Mine, ten days late")
    c_sup = case(assignee=sup, subject="Supervisor's, three days late")
    c_none = case(subject="Unassigned, twenty-five days late")
    rows = {
        "ten": gen_referral(c_mine, ssa, sent_on=ago(40), due_on=ago(10)),
        "three": gen_referral(c_sup, va, sent_on=ago(48), due_on=ago(3)),
        "twentyfive": gen_referral(
            c_none, dmv, sent_on=ago(39), due_on=ago(25), status=ReferralStatus.ACKNOWLEDGED
        ),
        # not overdue: due today, answered, declined, withdrawn, closed case
        "due_today": gen_referral(case(assignee=cw), ssa, sent_on=ago(30), due_on=today()),
        "answered": gen_referral(
            case(assignee=cw),
            ssa,
            sent_on=ago(60),
            due_on=ago(30),
            status=ReferralStatus.RESPONDED,
            responded_on=ago(20),
        ),
        "declined": gen_referral(
            case(assignee=cw), ssa, sent_on=ago(60), due_on=ago(30), status=ReferralStatus.DECLINED
        ),
        "withdrawn": gen_referral(
            case(assignee=cw), ssa, sent_on=ago(60), due_on=ago(30), status=ReferralStatus.WITHDRAWN
        ),
        "closed": gen_referral(
            case(assignee=cw, status=CaseStatus.CLOSED), ssa, sent_on=ago(60), due_on=ago(30)
        ),
        # overdue but out of the district-A caseworker's sight
        "district_b": gen_referral(
            case(district=office.b, subject="Other district"), ssa, sent_on=ago(90), due_on=ago(60)
        ),
        "confidential": gen_referral(
            case(confidential=True, assignee=sup, subject="Confidential matter"),
            ssa,
            sent_on=ago(80),
            due_on=ago(50),
        ),
    }
    db.session.commit()
    return {"ssa": ssa, "va": va, "dmv": dmv, **rows}


def numbers_in_table(html: str) -> list[int]:
    """The 'days overdue' column of the queue, in page order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [int(n) for n in re.findall(r'<td class="text-bold">(\d+)</td>', body)]


def test_queue_lists_only_overdue_unanswered_referrals_most_overdue_first(client, office, queue):
    client.login(office.caseworker.email)
    page = client.get("/referrals/overdue").get_data(as_text=True)
    assert numbers_in_table(page) == [25, 10, 3]
    assert "3 overdue referrals" in page
    for hidden in ("Other district", "Confidential matter"):
        assert hidden not in page


def test_queue_never_shows_a_case_the_user_may_not_see(app, office, queue):
    seen = {r.referral.id for r in referral_service.overdue_referrals(office.caseworker)}
    assert queue["district_b"].id not in seen and queue["confidential"].id not in seen
    supervisor = {r.referral.id for r in referral_service.overdue_referrals(office.supervisor)}
    assert queue["confidential"].id in supervisor  # supervisors see confidential cases
    assert queue["district_b"].id not in supervisor
    other = [r.referral.id for r in referral_service.overdue_referrals(office.other_caseworker)]
    assert other == [queue["district_b"].id]
    for role in (Role.INTAKE, Role.LEGISLATOR):
        assert referral_service.overdue_referrals(office.user(role)) == []


def test_queue_rows_carry_days_overdue(app, office, queue):
    rows = referral_service.overdue_referrals(office.supervisor)
    assert [(r.referral.id, r.days_overdue) for r in rows] == [
        (queue["confidential"].id, 50),
        (queue["twentyfive"].id, 25),
        (queue["ten"].id, 10),
        (queue["three"].id, 3),
    ]


def test_queue_filters_by_agency_district_and_assignee(client, office, queue):
    client.login(office.caseworker.email)
    page = client.get(f"/referrals/overdue?agency={queue['va'].id}").get_data(as_text=True)
    assert numbers_in_table(page) == [3]
    page = client.get(f"/referrals/overdue?assignee={office.caseworker.id}").get_data(as_text=True)
    assert numbers_in_table(page) == [10]
    assert "matching the filters" in page
    page = client.get(f"/referrals/overdue?district={office.a.id}").get_data(as_text=True)
    assert numbers_in_table(page) == [25, 10, 3]
    # a district the user does not belong to is ignored, never widening what they see
    page = client.get(f"/referrals/overdue?district={office.b.id}").get_data(as_text=True)
    assert numbers_in_table(page) == [25, 10, 3]
    assert "Other district" not in page
    page = client.get("/referrals/overdue?agency=not-a-number").get_data(as_text=True)
    assert numbers_in_table(page) == [25, 10, 3]
    rows = referral_service.overdue_referrals(
        office.supervisor, district=office.a.id, agency=queue["ssa"]
    )
    assert [r.referral.id for r in rows] == [queue["confidential"].id, queue["ten"].id]


def test_second_inquiry_from_the_queue_counts_resets_the_due_date_and_is_on_the_timeline(
    client, office, queue
):
    referral = queue["ten"]
    client.login(office.caseworker.email)
    queue_url = f"/referrals/overdue?agency={queue['ssa'].id}"
    page = client.get(queue_url).get_data(as_text=True)
    assert f"/referrals/{referral.id}/second-inquiry" in page
    assert f'name="next" value="{queue_url}"' in page
    response = client.form_post(
        f"/referrals/{referral.id}/second-inquiry",
        {"version": referral.version, "next": queue_url},
        token_from="/referrals/overdue",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == queue_url  # back to the same filtered queue
    db.session.refresh(referral)
    assert referral.inquiry_count == 2
    assert referral.last_inquiry_on == today()
    assert referral.due_on == today() + timedelta(days=30)  # SSA's expected response days
    entry = db.session.scalars(
        sa.select(TimelineEvent)
        .where(
            TimelineEvent.case_id == referral.case_id,
            TimelineEvent.kind == EventKind.REFERRAL,
        )
        .order_by(TimelineEvent.id.desc())
    ).first()
    assert entry.data["action"] == "inquiry" and entry.data["inquiry_count"] == 2
    assert entry.body.startswith("Second inquiry to Social Security Administration (SSA)")
    assert "(10 days overdue)" in entry.body
    assert entry.author_id == office.caseworker.id
    page = client.get("/referrals/overdue").get_data(as_text=True)
    assert numbers_in_table(page) == [25, 3]  # no longer overdue


def test_second_inquiry_on_the_detail_page_with_a_chosen_due_date_and_a_third(
    client, office, queue
):
    referral = queue["twentyfive"]
    client.login(office.caseworker.email)
    detail = f"/referrals/{referral.id}"
    new_due = today() + timedelta(days=7)
    response = client.form_post(
        f"{detail}/second-inquiry",
        {
            "version": referral.version,
            "inquiry_on": today().isoformat(),
            "method": "phone",
            "due_on": new_due.isoformat(),
            "note": "Spoke to the duty officer.",
        },
        token_from=detail,
    )
    assert response.status_code == 302
    db.session.refresh(referral)
    assert (referral.inquiry_count, referral.due_on) == (2, new_due)
    # overdue again a while later: the third inquiry is recorded as such
    referral.due_on = ago(1)
    db.session.commit()
    referral_service.second_inquiry(referral, author=office.supervisor, on=today())
    events = db.session.scalars(
        sa.select(TimelineEvent)
        .where(TimelineEvent.case_id == referral.case_id)
        .order_by(TimelineEvent.id)
    ).all()
    bodies = [e.body for e in events]
    assert any(
        b.startswith("Second inquiry") and "by phone" in b and "duty officer" in b for b in bodies
    )
    assert bodies[-1].startswith("Third inquiry")
    assert referral.inquiry_count == 3


def test_second_inquiry_on_a_referral_that_is_not_overdue_is_refused(client, office, queue):
    referral = queue["due_today"]
    with pytest.raises(DomainError, match="not overdue"):
        referral_service.second_inquiry(referral, author=office.caseworker, on=today())
    client.login(office.caseworker.email)
    response = client.form_post(
        f"/referrals/{referral.id}/second-inquiry",
        {"version": referral.version, "next": "/referrals/overdue"},
        token_from="/referrals/overdue",
    )
    assert response.status_code == 302
    page = client.get("/referrals/overdue").get_data(as_text=True)
    assert "This referral is not overdue" in page
    db.session.refresh(referral)
    assert referral.inquiry_count == 1 and referral.last_inquiry_on is None


def test_second_inquiry_redirect_never_leaves_the_site(client, office, queue):
    referral = queue["ten"]
    client.login(office.caseworker.email)
    response = client.form_post(
        f"/referrals/{referral.id}/second-inquiry",
        {"version": referral.version, "next": "https://evil.example/"},
        token_from="/referrals/overdue",
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/referrals/{referral.id}"


def test_my_work_partial_lists_only_my_overdue_referrals(app, office, queue):
    with app.test_request_context("/"):
        login_user(office.caseworker)
        html = render_template_string('{% include "referrals/_my_overdue.html" %}')
    assert "Mine, ten days late" in html
    assert "Supervisor&#39;s" not in html and "Unassigned" not in html
    assert f"/referrals/{queue['ten'].id}/second-inquiry" in html
    with app.test_request_context("/"):
        login_user(office.other_caseworker)
        html = render_template_string('{% include "referrals/_my_overdue.html" %}')
    assert "None of your referrals is overdue." in html


@pytest.mark.parametrize("role", [Role.INTAKE, Role.LEGISLATOR])
def test_queue_is_refused_to_intake_and_legislators(client, office, queue, role):
    client.login(office.user(role).email)
    assert client.get("/referrals/overdue").status_code == 403
