"""The staff side of residents' online requests (issue 15): the queue, review (matches,
district, accept, decline), the electronic release on the case and the referral gate, the
agency identifiers (masked, revealed with an audit event, purged, encrypted at rest)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import (
    AgencyIdentifier,
    AgencyLevel,
    AuditEvent,
    Case,
    CaseStatus,
    Channel,
    Constituent,
    IdentifierKind,
    Language,
    OnlineRequest,
    Outcome,
    PrivacyRelease,
    Referral,
    RequestMethod,
    RequestStatus,
    SignatureMethod,
    User,
)
from constituent.services import clock, referrals, workflow
from tests import factories
from tests.conftest import count
from tests.online_helpers import gen_request, gen_template
from tests.referral_helpers import gen_agency

CLAIM = "AB-449-2231-77"
A_NUMBER = "A204558812"


@pytest.fixture()
def agencies(app, office):
    found = {
        "ssa": gen_agency(),
        "va": gen_agency("Department of Veterans Affairs", "VA"),
        "irs": gen_agency("Internal Revenue Service", "IRS", level=AgencyLevel.FEDERAL),
    }
    factories.gen_zip("12901", "NY-21")
    db.session.commit()
    return found


@pytest.fixture()
def signed(app, office, agencies):
    """A new request signed with a release covering SSA and VA, with two identifiers."""
    version = gen_template([agencies["ssa"], agencies["va"]])
    item = gen_request(
        office.category,
        release=version,
        identifiers={"claim_number": CLAIM, "a_number": A_NUMBER, "ssn_last4": "4321"},
    )
    db.session.commit()
    return item


def url(item: OnlineRequest, tail: str = "") -> str:
    return f"/online-requests/{item.id}{tail}"


def accept_form(**over: object) -> dict[str, object]:
    data: dict[str, object] = {"action": "open"}
    data.update(over)
    return data


def accept(client, item: OnlineRequest, **over: object):  # type: ignore[no-untyped-def]
    """Post the accept form as the request page fills it (plus ``over``)."""
    page = client.get(url(item)).get_data(as_text=True)
    inputs = re.findall(r"<input[^>]*>", page)
    fields = dict(
        re.findall(r'name="([a-z_0-9]+)"[^>]*value="([^"]*)"', tag)[0]
        for tag in inputs
        if 'type="checkbox"' not in tag and 'type="radio"' not in tag and "value=" in tag
    )
    fields["category_id"] = str(item.category_id)
    fields["priority"] = "routine"
    fields.update(accept_form(**over))
    return client.post(url(item), data=fields)


def audit_actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


# The queue -------------------------------------------------------------------------------------


def test_reviewers_see_the_queue_with_its_count_and_legislators_do_not(client, office, signed):
    gen_request(office.category, first_name="Older", minutes_ago=60)
    db.session.commit()
    for user in (office.intake, office.caseworker, office.supervisor, office.admin):
        client.login(user.email)
        page = client.get("/online-requests/")
        text = page.get_data(as_text=True)
        assert page.status_code == 200, user.email
        assert "Online requests (2)" in text  # the nav item's count
        assert text.index(signed.reference) < text.index("Older")  # newest first
        client.logout()
    client.login(office.legislator.email)
    assert client.get("/online-requests/").status_code == 403
    assert "Online requests" not in client.get("/summaries/").get_data(as_text=True)


def test_the_request_page_shows_the_residents_words_safely_and_the_release(
    client, office, agencies
):
    version = gen_template([agencies["ssa"]])
    item = gen_request(
        office.category, release=version, what_happened="<script>alert(1)</script> help"
    )
    db.session.commit()
    client.login(office.intake.email)
    page = client.get(url(item)).get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "SSA release, version 1" in page and "Rosa Delgado" in page
    assert "203.0.113.9" in page
    download = client.get(url(item, "/release"))
    assert download.status_code == 200 and b"I authorize the agency" in download.data
    assert "attachment_downloaded" in audit_actions()


# Matching and the district ---------------------------------------------------------------------


def test_a_known_constituent_is_suggested_by_intakes_rules_never_merged(client, office, signed):
    known = factories.gen_constituent(office.a, first="Rosie", last="Delgado", phone="518-555-0142")
    db.session.commit()
    client.login(office.intake.email)
    page = client.get(url(signed)).get_data(as_text=True)
    assert f'value="{known.id}"' in page and "Matches on" in page and "phone" in page
    assert count(Constituent) == 1  # only suggested
    response = accept(client, signed, constituent_id=str(known.id))
    assert response.status_code == 302
    case = db.session.scalar(sa.select(Case))
    assert case.constituent_id == known.id and count(Constituent) == 1


def test_a_split_zip_asks_staff_for_the_district(client, office, agencies):
    factories.gen_zip("12903", "NY-21", "NY-20")
    office.intake.districts.append(office.b)
    item = gen_request(office.category, zip_code="12903")
    db.session.commit()
    client.login(office.intake.email)
    page = client.get(url(item)).get_data(as_text=True)
    assert "ZIP 12903 is split between NY-20 and NY-21" in page
    assert "Split ZIP: ask" in client.get("/online-requests/").get_data(as_text=True)
    refused = accept(client, item)
    assert refused.status_code == 422 and "Choose the district" in refused.get_data(as_text=True)
    assert count(Case) == 0 and db.session.get(OnlineRequest, item.id).status == RequestStatus.NEW
    done = accept(client, item, district_id=str(office.b.id))
    assert done.status_code == 302
    assert db.session.scalar(sa.select(Case)).district_id == office.b.id


def test_an_out_of_district_request_is_flagged_with_the_courtesy_referral_text(
    client, office, agencies
):
    factories.gen_zip("05401", "VT-01")
    item = gen_request(office.category, zip_code="05401", state="VT", city="Burlington")
    db.session.commit()
    client.login(office.intake.email)
    page = client.get(url(item)).get_data(as_text=True)
    assert "Out of district: ZIP 05401 is in VT-01" in page
    assert "Out of district</span>" in client.get("/online-requests/").get_data(as_text=True)
    assert "a courtesy referral is still possible" in page
    assert accept(client, item).status_code == 302
    case = db.session.scalar(sa.select(Case))
    assert case.constituent.out_of_district and case.district_id == office.a.id


# Accepting -------------------------------------------------------------------------------------


def test_accepting_opens_a_web_case_with_the_release_language_and_identifiers(
    client, office, agencies
):
    version = gen_template([agencies["ssa"], agencies["va"]])
    item = gen_request(
        office.category,
        release=version,
        language=Language.SPANISH,
        identifiers={"claim_number": CLAIM},
    )
    db.session.commit()
    client.login(office.caseworker.email)
    response = accept(client, item)
    assert response.status_code == 302
    case = db.session.scalar(sa.select(Case))
    assert response.headers["Location"].endswith(f"/cases/{case.id}")
    assert case.channel == Channel.WEB_FORM
    assert "My retirement check stopped in March." in case.description
    assert case.constituent.language == "Spanish"
    release = db.session.scalar(sa.select(PrivacyRelease))
    assert release.case_id == case.id and release.is_received
    assert release.request_method == RequestMethod.ONLINE_FORM
    assert release.signature_method == SignatureMethod.CASES_ACT
    assert {a.acronym for a in release.agencies} == {"SSA", "VA"}
    assert release.attachment is not None and release.attachment.case_id == case.id
    stored = db.session.get(OnlineRequest, item.id)
    assert stored.status == RequestStatus.ACCEPTED and stored.case_id == case.id
    assert stored.reviewed_by_id == office.caseworker.id
    assert [(i.kind, i.value) for i in db.session.scalars(sa.select(AgencyIdentifier))] == [
        (IdentifierKind.CLAIM_NUMBER, CLAIM)
    ]
    assert stored.identifiers is None  # moved to the case: one copy
    assert "online_request_accepted" in audit_actions()
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "on the online help form (electronic (CASES Act))" in page and "Spanish" in page
    assert "Download the signed form" in page
    assert "typed name “Rosa Delgado”, “SSA release” version 1, covering VA, SSA." in page
    assert CLAIM not in page and "•••••1-77" in page


def test_the_referral_gate_passes_a_covered_agency_and_blocks_an_uncovered_one(
    client, office, signed, agencies
):
    client.login(office.caseworker.email)
    assert accept(client, signed).status_code == 302
    case = db.session.scalar(sa.select(Case))
    assert referrals.release_problem(case, agencies["ssa"]) is None
    assert "No signed privacy release covers Internal Revenue Service" in (
        referrals.release_problem(case, agencies["irs"]) or ""
    )
    new = f"/referrals/case/{case.id}/new"
    today = clock.office_today().isoformat()
    form = {"contact": 0, "method": "email", "sent_on": today, "due_on": ""}
    refused = client.form_post(new, {**form, "agency": agencies["irs"].id})
    assert refused.status_code == 422 and count(Referral) == 0
    done = client.form_post(new, {**form, "agency": agencies["ssa"].id})
    assert done.status_code == 302
    referral = db.session.scalar(sa.select(Referral))
    assert referral.agency_id == agencies["ssa"].id and referral.override_reason is None


def test_two_staff_accepting_at_once_make_one_case(client, app, office, signed):
    other = app.test_client()
    client.login(office.intake.email)
    other.login(office.caseworker.email)
    first_page = client.get(url(signed)).get_data(as_text=True)
    assert "Accept and open the case" in first_page
    assert accept(other, signed).status_code == 302
    late = accept(client, signed)
    assert late.status_code == 409
    assert "already accepted by Test Caseworker" in late.get_data(as_text=True)
    assert count(Case) == 1 and count(PrivacyRelease) == 1


def test_an_admin_sees_the_request_but_leaves_accepting_to_intake(client, office, signed):
    client.login(office.admin.email)
    page = client.get(url(signed)).get_data(as_text=True)
    assert "Accept and open the case" not in page and "ask intake or a caseworker" in page
    client.post(url(signed), data={"action": "open", "csrf_token": client.csrf_token(url(signed))})
    assert count(Case) == 0


# Declining -------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["spam", "duplicate", "out_of_district", "not_casework"])
def test_declining_keeps_the_reason_and_is_audited(client, office, signed, reason):
    client.login(office.intake.email)
    done = client.form_post(url(signed, "/decline"), {"reason": reason}, token_from=url(signed))
    assert done.status_code == 302
    stored = db.session.get(OnlineRequest, signed.id)
    assert stored.status == RequestStatus.DECLINED and stored.decline_reason.value == reason
    assert "online_request_declined" in audit_actions() and count(Case) == 0
    assert "No requests wait for review." in client.get("/online-requests/").get_data(as_text=True)


def test_declining_without_a_reason_is_refused_and_saves_nothing(client, office, signed):
    client.login(office.intake.email)
    refused = client.form_post(url(signed, "/decline"), {"reason": ""}, token_from=url(signed))
    assert refused.status_code == 422
    assert "Choose why the request is declined." in refused.get_data(as_text=True)
    assert db.session.get(OnlineRequest, signed.id).status == RequestStatus.NEW


# Identifiers -----------------------------------------------------------------------------------


def test_identifiers_are_masked_and_a_reveal_is_audited_without_the_values(client, office, signed):
    client.login(office.intake.email)
    page = client.get(url(signed)).get_data(as_text=True)
    assert CLAIM not in page and A_NUMBER not in page and "4321" not in page
    assert "•••••1-77" in page and "•••••8812" in page
    shown = client.form_post(url(signed, "/reveal"), {}, token_from=url(signed))
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200 and CLAIM in text and A_NUMBER in text and "4321" in text
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "identifiers_revealed")
    )
    assert event.record_id == signed.reference and event.user_id == office.intake.id
    assert CLAIM not in event.detail and "claim_number" in event.detail
    assert re.search(r'<input[^>]*name="first_name"[^>]*value="Rosa"', text)  # form still filled


def test_a_case_reveal_goes_through_the_case_scope(client, office, signed):
    client.login(office.caseworker.email)
    accept(client, signed)
    case = db.session.scalar(sa.select(Case))
    reveal = f"/cases/{case.id}/identifiers/reveal"
    shown = client.form_post(reveal, {}, token_from=f"/cases/{case.id}")
    assert shown.status_code == 200 and CLAIM in shown.get_data(as_text=True)
    assert [
        e.record_id
        for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "identifiers_revealed")
        )
    ] == [str(case.number)]
    client.logout()
    client.login(office.other_caseworker.email)  # district B: the case is not theirs
    token = client.csrf_token("/")
    assert client.post(reveal, data={"csrf_token": token}).status_code == 404
    client.logout()
    client.login(office.admin.email)  # may read the case, not work it
    assert client.post(reveal, data={"csrf_token": client.csrf_token("/")}).status_code == 403


def test_identifiers_are_unreadable_in_the_raw_columns(client, office, agencies):
    version = gen_template([agencies["ssa"]])
    waiting = gen_request(office.category, release=version, identifiers={"a_number": A_NUMBER})
    accepted = gen_request(office.category, identifiers={"claim_number": CLAIM}, reference="R2")
    db.session.commit()
    client.login(office.intake.email)
    accept(client, accepted)
    raw_requests = db.session.execute(sa.text("SELECT identifiers FROM online_requests")).all()
    raw_kept = db.session.execute(sa.text("SELECT value FROM agency_identifiers")).all()
    dump = repr(raw_requests) + repr(raw_kept)
    assert len(raw_kept) == 1 and any(row[0] for row in raw_requests)
    assert A_NUMBER not in dump and CLAIM not in dump and "a_number" not in dump
    assert db.session.get(OnlineRequest, waiting.id).identifiers == f'{{"a_number": "{A_NUMBER}"}}'


def test_identifiers_are_purged_days_after_the_case_closes(
    client, runner, office, signed, monkeypatch
):
    client.login(office.caseworker.email)
    accept(client, signed)
    case = db.session.scalar(sa.select(Case))
    workflow.change_status(case, CaseStatus.CLOSED, office.caseworker, outcome=Outcome.ASSISTED)
    db.session.commit()
    closed_at = db.session.get(Case, case.id).closed_at
    declined = gen_request(office.category, identifiers={"a_number": A_NUMBER}, reference="D1")
    db.session.commit()
    client.form_post(url(declined, "/decline"), {"reason": "spam"}, token_from=url(declined))

    monkeypatch.setattr(clock, "now", lambda: closed_at + timedelta(days=89))
    early = runner.invoke(args=["identifiers", "purge"])
    assert early.exit_code == 0, early.output
    assert "Deleted 0 identifiers" in early.output and count(AgencyIdentifier) == 3

    monkeypatch.setattr(clock, "now", lambda: closed_at + timedelta(days=91))
    done = runner.invoke(args=["identifiers", "purge"])
    assert done.exit_code == 0, done.output
    assert "Deleted 3 identifiers on 1 closed cases" in done.output
    assert "those of 1 online requests" in done.output
    assert count(AgencyIdentifier) == 0
    db.session.expire_all()
    assert db.session.get(OnlineRequest, declined.id).identifiers is None
    assert db.session.get(OnlineRequest, declined.id).identifiers_purged_at is not None
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "identifiers_purged")
    )
    assert event.detail.startswith("3 identifiers on 1 cases closed over 90 days ago")


def test_the_retention_setting_changes_the_purge(app, runner, office, signed, monkeypatch):
    app.config["IDENTIFIER_RETENTION_DAYS"] = 10
    try:
        done = runner.invoke(args=["identifiers", "purge"])
        assert "more than 10 days ago" in done.output
    finally:
        app.config["IDENTIFIER_RETENTION_DAYS"] = 90


def test_two_threads_accepting_the_same_request_at_once_make_one_case(app, office, signed):
    """The race itself, on two connections: each thread loads the request while it is new and
    accepts it (as the write request does, IMMEDIATE on SQLite); one wins, the other is told."""
    import threading

    from constituent.database import immediate_writes
    from constituent.services import online_review
    from constituent.services.errors import Conflict

    ready = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []
    users = [office.intake.id, office.caseworker.id]
    request_id = signed.id
    db.session.commit()

    def review(user_id: int) -> None:
        with app.app_context(), immediate_writes():
            ready.wait()
            item = db.session.get(OnlineRequest, request_id)
            user = db.session.get(User, user_id)
            details = online_review.call_details(item)
            try:
                online_review.accept(item, user, details)
                db.session.commit()
                outcomes.append("accepted")
            except Conflict:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=review, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["accepted", "refused"]
    assert count(Case) == 1 and count(PrivacyRelease) == 1
    assert count(AgencyIdentifier) == 3
