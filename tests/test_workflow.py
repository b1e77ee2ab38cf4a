"""The status workflow: allowed moves, closing with an outcome, reopening with a reason, and
durations that count every open interval."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import Case, CaseInterval, CaseStatus, EventKind, Outcome, TimelineEvent
from constituent.services import cases as case_service
from constituent.services import workflow
from constituent.services.errors import DomainError
from tests.case_helpers import open_case


def status_events(case_id: int) -> list[TimelineEvent]:
    return list(
        db.session.scalars(
            sa.select(TimelineEvent)
            .where(TimelineEvent.case_id == case_id, TimelineEvent.kind == EventKind.STATUS_CHANGE)
            .order_by(TimelineEvent.id)
        )
    )


def intervals(case_id: int) -> list[CaseInterval]:
    return list(
        db.session.scalars(
            sa.select(CaseInterval)
            .where(CaseInterval.case_id == case_id)
            .order_by(CaseInterval.opened_at)
        )
    )


def test_the_status_form_offers_only_the_allowed_next_statuses(client, office):
    case = open_case(office)
    case.status = CaseStatus.RESOLVED
    db.session.commit()
    client.login(office.caseworker.email)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    select = page[page.index('id="status-status"') :]
    select = select[: select.index("</select>")]
    offered = set(re.findall(r'value="([a-z_]+)"', select))
    assert offered == {"closed", "open"}


def test_move_through_the_workflow_each_change_on_the_timeline(client, office):
    case = open_case(office)
    client.login(office.caseworker.email)
    url = f"/cases/{case.id}"
    for status in ("waiting_on_agency", "waiting_on_constituent", "waiting_on_agency", "resolved"):
        r = client.form_post(f"{url}/status", {"status-status": status}, token_from=url)
        assert r.status_code == 302, status
        assert db.session.get(Case, case.id).status == CaseStatus(status)
    moves = [(e.data["from"], e.data["to"]) for e in status_events(case.id)]
    assert moves == [
        ("open", "waiting_on_agency"),
        ("waiting_on_agency", "waiting_on_constituent"),
        ("waiting_on_constituent", "waiting_on_agency"),
        ("waiting_on_agency", "resolved"),
    ]
    assert all(e.author_id == office.caseworker.id for e in status_events(case.id))


def test_a_move_the_workflow_does_not_allow_is_refused(client, office):
    case = open_case(office)
    case.status = CaseStatus.RESOLVED
    db.session.commit()
    client.login(office.caseworker.email)
    r = client.form_post(
        f"/cases/{case.id}/status",
        {"status-status": "waiting_on_agency"},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 422
    assert db.session.get(Case, case.id).status == CaseStatus.RESOLVED
    with pytest.raises(DomainError):
        workflow.change_status(
            db.session.get(Case, case.id), CaseStatus.WAITING_ON_AGENCY, office.caseworker
        )


def test_closing_needs_an_outcome(client, office):
    case = open_case(office)
    client.login(office.caseworker.email)
    r = client.form_post(
        f"/cases/{case.id}/status", {"status-status": "closed"}, token_from=f"/cases/{case.id}"
    )
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="status-outcome-error"' in page
    assert "Choose the outcome to close the case." in page
    saved = db.session.get(Case, case.id)
    assert saved.status == CaseStatus.OPEN and saved.closed_at is None
    assert status_events(case.id) == []


def test_close_then_reopen_with_a_reason(client, office):
    case = open_case(office)
    client.login(office.caseworker.email)
    url = f"/cases/{case.id}"
    r = client.form_post(
        f"{url}/status",
        {
            "status-status": "closed",
            "status-outcome": "assisted",
            "status-note": "Benefits restored.",
        },
        token_from=url,
    )
    assert r.status_code == 302
    saved = db.session.get(Case, case.id)
    assert saved.status == CaseStatus.CLOSED
    assert saved.outcome == Outcome.ASSISTED
    assert saved.outcome_note == "Benefits restored."
    assert saved.closed_at is not None
    assert [i.closed_at is not None for i in intervals(case.id)] == [True]
    page = client.get(url).get_data(as_text=True)
    assert "Outcome: Assisted / favorable" in page
    assert 'id="reopen-reason"' in page and 'id="status-status"' not in page

    # No reason: refused, still closed.
    r = client.form_post(f"{url}/reopen", {"reopen-reason": "  "}, token_from=url)
    assert r.status_code == 422
    assert "Say why the case is being reopened." in r.get_data(as_text=True)
    assert db.session.get(Case, case.id).status == CaseStatus.CLOSED

    r = client.form_post(
        f"{url}/reopen", {"reopen-reason": "Payments stopped again."}, token_from=url
    )
    assert r.status_code == 302
    saved = db.session.get(Case, case.id)
    assert saved.status == CaseStatus.OPEN
    assert saved.closed_at is None and saved.outcome is None and saved.outcome_note is None
    assert [i.closed_at is None for i in intervals(case.id)] == [False, True]
    last = status_events(case.id)[-1]
    assert last.data == {"from": "closed", "to": "open", "previous_outcome": "assisted"}
    assert "Payments stopped again." in last.body


def test_reopening_an_open_case_is_refused(office):
    case = open_case(office)
    with pytest.raises(DomainError):
        workflow.reopen_case(case, "why not", office.caseworker)


def test_durations_count_every_open_interval_of_a_case_reopened_twice(office, monkeypatch):
    t0 = datetime(2025, 1, 6, 14, 0, tzinfo=UTC)
    case = open_case(office, commit=False)
    case.opened_at = t0
    case.intervals[0].opened_at = t0
    clock = {"now": t0}
    monkeypatch.setattr(workflow, "utcnow", lambda: clock["now"])

    def at(days: float) -> None:
        clock["now"] = t0 + timedelta(days=days)

    at(10)
    workflow.close_case(case, Outcome.ASSISTED, office.caseworker)  # open 10 days
    at(30)
    workflow.reopen_case(case, "Came back", office.caseworker)
    at(35)
    workflow.close_case(case, Outcome.DENIED, office.caseworker)  # open 5 more
    at(100)
    workflow.reopen_case(case, "Appeal", office.caseworker)
    db.session.commit()
    now = t0 + timedelta(days=103, hours=5)  # open 3 days and 5 hours more
    assert len(case.intervals) == 3
    assert workflow.open_days(case, now=now) == 18
    assert workflow.open_seconds(case, now=now) == pytest.approx((18 * 24 + 5) * 3600)
    # The case list computes the same age in SQL.
    expr = case_service.age_seconds_expr(now)
    seconds = db.session.scalar(sa.select(expr).where(Case.id == case.id))
    assert seconds == pytest.approx((18 * 24 + 5) * 3600, abs=1)
    # Closed for good: the age stops counting.
    clock["now"] = now
    workflow.close_case(case, Outcome.ASSISTED, office.caseworker)
    db.session.commit()
    assert workflow.open_days(case, now=now + timedelta(days=50)) == 18
    assert case.closed_at == now


def test_a_case_without_interval_rows_counts_from_opening(office):
    case = open_case(office, commit=False)
    for interval in list(case.intervals):
        db.session.delete(interval)
    db.session.flush()
    db.session.expire(case, ["intervals"])
    case.opened_at = datetime(2025, 1, 1, tzinfo=UTC)
    now = datetime(2025, 1, 21, tzinfo=UTC)
    assert workflow.open_days(case, now=now) == 20
    workflow.close_case(case, Outcome.WITHDRAWN, office.caseworker)
    db.session.commit()
    assert len(case.intervals) == 1 and case.intervals[0].closed_at is not None
