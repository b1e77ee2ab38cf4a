"""Follow-ups on a case: add with a due date and an assignee, complete with a note."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import EventKind, FollowUp, Notification, TimelineEvent
from constituent.views.helpers import local_today
from tests.case_helpers import open_case


def follow_up_form(due, assignee_id, description="Call SSA back") -> dict:
    return {
        "followup-due_on": due.isoformat(),
        "followup-assignee": assignee_id,
        "followup-description": description,
    }


def test_add_a_follow_up_it_becomes_the_next_follow_up(client, office):
    case = open_case(office, assignee=office.caseworker)
    client.login(office.supervisor.email)
    due = local_today() + timedelta(days=4)
    r = client.form_post(
        f"/cases/{case.id}/follow-ups",
        follow_up_form(due, office.caseworker.id),
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 302
    follow_up = db.session.scalars(sa.select(FollowUp)).one()
    assert (follow_up.due_on, follow_up.assignee_id) == (due, office.caseworker.id)
    assert follow_up.created_by_id == office.supervisor.id
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert re.search(r"Next follow-up</dt><dd>[^<]*" + re.escape(due.strftime("%b %-d, %Y")), page)
    event = db.session.scalars(
        sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.FOLLOW_UP)
    ).one()
    assert "Call SSA back" in event.body
    note = db.session.scalars(sa.select(Notification)).one()
    assert note.user_id == office.caseworker.id


def test_follow_up_form_defaults_to_the_assignee_a_week_out(client, office):
    case = open_case(office, assignee=office.caseworker)
    client.login(office.supervisor.email)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    due = (local_today() + timedelta(days=7)).isoformat()
    assert re.search(rf'<input[^>]*id="followup-due_on"[^>]*value="{due}"', page)
    select = page[page.index('id="followup-assignee"') :]
    select = select[: select.index("</select>")]
    assert re.search(
        rf'selected value="{office.caseworker.id}"|value="{office.caseworker.id}" '
        r"selected",
        select,
    )


def test_past_due_date_and_outsider_assignee_are_refused(client, office):
    case = open_case(office)
    client.login(office.caseworker.email)
    r = client.form_post(
        f"/cases/{case.id}/follow-ups",
        follow_up_form(local_today() - timedelta(days=1), office.caseworker.id),
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 422
    assert "cannot be in the past" in r.get_data(as_text=True)
    r = client.form_post(
        f"/cases/{case.id}/follow-ups",
        follow_up_form(local_today(), office.other_caseworker.id),
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 422
    r = client.form_post(
        f"/cases/{case.id}/follow-ups",
        {**follow_up_form(local_today(), office.caseworker.id), "followup-due_on": "next tuesday"},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 422
    assert "Enter a date like 03/14/2025." in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 0


def test_follow_up_on_a_confidential_case_only_for_those_who_may_see_it(client, office):
    case = open_case(office, confidential=True, assignee=office.supervisor)
    client.login(office.supervisor.email)
    r = client.form_post(
        f"/cases/{case.id}/follow-ups",
        follow_up_form(local_today(), office.caseworker.id),
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 0


def test_complete_a_follow_up_with_a_note(client, office):
    case = open_case(office, assignee=office.caseworker)
    follow_up = FollowUp(
        case_id=case.id,
        assignee_id=office.caseworker.id,
        due_on=local_today(),
        description="Check the VA portal",
    )
    db.session.add(follow_up)
    db.session.commit()
    client.login(office.caseworker.email)
    url = f"/cases/{case.id}/follow-ups/{follow_up.id}/done"
    r = client.form_post(
        url,
        {f"fu{follow_up.id}-note": "Portal shows the claim approved."},
        token_from=f"/cases/{case.id}",
    )
    assert r.status_code == 302
    done = db.session.get(FollowUp, follow_up.id)
    assert done.completed_at is not None and done.completed_by_id == office.caseworker.id
    assert done.completion_note == "Portal shows the claim approved."
    event = db.session.scalars(
        sa.select(TimelineEvent).where(TimelineEvent.kind == EventKind.FOLLOW_UP)
    ).one()
    assert "Portal shows the claim approved." in event.body
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "No open follow-ups." in page
    assert "None scheduled" in page
    # A second submit changes nothing and says so.
    r = client.form_post(
        url,
        {f"fu{follow_up.id}-note": "again"},
        token_from=f"/cases/{case.id}",
        follow_redirects=True,
    )
    assert "already marked done" in r.get_data(as_text=True)
    assert db.session.get(FollowUp, follow_up.id).completion_note == (
        "Portal shows the claim approved."
    )


def test_a_follow_up_of_another_case_cannot_be_completed_through_this_one(client, office):
    mine = open_case(office)
    other = open_case(office)
    follow_up = FollowUp(case_id=other.id, due_on=local_today(), description="x")
    db.session.add(follow_up)
    db.session.commit()
    client.login(office.caseworker.email)
    r = client.form_post(
        f"/cases/{mine.id}/follow-ups/{follow_up.id}/done", {}, token_from=f"/cases/{mine.id}"
    )
    assert r.status_code == 404
    assert db.session.get(FollowUp, follow_up.id).completed_at is None
