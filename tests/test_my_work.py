"""My Work: my open cases by priority and age, follow-ups overdue / today / next 7 days,
unread notifications; supervisors also see unassigned cases and the team's overdue work."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from constituent.extensions import db
from constituent.models import CaseStatus, FollowUp, Notification, Priority, Role, utcnow
from constituent.services import notifications
from constituent.views.helpers import local_today
from tests.case_helpers import open_case


def section(page: str, heading_id: str) -> str:
    start = page.index(f'id="{heading_id}"')
    end = page.find("</section>", start)
    return page[start:end]


def numbers(html: str) -> list[str]:
    return re.findall(r">C-(\d+)</a>", html)


def add_follow_up(case, user, days: int, text: str) -> FollowUp:
    follow_up = FollowUp(
        case_id=case.id,
        assignee_id=user.id if user else None,
        due_on=local_today() + timedelta(days=days),
        description=text,
    )
    db.session.add(follow_up)
    return follow_up


def test_home_sends_caseworkers_and_supervisors_to_my_work(client, office):
    for user in (office.caseworker, office.supervisor):
        client.login(user.email)
        r = client.get("/")
        assert r.status_code == 302 and r.headers["Location"].endswith("/my-work")
        client.logout()


@pytest.mark.parametrize("role", [Role.INTAKE, Role.LEGISLATOR, Role.ADMIN])
def test_my_work_is_for_caseworkers_and_supervisors(client, office, role):
    client.login(office.user(role).email)
    assert client.get("/my-work").status_code == 403


def test_my_open_cases_by_priority_then_age(client, office):
    old_routine = open_case(office, assignee=office.caseworker, commit=False)
    old_routine.opened_at = utcnow() - timedelta(days=40)
    old_routine.intervals[0].opened_at = old_routine.opened_at
    new_routine = open_case(office, assignee=office.caseworker, commit=False)
    emergency = open_case(
        office, assignee=office.caseworker, priority=Priority.EMERGENCY, commit=False
    )
    closed = open_case(office, assignee=office.caseworker, commit=False)
    closed.status = CaseStatus.CLOSED
    not_mine = open_case(office, assignee=office.supervisor, commit=False)
    db.session.commit()
    client.login(office.caseworker.email)
    page = client.get("/my-work").get_data(as_text=True)
    mine = numbers(section(page, "my-cases-heading"))
    assert mine == [str(emergency.number), str(old_routine.number), str(new_routine.number)]
    assert str(closed.number) not in mine and str(not_mine.number) not in mine
    assert "unassigned-heading" not in page and "team-overdue-heading" not in page


def test_my_follow_ups_overdue_today_and_next_seven_days(client, office):
    case = open_case(office, assignee=office.caseworker)
    add_follow_up(case, office.caseworker, -2, "Overdue task")
    add_follow_up(case, office.caseworker, 0, "Today task")
    add_follow_up(case, office.caseworker, 5, "Soon task")
    add_follow_up(case, office.caseworker, 12, "Later task")
    add_follow_up(case, office.supervisor, -1, "Someone else's task")
    done = add_follow_up(case, office.caseworker, -3, "Done task")
    done.completed_at = utcnow()
    db.session.commit()
    client.login(office.caseworker.email)
    page = client.get("/my-work").get_data(as_text=True)
    mine = section(page, "follow-ups-heading")
    overdue = mine[mine.index("Overdue") : mine.index("Due today")]
    today = mine[mine.index("Due today") : mine.index("Next 7 days")]
    upcoming = mine[mine.index("Next 7 days") :]
    assert "Overdue task" in overdue and "Today task" not in overdue
    assert "Today task" in today
    assert "Soon task" in upcoming
    for absent in ("Later task", "Someone else's task", "Done task"):
        assert absent not in page


def test_follow_ups_on_cases_i_can_no_longer_see_are_not_shown(client, office):
    case = open_case(office, confidential=True, assignee=office.supervisor)
    add_follow_up(case, office.caseworker, 0, "Secret task")
    db.session.commit()
    client.login(office.caseworker.email)
    assert "Secret task" not in client.get("/my-work").get_data(as_text=True)


def test_supervisor_sees_unassigned_cases_and_the_teams_overdue_work(client, office):
    unassigned = open_case(office)
    assigned = open_case(office, assignee=office.caseworker)
    elsewhere = open_case(office, district=office.b)
    add_follow_up(assigned, office.caseworker, -4, "Team overdue task")
    add_follow_up(assigned, office.caseworker, 2, "Team future task")
    add_follow_up(elsewhere, office.other_caseworker, -4, "Other district task")
    db.session.commit()
    client.login(office.supervisor.email)
    page = client.get("/my-work").get_data(as_text=True)
    assert numbers(section(page, "unassigned-heading")) == [str(unassigned.number)]
    team = section(page, "team-overdue-heading")
    assert "Team overdue task" in team and office.caseworker.full_name in team
    assert "Team future task" not in team and "Other district task" not in team


def test_unread_notifications_and_marking_them_read(client, office):
    case = open_case(office)
    first = notifications.notify(
        office.caseworker, "Case C-1 was assigned to you by X.", kind="case_assigned", case=case
    )
    notifications.notify(office.caseworker, "A follow-up was added for you.", kind="follow_up")
    theirs = notifications.notify(office.supervisor, "Supervisor only", kind="x")
    db.session.commit()
    client.login(office.caseworker.email)
    page = client.get("/my-work").get_data(as_text=True)
    notices = section(page, "notifications-heading")
    assert "Case C-1 was assigned to you by X." in notices
    assert "Supervisor only" not in page
    r = client.form_post(f"/my-work/notifications/{first.id}/read", {}, token_from="/my-work")
    assert r.status_code == 302
    assert db.session.get(Notification, first.id).read_at is not None
    page = client.get("/my-work").get_data(as_text=True)
    assert "Case C-1 was assigned" not in page
    # Someone else's notification cannot be touched.
    r = client.form_post(f"/my-work/notifications/{theirs.id}/read", {}, token_from="/my-work")
    assert r.status_code == 404
    assert db.session.get(Notification, theirs.id).read_at is None
    client.form_post("/my-work/notifications/read", {}, token_from="/my-work")
    unread = db.session.scalar(
        sa.select(sa.func.count()).select_from(Notification).where(Notification.read_at.is_(None))
    )
    assert unread == 1  # only the supervisor's
    assert "You are all caught up." in client.get("/my-work").get_data(as_text=True)
