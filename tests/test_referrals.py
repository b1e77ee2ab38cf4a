"""Referrals: the privacy-release gate and its supervisor override, due dates, the referral
statuses, agency responses and the case's next status, permissions and stale forms."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import render_template_string
from flask_login import login_user

from constituent.extensions import db
from constituent.models import (
    AgencyLevel,
    AgencyResponse,
    AuditEvent,
    CaseStatus,
    EventKind,
    Referral,
    ReferralMethod,
    ReferralStatus,
    ResponseOutcome,
    Role,
    RoutingRule,
    TimelineEvent,
)
from constituent.services import referrals as referral_service
from constituent.services.errors import DomainError, Forbidden
from tests import factories
from tests.conftest import count
from tests.referral_helpers import gen_agency, gen_contact, gen_referral, gen_release


@pytest.fixture()
def agencies(office):  # type: ignore[no-untyped-def]
    ssa = gen_agency("Social Security Administration", "SSA", expected_response_days=30)
    va = gen_agency("Department of Veterans Affairs", "VA", expected_response_days=45)
    state = gen_agency(
        "NY State Office of Temporary and Disability Assistance",
        "OTDA",
        level=AgencyLevel.STATE,
        expected_response_days=20,
    )
    food_bank = gen_agency(
        "Regional Food Bank", None, level=AgencyLevel.NONPROFIT, expected_response_days=7
    )
    contact = gen_contact(ssa, "Pat Liaison")
    db.session.commit()
    return {"ssa": ssa, "va": va, "state": state, "food_bank": food_bank, "contact": contact}


@pytest.fixture()
def case(office):  # type: ignore[no-untyped-def]
    case = factories.gen_case(
        office.a, office.category, opened_by=office.caseworker, assignee=office.caseworker
    )
    db.session.commit()
    return case


def today() -> date:
    return referral_service.office_today()


def new_url(case) -> str:  # type: ignore[no-untyped-def]
    return f"/referrals/case/{case.id}/new"


def referral_form(agency, **over) -> dict:  # type: ignore[no-untyped-def]
    data = {
        "agency": agency.id,
        "contact": 0,
        "method": "email",
        "sent_on": today().isoformat(),
        "due_on": "",
        "reference_number": "",
    }
    data.update(over)
    return data


def route(case, agency, user, **kw):  # type: ignore[no-untyped-def]
    return referral_service.route_case(
        case,
        agency=agency,
        contact=kw.pop("contact", None),
        method=kw.pop("method", ReferralMethod.EMAIL),
        sent_on=kw.pop("sent_on", today()),
        due_on=kw.pop("due_on", None),
        reference_number=kw.pop("reference_number", None),
        author=user,
        **kw,
    )


def events(case, kind: EventKind | None = None) -> list[TimelineEvent]:  # type: ignore[no-untyped-def]
    query = sa.select(TimelineEvent).where(TimelineEvent.case_id == case.id)
    if kind is not None:
        query = query.where(TimelineEvent.kind == kind)
    return list(db.session.scalars(query.order_by(TimelineEvent.id)))


# The privacy-release gate -------------------------------------------------------------------


def test_federal_referral_without_any_release_is_refused_with_what_is_missing(
    client, office, agencies, case
):
    client.login(office.caseworker.email)
    response = client.form_post(new_url(case), referral_form(agencies["ssa"]))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert (
        "No signed privacy release covers Social Security Administration (SSA): "
        "no privacy release has been requested for this case."
    ) in page
    assert "ask a supervisor to override" in page
    assert count(Referral) == 0
    db.session.refresh(case)
    assert case.status == CaseStatus.OPEN


def test_release_requested_but_not_received_says_so(app, office, agencies, case):
    gen_release(case, [agencies["ssa"]], received=False, requested_on=date(2025, 3, 3))
    with pytest.raises(DomainError) as refused:
        route(case, agencies["ssa"], office.caseworker)
    assert refused.value.field == "agency"
    assert refused.value.message == (
        "No signed privacy release covers Social Security Administration (SSA): the release "
        "for this case was requested on Mar 3, 2025 but not received."
    )


def test_received_release_covering_another_agency_only_is_refused(app, office, agencies, case):
    gen_release(case, [agencies["va"]], received=True)
    with pytest.raises(DomainError) as refused:
        route(case, agencies["ssa"], office.caseworker)
    assert "No signed privacy release covers Social Security Administration (SSA)" in (
        refused.value.message
    )
    assert "the release received on Mar 10, 2025 covers VA only" in refused.value.message
    assert count(Referral) == 0


def test_received_release_covering_the_agency_lets_the_referral_through(
    client, office, agencies, case
):
    gen_release(case, [agencies["va"], agencies["ssa"]], received=True)
    db.session.commit()
    client.login(office.caseworker.email)
    response = client.form_post(
        new_url(case),
        referral_form(agencies["ssa"], contact=agencies["contact"].id, reference_number="SSA-77"),
    )
    assert response.status_code == 302
    referral = db.session.scalars(sa.select(Referral)).one()
    assert referral.agency_id == agencies["ssa"].id
    assert referral.contact_id == agencies["contact"].id
    assert referral.reference_number == "SSA-77"
    assert referral.status == ReferralStatus.SENT
    assert referral.override_reason is None


@pytest.mark.parametrize("key", ["state", "food_bank"])
def test_state_and_nonprofit_agencies_need_no_release(app, office, agencies, case, key):
    referral = route(case, agencies[key], office.caseworker)
    assert referral.status == ReferralStatus.SENT
    assert referral_service.release_problem(case, agencies[key]) is None


# The supervisor override --------------------------------------------------------------------


def test_supervisor_overrides_the_gate_with_a_reason_audited_and_on_the_timeline(
    client, office, agencies, case
):
    client.login(office.supervisor.email)
    page = client.get(new_url(case)).get_data(as_text=True)
    assert "Reason to send without a covering privacy release" in page
    reason = "Constituent is hospitalised; SSA liaison agreed to take the inquiry verbally."
    response = client.form_post(
        new_url(case), referral_form(agencies["ssa"], override_reason=reason)
    )
    assert response.status_code == 302
    referral = db.session.scalars(sa.select(Referral)).one()
    assert referral.override_reason == reason
    assert referral.override_by_id == office.supervisor.id
    audit_event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "release_override")
    ).one()
    assert audit_event.user_id == office.supervisor.id
    assert audit_event.record_id == str(referral.id)
    assert reason not in audit_event.detail  # what happened, not what was written
    override_entries = [
        e
        for e in events(case, EventKind.REFERRAL)
        if (e.data or {}).get("action") == "release_override"
    ]
    assert len(override_entries) == 1
    assert reason in override_entries[0].body
    assert "no privacy release has been requested" in override_entries[0].body
    assert override_entries[0].author_id == office.supervisor.id


def test_supervisor_without_a_reason_is_refused_like_anyone(client, office, agencies, case):
    client.login(office.supervisor.email)
    response = client.form_post(
        new_url(case), referral_form(agencies["ssa"], override_reason="   ")
    )
    assert response.status_code == 422
    assert "As a supervisor you may send it anyway" in response.get_data(as_text=True)
    assert count(Referral) == 0


def test_caseworker_cannot_override(client, office, agencies, case):
    client.login(office.caseworker.email)
    page = client.get(new_url(case)).get_data(as_text=True)
    assert "override_reason" not in page
    response = client.form_post(
        new_url(case), referral_form(agencies["ssa"], override_reason="I say so")
    )
    assert response.status_code == 422  # the field is not on a caseworker's form
    assert count(Referral) == 0
    with pytest.raises(Forbidden):
        route(case, agencies["ssa"], office.caseworker, override_reason="I say so")
    assert not db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "release_override")
    ).all()


def test_override_reason_is_not_recorded_when_no_override_was_needed(app, office, agencies, case):
    referral = route(case, agencies["state"], office.supervisor, override_reason="just in case")
    assert referral.override_reason is None
    assert not db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "release_override")
    ).all()


# Due dates -----------------------------------------------------------------------------------


def test_due_date_defaults_to_sent_plus_the_agencys_expected_days(app, office, agencies, case):
    sent = today() - timedelta(days=2)
    referral = route(case, agencies["state"], office.caseworker, sent_on=sent)
    assert referral.due_on == sent + timedelta(days=20)


def test_due_date_defaults_to_the_routing_rules_follow_up_days(app, office, agencies, case):
    db.session.add(
        RoutingRule(category=office.category, agency=agencies["state"], follow_up_days=10)
    )
    db.session.flush()
    referral = route(case, agencies["state"], office.caseworker)
    assert referral.due_on == today() + timedelta(days=10)


def test_form_prefills_the_suggested_agency_due_date_and_reason(client, office, agencies, case):
    db.session.add(
        RoutingRule(
            category=office.category,
            agency=agencies["ssa"],
            contact=agencies["contact"],
            follow_up_days=14,
        )
    )
    db.session.commit()
    client.login(office.caseworker.email)
    page = client.get(f"/referrals/new?case_id={case.id}").get_data(as_text=True)
    assert f'<option selected value="{agencies["ssa"].id}">' in page
    assert (today() + timedelta(days=14)).isoformat() in page
    assert "Rule for Social Security (all districts)" in page


def test_due_date_before_the_sent_date_is_refused(client, office, agencies, case):
    client.login(office.caseworker.email)
    sent = today()
    response = client.form_post(
        new_url(case),
        referral_form(agencies["state"], due_on=(sent - timedelta(days=1)).isoformat()),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "cannot be before the date sent" in page
    assert 'id="due_on-error"' in page
    assert count(Referral) == 0


def test_a_sent_date_in_the_future_and_a_bad_date_are_refused(client, office, agencies, case):
    client.login(office.caseworker.email)
    response = client.form_post(
        new_url(case),
        referral_form(agencies["state"], sent_on=(today() + timedelta(days=1)).isoformat()),
    )
    assert response.status_code == 422
    assert "cannot be in the future" in response.get_data(as_text=True)
    response = client.form_post(
        new_url(case), referral_form(agencies["state"], sent_on="14/03/2025")
    )
    assert response.status_code == 422
    assert count(Referral) == 0


def test_contact_from_another_agency_is_refused(client, office, agencies, case):
    client.login(office.caseworker.email)
    response = client.form_post(
        new_url(case), referral_form(agencies["state"], contact=agencies["contact"].id)
    )
    assert response.status_code == 422
    assert "is not a contact at" in response.get_data(as_text=True)


def test_a_second_open_referral_to_the_same_agency_is_refused(app, office, agencies, case):
    route(case, agencies["state"], office.caseworker)
    with pytest.raises(DomainError, match="already has an open referral"):
        route(case, agencies["state"], office.caseworker)


def test_editing_a_referral_checks_the_due_date_and_the_version(client, office, agencies, case):
    referral = route(case, agencies["state"], office.caseworker)
    db.session.commit()
    client.login(office.caseworker.email)
    url = f"/referrals/{referral.id}/edit"
    response = client.form_post(
        url,
        {
            "contact": 0,
            "reference_number": "R-1",
            "due_on": (referral.sent_on - timedelta(days=3)).isoformat(),
            "version": referral.version,
        },
    )
    assert response.status_code == 422
    assert "cannot be before the date sent" in response.get_data(as_text=True)
    new_due = referral.sent_on + timedelta(days=60)
    response = client.form_post(
        url,
        {
            "contact": 0,
            "reference_number": "R-1",
            "due_on": new_due.isoformat(),
            "version": referral.version,
        },
    )
    assert response.status_code == 302
    db.session.refresh(referral)
    assert referral.due_on == new_due and referral.reference_number == "R-1"
    stale = client.form_post(
        url, {"contact": 0, "reference_number": "R-2", "due_on": new_due.isoformat(), "version": 1}
    )
    assert stale.status_code == 409
    db.session.refresh(referral)
    assert referral.reference_number == "R-1"


# Status flow ---------------------------------------------------------------------------------


def test_sending_moves_the_case_to_waiting_on_agency_and_lands_on_the_timeline(
    client, office, agencies, case
):
    client.login(office.caseworker.email)
    client.form_post(new_url(case), referral_form(agencies["state"], reference_number="Q-5"))
    db.session.refresh(case)
    assert case.status == CaseStatus.WAITING_ON_AGENCY
    sent = [e for e in events(case, EventKind.REFERRAL) if e.data["action"] == "sent"]
    assert len(sent) == 1 and "Q-5" in sent[0].body and "OTDA" in sent[0].body
    changes = events(case, EventKind.STATUS_CHANGE)
    assert changes[-1].data == {"from": "open", "to": "waiting_on_agency"}


def test_referring_a_closed_case_is_refused(app, office, agencies, case):
    case.status = CaseStatus.CLOSED
    db.session.flush()
    with pytest.raises(DomainError, match="closed"):
        route(case, agencies["state"], office.caseworker)


def test_acknowledge_then_decline_needs_a_reason(client, office, agencies, case):
    referral = route(case, agencies["state"], office.caseworker)
    db.session.commit()
    client.login(office.caseworker.email)
    detail = f"/referrals/{referral.id}"
    response = client.form_post(
        f"{detail}/acknowledge",
        {
            "acknowledged_on": today().isoformat(),
            "reference_number": "ACK-9",
            "version": referral.version,
        },
        token_from=detail,
    )
    assert response.status_code == 302
    db.session.refresh(referral)
    assert referral.status == ReferralStatus.ACKNOWLEDGED
    assert referral.reference_number == "ACK-9"

    response = client.form_post(
        f"{detail}/decline", {"reason": "  ", "version": referral.version}, token_from=detail
    )
    assert response.status_code == 422
    assert "Say why the agency declined the referral." in response.get_data(as_text=True)
    db.session.refresh(referral)
    assert referral.status == ReferralStatus.ACKNOWLEDGED

    response = client.form_post(
        f"{detail}/decline",
        {"reason": "Outside our jurisdiction: county matter.", "version": referral.version},
        token_from=detail,
    )
    assert response.status_code == 302
    db.session.refresh(referral)
    assert referral.status == ReferralStatus.DECLINED
    assert referral.declined_reason == "Outside our jurisdiction: county matter."
    assert any(
        "declined" in e.body and "county matter" in e.body for e in events(case, EventKind.REFERRAL)
    )
    with pytest.raises(DomainError, match="declined; it cannot be declined"):
        referral_service.decline(referral, reason="again", author=office.caseworker)


def test_withdraw_a_referral(client, office, agencies, case):
    referral = route(case, agencies["state"], office.caseworker)
    db.session.commit()
    client.login(office.caseworker.email)
    detail = f"/referrals/{referral.id}"
    response = client.form_post(
        f"{detail}/withdraw",
        {"reason": "Constituent moved away", "version": referral.version},
        token_from=detail,
    )
    assert response.status_code == 302
    db.session.refresh(referral)
    assert referral.status == ReferralStatus.WITHDRAWN
    assert any("withdrawn" in e.body for e in events(case, EventKind.REFERRAL))
    page = client.get(detail).get_data(as_text=True)
    assert "Withdrawn" in page and "Record the inquiry" not in page


def test_stale_version_is_refused_with_409(client, office, agencies, case):
    referral = route(case, agencies["state"], office.caseworker)
    db.session.commit()
    client.login(office.caseworker.email)
    detail = f"/referrals/{referral.id}"
    old_version = referral.version
    referral_service.acknowledge(referral, on=today(), author=office.supervisor)
    db.session.commit()
    response = client.form_post(f"{detail}/withdraw", {"version": old_version}, token_from=detail)
    assert response.status_code == 409
    db.session.refresh(referral)
    assert referral.status == ReferralStatus.ACKNOWLEDGED


@pytest.mark.parametrize(
    ("outcome", "offered"),
    [
        ("resolved", CaseStatus.RESOLVED),
        ("needs_information", CaseStatus.WAITING_ON_CONSTITUENT),
        ("denied", CaseStatus.RESOLVED),
    ],
)
def test_recording_a_response_offers_the_natural_next_status(
    client, office, agencies, case, outcome, offered
):
    referral = route(
        case, agencies["state"], office.caseworker, sent_on=today() - timedelta(days=12)
    )
    db.session.commit()
    client.login(office.caseworker.email)
    url = f"/referrals/{referral.id}/response"
    text = "Dear Representative,\nWe have reviewed the file.\nSincerely, OTDA"
    response = client.form_post(
        url,
        {
            "received_on": today().isoformat(),
            "channel": "letter",
            "outcome": outcome,
            "body": text,
            "version": referral.version,
        },
    )
    assert response.status_code == 302
    db.session.refresh(referral)
    assert referral.status == ReferralStatus.RESPONDED
    assert referral.responded_on == today()
    saved = db.session.scalars(sa.select(AgencyResponse)).one()
    assert saved.body.replace("\r\n", "\n") == text
    assert saved.outcome == ResponseOutcome(outcome)
    entry = events(case, EventKind.RESPONSE)[-1]
    assert "We have reviewed the file." in entry.body
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'<option selected value="{offered.value}">' in page
    assert f"the usual next status is <strong>{offered.label.lower()}</strong>" in page

    moved = client.form_post(
        f"/referrals/{referral.id}/responses/{saved.id}/case-status",
        {"status": offered.value, "case_version": case.version},
        token_from=response.headers["Location"],
    )
    assert moved.status_code == 302
    db.session.refresh(case)
    assert case.status == offered


def test_pending_response_keeps_the_case_waiting(app, office, agencies, case):
    referral = route(case, agencies["state"], office.caseworker)
    response = referral_service.record_response(
        referral,
        received_on=today(),
        channel=ReferralMethod.PHONE,
        body="Still looking into it.",
        outcome=ResponseOutcome.PENDING,
        author=office.caseworker,
    )
    assert referral.status == ReferralStatus.RESPONDED
    assert response.recorded_by_id == office.caseworker.id
    assert referral_service.next_case_status(case, ResponseOutcome.PENDING) is None
    assert case.status == CaseStatus.WAITING_ON_AGENCY


def test_response_needs_text_and_a_date_after_sending(client, office, agencies, case):
    referral = route(case, agencies["state"], office.caseworker)
    db.session.commit()
    client.login(office.caseworker.email)
    url = f"/referrals/{referral.id}/response"
    response = client.form_post(
        url,
        {
            "received_on": (referral.sent_on - timedelta(days=1)).isoformat(),
            "channel": "email",
            "outcome": "resolved",
            "body": "Done.",
            "version": referral.version,
        },
    )
    assert response.status_code == 422
    assert "cannot be received before the referral was sent" in response.get_data(as_text=True)
    response = client.form_post(
        url,
        {
            "received_on": today().isoformat(),
            "channel": "email",
            "outcome": "resolved",
            "body": "",
            "version": referral.version,
        },
    )
    assert response.status_code == 422
    assert count(AgencyResponse) == 0


def test_record_response_on_a_withdrawn_referral_is_refused(app, office, agencies, case):
    referral = route(case, agencies["state"], office.caseworker)
    referral_service.withdraw(referral, author=office.caseworker)
    with pytest.raises(DomainError, match="withdrawn"):
        referral_service.record_response(
            referral,
            received_on=today(),
            channel=ReferralMethod.EMAIL,
            body="x",
            outcome=ResponseOutcome.RESOLVED,
            author=None,
        )


# Permissions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.INTAKE, Role.LEGISLATOR, Role.ADMIN])
def test_other_roles_get_403_on_referral_pages(client, office, agencies, case, role):
    referral = route(case, agencies["state"], office.caseworker)
    db.session.commit()
    client.login(office.user(role).email)
    assert client.get(new_url(case)).status_code == 403
    assert client.get(f"/referrals/{referral.id}").status_code == 403
    assert client.get("/referrals/overdue").status_code == 403
    assert client.get(f"/referrals/{referral.id}/response").status_code == 403


def test_caseworker_of_another_district_gets_404(client, office, agencies, case):
    referral = route(case, agencies["state"], office.caseworker)
    db.session.commit()
    client.login(office.other_caseworker.email)
    assert client.get(new_url(case)).status_code == 404
    assert client.get(f"/referrals/{referral.id}").status_code == 404
    response = client.form_post(
        f"/referrals/{referral.id}/withdraw",
        {"version": referral.version},
        token_from="/referrals/overdue",
    )
    assert response.status_code == 404
    db.session.refresh(referral)
    assert referral.status == ReferralStatus.SENT


def test_confidential_case_referral_views_are_audited(client, office, agencies):
    secret = factories.gen_case(
        office.a, office.category, confidential=True, assignee=office.caseworker
    )
    referral = route(secret, agencies["state"], office.supervisor)
    db.session.commit()
    client.login(office.caseworker.email)
    assert client.get(f"/referrals/{referral.id}").status_code == 200
    viewed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "confidential_case_viewed")
    ).all()
    assert [e.user_id for e in viewed] == [office.caseworker.id]


# The case page panel -----------------------------------------------------------------------------


def test_case_panel_lists_referrals_with_overdue_flag_and_actions(app, office, agencies, case):
    overdue = gen_referral(
        case,
        agencies["va"],
        sent_on=today() - timedelta(days=60),
        due_on=today() - timedelta(days=5),
    )
    referral_service.record_response(
        gen_referral(case, agencies["state"], sent_on=today() - timedelta(days=3)),
        received_on=today(),
        channel=ReferralMethod.EMAIL,
        body="Approved.",
        outcome=ResponseOutcome.RESOLVED,
        author=office.caseworker,
    )
    db.session.commit()
    with app.test_request_context(f"/cases/{case.id}"):
        login_user(office.caseworker)
        html = render_template_string('{% include "referrals/_case_panel.html" %}', case=case)
    assert "Overdue 5 days" in html
    assert f"/referrals/{overdue.id}/second-inquiry" in html
    assert "Resolved, " in html
    assert f"/referrals/case/{case.id}/new" in html
    with app.test_request_context(f"/cases/{case.id}"):
        login_user(office.other_caseworker)
        html = render_template_string('{% include "referrals/_case_panel.html" %}', case=case)
    assert "VA" not in html  # a user who may not see the case sees none of its referrals
